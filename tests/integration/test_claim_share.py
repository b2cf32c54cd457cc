"""A worker claims at most CLAIM_MAX items at a time (issue 11, scaling): one claim of
everything due left the other worker processes nothing to do while it recorded its sets one
after another. A worker that finds more due claims again at once."""

from __future__ import annotations

from ordertower.engine.worker import CLAIM_MAX

from ..support.engine import EngineHarness
from ..support.workload_w import W_CATALOG, w_order


def test_a_claim_leaves_what_is_due_beyond_its_share_to_the_next_claim(database_url):
    h = EngineHarness(database_url, catalog=W_CATALOG)
    try:
        orders = [h.place(w_order(f"share-{i}")) for i in range(CLAIM_MAX // 2 + 5)]  # A and B of each due
        first, second = h.step(), h.step()
        h.settle()
        states = {h.order(o)["state"] for o in orders}
    finally:
        h.close()
    assert CLAIM_MAX == 250
    assert first == CLAIM_MAX  # 260 due: a share, not all
    assert second >= 10  # the 10 left, and the asset recordings freed meanwhile
    assert states == {"completed"}
