"""ordertower as real processes (``ordertower serve``, ``ordertower worker``) for tests of what
only a process shows: signals, exit codes, its log output, several processes at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from .live import SEED_ORDER, free_port
from .waiting import wait_until

SCRIPT = str(Path(sys.executable).parent / "ordertower")
ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERTOWER_")}
    return env | extra


class Process:
    """One ordertower command running in the background, its output in a file."""

    def __init__(self, args: list[str], log_path: Path, cwd: Path, env: dict[str, str] | None = None):
        self.log_path = log_path
        self._cwd, self._env = cwd, env
        self._start(args)

    def _start(self, args: list[str]) -> None:
        self._log = open(self.log_path, "w+")
        self.popen = subprocess.Popen([SCRIPT, *args], cwd=self._cwd, env=self._env or clean_env(),
                                      stdout=self._log, stderr=subprocess.STDOUT)

    def lines(self) -> list[str]:
        return self.log_path.read_text().splitlines()

    def json_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines (the first-start key and banners are not JSON)."""
        out = []
        for line in self.lines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def logged(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.json_lines() if line.get("event") == event]

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self._log.close()


class ServeProcess(Process):
    """`ordertower serve` on a free port. A free port is only free when it is asked for: another
    test's server may take it before this one binds it. Ready means this process logged that
    it listens on its port (never another server's answer on that port), and a serve that
    lost its port to another is started again on a new one."""

    def __init__(self, tmp_path: Path, database_url: str, *extra: str, name: str = "serve",
                 env: dict[str, str] | None = None):
        self._serve_args = ["--no-auth", "--database", database_url, "--log-format", "json", *extra]
        self._listen(free_port())
        super().__init__(self._args(), tmp_path / f"{name}.log", tmp_path, env)

    def _listen(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def _args(self) -> list[str]:
        return ["serve", "--port", str(self.port), *self._serve_args]

    def _listening(self) -> bool:
        return any(line.get("event", "").startswith(f"Uvicorn running on http://127.0.0.1:{self.port} ")
                   for line in self.json_lines())

    def _lost_its_port(self) -> bool:
        return self.popen.poll() is not None and any(
            "address already in use" in line for line in self.lines())

    def _start_again_elsewhere(self) -> None:
        self._log.close()
        self.client.close()
        self._listen(free_port())
        self._start(self._args())

    def wait_ready(self, timeout: float = 180) -> None:  # start-up is slow on a busy machine
        def ready() -> bool:
            if self._lost_its_port():
                self._start_again_elsewhere()
                return False
            assert self.popen.poll() is None, "serve exited:\n" + "\n".join(self.lines())
            if not self._listening():
                return False
            try:
                return self.client.get("/health/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout, "serve to be ready", poll=0.1)

    def post_order(self, body: Any = None) -> dict[str, Any]:
        resp = self.client.post(ORDERS, json=SEED_ORDER if body is None else body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def order_state(self, order_id: str) -> str:
        return self.client.get(f"{ORDERS}/{order_id}").json()["state"]

    def wait_for_state(self, order_id: str, state: str, timeout: float = 60) -> None:
        wait_until(lambda: self.order_state(order_id) == state, timeout,
                   f"order {order_id} to be {state}", poll=0.1)

    def stop(self) -> None:
        self.client.close()
        super().stop()
