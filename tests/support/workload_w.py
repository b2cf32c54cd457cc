"""Workload W of issue 11 (benchmarks/catalogs/workload-w), for the engine's tests: per line,
milestones A and B free; C after B; D after C; E after A and D; F after E; then the asset
recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

W_CATALOG = Path(__file__).resolve().parents[2] / "benchmarks" / "catalogs" / "workload-w"


def w_order(name: str, lines: int = 1) -> dict[str, Any]:
    """A W order of ``lines`` lines (7 plan items each), its external id and customer ``name``."""
    return {"externalId": name, "relatedParty": [{"id": name, "role": "customer"}],
            "productOrderItem": [{"id": str(i), "action": "add", "productOffering": {"id": "w-order"}}
                                 for i in range(1, lines + 1)]}
