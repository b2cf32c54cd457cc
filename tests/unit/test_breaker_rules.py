"""The rules of a fulfillment system's circuit breaker (domain/breaker.py): which failures
count, when it opens, which attempts are charged, when a probe goes out, what closes it; and
how a catalog declares it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from ordertower.domain import breaker as rules
from ordertower.domain.breaker import Breaker, BreakerState
from ordertower.domain.catalog import BreakerPolicy, System

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
POLICY = BreakerPolicy(failures=3, probe_after=timedelta(seconds=10))
OPEN, CLOSED, HALF_OPEN = BreakerState.OPEN, BreakerState.CLOSED, BreakerState.HALF_OPEN


@pytest.mark.parametrize("failure, counts", [
    ({"connection_error": True}, True),    # refused, reset, dropped mid-answer
    ({"timed_out": True}, True),
    ({"status_code": 502}, True),
    ({"status_code": 503}, True),
    ({"status_code": 504}, True),
    ({"status_code": 500}, False),         # a business error: the system answered
    ({"status_code": 400}, False),
    ({"status_code": 404}, False),
    ({"status_code": 409}, False),
    ({"status_code": 429}, False),         # it answered: slow down
    ({"status_code": 200}, False),         # a 2xx the executor refused (not JSON)
])
def test_only_transport_failures_count_against_the_breaker(failure, counts):
    assert rules.is_transport_failure(failed=True, **failure) is counts


def test_a_success_never_counts_whatever_it_carries():
    assert rules.is_transport_failure(failed=False, status_code=503, timed_out=True) is False


def _fail(b: Breaker, item: str = "item-1") -> rules.Verdict:
    return rules.after_attempt(b, POLICY, down=True, item_id=item, now=NOW)


def _answer(b: Breaker, item: str = "item-1") -> rules.Verdict:
    return rules.after_attempt(b, POLICY, down=False, item_id=item, now=NOW)


def test_failures_below_the_threshold_are_counted_and_charged():
    first = _fail(Breaker())
    second = _fail(first.breaker)
    assert (second.breaker.state, second.breaker.failures) == (CLOSED, 2)
    assert not first.hold and not second.hold and not second.changed


def test_the_nth_consecutive_failure_opens_the_breaker_and_is_not_charged():
    verdict = _fail(Breaker(failures=2))
    assert verdict.breaker == Breaker(OPEN, 3, NOW)
    assert verdict.hold and verdict.change == (CLOSED, OPEN)


def test_an_answer_resets_the_count_without_a_change_of_state():
    verdict = _answer(Breaker(failures=2))
    assert verdict.breaker == Breaker() and not verdict.changed and not verdict.hold
    assert _answer(Breaker()).breaker == Breaker()


def test_a_failure_while_open_is_held_uncharged_and_changes_nothing_but_the_count():
    opened = Breaker(OPEN, 3, NOW - timedelta(seconds=1))
    verdict = _fail(opened)
    assert verdict.hold and not verdict.changed
    assert verdict.breaker.state is OPEN and verdict.breaker.opened_at == opened.opened_at


def test_any_answer_closes_an_open_or_half_open_breaker():
    assert _answer(Breaker(OPEN, 3, NOW)).change == (OPEN, CLOSED)
    verdict = _answer(Breaker(HALF_OPEN, 3, NOW, NOW, "trial"), item="trial")
    assert verdict.breaker == Breaker() and verdict.change == (HALF_OPEN, CLOSED)


def test_a_failed_trial_opens_the_breaker_again_for_another_wait():
    half_open = Breaker(HALF_OPEN, 3, NOW - timedelta(seconds=10), NOW + timedelta(seconds=30), "trial")
    verdict = _fail(half_open, item="trial")
    assert verdict.breaker == Breaker(OPEN, 4, NOW) and verdict.hold
    assert verdict.change == (HALF_OPEN, OPEN)
    other = _fail(half_open, item="another")  # a call from before: the trial decides
    assert other.breaker.state is HALF_OPEN and other.hold and not other.changed


def test_a_probe_is_due_once_the_breaker_has_been_open_for_probe_after():
    opened = Breaker(OPEN, 3, NOW)
    assert not rules.probe_due(opened, POLICY, NOW + timedelta(seconds=9), manual_offline=False)
    assert rules.probe_due(opened, POLICY, NOW + timedelta(seconds=10), manual_offline=False)
    assert not rules.probe_due(Breaker(failures=2), POLICY, NOW, manual_offline=False)


def test_no_probe_goes_to_a_system_an_operator_holds_offline():
    assert not rules.probe_due(Breaker(OPEN, 3, NOW), POLICY, NOW + timedelta(hours=1), manual_offline=True)


def test_a_probe_that_never_reports_is_given_up_and_taken_again():
    probing = rules.start_probe(Breaker(OPEN, 3, NOW), NOW, timedelta(seconds=40), trial_item="a")
    assert probing.change == (OPEN, HALF_OPEN) and probing.breaker.trial_item == "a"
    assert not rules.probe_due(probing.breaker, POLICY, NOW + timedelta(seconds=39), manual_offline=False)
    assert rules.probe_due(probing.breaker, POLICY, NOW + timedelta(seconds=40), manual_offline=False)
    again = rules.start_probe(probing.breaker, NOW + timedelta(seconds=40), timedelta(seconds=40), "b")
    assert not again.changed and again.breaker.trial_item == "b"


def test_the_health_probe_closes_or_opens_again():
    probing = Breaker(HALF_OPEN, 3, NOW, NOW + timedelta(seconds=15))
    assert rules.after_probe(probing, answered=True, now=NOW).breaker == Breaker()
    assert rules.after_probe(probing, answered=False, now=NOW).breaker == Breaker(OPEN, 4, NOW)
    # closed meanwhile (an operator put the system online): the late result changes nothing
    assert not rules.after_probe(Breaker(), answered=False, now=NOW).changed


def test_a_breaker_turned_off_in_the_catalog_closes():
    assert rules.disabled(Breaker(OPEN, 3, NOW)).change == (OPEN, CLOSED)
    assert not rules.probe_due(Breaker(OPEN, 3, NOW), BreakerPolicy(enabled=False), NOW + timedelta(hours=1),
                               manual_offline=False)


# --- the catalog ---------------------------------------------------------------------------

def test_every_system_has_a_breaker_by_default_five_failures_probe_after_ten_seconds():
    system = System(id="network", base_url="http://x")
    assert system.breaker == BreakerPolicy(enabled=True, failures=5, probe_after=timedelta(seconds=10))
    assert system.health_path is None


def test_a_catalog_sets_the_thresholds_and_the_health_path_as_written():
    system = System.model_validate({"id": "network", "base_url": "http://x", "health_path": "/health",
                                    "breaker": {"failures": 2, "probe_after": "30s"}})
    assert (system.breaker.failures, system.breaker.probe_after) == (2, timedelta(seconds=30))
    assert system.health_path == "/health"


@pytest.mark.parametrize("breaker, field", [
    ({"failures": 0}, "failures"), ({"probe_after": "0s"}, "probe_after"),
    ({"failures": 3, "colour": "red"}, "colour"), ({"probe_after": "soon"}, "probe_after")])
def test_bad_breaker_settings_are_refused_naming_the_field(breaker, field):
    with pytest.raises(ValidationError) as error:
        System.model_validate({"id": "network", "base_url": "http://x", "breaker": breaker})
    assert field in str(error.value)


def test_a_health_path_must_be_a_path():
    with pytest.raises(ValidationError):
        System.model_validate({"id": "network", "base_url": "http://x", "health_path": "health"})
