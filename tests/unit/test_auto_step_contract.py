"""What the engine makes of an auto step: the typed context it gets, and each way it can end
(a result, a plain mapping, StepFailed, any other exception, a time-out, a result that is not
JSON), whether the step is ``async`` or plain. And how the registry treats entry points
(duplicates, bad names, a plug-in that does not import)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from importlib.metadata import EntryPoint

from ordertower.domain.catalog import Catalog, System
from ordertower.domain.clock import ManualClock
from ordertower.domain.item_spec import ItemSpec
from ordertower.engine.executors import Executors
from ordertower.engine.steps import load_steps
from ordertower.plugins import StepContext, StepFailed, StepResult

CATALOG = Catalog(systems=(System(id="network", base_url="{simulators}/network"),))
ORDER = {"id": "o1", "external_id": "ext-1", "customer_id": "cust-42", "items": []}
LINE = {"line_id": "2/mobile-line", "technical_product": "mobile-line", "action": "add",
        "attributes": {"tier": "basic"}}


def run(step, *, timeout_s=None, system="network"):
    executors = Executors(lambda version=None: CATALOG, callouts=None, url_substitutions={"simulators": "http://sim/"},
                          callback_base="http://ot", steps={"s": step}, http=object(),
                          clock=ManualClock(datetime(2026, 5, 1, tzinfo=timezone.utc)))
    item = {"id": "i1", "key": "2/mobile-line#s", "name": "S", "type": "auto", "system": system,
            "attempts": 2, "spec": ItemSpec(step="s", timeout_s=timeout_s)}
    return asyncio.run(executors.run(item, ORDER, LINE, [LINE]))


def test_a_step_reads_the_order_its_line_attributes_the_item_its_system_and_the_clock():
    seen = {}

    async def step(ctx: StepContext) -> StepResult:
        seen.update(order=ctx.order.id, customer=ctx.order.customer_id, line=ctx.line.id,
                    product=ctx.line.technical_product, tier=ctx.attributes["tier"],
                    key=ctx.item.idempotency_key, attempt=ctx.item.attempt, url=ctx.system_url,
                    now=ctx.clock.now().isoformat(), http=ctx.http is not None)
        return StepResult(output={"done": True})

    outcome = run(step)
    assert outcome.kind == "done" and outcome.output == {"done": True}
    assert seen == {"order": "o1", "customer": "cust-42", "line": "2/mobile-line",
                    "product": "mobile-line", "tier": "basic", "key": "i1", "attempt": 2,
                    "url": "http://sim/network", "now": "2026-05-01T00:00:00+00:00", "http": True}


def test_a_plain_step_runs_too_and_a_mapping_is_taken_as_its_output():
    assert run(lambda ctx: {"n": 1}).output == {"n": 1}


def test_any_exception_of_a_step_is_a_retryable_failure_carrying_its_message():
    async def step(ctx):
        raise ConnectionError("numbering system unreachable")

    outcome = run(step)
    assert (outcome.kind, outcome.retryable) == ("failed", True)
    assert outcome.error == "auto step 's' failed: numbering system unreachable"


def test_step_failed_is_fatal_unless_it_says_retryable():
    def fatal(ctx):
        raise StepFailed("no such number range")

    def again(ctx):
        raise StepFailed("busy", retryable=True)

    assert (run(fatal).error, run(fatal).retryable) == ("no such number range", False)
    assert run(again).retryable is True


def test_an_async_step_that_overruns_its_items_timeout_is_a_retryable_failure():
    async def slow(ctx):
        await asyncio.sleep(5)

    outcome = run(slow, timeout_s=0.05)
    assert outcome.retryable and outcome.error == "auto step 's' did not finish within 0.05 s"


def test_a_result_that_cannot_be_stored_is_a_fatal_failure():
    assert "not a StepResult" in run(lambda ctx: 42).error
    outcome = run(lambda ctx: StepResult(output={"at": object()}))
    assert not outcome.retryable and "not JSON" in outcome.error


def _ep(name, value):
    return EntryPoint(name=name, value=value, group="ordertower.auto_steps")


def test_the_registry_keeps_why_a_step_is_unavailable():
    registry = load_steps([
        _ep("assetize", "ordertower.engine.auto_steps:assetize"),
        _ep("broken", "no_such_module_anywhere:step"),
        _ep("Bad Name", "ordertower.engine.auto_steps:assetize"),
        _ep("twice", "ordertower.engine.auto_steps:assetize"),
        _ep("twice", "ordertower.engine.plan_order:plan_order"),
        _ep("not-callable", "ordertower.engine.steps:GROUP"),
    ])
    assert list(registry) == ["assetize"]
    assert set(registry.unavailable) == {"broken", "Bad Name", "twice", "not-callable"}
    assert "failed to load: ModuleNotFoundError" in registry.unavailable["broken"]
    assert registry.unavailable["twice"].startswith("registered more than once")
