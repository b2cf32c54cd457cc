"""TMF622 order bodies for tests, written like what a client sends."""

from __future__ import annotations

from typing import Any


def add(item_id: str, offering: str, **characteristics: Any) -> dict[str, Any]:
    return {"id": item_id, "action": "add", "productOffering": {"id": offering},
            "product": {"productCharacteristic": [{"name": k, "value": v}
                                                  for k, v in characteristics.items()]}}


def change(item_id: str, action: str, product_id: str, **characteristics: Any) -> dict[str, Any]:
    """A modify, delete or noChange item naming the asset in product.id (no productOffering:
    it comes from the asset)."""
    return {"id": item_id, "action": action,
            "product": {"id": product_id, "productCharacteristic": [
                {"name": k, "value": v} for k, v in characteristics.items()]}}


def order(*items: dict[str, Any], customer: str = "cust-42") -> dict[str, Any]:
    return {"relatedParty": [{"id": customer, "role": "customer"}], "productOrderItem": list(items)}


def assets(server, customer: str = "cust-42") -> dict[str, dict[str, Any]]:
    """The customer's TMF637 products by offering (the latest of each)."""
    resp = server.client.get("/tmf-api/productInventory/v4/product", params={"relatedParty.id": customer})
    resp.raise_for_status()
    out: dict[str, dict[str, Any]] = {}
    for product in sorted(resp.json(), key=lambda p: p["startDate"]):
        out[product["productOffering"]["id"]] = product
    return out


def inventory(server, customer: str = "cust-42") -> dict[str, dict[str, Any]]:
    """The customer's technical inventory items by technical product (+ key for many)."""
    resp = server.client.get("/api/v1/inventory", params={"customer": customer})
    resp.raise_for_status()
    return {item["key"]: item for item in resp.json()["items"]}


def lines(server, order_id: str) -> dict[str, dict[str, Any]]:
    resp = server.client.get(f"/api/v1/orders/{order_id}/decomposition")
    resp.raise_for_status()
    return {ln["technical_product"]: ln for ln in resp.json()["lines"]}


def paths(server, system: str) -> list[str]:
    return [r["path"] for r in server.simulator(system)["requests"]]
