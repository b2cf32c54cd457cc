"""The one table of who may call what: every route (method and path template, as routed) and
the least role it needs; ``OPEN`` routes take no key. ``AccessControl`` (access.py) enforces it
for every request, before the route runs; ``check_every_route`` refuses to start an app with
a route missing here. Adding a route is one line in ``ROUTE_ROLES``.

An option of a route that needs more than the route (``PATCH productOrder/{id}?force=true``)
is checked by the route itself with ``require_role``; who may work which task (queue
membership, holding the claim) is checked by the task use cases (domain/people.py).
"""

from __future__ import annotations

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Mount, compile_path

from ...domain.roles import ROLES

OPEN = "open"  # no key: health probes, single-use callback URLs, the API's own description
# the console's pages: no bearer key; the console checks its own session cookie and each
# action's role (entrypoints/console/session.py, require_role)
CONSOLE = "console"

TMF622 = "/tmf-api/productOrderingManagement/v4"
TMF637 = "/tmf-api/productInventory/v4"
V1 = "/api/v1"

ROUTE_ROLES: dict[tuple[str, str], str] = {
    # health and description
    ("GET", "/health"): OPEN,
    ("GET", "/health/live"): OPEN,
    ("GET", "/health/ready"): OPEN,
    ("GET", "/openapi.json"): OPEN,
    ("GET", "/docs"): OPEN,
    ("GET", "/docs/oauth2-redirect"): OPEN,
    ("GET", "/redoc"): OPEN,
    ("GET", "/metrics"): "viewer",
    # TMF622 ordering
    ("GET", f"{TMF622}/productOrder"): "viewer",
    ("POST", f"{TMF622}/productOrder"): "agent",
    ("GET", f"{TMF622}/productOrder/{{order_id}}"): "viewer",
    ("PATCH", f"{TMF622}/productOrder/{{order_id}}"): "agent",
    ("GET", f"{TMF622}/cancelProductOrder"): "viewer",
    ("POST", f"{TMF622}/cancelProductOrder"): "agent",
    ("GET", f"{TMF622}/cancelProductOrder/{{cancel_id}}"): "viewer",
    ("GET", f"{TMF622}/hub"): "viewer",
    ("POST", f"{TMF622}/hub"): "agent",
    ("GET", f"{TMF622}/hub/{{hub_id}}"): "viewer",
    ("DELETE", f"{TMF622}/hub/{{hub_id}}"): "agent",
    # TMF637 inventory
    ("GET", f"{TMF637}/product"): "viewer",
    ("GET", f"{TMF637}/product/{{product_id}}"): "viewer",
    ("GET", f"{TMF637}/hub"): "viewer",
    ("POST", f"{TMF637}/hub"): "agent",
    ("GET", f"{TMF637}/hub/{{hub_id}}"): "viewer",
    ("DELETE", f"{TMF637}/hub/{{hub_id}}"): "agent",
    # operations: orders
    ("GET", f"{V1}/orders/{{order_id}}/decomposition"): "viewer",
    ("GET", f"{V1}/orders/{{order_id}}/plan"): "viewer",
    ("GET", f"{V1}/orders/{{order_id}}/history"): "viewer",
    ("GET", f"{V1}/orders/{{order_id}}/revisions"): "viewer",
    ("POST", f"{V1}/orders/{{order_id}}/cancel"): "agent",
    ("GET", f"{V1}/plan-items/{{item_id}}/attempts"): "viewer",
    ("GET", f"{V1}/jeopardy"): "viewer",
    ("GET", f"{V1}/service-levels"): "viewer",
    ("POST", f"{V1}/catalog/explain"): "viewer",  # a dry run: nothing stored
    ("GET", f"{V1}/catalog/versions"): "viewer",
    ("GET", f"{V1}/catalog/versions/{{version_id}}"): "viewer",
    ("POST", f"{V1}/catalog/versions"): "admin",  # deploys a catalog: every new order uses it
    ("POST", f"{V1}/catalog/versions/dry-run"): "admin",  # replays up to 100,000 stored orders
    ("GET", f"{V1}/inventory"): "viewer",
    ("GET", f"{V1}/events"): "viewer",
    # asynchronous replies: the single-use token in the URL is the credential
    ("POST", f"{V1}/callbacks/{{token}}"): OPEN,
    # manual tasks: claimed and completed by the caller's user (membership of the task's
    # queue, or operator, checked by the use case: domain/people.py); released by the
    # claimer (or an operator, checked likewise)
    ("GET", f"{V1}/tasks"): "viewer",
    ("GET", f"{V1}/tasks/{{task_id}}"): "viewer",
    ("POST", f"{V1}/tasks/{{task_id}}/claim"): "agent",
    ("POST", f"{V1}/tasks/{{task_id}}/complete"): "agent",
    ("POST", f"{V1}/tasks/{{task_id}}/release"): "agent",
    ("POST", f"{V1}/tasks/{{task_id}}/reassign"): "operator",
    ("PUT", f"{V1}/tasks/{{task_id}}/due"): "operator",
    # people: users (the names of keys) and work queue membership
    ("GET", f"{V1}/users"): "operator",
    ("GET", f"{V1}/users/me"): "viewer",
    ("GET", f"{V1}/queues"): "viewer",
    ("POST", f"{V1}/queues/{{queue}}/members"): "operator",
    ("DELETE", f"{V1}/queues/{{queue}}/members/{{user}}"): "operator",
    # fallout and systems
    ("GET", f"{V1}/fallout"): "viewer",
    ("POST", f"{V1}/plan-items/{{item_id}}/retry"): "operator",
    ("POST", f"{V1}/plan-items/{{item_id}}/complete"): "operator",
    ("POST", f"{V1}/plan-items/{{item_id}}/skip"): "operator",
    ("POST", f"{V1}/plan-items/{{item_id}}/cancel-order"): "operator",
    ("POST", f"{V1}/plan-items/{{item_id}}/assign"): "operator",
    ("POST", f"{V1}/fallout/actions"): "operator",
    ("GET", f"{V1}/fallout/rules"): "viewer",
    ("POST", f"{V1}/fallout/rules"): "operator",
    ("DELETE", f"{V1}/fallout/rules/{{rule_id}}"): "operator",
    ("GET", f"{V1}/systems"): "viewer",
    ("PUT", f"{V1}/systems/{{name}}"): "operator",
    # access and audit
    ("GET", f"{V1}/keys"): "admin",
    ("POST", f"{V1}/keys"): "admin",
    ("DELETE", f"{V1}/keys/{{key_id}}"): "admin",
    ("GET", f"{V1}/audit"): "operator",
    # the simulators (mounted at /simulators); their request log shows callback tokens only
    # to operators. A fulfillment request is what a worker sends a (simulated) fulfillment
    # system, which answers it as that system would: no ordertower key (docs/security.md)
    ("GET", "/simulators/"): "viewer",
    ("GET", "/simulators/{system}"): "viewer",
    ("PUT", "/simulators/{system}"): "operator",
    ("DELETE", "/simulators/{system}"): "operator",
    ("*", "/simulators/{system}/{path:path}"): OPEN,
    # the operations console (docs/console.md): its session, not a bearer key
    ("GET", "/"): CONSOLE,
    ("GET", "/console"): CONSOLE,
    ("GET", "/console/static/{path:path}"): OPEN,  # vendored scripts and styles
    ("GET", "/console/login"): CONSOLE,
    ("POST", "/console/login"): CONSOLE,  # the key is checked by the form, CSRF by its cookie
    ("POST", "/console/logout"): CONSOLE,
    ("GET", "/console/events"): CONSOLE,
    ("GET", "/console/orders"): CONSOLE,
    ("GET", "/console/orders/rows"): CONSOLE,
    ("GET", "/console/orders/{order_id}"): CONSOLE,
    ("GET", "/console/orders/{order_id}/live"): CONSOLE,
    ("GET", "/console/orders/{order_id}/plan"): CONSOLE,
    ("POST", "/console/orders/{order_id}/cancel"): CONSOLE,
    ("GET", "/console/orders/{order_id}/amend"): CONSOLE,
    ("POST", "/console/orders/{order_id}/amend"): CONSOLE,
    ("POST", "/console/plan-items/{item_id}/{action}"): CONSOLE,
    ("GET", "/console/fallout"): CONSOLE,
    ("GET", "/console/fallout/live"): CONSOLE,
    ("POST", "/console/fallout/actions"): CONSOLE,
    ("GET", "/console/fallout/{item_id}/edit"): CONSOLE,
    ("POST", "/console/fallout/{item_id}/retry"): CONSOLE,
    ("GET", "/console/jeopardy"): CONSOLE,
    ("GET", "/console/jeopardy/rows"): CONSOLE,
    ("GET", "/console/tasks"): CONSOLE,
    ("GET", "/console/tasks/rows"): CONSOLE,
    ("GET", "/console/tasks/{task_id}"): CONSOLE,
    ("POST", "/console/tasks/{task_id}/claim"): CONSOLE,
    ("POST", "/console/tasks/{task_id}/complete"): CONSOLE,
    ("GET", "/console/systems"): CONSOLE,
    ("GET", "/console/systems/rows"): CONSOLE,
    ("POST", "/console/systems/{name}/{change}"): CONSOLE,
    ("GET", "/console/catalog"): CONSOLE,
    ("GET", "/console/catalog/explorer"): CONSOLE,
    ("POST", "/console/catalog/explorer"): CONSOLE,
}

# any path that matches no route still needs a valid key before it is told 404
UNROUTED = "viewer"


class RouteMissing(RuntimeError):
    """A route of the app has no line in ROUTE_ROLES."""


def least_role(method: str, path: str) -> str | None:
    """The least role (or OPEN) of a routed request; None when the table has no line."""
    method = "GET" if method == "HEAD" else method
    return ROUTE_ROLES.get((method, path), ROUTE_ROLES.get(("*", path)))


def routes_of(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path template) of every route, mounted apps included; ``*`` for a route that
    takes any method."""
    out: list[tuple[str, str]] = []
    for context in iter_route_contexts(routes):
        original = getattr(context, "original_route", context)
        if isinstance(original, Mount):
            if original.routes:
                out.extend(routes_of(list(original.routes), prefix + original.path))
            else:  # an app without routes of its own (static files): everything below it
                out.append(("GET", prefix + original.path + "/{path:path}"))
            continue
        methods = set(context.methods or {"GET"}) - {"HEAD"} or {"GET"}
        path = prefix + context.path
        if methods >= {"GET", "POST", "PUT", "PATCH", "DELETE"}:
            out.append(("*", path))
        else:
            out.extend((m, path) for m in sorted(methods))
    return out


class RouteFinder:
    """Which route (method, path template) serves a request, before routing: the app's routes
    compiled once, matched in the order the app matches them."""

    def __init__(self, routes: list[BaseRoute]):
        self._compiled = [(method, template, compile_path(template)[0])
                          for method, template in routes_of(routes)]

    def find(self, method: str, path: str) -> tuple[str, str] | None:
        method = "GET" if method == "HEAD" else method
        for route_method, template, regex in self._compiled:
            if route_method in (method, "*") and regex.match(path):
                return route_method, template
        return None


def check_every_route(routes: list[BaseRoute]) -> None:
    """Refuse (at start-up) an app with a route the table does not name, or a bad role."""
    bad_roles = {k: v for k, v in ROUTE_ROLES.items() if v not in (OPEN, CONSOLE) and v not in ROLES}
    if bad_roles:
        raise RouteMissing(f"unknown roles in ROUTE_ROLES: {bad_roles}")
    missing = [f"{m} {p}" for m, p in routes_of(routes) if least_role(m, p) is None]
    if missing:
        raise RouteMissing("routes missing from entrypoints/api/route_roles.py ROUTE_ROLES: "
                           + ", ".join(missing))
