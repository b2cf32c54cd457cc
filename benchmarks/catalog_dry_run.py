"""Benchmark: ``catalog deploy --dry-run`` on 1,000 stored orders.

    uv run python benchmarks/catalog_dry_run.py [--orders 1000] [--database sqlite|postgresql|both]

A throw-away database gets ``--orders`` stored orders of the reference world (a phone alone,
or a phone and a mobile plan of each tier; 50 customers), placed through the place-order use
case (nothing runs them). Then, in the same run:

- **baseline**: the plain validation, decomposition and planning of the same stored orders
  with the current catalog, once each (``domain/catalog_replay.outcome``), the cost a replay
  cannot go below per catalog;
- **dry run**: ``services.deploy_catalog.dry_run`` with a catalog that changes one mapping
  (``unlimited`` -> ``5g-500mbps`` in rule ``plan-activates-line``): reading the orders and
  their customers' installed bases, replaying each with both catalogs, comparing.

Goal (issue 13): under 10 s for 1,000 orders. The figures are printed with ``uptime``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ordertower.adapters.catalog_files import REFERENCE_CATALOG  # noqa: E402
from ordertower.bootstrap import bootstrap  # noqa: E402
from ordertower.config import Settings  # noqa: E402
from ordertower.domain.catalog_replay import outcome  # noqa: E402
from ordertower.domain.orders import ItemInput  # noqa: E402
from ordertower.services.deploy_catalog import dry_run, stored_orders  # noqa: E402
from ordertower.services.place_order import PlaceOrder, place_order  # noqa: E402

from support import TempDatabase, say, uptime  # noqa: E402

TIERS = ["basic", "unlimited", "unlimited-plus", None]


def changed_catalog_files() -> dict[str, str]:
    texts = {p.name: p.read_text() for p in sorted(REFERENCE_CATALOG.glob("*.yaml"))}
    telecom = yaml.safe_load(texts["telecom.yaml"])
    rule = next(r for r in telecom["rules"] if r["id"] == "plan-activates-line")
    rule["mappings"]["speed_profile"]["values"]["unlimited"] = "5g-500mbps"
    texts["telecom.yaml"] = yaml.safe_dump(telecom, sort_keys=False)
    return texts


def measure(kind: str, n: int, folder: Path) -> dict[str, float]:
    with TempDatabase(kind, folder, tag="dryrun") as db:
        settings = Settings(database_url=db.url, auth=False, workers=0, bootstrap_key=None)
        container = bootstrap(settings)
        say(f"{kind}: placing {n} orders")
        for i in range(n):
            tier = TIERS[i % 4]
            items = [ItemInput("1", "add", "phone", (("model", "Fairphone 5"), ("color", "blue")))]
            if tier:
                items.append(ItemInput("2", "add", "mobile-plan", (("tier", tier),)))
            place_order(PlaceOrder(items=items, customer_id=f"cust-{i % 50}"),
                        container.store, container.catalog)
        current = container.catalog.catalog
        orders = stored_orders(container.store, n)
        started = time.perf_counter()
        for order in orders:
            outcome(order, current)
        baseline = time.perf_counter() - started
        say(f"{kind}: dry run")
        started = time.perf_counter()
        report = dry_run(container.store, container.catalogs, files=changed_catalog_files(), limit=n)
        total = time.perf_counter() - started
        container.store.engine.dispose()
        return {"baseline": baseline, "dry_run": total, "read": report["seconds"]["read"],
                "replay": report["seconds"]["replay"], "changed": report["orders_changed"],
                "replayed": report["orders_replayed"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind in kinds:
            rows.append((kind, measure(kind, args.orders, Path(folder))))
    print(f"catalog deploy --dry-run, {args.orders} stored orders ({uptime()})")
    print(f"{'database':<11} {'baseline: plan once':>20} {'dry run':>9} {'(read':>7} {'replay)':>8} "
          f"{'x baseline':>10} {'changed':>8}")
    for kind, r in rows:
        print(f"{kind:<11} {r['baseline']:>18.2f} s {r['dry_run']:>7.2f} s {r['read']:>5.2f} s "
              f"{r['replay']:>6.2f} s {r['dry_run'] / r['baseline']:>10.1f} "
              f"{r['changed']:>4}/{r['replayed']}")


if __name__ == "__main__":
    main()
