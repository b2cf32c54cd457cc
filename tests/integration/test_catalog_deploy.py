"""Catalog deployment without a restart, on SQLite and PostgreSQL (docs/catalog.md,
"Deploying a catalog"): a deployed version is used for new orders by every node within
seconds, orders in flight finish on the version they were decomposed with, the versions say
who deployed what when, a rollback is a deployment of an earlier version, only an admin
deploys, and a dry run reports exactly the orders and lines a change touches."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from ordertower.adapters.catalog_texts import read_catalog_texts
from ordertower.entrypoints.cli import app as cli
from ordertower.services.access import create_key
from ordertower.services.place_order import PlaceOrder, place_order
from ordertower.domain.orders import ItemInput

from ..support.catalogs import write_catalog
from ..support.live import SEED_ORDER
from ..support.waiting import wait_until

ADMIN_KEY = "deploy-admin-key"
VERSIONS = "/api/v1/catalog/versions"


def _faster_lines(docs):
    """Version 2: activation calls /lines/activate-v2, and 'unlimited' maps to a faster
    speed profile (one mapping of the rule plan-activates-line)."""
    docs["systems.yaml"]["version"] = "2026.12.0"
    activation = next(s for s in docs["telecom.yaml"]["scenarios"]
                      if (s["product"], s["action"]) == ("mobile-line", "add"))
    activation["items"][0]["request"]["path"] = "/lines/activate-v2"
    _faster_unlimited(docs)


def _faster_unlimited(docs):
    line = next(r for r in docs["telecom.yaml"]["rules"] if r["id"] == "plan-activates-line")
    line["mappings"]["speed_profile"]["values"]["unlimited"] = "5g-500mbps"


def as_key(server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=120,
                        headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def secured(server_factory):
    server = server_factory(auth=True, bootstrap_key=ADMIN_KEY)
    store = server.container.store
    keys = {name: create_key(store, {"name": name, "role": role}, "test-setup")["key"]
            for name, role in (("release-manager", "admin"), ("ops-on-call", "operator"),
                               ("dashboard", "viewer"))}
    return server, keys


@pytest.mark.timeout(900)  # 110 orders through one worker on a busy machine
def test_a_deployed_catalog_is_used_for_new_orders_while_orders_in_flight_finish_on_theirs(
        secured, server_factory, tmp_path):
    runner, keys = secured  # this node runs the workers
    api_node = server_factory(auth=True, bootstrap_key=ADMIN_KEY, start_workers=False)
    old = runner.container.catalog.version
    with as_key(runner, keys["release-manager"]) as on_runner, \
            as_key(api_node, keys["release-manager"]) as on_api_node, \
            as_key(runner, keys["ops-on-call"]) as operator:
        # the network is down for maintenance: the 100 orders run up to their line activation
        assert operator.put("/api/v1/systems/network", json={"offline": True}).status_code == 200
        in_flight = [on_runner.post(f"{_tmf()}/productOrder", json=SEED_ORDER).json()["id"]
                     for _ in range(100)]
        for order_id in in_flight:
            runner.wait_for_item(order_id, _activation(runner, order_id), {"onHold"}, timeout=120)

        files = read_catalog_texts(write_catalog(tmp_path / "v2", _faster_lines))
        deployed = on_api_node.post(VERSIONS, json={"files": files})  # on the other node
        assert deployed.status_code == 201, deployed.text
        new = deployed.json()["release"]
        assert new.startswith("2026.12.0+") and deployed.json()["id"] == 2

        # the node that deployed uses it at once; the running node within seconds, by polling
        placed_on_api_node = [on_api_node.post(f"{_tmf()}/productOrder", json=SEED_ORDER).json()["id"]
                              for _ in range(5)]
        wait_until(lambda: runner.container.catalog.version == new, timeout=30,
                   what="the running node to pick the deployed catalog up")
        placed_on_runner = [on_runner.post(f"{_tmf()}/productOrder", json=SEED_ORDER).json()["id"]
                            for _ in range(5)]

        assert operator.put("/api/v1/systems/network", json={"offline": False}).status_code == 200

    after = placed_on_api_node + placed_on_runner
    for order_id in in_flight + after:
        assert runner.wait_for(order_id, timeout=180)["state"] == "completed"
    version_of = {o: runner.client.get(f"/api/v1/orders/{o}/decomposition").json()["catalog_version"]
                  for o in in_flight + after}
    assert {version_of[o] for o in in_flight} == {old}
    assert {version_of[o] for o in after} == {new}
    calls = runner.simulator("network")["requests"]
    # one activation per order (a callout repeated after a lost lease has the same key)
    activations = sorted({c["idempotency_key"]: (c["path"], c["body"]["speed_profile"])
                          for c in calls if c["path"].startswith("/lines/activate")}.values())
    assert activations == sorted([("/lines/activate", "5g-300mbps")] * 100
                                 + [("/lines/activate-v2", "5g-500mbps")] * 10)
    assert runner.container.workers_alive()  # nothing was restarted


def _activation(server, order_id: str) -> str:
    return next(i["key"] for i in server.plan(order_id)["items"] if i["system"] == "network")


def _tmf() -> str:
    return "/tmf-api/productOrderingManagement/v4"


def test_versions_say_who_deployed_what_when_and_a_rollback_deploys_an_earlier_one(
        secured, tmp_path):
    server, keys = secured
    first = server.container.catalog.version
    files = read_catalog_texts(write_catalog(tmp_path / "v2", _faster_lines))
    with as_key(server, keys["release-manager"]) as admin:
        assert admin.post(VERSIONS, json={"files": files}).status_code == 201
        again = admin.post(VERSIONS, json={"files": files})
        assert again.status_code == 409 and "current catalog already" in again.json()["detail"]
        rolled_back = admin.post(VERSIONS, json={"version": 1})
        assert rolled_back.status_code == 201, rolled_back.text
        order = admin.post(f"{_tmf()}/productOrder", json=SEED_ORDER).json()["id"]
        versions = admin.get(VERSIONS).json()
        one = admin.get(f"{VERSIONS}/2").json()

    assert [(v["id"], v["release"] == first, v["deployed_by"], v["note"], v["current"])
            for v in versions] == [
        (3, True, "release-manager", "rollback to version 1", True),
        (2, False, "release-manager", None, False),
        (1, True, "ordertower serve", "first start", False)]
    assert all(v["deployed_at"] for v in versions)
    assert versions[0]["deployed_at"] >= versions[1]["deployed_at"] >= versions[2]["deployed_at"]
    assert one["files"] == files and one["release"].startswith("2026.12.0+")
    assert server.client.get(f"/api/v1/orders/{order}/decomposition").json()["catalog_version"] == first


def test_only_an_admin_deploys_and_a_bad_catalog_changes_nothing(secured, tmp_path):
    server, keys = secured
    files = read_catalog_texts(write_catalog(tmp_path / "v2", _faster_lines))
    for role in ("ops-on-call", "dashboard"):
        with as_key(server, keys[role]) as client:
            for path in (VERSIONS, f"{VERSIONS}/dry-run"):
                refused = client.post(path, json={"files": files})
                assert refused.status_code == 403, (role, path, refused.text)
                assert refused.json()["status"] == 403
    with as_key(server, keys["dashboard"]) as viewer:
        assert [v["id"] for v in viewer.get(VERSIONS).json()] == [1]

    broken = dict(files)
    broken["telecom.yaml"] = files["telecom.yaml"].replace("target: mobile-line", "target: mobile-lin", 1)
    with as_key(server, keys["release-manager"]) as admin:
        bad = admin.post(VERSIONS, json={"files": broken})
        assert bad.status_code == 422, bad.text
        assert any(e["field"].startswith("files.telecom.yaml:") and "mobile-lin" in e["message"]
                   for e in bad.json()["errors"]), bad.json()
        for body in ({}, {"files": "x"}, {"version": 0}, {"files": files, "version": 1}):
            assert admin.post(VERSIONS, json=body).status_code == 400, body
        assert admin.post(VERSIONS, json={"version": 9}).status_code == 404
        assert [v["id"] for v in admin.get(VERSIONS).json()] == [1]


def _orders(count: int) -> list[tuple[str, list[ItemInput]]]:
    """A mix of stored orders: a phone alone, or a phone and a plan of each tier."""
    tiers = ["basic", "unlimited", "unlimited-plus", None]
    out = []
    for n in range(count):
        tier = tiers[n % 4]
        items = [ItemInput("1", "add", "phone", (("model", "Fairphone 5"), ("color", "blue")))]
        if tier:
            items.append(ItemInput("2", "add", "mobile-plan", (("tier", tier),)))
        out.append((tier or "phone-only", items))
    return out


@pytest.mark.timeout(900)  # 1,000 orders placed one by one
def test_a_dry_run_on_1000_stored_orders_reports_exactly_the_orders_and_lines_a_mapping_touches(
        server_factory, tmp_path):
    server = server_factory(start_workers=False)  # stored orders; nothing needs to run
    container = server.container
    placed: dict[str, str] = {}
    for n, (kind, items) in enumerate(_orders(1000)):
        cmd = PlaceOrder(items=items, customer_id=f"cust-{n % 50}")
        placed[place_order(cmd, container.store, container.catalog).id] = kind
    unlimited = {o for o, kind in placed.items() if kind == "unlimited"}
    assert len(unlimited) == 250

    path = write_catalog(tmp_path / "v2", _faster_unlimited)
    result = CliRunner().invoke(cli, ["catalog", "deploy", str(path), "--dry-run", "--json",
                                      "--url", server.url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)

    assert report["orders_replayed"] == 1000
    assert report["orders_refused"] == [] and report["orders_accepted"] == []
    assert [(r["rule"], set(r["orders"]), r["lines_changed"], r["lines_added"], r["lines_removed"],
             r["plan_items_changed"]) for r in report["rules"]] == [
        ("plan-activates-line", unlimited, 250, 0, 0, 0)]
    assert {o["order"] for o in report["orders"]} == unlimited
    for order in report["orders"]:
        [line] = order["lines_changed"]
        assert (line["technical_product"], line["rule"], line["attributes"]) == (
            "mobile-line", "plan-activates-line", {"speed_profile": ["5g-300mbps", "5g-500mbps"]})
        assert not (order["lines_added"] or order["lines_removed"] or order["plan_items_added"]
                    or order["plan_items_removed"] or order["plan_items_changed"])
    # a dry run deploys nothing
    assert [v["id"] for v in server.client.get(VERSIONS).json()] == [1]

    table = CliRunner().invoke(cli, ["catalog", "deploy", str(path), "--dry-run",
                                     "--url", server.url], catch_exceptions=False, env={"COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    assert "250 of 1000 order(s) would change" in table.output
    assert "plan-activates-line" in table.output


def test_the_cli_deploys_lists_and_rolls_back(secured, tmp_path):
    server, keys = secured
    path = write_catalog(tmp_path / "v2", _faster_lines)
    common = ["--url", server.url, "--key", keys["release-manager"]]
    run = CliRunner().invoke
    deployed = run(cli, ["catalog", "deploy", str(path), *common], catch_exceptions=False)
    assert deployed.exit_code == 0 and "deployed catalog version 2" in deployed.output, deployed.output
    rolled = run(cli, ["catalog", "deploy", "--version", "1", *common], catch_exceptions=False)
    assert rolled.exit_code == 0 and "rollback to version 1" in rolled.output, rolled.output
    listed = run(cli, ["catalog", "versions", *common], catch_exceptions=False, env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "3 catalog version(s)" in listed.output and "release-manager" in listed.output
    refused = run(cli, ["catalog", "deploy", str(path), "--url", server.url,
                        "--key", keys["dashboard"]], catch_exceptions=False)
    assert refused.exit_code == 1 and "403" in refused.output


def test_an_amendment_after_a_deployment_revises_the_order_with_its_own_version(secured, tmp_path):
    server, keys = secured
    old = server.container.catalog.version
    with as_key(server, keys["release-manager"]) as admin:
        assert admin.put("/api/v1/systems/network", json={"offline": True}).status_code == 200
        order_id = admin.post(f"{_tmf()}/productOrder", json=SEED_ORDER).json()["id"]
        files = read_catalog_texts(write_catalog(tmp_path / "v2", _faster_lines))
        assert admin.post(VERSIONS, json={"files": files}).status_code == 201
        red_phone = json.loads(json.dumps(SEED_ORDER["productOrderItem"]))
        red_phone[0]["product"]["productCharacteristic"][1]["value"] = "red"
        amended = admin.patch(f"{_tmf()}/productOrder/{order_id}", json={"productOrderItem": red_phone},
                              headers={"Content-Type": "application/merge-patch+json"})
        assert amended.status_code == 200, amended.text
        decomposition = admin.get(f"/api/v1/orders/{order_id}/decomposition").json()
        assert admin.put("/api/v1/systems/network", json={"offline": False}).status_code == 200
    assert decomposition["catalog_version"] == old
    lines = {line["technical_product"]: line["attributes"] for line in decomposition["lines"]}
    assert lines["device-shipment"]["color"] == "red"  # the amendment applied
    assert lines["mobile-line"]["speed_profile"] == "5g-300mbps"  # with the order's version
    assert server.wait_for(order_id, timeout=180)["state"] == "completed"
