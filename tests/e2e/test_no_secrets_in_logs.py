"""No secret reaches the log: a real ``ordertower serve`` process (debug level, JSON lines)
with a known bootstrap key runs a realistic session (keys created, orders whose fulfillment
system answers on its callback URL, a wrong key, a forced internal error), and the whole
captured log is searched for every key and token used: none is there. The 500's traceback is
logged, without local variables (the access check's frame holds the caller's key)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from tests.support.engine import ORCHESTRATION_CATALOG, order_body
from tests.support.processes import ORDERS, Process, clean_env
from tests.support.live import free_port
from tests.support.waiting import wait_until

BOOTSTRAP_KEY = "boot-Secret-7f3a9c1e5d"
WRONG_KEY = "not-a-key-Zq81xw"


def client(url: str, key: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30,
                        headers={"Authorization": f"Bearer {key}"} if key else {})


def test_a_whole_session_leaves_no_key_or_token_in_the_log(tmp_path: Path):
    db = tmp_path / "o.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = Process(["serve", "--port", str(port), "--database", f"sqlite:///{db}",
                     "--catalog", str(ORCHESTRATION_CATALOG), "--log-format", "json",
                     "--log-level", "debug", "--grace-seconds", "2"], tmp_path / "serve.log", tmp_path,
                    clean_env(ORDERTOWER_BOOTSTRAP_KEY=BOOTSTRAP_KEY))
    secrets: dict[str, str] = {"bootstrap key": BOOTSTRAP_KEY, "wrong key": WRONG_KEY}
    try:
        def up() -> bool:
            assert serve.popen.poll() is None, "serve exited:\n" + "\n".join(serve.lines())
            try:
                return httpx.get(f"{url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        wait_until(up, timeout=60, what="serve to answer")

        with client(url, BOOTSTRAP_KEY) as admin:
            for role in ("agent", "operator"):
                made = admin.post("/api/v1/keys", json={"name": f"{role}-key", "role": role})
                assert made.status_code == 201, made.text
                secrets[f"{role} key"] = made.json()["key"]
        with client(url, secrets["operator key"]) as operator:
            operator.put("/simulators/field-service", json={"async_reply": True, "async_delay_ms": 0})
        with client(url, secrets["agent key"]) as agent:
            orders = [agent.post(ORDERS, json=order_body(("1", "fiber", {"speed": 500}))).json()["id"]
                      for _ in range(2)]
        with client(url, WRONG_KEY) as stranger:
            assert stranger.get(ORDERS).status_code == 401

        with client(url, secrets["operator key"]) as operator:
            def both_called_back() -> list:
                sent = operator.get("/simulators/field-service").json()["requests"]
                done = [r for r in sent if (r.get("callback") or {}).get("state") == "delivered"]
                return sent if len(done) == len(orders) else []
            sent = wait_until(both_called_back, timeout=60, what="both activations to call back")
            tokens = [r["headers"]["x-callback-url"].rsplit("/", 1)[1] for r in sent
                      if r["headers"].get("x-callback-url")]
            assert len(tokens) == 2
            secrets |= {f"callback token {n}": t for n, t in enumerate(tokens)}

            with sqlite3.connect(db) as conn:  # a forced internal error: a table goes missing
                conn.execute("ALTER TABLE tasks RENAME TO tasks_gone")
            try:
                failed = operator.get("/api/v1/tasks")
            finally:
                with sqlite3.connect(db) as conn:
                    conn.execute("ALTER TABLE tasks_gone RENAME TO tasks")
            assert failed.status_code == 500
    finally:
        serve.stop()

    log = serve.log_path.read_text()
    found = [name for name, value in secrets.items() if value in log]
    assert found == [], f"secrets in the log: {found}"
    callbacks = [line for line in serve.json_lines() if "/api/v1/callbacks/" in str(line.get("path"))]
    assert len(callbacks) >= 2, "the callbacks were logged (their tokens redacted)"
    # a database error that is not the database's state (a table gone) is a 500, logged once
    errors = serve.logged("unexpected database error") + serve.logged("unexpected error")
    assert len(errors) == 1 and "Traceback" in errors[0]["exception"]
    assert "no such table" in errors[0]["exception"]
    assert "key = " not in errors[0]["exception"] and "locals" not in errors[0]["exception"]
