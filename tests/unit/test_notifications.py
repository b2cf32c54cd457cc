"""Events out, the pure part: internal kinds -> TMF event types, hub queries, callbacks,
back-off and when a listener is failing; and the history's actors."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from ordertower.domain.history import actor_of, merge
from ordertower.domain.notifications import (PRODUCT_INVENTORY, PRODUCT_ORDERING, HubFilter,
                                             InvalidSubscription, check_callback, is_failing,
                                             kinds_for, notification, parse_hub_query,
                                             retry_delay, tmf_mapping)


def test_internal_kinds_map_to_tmf_event_types_in_one_place():
    assert tmf_mapping("ProductOrderCreateEvent", {}).event_type == "ProductOrderCreateEvent"
    assert tmf_mapping("ProductOrderStateChangeEvent", {"to": "completed"}).resource == "productOrder"
    applied = tmf_mapping("ProductOrderRevisionEvent", {"status": "applied"})
    assert (applied.event_type, applied.field_path) == ("ProductOrderAttributeValueChangeEvent",
                                                        "productOrderItem")
    assert tmf_mapping("ProductOrderRevisionEvent", {"status": "refused"}) is None
    assert tmf_mapping("JeopardyChangeEvent", {"order": "o", "to": "RED"}).field_path == "jeopardy"
    assert tmf_mapping("JeopardyChangeEvent", {"item": "i", "to": "RED"}) is None
    assert tmf_mapping("CancelProductOrderStateChangeEvent", {}).resource == "cancelProductOrder"
    assert tmf_mapping("ProductCreateEvent", {}).api == PRODUCT_INVENTORY
    for internal in ("PlanItemStateChangeEvent", "TaskCreateEvent", "OperatorActionEvent",
                     "SystemStateChangeEvent", "PlanItemProgressEvent"):
        assert tmf_mapping(internal, {}) is None


def test_kinds_for_selects_what_can_become_the_requested_types():
    assert kinds_for(PRODUCT_ORDERING, ("ProductOrderStateChangeEvent",)) == ("ProductOrderStateChangeEvent",)
    assert set(kinds_for(PRODUCT_ORDERING, ("ProductOrderAttributeValueChangeEvent",))) == {
        "ProductOrderRevisionEvent", "JeopardyChangeEvent"}
    assert "ProductCreateEvent" not in kinds_for(PRODUCT_ORDERING)
    assert set(kinds_for(PRODUCT_INVENTORY)) == {"ProductCreateEvent", "ProductStateChangeEvent",
                                                 "ProductAttributeValueChangeEvent"}


def test_hub_queries_in_the_tmf_simple_form():
    assert parse_hub_query(PRODUCT_ORDERING, None) == HubFilter()
    assert parse_hub_query(PRODUCT_ORDERING, "  ") == HubFilter()
    parsed = parse_hub_query(PRODUCT_ORDERING, "eventType=ProductOrderStateChangeEvent,ProductOrderCreateEvent"
                                               "&productOrder.id=a&event.productOrder.id=b")
    assert parsed.event_types == ("ProductOrderStateChangeEvent", "ProductOrderCreateEvent")
    assert parsed.order_ids == ("a", "b")
    assert parse_hub_query(PRODUCT_INVENTORY, "?product.id=p%201").product_ids == ("p 1",)
    assert HubFilter.from_dict(parsed.as_dict()) == parsed


@pytest.mark.parametrize("query, message", [
    ("eventType=ProductCreateEvent", "unknown eventType 'ProductCreateEvent'"),
    ("state=completed", "'state' is not supported"),
    ("eventType", "expected name=value"),
    ("eventType=", "empty value"),
    (42, "expected a string"),
])
def test_a_query_that_cannot_be_read_is_refused_naming_query(query, message):
    with pytest.raises(InvalidSubscription) as refused:
        parse_hub_query(PRODUCT_ORDERING, query)
    assert [i.location for i in refused.value.issues] == ["query"]
    assert message in refused.value.issues[0].message


@pytest.mark.parametrize("callback", [None, "", "ftp://host/x", "mailto:a@b", "/relative",
                                      "http://", "http://host:99999/", "http://a b/", "https://h/#frag"])
def test_a_callback_must_be_an_http_or_https_url(callback):
    with pytest.raises(InvalidSubscription) as refused:
        check_callback(callback)
    assert [i.location for i in refused.value.issues] == ["callback"]


def test_good_callbacks_pass():
    assert check_callback(" https://crm.example.net/tmf/listener?x=1 ") == \
        "https://crm.example.net/tmf/listener?x=1"
    assert check_callback("http://127.0.0.1:9000/l") == "http://127.0.0.1:9000/l"


def test_back_off_doubles_up_to_its_cap_and_failing_is_by_count_or_age():
    rng = random.Random(1)
    delays = [retry_delay(n, 1.0, 30.0, rng).total_seconds() for n in range(1, 9)]
    assert 0.8 <= delays[0] <= 1.2 and 3.2 <= delays[2] <= 4.8
    assert max(delays) <= 30.0 and delays[-1] >= 24.0
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert not is_failing(0, None, now, 3, 60)
    assert not is_failing(2, now, now, 3, 60)
    assert is_failing(3, now, now, 3, 60)
    assert is_failing(1, now - timedelta(seconds=61), now, 0, 60)
    assert not is_failing(50, now, now, 0, 60)


def test_the_notification_body_is_tmf_shaped():
    body = notification(tmf_mapping("ProductOrderStateChangeEvent", {}), "e1", "2026-01-01T00:00:00.000Z",
                        {"id": "o1", "state": "completed"}, "every plan item is done")
    assert body == {"eventId": "e1", "eventTime": "2026-01-01T00:00:00.000Z",
                    "eventType": "ProductOrderStateChangeEvent",
                    "event": {"productOrder": {"id": "o1", "state": "completed"}},
                    "description": "every plan item is done"}


def test_history_actors():
    assert actor_of("OperatorActionEvent", {"actor": "olga"}) == "olga"
    assert actor_of("PlanItemStateChangeEvent", {"cause": "claimed by w-1"}) == "w-1"
    assert actor_of("PlanItemStateChangeEvent", {"cause": "retry by olga: network fixed"}) == "olga"
    assert actor_of("PlanItemStateChangeEvent", {"cause": "skip by olga"}) == "olga"
    assert actor_of("PlanItemStateChangeEvent", {"cause": "task completed by bob"}) == "bob"
    assert actor_of("PlanItemStateChangeEvent", {"cause": "callback: completed"}, "network") == "network"
    assert actor_of("PlanItemStateChangeEvent", {"cause": "dependencies done (last: x)"}) == "ordertower"
    assert actor_of("ProductOrderStateChangeEvent", {"to": "assessingCancellation",
                                                     "cause": "wrong address (alice)"}) == "alice"
    assert actor_of("ProductOrderRevisionEvent", {"revision": 2}, None, {2: "crm"}.get) == "crm"
    assert actor_of("ProductOrderCreateEvent", {}) == "client"
    assert actor_of("TaskClaimEvent", {"assignee": "bob"}) == "bob"


def test_attempts_go_just_before_the_transition_that_recorded_them():
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    events = [(t, {"type": "PlanItemStateChangeEvent", "item": "i", "from": "ready", "to": "running", "attempts": 1}),
              (t, {"type": "PlanItemStateChangeEvent", "item": "i", "from": "running", "to": "completed",
                   "attempts": 1})]
    attempt = {"type": "PlanItemAttempt", "item": "i", "attempt": 1}
    assert [e["type"] + e.get("to", "") for e in merge(events, [(t + timedelta(seconds=1), attempt)])] == [
        "PlanItemStateChangeEventrunning", "PlanItemAttempt", "PlanItemStateChangeEventcompleted"]
