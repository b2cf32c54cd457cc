"""Use case: explain an order (the explorer) - its decomposition tree and the plan it
would build, against the catalog and (when a store is given) the customer's installed
base. Nothing is stored. Bad input is refused exactly as placing the order would refuse it."""

from __future__ import annotations

from ..domain.loaded_catalog import LoadedCatalog
from ..domain.errors import InvalidOrder, Issue
from ..domain.explain import Explanation, explain
from ..domain.orders import validate_items
from .place_order import PlaceOrder, installed_base


def explain_order(cmd: PlaceOrder, catalog: LoadedCatalog, store=None) -> Explanation:
    """Without a store, no installed base is known: each line's action is its order item's."""
    installed = installed_base(store, cmd.customer_id) if store is not None else None
    items = validate_items(cmd.items, catalog.catalog, installed)
    if any(i.offering_id is not None for i in items) and cmd.customer_id is None:
        raise InvalidOrder([Issue("relatedParty", "a party with role 'customer' is required")])
    return explain(items, catalog.catalog, cmd.customer_id, installed, catalog_version=catalog.version)
