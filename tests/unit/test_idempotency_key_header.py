"""The Idempotency-Key header: 1 to 255 printable ASCII characters, sent once, bare or as the
draft's structured-field string; no header means no key."""

from __future__ import annotations

import pytest

from ordertower.entrypoints.api.idempotency import parse_key
from ordertower.entrypoints.api.problems import Problem


def test_no_header_means_no_key():
    assert parse_key([]) is None


@pytest.mark.parametrize("value,key", [
    ("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"),
    ('"8e03978e-40d5"', "8e03978e-40d5"),  # the draft's sf-string form names the same key
    (r'"say \"hi\""', 'say "hi"'),
    ("  padded  ", "padded"),
    ("a b~!", "a b~!"),
    ("k" * 255, "k" * 255),
])
def test_a_printable_ascii_key_is_accepted(value, key):
    assert parse_key([value]) == key


@pytest.mark.parametrize("values", [[""], ['""'], ["k" * 256], ["tab\there"], ["clé"],
                                    ["a", "b"]])
def test_a_malformed_key_is_a_bad_request_naming_the_header(values):
    with pytest.raises(Problem) as refused:
        parse_key(values)
    assert refused.value.status == 400
    assert [i.location for i in refused.value.issues] == ["Idempotency-Key"]
