"""The tests' servers (tests/support/processes.py, live.py): a free port is only free when
asked for, so a server whose port another server took first is started again elsewhere, and a
serve process is never taken for ready on the other server's answer."""

from __future__ import annotations

import socket

import pytest

from tests.support import live, processes


@pytest.fixture
def port_taken_first(monkeypatch):
    """A port another server bound (it never answers), offered first by free_port()."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        offered = iter([port])
        free = live.free_port
        for module in (live, processes):
            monkeypatch.setattr(module, "free_port", lambda: next(offered, None) or free())
        yield port


@pytest.mark.slow
def test_a_serve_whose_port_was_taken_first_starts_again_on_another_and_is_ready_there(
        tmp_path, sqlite_url, port_taken_first):
    serve = processes.ServeProcess(tmp_path, sqlite_url)
    try:
        serve.wait_ready(120)
        assert serve.port != port_taken_first
        assert serve.client.get("/health").json()["status"] == "ok"
        assert not any("address already in use" in line for line in serve.lines())
    finally:
        serve.stop()


def test_an_in_process_server_whose_port_was_taken_first_starts_again_on_another(
        sqlite_url, port_taken_first):
    server = live.start_server(sqlite_url, start_workers=False)
    try:
        assert server.port != port_taken_first
        assert server.client.get("/health").json()["status"] == "ok"
    finally:
        server.stop()
