"""The official TM Forum conformance kits (CTKs), run unmodified with newman against a live
ordertower, on SQLite and on PostgreSQL.

- TMF622 (Product Ordering v4): every assertion must pass. The kit posts an order whose item
  names no productOffering; ordertower accepts it (201) and rejects the order at validation
  (state ``rejected``, the reason in a note): a documented decision, checked below.
- TMF637 (Product Inventory v4): the kit only reads, so the inventory is seeded first with the
  seed order (a phone and a mobile plan), which must complete. Every assertion must pass; the
  kit makes ``billingAccount`` mandatory, which each asset carries: the id the billing system
  gave the customer's billing account when the plan opened it.

The kits come from ../shared/tmf beside the repository (``ORDERTOWER_TMF_KITS`` overrides the folder) and must
stay byte for byte as published. Settings go in with ``--env-var``. newman 6 comes from npm
through ``npx`` (the first run on a fresh machine downloads it). A missing npx, kit or report
fails the test. It never skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ..support.live import SEED_ORDER

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
_BESIDE = ROOT.parent / "shared" / "tmf"  # CI lays shared/ beside the clone
KITS = Path(os.environ.get("ORDERTOWER_TMF_KITS")
            or (_BESIDE if _BESIDE.exists() else Path("/work/shared/tmf")))
TMF622_KIT = KITS / "tmf622/ctk/ctk/TMF622-ProductOrdering-v4.0.0.testkit.json"
TMF637_KIT = KITS / "tmf637/ctk/ctk/TMF637-ProductInventory-v4.0.0.testkit.json"
TMF622_BASE = "/tmf-api/productOrderingManagement/v4/"
TMF637_BASE = "/tmf-api/productInventory/v4/"
NEWMAN = "newman@6"
NEWMAN_TIMEOUT_S = 300  # a fresh machine fetches newman from npm on first use

# --- running a kit -----------------------------------------------------------------------------


def _npx() -> str:
    npx = shutil.which("npx")
    if npx is None:
        pytest.fail("npx is not on PATH: the TM Forum conformance kits run with newman "
                    f"(`npx --yes {NEWMAN}`). Install Node.js 18 or later with npm.", pytrace=False)
    return npx


def _kit(path: Path) -> Path:
    if not path.is_file():
        pytest.fail(f"conformance kit not found: {path} (set ORDERTOWER_TMF_KITS to the folder "
                    "that holds tmf622/ and tmf637/)", pytrace=False)
    return path


def run_kit(kit: Path, variable: str, base_url: str, tmp_path: Path) -> dict[str, Any]:
    """Run one kit with newman, all requests (no --bail), and return its JSON report's run."""
    report = tmp_path / f"newman-{kit.stem}.json"
    cmd = [_npx(), "--yes", NEWMAN, "run", str(_kit(kit)),
           "--env-var", f"{variable}={base_url}",
           "--reporters", "cli,json", "--reporter-json-export", str(report),
           "--color", "off", "--disable-unicode"]
    env = {**os.environ, "NO_UPDATE_NOTIFIER": "1", "npm_config_update_notifier": "false",
           "npm_config_fund": "false", "npm_config_audit": "false"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=NEWMAN_TIMEOUT_S,
                              env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"newman did not finish in {NEWMAN_TIMEOUT_S}s: {' '.join(cmd)}\n"
                    f"{_tail(exc.stdout)}\n{_tail(exc.stderr)}", pytrace=False)
    # newman exits 1 when an assertion fails; the report says which. No report at all means
    # newman itself did not run (npm unreachable, bad collection, ...).
    if not report.is_file():
        pytest.fail(f"newman wrote no report (exit code {proc.returncode}): {' '.join(cmd)}\n"
                    f"stdout:\n{_tail(proc.stdout)}\nstderr:\n{_tail(proc.stderr)}", pytrace=False)
    run = json.loads(report.read_text())["run"]
    run["_cli"] = proc.stdout
    return run


def _tail(text: str | bytes | None, chars: int = 6000) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "")[-chars:]


def failures(run: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for f in run["failures"]:
        error = f.get("error") or {}
        out.append({"request": (f.get("source") or {}).get("name", "?"),
                    "folder": (f.get("parent") or {}).get("name", ""),
                    "assertion": error.get("test") or error.get("name", "?"),
                    "message": error.get("message", "")})
    return out


def describe(fails: list[dict[str, str]]) -> str:
    return "\n".join(f"  [{f['folder']} / {f['request']}] {f['assertion']}: {f['message']}"
                     for f in fails)


def assertion_counts(run: dict[str, Any]) -> tuple[int, int]:
    stats = run["stats"]["assertions"]
    return stats["total"], stats["failed"]


# --- TMF622 ------------------------------------------------------------------------------------


def test_tmf622_conformance_kit_passes_every_assertion(server, tmp_path):
    # a completed order beside the kit's own, so that the kit's list checks see a full one too
    seed = server.post_order()
    assert seed.status_code == 201, seed.text
    seed_id = seed.json()["id"]
    assert server.wait_for(seed_id)["state"] == "completed"

    run = run_kit(TMF622_KIT, "Product_Ordering", server.url + TMF622_BASE, tmp_path)

    total, failed = assertion_counts(run)
    fails = failures(run)
    assert total > 0, f"the TMF622 kit ran no assertion:\n{_tail(run['_cli'])}"
    print(f"TMF622 kit: {total} assertions, {failed} failed")
    assert failed == 0 and fails == [], (
        f"TMF622 kit: {failed} of {total} assertions failed:\n{describe(fails)}")
    # the kit's order (no productOffering on its item) was accepted, then rejected at validation
    kit_orders = [o for o in server.client.get(f"{TMF622_BASE}productOrder").json()
                  if o["id"] != seed_id]
    assert [o["state"] for o in kit_orders] == ["rejected"], kit_orders
    assert "productOffering" in kit_orders[0]["note"][-1]["text"]


# --- TMF637 ------------------------------------------------------------------------------------


def test_tmf637_conformance_kit_passes_every_assertion(server, tmp_path):
    order_id = server.post_order().json()["id"]
    assert server.wait_for(order_id)["state"] == "completed"
    products = server.client.get(f"{TMF637_BASE}product").json()
    assert len(products) == len(SEED_ORDER["productOrderItem"]), products
    # both assets name the one billing account the billing system opened for the customer
    accounts = {p["billingAccount"]["id"] for p in products}
    opened = [r for r in server.simulator("billing")["requests"] if r["path"] == "/accounts"]
    assert len(accounts) == 1 and len(opened) == 1

    run = run_kit(TMF637_KIT, "Product_Inventory", server.url + TMF637_BASE, tmp_path)

    total, failed = assertion_counts(run)
    fails = failures(run)
    assert total > 0, f"the TMF637 kit ran no assertion:\n{_tail(run['_cli'])}"
    print(f"TMF637 kit: {total} assertions, {failed} failed")
    assert failed == 0 and fails == [], (
        f"TMF637 kit: {failed} of {total} assertions failed:\n{describe(fails)}")
