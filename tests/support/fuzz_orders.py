"""schemathesis hooks for the stateful run of tests/e2e/test_api_fuzzing.py (loaded with
``SCHEMATHESIS_HOOKS=tests.support.fuzz_orders``): random bodies fitting the TMF622 schema are
almost never sellable orders (an unknown offering is refused), so without help no order would
be placed and no link of ``POST productOrder`` followed. Here the order placed is the seed
order and the amendment a real change of tier; everything else stays generated."""

from __future__ import annotations

import copy
from typing import Any

import schemathesis

from tests.support.live import SEED_ORDER


@schemathesis.hook
def map_body(context, body: Any) -> Any:
    operation = context.operation
    if operation is None:
        return body
    method, path = operation.method.upper(), operation.path
    if method == "POST" and path.endswith("/productOrder"):
        return copy.deepcopy(SEED_ORDER)
    if method == "PATCH" and path.endswith("/productOrder/{order_id}"):
        items = copy.deepcopy(SEED_ORDER["productOrderItem"])
        items[1]["product"]["productCharacteristic"] = [{"name": "tier", "value": "basic"}]
        return {"productOrderItem": items}
    return body
