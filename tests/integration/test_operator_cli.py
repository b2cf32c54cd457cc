"""The operator's command line against a live server: orders (get, list, watch, cancel), the
fallout queue (list, retry with an edited request, skip), fulfillment systems (offline,
online), the exit codes of watching, narrow terminals, and errors told in one line."""

from __future__ import annotations

import io
import json
import re

import pytest
from typer.testing import CliRunner

from ordertower.entrypoints.cli import app
from ordertower.entrypoints.cli_http import console

from ..support.engine import ORCHESTRATION_CATALOG, order_body
from ..support.live import free_port, start_server

ONCE = order_body(("1", "gadget", {"via": "once"}))        # one network call, no retries
NETWORK = order_body(("1", "gadget", {"via": "network"}))  # one network call
PROGRESS = re.compile(r"(\d+)/(\d+) items done · \d+\.\d s · (\w+)")


def cli(server, *args: str, columns: int = 200):
    """Run the CLI in-process against ``server`` (CliRunner, as test_task_cli does)."""
    env = {"ORDERTOWER_URL": server.url, "ORDERTOWER_API_KEY": None,
           "COLUMNS": str(columns)}
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    # a failure is a message and an exit code, never an exception
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def json_in(output: str):
    """The JSON document a --json command printed (the in-process server may log around it)."""
    start = re.search(r"^[{\[]$", output, re.M)
    assert start, output
    return json.JSONDecoder().raw_decode(output[start.start():])[0]


@pytest.fixture
def world(server_factory):
    """A live server (SQLite and PostgreSQL) on the orchestration catalog."""
    return server_factory(catalog_path=str(ORCHESTRATION_CATALOG))


@pytest.fixture
def sqlite_world(sqlite_url):
    """The same on SQLite only, for what the database does not change (rendering, exit codes)."""
    server = start_server(sqlite_url, catalog_path=str(ORCHESTRATION_CATALOG))
    yield server
    server.stop()


def test_order_list_and_get_show_orders_their_plan_and_the_total(world):
    ids = [world.post_order(order_body(("1", "gadget", {"via": "network"}), customer=c, externalId=x)).json()["id"]
           for c, x in (("cust-a", "a-1"), ("cust-a", "a-2"), ("cust-b", "b-1"))]
    for order_id in ids:
        world.wait_for(order_id)

    page = cli(world, "order", "list", "--customer", "cust-a", "--limit", "1")
    found = cli(world, "order", "list", "--external-id", "b-1", "--json")
    shown = cli(world, "order", "get", ids[0])
    as_json = cli(world, "order", "get", ids[0], "--json")

    assert page.exit_code == 0 and "orders 1-1 of 2" in page.output and "next: --offset 1" in page.output
    rows = "\n".join(line for line in page.output.splitlines() if line.startswith("│"))
    assert ids[1] in rows and ids[0] not in rows  # newest first
    listed = json_in(found.stdout)
    assert listed["total"] == 1 and [o["id"] for o in listed["orders"]] == [ids[2]]
    assert shown.exit_code == 0
    for fact in (ids[0], "completed", "cust-a", "a-1", "orderDate", "Record assets of item 1", "2/2 items done"):
        assert fact in shown.output
    detail = json_in(as_json.stdout)
    assert detail["productOrder"]["externalId"] == "a-1"
    assert {i["state"] for i in detail["plan"]["items"]} == {"completed"}


def test_fallout_list_retry_with_an_edited_request_and_skip(world, tmp_path):
    world.set_simulator("network", fail_next=2)
    first, second = (world.post_order(ONCE).json()["id"] for _ in range(2))
    for order_id in (first, second):
        world.wait_for(order_id, {"held"})

    listed = cli(world, "fallout", "list")
    elsewhere = cli(world, "fallout", "list", "--system", "billing")
    queue = json_in(cli(world, "fallout", "list", "--json").stdout)
    item_of = {i["order"]: i["id"] for i in queue["items"]}
    edited = tmp_path / "request.json"
    edited.write_text('{"note": "edited"}')
    retried = cli(world, "fallout", "retry", item_of[first], "--request-json", edited, "--reason", "fixed")
    skipped = cli(world, "fallout", "skip", item_of[second], "--reason", "not needed")

    assert listed.exit_code == 0 and "2 item(s) in fallout" in listed.output
    assert first in listed.output and second in listed.output and "503" in listed.output
    assert elsewhere.exit_code == 0 and "No items in fallout." in elsewhere.output
    assert retried.exit_code == 0 and f"retry with an edited request of item {item_of[first]}" in retried.output
    assert skipped.exit_code == 0 and f"skip of item {item_of[second]}" in skipped.output
    assert world.wait_for(first)["state"] == world.wait_for(second)["state"] == "completed"
    assert world.simulator("network")["requests"][-1]["body"] == {"note": "edited"}
    assert [i["state"] for i in world.plan(second)["items"] if i["id"] == item_of[second]] == ["skipped"]
    not_in_fallout = cli(world, "fallout", "retry", item_of[second])
    assert not_in_fallout.exit_code == 1 and "409" in not_in_fallout.output
    assert "not in fallout" in not_in_fallout.output


def test_an_offline_system_holds_items_until_online_and_an_order_held_so_can_be_cancelled(world):
    offline = cli(world, "systems", "offline", "network", "--reason", "maintenance")
    kept, dropped = (world.post_order(NETWORK).json()["id"] for _ in range(2))
    for order_id in (kept, dropped):
        world.wait_for_item(order_id, "1/call-network#call", {"onHold"})
    systems = cli(world, "systems", "list")
    shown = cli(world, "order", "get", kept)
    cancelled = cli(world, "order", "cancel", dropped, "--reason", "customer changed their mind")
    online = cli(world, "systems", "online", "network")

    assert offline.exit_code == 0 and "system network is offline" in offline.output
    network_row = re.search(r"^│ network .*$", systems.output, re.M).group(0)
    assert "offline" in network_row and "maintenance" in network_row and "2 onHold" in network_row
    assert shown.exit_code == 0 and "onHold" in shown.output
    assert cancelled.exit_code == 0 and f"of order {dropped}: done; the order is cancelled" in cancelled.output
    assert online.exit_code == 0 and "system network is online" in online.output
    assert world.wait_for(kept)["state"] == "completed"
    assert world.order(dropped)["state"] == "cancelled"
    too_late = cli(world, "order", "cancel", kept)
    assert too_late.exit_code == 1 and "refused (terminatedWithError)" in too_late.output


def test_watching_exits_0_when_completed_2_when_held_and_1_otherwise(sqlite_world, tmp_path):
    server = sqlite_world
    order_file = tmp_path / "order.json"
    order_file.write_text(json.dumps(ONCE))

    done = cli(server, "order", "submit", order_file, "--watch", "--interval", "0.05")
    server.set_simulator("network", fail_next=1)
    held = cli(server, "order", "submit", order_file, "--watch", "--interval", "0.05")
    held_id = re.search(r"^order (\S+) is held: ", held.output, re.M).group(1)
    [item] = [i for i in server.plan(held_id)["items"] if i["state"] == "fallout"]
    still_held = cli(server, "order", "watch", held_id)
    server.client.post(f"/api/v1/plan-items/{item['id']}/skip").raise_for_status()
    resumed = cli(server, "order", "watch", held_id, "--interval", "0.05")
    server.client.put("/api/v1/systems/network", json={"offline": True}).raise_for_status()
    waiting = server.post_order(NETWORK).json()["id"]
    server.wait_for_item(waiting, "1/call-network#call", {"onHold"})
    timed_out = cli(server, "order", "watch", waiting, "--timeout", "0.3", "--interval", "0.05")
    server.client.post(f"/api/v1/orders/{waiting}/cancel").raise_for_status()
    cancelled = cli(server, "order", "watch", waiting)

    assert done.exit_code == 0
    assert ("2", "2", "completed") in PROGRESS.findall(done.output)
    assert re.search(r"^order \S+ completed$", done.output, re.M)
    assert held.exit_code == 2
    assert f"order {held_id} is held: 1 item(s) in fallout; an operator must act." in held.output
    assert item["id"] in held.output and f"ordertower fallout list --order {held_id}" in held.output
    assert PROGRESS.search(held.output) and "held · 1 fallout" in held.output
    assert still_held.exit_code == 2
    assert resumed.exit_code == 0 and f"order {held_id} completed" in resumed.output
    assert timed_out.exit_code == 1 and f"order {waiting} is still" in timed_out.output
    assert "after 0.3 s" in timed_out.output and "1 onHold" in timed_out.output
    assert cancelled.exit_code == 1 and f"order {waiting} cancelled" in cancelled.output


def test_the_views_fit_a_narrow_terminal(sqlite_world):
    server = sqlite_world
    server.set_simulator("network", fail_next=1)
    order_id = server.post_order(order_body(("1", "gadget", {"via": "once"}), ("2", "gadget", {"via": "billing"}),
                                            externalId="a-rather-long-external-identifier")).json()["id"]
    server.wait_for(order_id, {"held"})
    commands = [("order", "watch", order_id), ("order", "get", order_id), ("order", "list"),
                ("fallout", "list"), ("systems", "list")]
    screens, codes = [], []
    try:
        for command in commands:
            # what the CLI prints only (the in-process server logs to the same stdout)
            console.file = io.StringIO()
            codes.append(cli(server, *command, columns=60).exit_code)
            screens.append(console.file.getvalue())
    finally:
        console.file = None  # back to whatever sys.stdout is

    assert codes == [2, 0, 0, 0, 0], screens
    for screen in screens:
        too_long = [line for line in screen.splitlines() if len(line) > 60]
        assert not too_long, screen
    watched, shown, listed, fallout, systems = screens
    assert PROGRESS.search(watched) and "an operator must act" in watched
    assert "fallout" in shown and "held" in listed and "1 item(s) in fallout" in fallout
    assert "field-service" in systems


def test_errors_are_one_clear_line_and_a_non_zero_exit(sqlite_world, tmp_path):
    server = sqlite_world
    bad_order = tmp_path / "bad.json"
    bad_order.write_text(json.dumps({"productOrderItem": [{"id": "1", "action": "explode"}]}))
    not_json = tmp_path / "not.json"
    not_json.write_text("{nope")
    port = free_port()

    unknown = cli(server, "order", "get", "no-such-order", columns=300)
    refused = cli(server, "order", "submit", bad_order, columns=300)
    unreachable = cli(server, "systems", "list", "--url", f"http://127.0.0.1:{port}", columns=300)
    unreadable = cli(server, "fallout", "retry", "some-item", "--request-json", not_json, columns=300)
    no_system = cli(server, "systems", "offline", "teleport", columns=300)

    assert unknown.exit_code == 1 and "(404)" in unknown.output and "no-such-order" in unknown.output
    [line] = [ln for ln in refused.output.splitlines() if "(400)" in ln]
    assert refused.exit_code == 1 and "productOrderItem[0].action:" in line
    assert unreachable.exit_code == 1
    assert f"Cannot reach ordertower at http://127.0.0.1:{port} (connection refused)" in unreachable.output
    assert unreadable.exit_code == 1 and f"The request file {not_json} is not JSON" in unreadable.output
    assert no_system.exit_code == 1 and "(404)" in no_system.output and "teleport" in no_system.output
    for result in (unknown, refused, unreachable, unreadable, no_system):
        assert "Traceback" not in result.output
