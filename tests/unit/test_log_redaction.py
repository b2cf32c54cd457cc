"""Secrets never reach a log line (ordertower/logs.py): each kind of secret a line may carry
is replaced by ``[redacted]``, in any value of the line; text without one is left as it is."""

from __future__ import annotations

import pytest

from ordertower.logs import REDACTED, redact, redact_value, register_secret


@pytest.mark.parametrize("text, expected", [
    ("Authorization: Bearer abc.def-123", f"Authorization: Bearer {REDACTED}"),
    ("header authorization='s3cr3t'", f"header authorization='{REDACTED}'"),
    ("POST http://h/api/v1/callbacks/tok_123?x=1", f"POST http://h/api/v1/callbacks/{REDACTED}?x=1"),
    ("key otk_AbCdEfGh12345 used", f"key {REDACTED} used"),
    ("postgresql://user:pw@db:5432/x", f"postgresql://user:{REDACTED}@db:5432/x"),
    ("order 1cfa2d59 completed", "order 1cfa2d59 completed"),
    ("https://warehouse.example/ship", "https://warehouse.example/ship"),
])
def test_each_kind_of_secret_is_redacted_and_other_text_is_kept(text, expected):
    assert redact(text) == expected


def test_a_registered_secret_and_secret_fields_are_redacted_anywhere_in_a_line():
    register_secret("the-bootstrap-key-42")
    line = {"event": "started", "note": "key the-bootstrap-key-42 given",
            "headers": {"Authorization": "anything", "X-Other": "fine"},
            "items": [{"token": "t1", "state": "done"}]}
    assert redact_value(line) == {
        "event": "started", "note": f"key {REDACTED} given",
        "headers": {"Authorization": REDACTED, "X-Other": "fine"},
        "items": [{"token": REDACTED, "state": "done"}]}
