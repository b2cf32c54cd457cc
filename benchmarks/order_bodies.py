"""TMF622 order bodies of the benchmarks (no ordertower import: plain dictionaries)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED_ORDER = json.loads((ROOT / "examples" / "phone-and-plan.json").read_text())


def w_order(i: int, tag: str = "w") -> dict[str, Any]:
    """An order of workload W (benchmarks/catalogs/workload-w): one item; its plan is the six
    steps A..F and the asset recording ordertower adds (7 plan items)."""
    return {"externalId": f"{tag}-{i}", "relatedParty": [{"id": f"{tag}-cust-{i}", "role": "customer"}],
            "productOrderItem": [{"id": "1", "action": "add", "productOffering": {"id": "w-order"}}]}


def seed_order(i: int, tag: str = "seed") -> dict[str, Any]:
    """The seed order (examples/phone-and-plan.json) for a customer of its own, so that every
    order opens its own billing account and has the same 7-item plan (5 callouts)."""
    body = copy.deepcopy(SEED_ORDER)
    body["externalId"] = f"{tag}-{i}"
    body["relatedParty"] = [{"id": f"{tag}-cust-{i}", "role": "customer", "@referredType": "Individual"}]
    return body


def order_body(n: int, seed: int = 7, tag: str = "bench") -> dict[str, Any]:
    """A TMF622 order of ``n`` items of the reference catalog, a fifth of each product (phones,
    mobile plans, broadband with and without a technician, electricity and gas)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        kind = i % 5
        address = f"{i} Main Street"
        if kind == 0:
            offering, chars = "phone", {"model": "Fairphone 5", "color": rng.choice(["black", "blue"])}
        elif kind == 1:
            offering, chars = "mobile-plan", {"tier": rng.choice(["basic", "unlimited", "unlimited-plus"])}
        elif kind == 2:
            offering, chars = "broadband", {"speed_mbps": rng.choice(["100", "500", "1000"]),
                                            "install": rng.choice(["self", "technician"]), "address": address}
        elif kind == 3:
            offering, chars = "electricity-supply", {"tariff": "green", "supply_start": "2026-03-01",
                                                     "meter_type": rng.choice(["smart", "standard"]),
                                                     "address": address}
        else:
            offering, chars = "gas-supply", {"tariff": "fixed", "supply_start": "2026-03-01",
                                             "address": address}
        items.append({"id": str(i + 1), "action": "add", "productOffering": {"id": offering},
                      "product": {"productCharacteristic": [{"name": k, "value": v}
                                                            for k, v in chars.items()]}})
    return {"externalId": f"{tag}-{n}", "relatedParty": [{"id": f"{tag}-{n}", "role": "customer"}],
            "productOrderItem": items}
