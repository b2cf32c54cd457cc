"""TMF622 list and get: filters, paging, field selection, counts."""

from __future__ import annotations

import copy

from ..support.live import ORDERS, SEED_ORDER


def _order(customer: str, external_id: str) -> dict:
    body = copy.deepcopy(SEED_ORDER)
    body["externalId"] = external_id
    body["relatedParty"] = [{"id": customer, "role": "customer"}]
    return body


def test_orders_are_listed_with_counts_filters_and_paging(server):
    ids = [server.post_order(_order("ann" if n < 3 else "bob", f"ext-{n}")).json()["id"] for n in range(5)]

    everything = server.client.get(ORDERS)
    assert everything.status_code == 200
    assert everything.headers["X-Total-Count"] == "5" and everything.headers["X-Result-Count"] == "5"
    assert {o["id"] for o in everything.json()} == set(ids)

    anns = server.client.get(ORDERS, params={"relatedParty.id": "ann"})
    assert anns.headers["X-Total-Count"] == "3"
    assert {o["relatedParty"][0]["id"] for o in anns.json()} == {"ann"}

    by_external = server.client.get(ORDERS, params={"externalId": "ext-4"}).json()
    assert [o["id"] for o in by_external] == [ids[4]]

    page = server.client.get(ORDERS, params={"offset": 1, "limit": 2})
    assert page.headers["X-Total-Count"] == "5" and page.headers["X-Result-Count"] == "2"
    rest = server.client.get(ORDERS, params={"offset": 3, "limit": 2}).json()
    first = server.client.get(ORDERS, params={"offset": 0, "limit": 1}).json()
    assert len({o["id"] for o in first + page.json() + rest}) == 5


def test_orders_are_filtered_by_state(server):
    order_id = server.post_order().json()["id"]
    server.wait_for(order_id)

    completed = server.client.get(ORDERS, params={"state": "completed"}).json()
    acknowledged = server.client.get(ORDERS, params={"state": "acknowledged"}).json()
    assert [o["id"] for o in completed] == [order_id]
    assert acknowledged == []


def test_fields_select_attributes_and_keep_the_identity_and_what_tmf622_requires(server):
    order_id = server.post_order().json()["id"]

    listed = server.client.get(ORDERS, params={"fields": "state,externalId"}).json()
    one = server.client.get(f"{ORDERS}/{order_id}", params={"fields": "orderDate"}).json()

    # productOrderItem is required of a ProductOrder by the official TMF622 v4 document
    assert set(listed[0]) == {"id", "href", "state", "externalId", "productOrderItem"}
    assert set(one) == {"id", "href", "orderDate", "productOrderItem"}
