"""The README as a new user follows it: start ordertower, submit the seed order, watch it
complete. Real processes, the real console scripts, the default SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ..support.live import ROOT, free_port

SCRIPT = str(Path(sys.executable).parent / "ordertower")


@pytest.mark.slow
def test_serve_then_submit_with_watch_shows_the_order_complete(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERTOWER_")}
    log = open(tmp_path / "serve.log", "w+")
    serve = subprocess.Popen([SCRIPT, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "server did not become healthy"
            time.sleep(0.2)
        printed = (tmp_path / "serve.log").read_text().splitlines()
        key = next(line.strip() for line in printed if line.strip().startswith("otk_"))
        assert (tmp_path / "ordertower.db").exists()  # the default database file

        watch = subprocess.run(
            [SCRIPT, "order", "submit", str(ROOT / "examples" / "phone-and-plan.json"), "--watch"],
            env=env | {"ORDERTOWER_URL": url, "ORDERTOWER_API_KEY": key, "COLUMNS": "120"},
            capture_output=True, text=True, timeout=120)

        assert watch.returncode == 0, watch.stdout + watch.stderr
        assert "Activate the line" in watch.stdout
        assert watch.stdout.strip().splitlines()[-1].endswith("completed")
        refused = subprocess.run(
            [SCRIPT, "order", "submit", str(ROOT / "examples" / "phone-and-plan.json")],
            env=env | {"ORDERTOWER_URL": url, "ORDERTOWER_API_KEY": "wrong"},
            capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "401" in refused.stdout
    finally:
        serve.terminate()
        serve.wait(20)
