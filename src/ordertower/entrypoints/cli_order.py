"""``ordertower order submit|get|list|watch|cancel``: orders from the command line, as a
client of the TMF622 and operations APIs.

``submit --watch`` and ``watch`` follow an order's plan live until it needs no more watching:
exit 0 when it is ``completed``, 2 when it is ``held`` (an item is in fallout: an operator
must act), 1 when it ends otherwise (failed, partial, cancelled, rejected) or on time-out.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..domain.lifecycle import FINAL_ITEM_STATES, FINAL_ORDER_STATES
from .cli_http import (JSON, KEY, URL, Api, console, fail, folding_table, print_json,
                       read_json_file, short_time)

order_app = typer.Typer(help="Submit, find, follow and cancel orders.", no_args_is_help=True)
ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
CANCELS = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"
STATE_STYLE = {"completed": "green", "running": "cyan", "waiting": "cyan", "retrying": "yellow",
               "fallout": "bold red", "ready": "white", "pending": "dim", "skipped": "dim",
               "cancelled": "dim", "onHold": "yellow", "compensating": "yellow",
               "compensated": "dim"}
ORDER_STYLE = {"completed": "bold green", "held": "bold red", "failed": "bold red",
               "partial": "bold red", "rejected": "bold red", "cancelled": "bold",
               "inProgress": "bold cyan", "acknowledged": "bold"}
HELD = "held"
STOP_WATCHING = FINAL_ORDER_STATES | {HELD}
TIMEOUT = typer.Option(600, help="Stop watching after this many seconds (exit 1).")
INTERVAL = typer.Option(0.5, min=0.05, help="Seconds between two looks at the plan.")


def _state(state: str, styles: dict[str, str] = STATE_STYLE) -> Text:
    return Text(state, style=styles.get(state, ""))


def plan_table(items: list[dict], title: str | Text | None = None, *, ids: bool = False,
               limit: int | None = None) -> Table:
    """The plan items, fitted to the console: long cells fold, the error is cut short. Past
    ``limit`` rows, the items still open are shown first and the rest counted."""
    shown = items
    if limit is not None and len(items) > limit:
        still_open = [n for n, i in enumerate(items) if i["state"] not in FINAL_ITEM_STATES]
        ended = [n for n, i in enumerate(items) if i["state"] in FINAL_ITEM_STATES]
        shown = [items[n] for n in sorted((still_open + ended)[:limit])]
    wide = console.width >= 100
    table = folding_table(title, "id" if ids else None, "item", "type" if wide else None, "system",
                          "state", "tries", "ponr" if wide else None, "last error",
                          caption_justify="left",
                          caption=(f"{len(shown)} of {len(items)} items shown"
                                   if len(shown) < len(items) else None))
    for item in shown:
        name = item["name"] + (" (ponr)" if item["ponr"] and not wide else "")
        error = item.get("last_error") or ""
        row = [Text(name), *([Text(item["type"])] if wide else []), Text(item["system"] or ""),
               _state(item["state"]), str(item["attempts"]), *(["yes" if item["ponr"] else ""] if wide else []),
               Text(error if len(error) <= 80 else error[:79] + "…")]
        table.add_row(*([Text(item["id"])] if ids else []), *row)
    return table


def _counts(state: str, items: list[dict]) -> tuple[int, int, str, int, int]:
    """Items done, items in all, the order's state, items in fallout, items on hold."""
    done = sum(1 for i in items if i["state"] in FINAL_ITEM_STATES)
    fallout = sum(1 for i in items if i["state"] == "fallout")
    on_hold = sum(1 for i in items if i["state"] == "onHold")
    return done, len(items), state, fallout, on_hold


def progress(state: str, items: list[dict], elapsed: float) -> Text:
    """``4/7 items done · 3.2 s · inProgress`` (and what needs an eye: fallout, on hold)."""
    done, total, _, fallout, on_hold = _counts(state, items)
    line = Text(f"{done}/{total} items done · {elapsed:.1f} s · ")
    line.append_text(_state(state, ORDER_STYLE))
    for n, name in ((fallout, "fallout"), (on_hold, "onHold")):
        if n:
            line.append(f" · {n} {name}", style=STATE_STYLE[name])
    return line


def _watch_view(order_id: str, state: str, items: list[dict], elapsed: float, limit: int) -> Group:
    title = Text(f"order {order_id}: ")
    title.append_text(_state(state, ORDER_STYLE))
    return Group(plan_table(items, title, limit=limit), progress(state, items, elapsed))


def follow(api: Api, order_id: str, timeout: float, interval: float,
           started: float | None = None) -> None:
    """Follow the order's plan until it ends, is held, or the time is up; then exit with the
    code of its state. On a terminal the view updates in place; otherwise (a pipe, a log) a
    progress line is printed whenever it changes, and the final table at the end."""
    started = time.monotonic() if started is None else started
    path = f"/api/v1/orders/{order_id}/plan"
    terminal = console.is_terminal and not console.is_dumb_terminal
    try:
        if terminal:
            with Live(console=console, refresh_per_second=4, vertical_overflow="crop") as live:
                while True:
                    plan = api.get(path)
                    elapsed = time.monotonic() - started
                    live.update(_watch_view(order_id, plan["state"], plan["items"], elapsed,
                                            max(5, console.height - 7)))
                    if plan["state"] in STOP_WATCHING or elapsed > timeout:
                        break
                    time.sleep(interval)
        else:
            last: tuple | None = None
            while True:
                plan = api.get(path)
                elapsed = time.monotonic() - started
                if plan["state"] in STOP_WATCHING or elapsed > timeout:
                    break
                seen = _counts(plan["state"], plan["items"])
                if seen != last:
                    console.print(progress(plan["state"], plan["items"], elapsed))
                    last = seen
                time.sleep(interval)
            console.print(_watch_view(order_id, plan["state"], plan["items"], elapsed, 40))
    except KeyboardInterrupt:
        fail(f"Stopped watching; order {order_id} carries on (`ordertower order watch {order_id}`).", 130)
    _finish(order_id, plan["state"], plan["items"], timeout)


def _finish(order_id: str, state: str, items: list[dict], timeout: float) -> None:
    if state == "completed":
        console.print(Text(f"order {order_id} ").append_text(_state(state, ORDER_STYLE)))
        return
    if state == HELD:
        fallout = [i for i in items if i["state"] == "fallout"]
        console.print(Text(f"order {order_id} is held: {len(fallout) or 'an'} item(s) in fallout; "
                           "an operator must act.", style="bold red"))
        for item in fallout:
            console.print(Text(f"  {item['id']}  {item['name']}"
                               + (f" ({item['system']})" if item["system"] else "")
                               + (f": {item['last_error']}" if item.get("last_error") else "")))
        console.print(Text(f"See them with `ordertower fallout list --order {order_id}`, then "
                           "`ordertower fallout retry ITEM_ID` (--request-json FILE to edit the "
                           "request) or `ordertower fallout skip ITEM_ID`."))
        raise typer.Exit(2)
    if state in FINAL_ORDER_STATES:
        console.print(Text(f"order {order_id} ").append_text(_state(state, ORDER_STYLE)))
        raise typer.Exit(1)
    fail(f"order {order_id} is still {state} after {timeout:g} s; stopped watching (the order "
         f"carries on: `ordertower order watch {order_id}`).")


@order_app.command("submit")
def submit(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A TMF622 productOrder JSON."),
    watch: bool = typer.Option(False, "--watch", help="Follow the plan until the order ends."),
    url: str = URL, key: Optional[str] = KEY, timeout: float = TIMEOUT, interval: float = INTERVAL,
) -> None:
    """Submit an order; with --watch, follow its plan live until it ends or is held
    (exit 0 completed, 2 held, 1 otherwise)."""
    body = read_json_file(file, "order file")
    started = time.monotonic()
    with Api(url, key) as api:
        order = api.post(ORDERS, json=body)
        console.print(Text(f"order {order['id']} ").append_text(_state(order["state"], ORDER_STYLE)))
        if watch:
            follow(api, order["id"], timeout, interval, started)


@order_app.command("watch")
def watch(order_id: str = typer.Argument(..., help="The order's id."),
          url: str = URL, key: Optional[str] = KEY, timeout: float = TIMEOUT,
          interval: float = INTERVAL) -> None:
    """Follow an order's plan live until it ends or is held (exit 0 completed, 2 held,
    1 otherwise or on time-out)."""
    with Api(url, key) as api:
        follow(api, order_id, timeout, interval)


def _customer(order: dict[str, Any]) -> str:
    return next((p.get("id", "") for p in order.get("relatedParty") or []
                 if (p.get("role") or "").lower() == "customer"), "")


@order_app.command("get")
def get(order_id: str = typer.Argument(..., help="The order's id."), as_json: bool = JSON,
        url: str = URL, key: Optional[str] = KEY) -> None:
    """An order: its state, customer, external id, dates, and its plan items (--json:
    {"productOrder": ..., "plan": ...} as the API answers them)."""
    with Api(url, key) as api:
        order = api.get(f"{ORDERS}/{order_id}")
        plan = api.get(f"/api/v1/orders/{order_id}/plan")
    if as_json:
        print_json({"productOrder": order, "plan": plan})
        return
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    rows = [("order", Text(order["id"])), ("state", _state(order["state"], ORDER_STYLE)),
            ("customer", _customer(order)), ("externalId", order.get("externalId")),
            ("description", order.get("description")), ("revision", order.get("revision")),
            ("orderDate", short_time(order.get("orderDate"))),
            ("requestedStart", short_time(order.get("requestedStartDate"))),
            ("requestedCompletion", short_time(order.get("requestedCompletionDate"))),
            ("expectedCompletion", short_time(order.get("expectedCompletionDate"))),
            ("completionDate", short_time(order.get("completionDate"))),
            ("jeopardy", order.get("jeopardy")),
            ("order items", len(order.get("productOrderItem") or []))]
    for name, value in rows:
        if value not in (None, ""):
            facts.add_row(name, value if isinstance(value, Text) else Text(str(value)))
    for note in order.get("note") or []:
        if note.get("author") == "ordertower" and note.get("text"):
            facts.add_row("note", Text(note["text"]))
    console.print(facts)
    console.print(plan_table(plan["items"], f"plan (revision {plan['revision']})", ids=True))
    done, total, *_ = _counts(plan["state"], plan["items"])
    console.print(f"{done}/{total} items done")
    if any(i["state"] == "fallout" for i in plan["items"]):
        console.print(Text(f"Items in fallout: `ordertower fallout list --order {order_id}`.",
                           style="red"))


@order_app.command("list")
def list_orders(
    state: Optional[str] = typer.Option(None, help="Only orders in this state (e.g. held)."),
    customer: Optional[str] = typer.Option(None, help="Only this customer's orders."),
    external_id: Optional[str] = typer.Option(None, "--external-id", help="Only this externalId."),
    limit: int = typer.Option(20, min=1, max=1000, help="At most this many orders."),
    offset: int = typer.Option(0, min=0, help="Skip this many orders first."),
    as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY,
) -> None:
    """Orders, newest first, with the total that match (X-Total-Count)."""
    params: dict[str, Any] = {k: v for k, v in {"state": state, "relatedParty.id": customer,
                                                "externalId": external_id}.items() if v}
    params |= {"limit": limit, "offset": offset}
    if not as_json:
        params["fields"] = "state,externalId,relatedParty,orderDate,completionDate"
    with Api(url, key) as api:
        resp = api.request("GET", ORDERS, params=params)
    orders = resp.json()
    total_raw = resp.headers.get("X-Total-Count", "")
    total = int(total_raw) if total_raw.isdigit() else len(orders)
    if as_json:
        print_json({"total": total, "offset": offset, "orders": orders})
        return
    if not orders:
        console.print(f"No orders (of {total} matching)." if total else "No orders match.")
        return
    title = f"orders {offset + 1}-{offset + len(orders)} of {total}"
    table = folding_table(title, "id", "state", "customer", "externalId", "ordered", "completed",
                          caption=(f"next: --offset {offset + len(orders)}"
                                   if offset + len(orders) < total else None),
                          caption_justify="left")
    for o in orders:
        table.add_row(Text(o["id"]), _state(o.get("state", ""), ORDER_STYLE), Text(_customer(o)),
                      Text(o.get("externalId") or ""), short_time(o.get("orderDate")),
                      short_time(o.get("completionDate")))
    console.print(table)


@order_app.command("cancel")
def cancel(order_id: str = typer.Argument(..., help="The order's id."),
           reason: Optional[str] = typer.Option(None, help="Why (recorded on the order)."),
           url: str = URL, key: Optional[str] = KEY) -> None:
    """Cancel an order (TMF622 cancelProductOrder): refused past its point of no return."""
    body: dict[str, Any] = {"productOrder": {"id": order_id, "@referredType": "ProductOrder"}}
    if reason:
        body["cancellationReason"] = reason
    with Api(url, key) as api:
        request = api.post(CANCELS, json=body)
        if request["state"] == "terminatedWithError":
            fail(f"Cancellation {request['id']} of order {order_id} refused (terminatedWithError): "
                 f"{request.get('errorMessage') or 'no reason given'}")
        order = api.get(f"{ORDERS}/{order_id}", params={"fields": "state"})
    console.print(Text(f"cancellation {request['id']} of order {order_id}: {request['state']}; "
                       f"the order is ").append_text(_state(order["state"], ORDER_STYLE)))
    if request["state"] != "done":
        console.print(f"Work already done is being undone; follow it with "
                      f"`ordertower order watch {order_id}`.")
