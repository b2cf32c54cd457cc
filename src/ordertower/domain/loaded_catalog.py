"""A catalog as it runs: the model, the files it came from and their digest, which names the
version each order records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog import Catalog


@dataclass(frozen=True)
class LoadedCatalog:
    catalog: Catalog
    files: tuple[Path, ...]
    digest: str  # sha256 of the files' bytes, for the order's catalog version
    warnings: tuple[Any, ...] = ()  # what validate reports without refusing (file, line, path)

    @property
    def version(self) -> str:
        return f"{self.catalog.version}+{self.digest[:12]}"
