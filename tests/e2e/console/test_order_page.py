"""The Order page in a browser: the plan graph and the Gantt, actions, live updates, the time
slider."""

from __future__ import annotations

from datetime import datetime, timedelta

from playwright.sync_api import expect

from tests.support.browser import ConsolePage, write_docs_screenshot


def _rendered(page, selector: str) -> None:
    page.locator(f'{selector}[data-rendered="true"]').wait_for(timeout=30_000)


def test_the_order_page_draws_one_graph_node_and_one_planned_bar_per_plan_item(console: ConsolePage):
    server = console.server
    order_id = server.post_order().json()["id"]
    server.wait_for(order_id)
    items = server.plan(order_id)["items"]

    page = console.open(f"/console/orders/{order_id}")
    _rendered(page, "#plan-graph")
    _rendered(page, "#gantt")

    nodes = page.locator("#plan-graph svg g.node")
    assert nodes.count() == len(items)
    assert page.locator("#plan-graph svg g.node.s_completed").count() == len(items)
    ponr = [i for i in items if i["ponr"]]
    assert ponr and page.locator("#plan-graph svg g.node", has_text="PONR").count() == len(ponr)
    planned = page.locator("#gantt svg rect.task").evaluate_all(
        "rects => rects.map(r => r.id).filter(id => /-p\\d+$/.test(id))")
    assert len(planned) == len(items)
    actual = page.locator("#gantt svg rect.task").evaluate_all(
        "rects => rects.map(r => r.id).filter(id => /-a\\d+$/.test(id))")
    assert len(actual) == len(items)  # every item ran
    critical = page.locator("#gantt svg rect.task").evaluate_all(
        "rects => rects.filter(r => /\\bcrit\\d/.test(r.getAttribute('class'))).length")
    assert critical >= 2  # the path through the activation, the point of no return
    assert page.locator("table.order-items tr[data-state=completed]").count() == 2
    assert page.locator("ul.decomposition li[data-line]").count() >= 4
    assert console.csp_violations() == [] and console.errors == [], console.errors


ACTIVATION = "2/mobile-line#activate"


def test_an_item_in_fallout_is_retried_from_the_console_and_the_order_completes(console: ConsolePage):
    server = console.server
    server.set_simulator("network", failure_rate=1.0)
    order_id = server.post_order().json()["id"]
    page = console.open(f"/console/orders/{order_id}")

    # the page follows the order live: the activation falls out, the order is held
    row = page.locator(f'#plan-panel tr[data-key="{ACTIVATION}"][data-state="fallout"]')
    row.wait_for(timeout=30_000)
    page.locator('#order-live .summary[data-state="held"]').wait_for()
    _rendered(page, "#plan-graph")
    _rendered(page, "#gantt")
    assert page.locator("#plan-graph svg g.node.s_fallout").count() == 1
    write_docs_screenshot(page, "order-page.png", down_to="#gantt")  # the README's picture
    server.set_simulator("network", failure_rate=0.0)
    row.locator("button", has_text="Retry").click()

    page.wait_for_url(f"{console.url}/console/orders/{order_id}")
    page.locator('#order-live .summary[data-state="completed"]').wait_for(timeout=30_000)
    page.locator(f'#plan-panel tr[data-key="{ACTIVATION}"][data-state="completed"]').wait_for()
    assert server.order(order_id)["state"] == "completed"
    history = server.client.get(f"/api/v1/orders/{order_id}/history").json()["events"]
    retried = [e for e in history if e["type"] == "OperatorActionEvent"]
    assert retried and retried[0]["actor"] == "bootstrap"  # the logged-in key's name
    assert console.csp_violations() == []


def test_items_of_an_offline_system_show_on_hold_on_the_order_page(console: ConsolePage):
    server = console.server
    server.client.put("/api/v1/systems/network", json={"offline": True}).raise_for_status()
    order_id = server.post_order().json()["id"]
    page = console.open(f"/console/orders/{order_id}")

    page.locator(f'#plan-panel tr[data-key="{ACTIVATION}"][data-state="onHold"]').wait_for(timeout=30_000)
    page.locator(f'#order-live .item-states [data-key="{ACTIVATION}"][data-state="onHold"]').wait_for()
    # the live panel may be swapped again while its graph draws: wait for the drawn node
    expect(page.locator("#plan-graph svg g.node.s_onHold")).to_have_count(1, timeout=30_000)

    server.client.put("/api/v1/systems/network", json={"offline": False}).raise_for_status()
    page.locator('#order-live .summary[data-state="completed"]').wait_for(timeout=30_000)


def test_the_time_slider_shows_the_plan_exactly_as_it_stood_at_that_moment(console: ConsolePage):
    server = console.server
    server.set_simulator("network", failure_rate=1.0)
    order_id = server.post_order().json()["id"]
    server.wait_for(order_id, states={"held"})
    server.set_simulator("network", failure_rate=0.0)
    fallen = next(i for i in server.plan(order_id)["items"] if i["state"] == "fallout")
    server.client.post(f"/api/v1/plan-items/{fallen['id']}/retry").raise_for_status()
    server.wait_for(order_id)
    history = server.client.get(f"/api/v1/orders/{order_id}/history").json()["events"]
    fell = next(e for e in history if e.get("to") == "fallout")
    moment = datetime.fromisoformat(fell["at"].replace("Z", "+00:00")) + timedelta(milliseconds=1)
    at_ms = int(moment.timestamp() * 1000)
    then = server.client.get(f"/api/v1/orders/{order_id}/plan",
                             params={"at": moment.isoformat().replace("+00:00", "Z")}).json()
    assert {i["state"] for i in then["items"]} >= {"fallout", "completed", "pending"}

    page = console.open(f"/console/orders/{order_id}")
    _rendered(page, "#plan-graph")
    assert page.locator("#plan-graph svg g.node.s_fallout").count() == 0  # now: all completed
    page.locator("#plan-at").evaluate(
        "(el, ms) => { el.value = String(ms); el.dispatchEvent(new Event('input')); }", at_ms)

    page.locator('#plan-panel .plan-view[data-at]:not([data-at=""])').wait_for()
    _rendered(page, "#plan-graph")
    shown = dict(page.locator("#plan-panel tr[data-item]").evaluate_all(
        "rows => rows.map(r => [r.dataset.item, r.dataset.state])"))
    assert shown == {i["id"]: i["state"] for i in then["items"]}
    for state in {i["state"] for i in then["items"]}:
        expected = sum(1 for i in then["items"] if i["state"] == state)
        assert page.locator(f"#plan-graph svg g.node.s_{state}").count() == expected, state
    assert page.locator("#plan-at-label").inner_text().startswith(moment.strftime("%Y-%m-%dT%H:%M"))

    page.locator("#plan-at-live").click()  # back to now
    page.locator('#plan-panel .plan-view[data-at=""]').wait_for()
    _rendered(page, "#plan-graph")
    assert page.locator("#plan-graph svg g.node.s_completed").count() == len(then["items"])
