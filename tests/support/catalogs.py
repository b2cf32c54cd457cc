"""Variants of the reference catalog for tests, written to a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import yaml

from ordertower.adapters.catalog_files import REFERENCE_CATALOG


def reference_documents() -> dict[str, Any]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(REFERENCE_CATALOG.glob("*.yaml"))}


def write_catalog(folder: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """Copy the reference catalog into ``folder`` after ``change`` edits its documents."""
    docs = reference_documents()
    change(docs)
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (folder / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def system(docs: dict[str, Any], system_id: str) -> dict[str, Any]:
    return next(s for s in docs["systems.yaml"]["systems"] if s["id"] == system_id)


def fast_retries(docs: dict[str, Any], max_attempts: int = 4) -> None:
    for s in docs["systems.yaml"]["systems"]:
        s["retry"] = {"strategy": "fixed", "interval": "50ms", "max_attempts": max_attempts}


def next_version(docs: dict[str, Any]) -> None:
    """The reference catalog's next version: a new release, the line activation on a new
    path, and the unlimited plan's speed profile mapped to 5g-500mbps."""
    docs["systems.yaml"]["version"] = "2026.12.0"
    activation = next(s for s in docs["telecom.yaml"]["scenarios"]
                      if (s["product"], s["action"]) == ("mobile-line", "add"))
    activation["items"][0]["request"]["path"] = "/lines/activate-v2"
    line = next(r for r in docs["telecom.yaml"]["rules"] if r["id"] == "plan-activates-line")
    line["mappings"]["speed_profile"]["values"]["unlimited"] = "5g-500mbps"
