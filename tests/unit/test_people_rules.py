"""Who may work which task (domain/people.py) and which fallout rule assigns an item
(domain/fallout_rules.py): the rules as a table, without a database."""

from __future__ import annotations

import pytest

from ordertower.domain.errors import DomainError
from ordertower.domain.fallout_rules import first_match, rule_issues
from ordertower.domain.people import (NotAllowed, User, check_assignable, check_claim, check_complete,
                                      check_release)

ANN = User("ann", "agent")
BOB = User("bob", "agent")
OPS = User("olga", "operator")


def task(state="open", assignee=None, queue="install"):
    return {"state": state, "assignee": assignee, "queue": queue}


@pytest.mark.parametrize("user, the_task, member, allowed", [
    (ANN, task(), True, True),                          # a member takes an unoffered task
    (ANN, task(assignee="ann"), True, True),            # ... or one offered to her
    (ANN, task(), False, False),                        # not a member of the queue
    (ANN, task(assignee="bob"), True, False),           # offered to someone else
    (OPS, task(), False, True),                         # an operator works every queue
    (OPS, task(assignee="bob"), False, True),           # ... and takes what was offered to others
])
def test_who_may_claim_an_open_task(user, the_task, member, allowed):
    if allowed:
        check_claim(user, the_task, member)
    else:
        with pytest.raises(NotAllowed) as refused:
            check_claim(user, the_task, member)
        assert refused.value.kind == "forbidden"


def test_only_the_holder_of_the_claim_completes_a_task_an_operator_neither():
    held = task("claimed", "ann")
    check_complete(ANN, held, True)
    for other in (BOB, OPS):
        with pytest.raises(NotAllowed, match="claimed by ann; only they complete it"):
            check_complete(other, held, True)


def test_an_open_task_is_completed_by_someone_who_may_claim_it():
    check_complete(ANN, task(), True)
    with pytest.raises(NotAllowed, match="not a member of queue 'install'"):
        check_complete(ANN, task(), False)


def test_a_claim_is_released_by_its_holder_or_an_operator():
    held = task("claimed", "ann")
    check_release(ANN, held)
    check_release(OPS, held)
    with pytest.raises(NotAllowed):
        check_release(BOB, held)


def test_a_task_is_reassigned_only_to_an_existing_user_who_may_work_its_queue():
    check_assignable(BOB, "bob", "install", True)
    check_assignable(OPS, "olga", "install", False)
    with pytest.raises(DomainError, match="no user named 'zed'") as unknown:
        check_assignable(None, "zed", "install", False)
    with pytest.raises(DomainError, match="not a member of queue 'install'"):
        check_assignable(BOB, "bob", "install", False)
    assert unknown.value.issues[0].location == "user"


RULES = [
    {"id": "billing-to-bea", "system": "billing", "error": None, "product": None},
    {"id": "timeouts", "system": None, "error": r"timed? ?out", "product": None},
    {"id": "sims", "system": None, "error": None, "product": "sim-card"},
]


@pytest.mark.parametrize("system, error, product, rule", [
    ("billing", "500", "billing-account", "billing-to-bea"),     # first match wins
    ("network", "Connection TIMED OUT", "mobile-line", "timeouts"),  # case-insensitive search
    ("warehouse", "409 conflict", "sim-card", "sims"),
    ("warehouse", "409 conflict", "device-shipment", None),
])
def test_the_first_fallout_rule_whose_filters_all_match_assigns_the_item(system, error, product, rule):
    found = first_match(RULES, system, error, product)
    assert (found["id"] if found else None) == rule


@pytest.mark.parametrize("rule, fields", [
    ({"system": "billing", "user": "bea"}, []),
    ({"user": "bea"}, ["system"]),                                    # no filter
    ({"system": "billing"}, ["user"]),                                # no target
    ({"system": "billing", "user": "bea", "queue": "desk"}, ["user"]),  # two targets
    ({"error": "([", "queue": "desk"}, ["error"]),                    # not a regular expression
    ({"system": 7, "queue": "desk"}, ["system"]),                     # not a string
])
def test_a_fallout_rule_names_a_filter_and_one_target(rule, fields):
    assert [i.location for i in rule_issues(rule)] == fields
