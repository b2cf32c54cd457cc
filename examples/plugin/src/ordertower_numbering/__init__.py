"""``reserve-number``: reserve a phone number for a mobile line in the numbering system.

The number is the one the customer ports in (the line's ``port_number``), else one derived
from the order and the line (the same order and line always ask for the same number). The
step asks the item's system (``system:`` in the scenario, e.g. ``network``) to reserve it:

    POST {system}/numbers/reservations  {"msisdn": ..., "order": ..., "line": ...}

with the item's idempotency key, so a retry reserves nothing twice. Any answer but a 2xx is
an exception: ordertower retries the item per its retry policy, then puts it in fallout with
this message. The number is the step's output ``msisdn`` (``outputs: {msisdn: msisdn}`` copies
it into the line).
"""

from __future__ import annotations

import hashlib

from ordertower.plugins import StepContext, StepFailed, StepResult


class NumberNotReserved(Exception):
    """The numbering system did not reserve the number (retryable)."""


def candidate_number(order_id: str, line_id: str | None) -> str:
    """A mobile number (E.164, +31 6 ...) derived from the order and the line."""
    digest = hashlib.sha256(f"{order_id}/{line_id}".encode()).hexdigest()
    return "+316" + str(int(digest[:12], 16) % 10**8).zfill(8)


async def reserve_number(ctx: StepContext) -> StepResult:
    if ctx.http is None or ctx.system_url is None:
        raise StepFailed("reserve-number needs the numbering system: give the item 'system:'")
    line_id = ctx.line.id if ctx.line else None
    number = str(ctx.attributes.get("port_number") or candidate_number(ctx.order.id, line_id))
    resp = await ctx.http.post(
        f"{ctx.system_url}/numbers/reservations",
        json={"msisdn": number, "order": ctx.order.id, "line": line_id},
        headers={"Idempotency-Key": ctx.item.idempotency_key})
    if not 200 <= resp.status_code < 300:
        raise NumberNotReserved(f"the numbering system answered {resp.status_code} for {number}")
    reservation = resp.json().get("id") if resp.content else None
    return StepResult(output={"msisdn": number, "reservation": reservation,
                              "reserved_at": ctx.clock.now().isoformat() if ctx.clock else None})
