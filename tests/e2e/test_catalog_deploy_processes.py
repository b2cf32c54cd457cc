"""Catalog deployment across real processes (SQLite and PostgreSQL): two ``serve`` API nodes
and one ``worker`` process; ``ordertower catalog deploy`` (a third process) on one node, and
the other node places new orders with it within seconds while the worker runs both the
orders in flight (old version) and the new ones (new version). Nothing is restarted."""

from __future__ import annotations

import json
import subprocess

import pytest

from ..support.catalogs import next_version, write_catalog
from ..support.processes import SCRIPT, Process, ServeProcess, clean_env
from ..support.waiting import wait_until

pytestmark = pytest.mark.slow
SYSTEMS = "/api/v1/systems/network"


def _cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SCRIPT, *args], cwd=tmp_path, env=clean_env(COLUMNS="200"),
                          capture_output=True, text=True, timeout=120)


def _activation_held(serve: ServeProcess, order_id: str) -> bool:
    plan = serve.client.get(f"/api/v1/orders/{order_id}/plan").json()
    return any(i["system"] == "network" and i["state"] == "onHold" for i in plan["items"])


@pytest.mark.timeout(900)  # three processes and 30 orders on a busy machine
def test_a_catalog_deployed_on_one_node_reaches_the_other_node_and_the_worker_without_a_restart(
        tmp_path, database_url):
    first = ServeProcess(tmp_path, database_url, "--workers", "0", name="serve-1")
    first.wait_ready(timeout=180)
    second = ServeProcess(tmp_path, database_url, "--workers", "0", name="serve-2")
    second.wait_ready(timeout=180)  # recorded its public URL last: the worker calls its simulators
    worker = Process(["worker", "--database", database_url, "--log-format", "json",
                      "--poll-seconds", "0.2"], tmp_path / "worker.log", tmp_path)
    try:
        wait_until(lambda: worker.logged("worker started"), 60, "the worker to start")
        pid = worker.popen.pid
        assert first.client.put(SYSTEMS, json={"offline": True}).status_code == 200
        in_flight = [second.post_order()["id"] for _ in range(20)]
        for order_id in in_flight:
            wait_until(lambda: _activation_held(second, order_id), 120, "the activation on hold")
        old = second.client.get("/health").json()["catalog_version"]

        path = write_catalog(tmp_path / "v2", next_version)
        deployed = _cli(tmp_path, "catalog", "deploy", str(path), "--url", first.url, "--json")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        new = json.loads(deployed.stdout)["release"]
        assert new != old and new.startswith("2026.12.0+")

        # the other node polls the newest version id: within seconds it places with it
        wait_until(lambda: second.client.get("/health").json()["catalog_version"] == new, 30,
                   "the second node to use the deployed catalog")
        after = [second.post_order()["id"] for _ in range(5)] + [first.post_order()["id"] for _ in range(5)]
        assert first.client.put(SYSTEMS, json={"offline": False}).status_code == 200
        for order_id in in_flight + after:
            second.wait_for_state(order_id, "completed", timeout=180)

        version = {o: second.client.get(f"/api/v1/orders/{o}/decomposition").json()["catalog_version"]
                   for o in in_flight + after}
        assert {version[o] for o in in_flight} == {old}
        assert {version[o] for o in after} == {new}
        calls = second.client.get("/simulators/network").json()["requests"]
        activations = sorted({c["idempotency_key"]: (c["path"], c["body"]["speed_profile"])
                              for c in calls if c["path"].startswith("/lines/activate")}.values())
        assert activations == sorted([("/lines/activate", "5g-300mbps")] * 20
                                     + [("/lines/activate-v2", "5g-500mbps")] * 10)
        assert worker.popen.poll() is None and worker.popen.pid == pid  # never restarted
        assert first.popen.poll() is None and second.popen.poll() is None

        listed = _cli(tmp_path, "catalog", "versions", "--url", second.url, "--json")
        assert listed.returncode == 0, listed.stderr
        assert [(v["id"], v["release"], v["deployed_by"], v["current"])
                for v in json.loads(listed.stdout)] == [
            (2, new, "local", True), (1, old, "ordertower serve", False)]
        assert json.loads(_cli(tmp_path, "catalog", "versions", "--url", first.url,
                               "--json").stdout)[0]["deployed_at"]
    finally:
        for p in (worker, second, first):
            p.stop()
