"""schemathesis fuzzes a live ordertower (SQLite, access control on) through OpenAPI documents,
with every check on: no 5xx, every status, content type, header and body as the document
declares, bad input refused, auth not ignored, resources usable after creation.

- Our own document (``/openapi.json``): every operation, bodies and parameters generated from
  their declared schemas (examples and fuzzing phases; the coverage phase, which tries every
  boundary of every schema, takes minutes on this machine), then the stateful phase
  following the document's links (POST productOrder -> GET, PATCH, cancel, plan).
- The official TMF622 and TMF637 v4 documents (``../shared/tmf``, read only), base URL pointed
  at our server: their ``productOrder``, ``cancelProductOrder`` and ``product`` operations
  (examples and fuzzing phases).
  A client generated from them must be able to read every answer, errors included.

schemathesis's own output is written past pytest's capture, so it is in CI's log (``make test``).
The budget (``--max-examples``) keeps the four runs to about a minute and a half on the 2-core
machine (more when it is busy: the runs are bounded by examples, not by time).

Left out, on purpose: ``GET /api/v1/events`` (a server-sent event stream never ends; its
parameters are checked in test_events_out), and the check ``positive_data_acceptance`` (a body
that fits the schema is not thereby a sellable order: an unknown offering is a 422 by design).
The server runs without workers, so a fuzzed hub callback is stored but never called (the
fuzzer must send nothing off this machine).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.live import start_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
_BESIDE = ROOT.parent / "shared" / "tmf"  # CI lays shared/ beside the clone
KITS = Path(os.environ.get("ORDERTOWER_TMF_KITS")
            or (_BESIDE if _BESIDE.exists() else Path("/work/shared/tmf")))
TMF622_DOC = KITS / "tmf622/spec/TMF622-ProductOrder-v4.0.0.swagger.json"
TMF637_DOC = KITS / "tmf637/spec/TMF637-ProductInventory-v4.0.0.swagger.json"
KEY = "fuzz-admin-key-0123456789"
MAX_EXAMPLES = 3  # per operation and phase: the budget (about a minute for all four runs)
SEED = 14  # reproducible in CI; change it locally to explore


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/ordertower.db"
    server = start_server(url, start_workers=False, auth=True, bootstrap_key=KEY)
    yield server
    server.stop()


def schemathesis(record_property, *args: str, examples: int = MAX_EXAMPLES,
                 hooks: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the schemathesis CLI; its summary is printed at the end of the test run (CI's log;
    conftest's ``ci_summary``, which works under pytest-xdist too), its whole output goes to
    the assertion. Bounded by examples, not by time: a busy machine makes it slower, never
    emptier."""
    command = [str(Path(sys.executable).with_name("schemathesis")), "run", *args,
               "--checks", "all", "--exclude-checks", "positive_data_acceptance",
               "--max-examples", str(examples), "--seed", str(SEED), "--no-shrink",
               "--header", f"Authorization: Bearer {KEY}",
               "--request-timeout", "30", "--suppress-health-check", "all", "--workers", "1"]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if hooks:
        env["SCHEMATHESIS_HOOKS"] = hooks
    with tempfile.TemporaryDirectory() as cwd:  # its cache (.schemathesis/) stays out of the clone
        done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                              env=env, cwd=cwd)
    out = done.stdout
    summary = out[out.rindex("SUMMARY"):] if "SUMMARY" in out else out[-3000:] + done.stderr[-2000:]
    record_property("ci_summary", f"$ schemathesis run {' '.join(args)}\n{summary.rstrip()}")
    return done


def assert_clean(done: subprocess.CompletedProcess[str]) -> str:
    """Exit 0: no failure of any check (no 5xx, no schema, status, content-type or header
    violation); and a summary that says so."""
    out = done.stdout
    assert done.returncode == 0, out[-6000:] + done.stderr[-2000:]
    summary = out[out.rindex("SUMMARY"):]
    assert "Failures:" not in summary and "Errors:" not in summary, summary
    assert re.search(r"\d+ generated, (\d+) passed", summary), summary
    return summary


def test_our_own_openapi_document_holds_under_fuzzing(fuzzed, record_property):
    assert_clean(schemathesis(record_property, f"{fuzzed.url}/openapi.json", "--exclude-path", "/api/v1/events",
                              "--phases", "examples,fuzzing"))


def test_our_own_openapi_document_holds_when_its_links_are_followed(fuzzed, record_property):
    """POST productOrder, then the links of its 201: GET it, PATCH it, cancel it, its plan.
    The order placed is the seed order and the amendment a change of tier (fuzz_orders.py):
    a random body is never a sellable order, and then no link would be followed. Positive
    data only: refusing bad bodies is the previous test's business."""
    linked = ["create_product_order", "get_product_order", "amend_product_order",
              "cancel_product_order", "order_plan"]
    done = schemathesis(record_property, f"{fuzzed.url}/openapi.json",
                        *[arg for name in linked for arg in ("--include-operation-id", name)],
                        "--phases", "stateful", "--mode", "positive",
                        hooks="tests.support.fuzz_orders")
    summary = assert_clean(done)
    scenarios = int(re.search(r"Scenarios:\s+(\d+)", done.stdout).group(1))
    covered = int(re.search(r"API Links:\s+(\d+) covered", done.stdout).group(1))
    assert scenarios > 0 and covered > 0, summary


@pytest.mark.parametrize("document,base,paths", [
    (TMF622_DOC, "/tmf-api/productOrderingManagement/v4", "^/(productOrder|cancelProductOrder)"),
    (TMF637_DOC, "/tmf-api/productInventory/v4", "^/product"),
], ids=["TMF622", "TMF637"])
def test_a_client_of_the_official_tmf_document_reads_every_answer(fuzzed, record_property, document, base, paths):
    assert document.is_file(), f"official TMF document not found: {document} (ORDERTOWER_TMF_KITS)"
    assert_clean(schemathesis(record_property, str(document), "--url", f"{fuzzed.url}{base}",
                              "--include-path-regex", paths, "--phases", "examples,fuzzing"))
