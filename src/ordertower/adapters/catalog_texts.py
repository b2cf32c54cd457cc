"""A catalog as texts: ``{file name: YAML text}``, the form in which a catalog is sent to the
API (``catalog deploy``) and stored in the database (``catalog_versions.files``).

Loading texts writes them to a temporary folder and reads it with ``load_catalog``, so a
stored catalog is checked exactly as files are, and has the same digest (hence the same
version string) as the files it came from.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable

from .catalog_files import CatalogLoadError, CatalogProblem, LoadedCatalog, load_catalog

SUFFIXES = (".yaml", ".yml")


def read_catalog_texts(path: str | Path) -> dict[str, str]:
    """The texts of a catalog file or folder (its .yaml files), by file name."""
    root = Path(path)
    if not root.exists():
        raise CatalogLoadError([CatalogProblem(str(root), None, "", "no such file or folder")])
    files = sorted(p for p in root.iterdir() if p.suffix in SUFFIXES and p.is_file()) \
        if root.is_dir() else [root]
    texts: dict[str, str] = {}
    for file in files:
        try:  # bytes as they are (no newline translation): the digest is of the bytes
            texts[file.name] = file.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise CatalogLoadError([CatalogProblem(file.name, None, "", "not UTF-8 text")]) from None
    return texts


def _bad_names(names: Iterable[str]) -> list[CatalogProblem]:
    problems = []
    for name in names:
        if not name or "/" in name or "\\" in name or name.startswith(".") \
                or not name.endswith(SUFFIXES):
            problems.append(CatalogProblem(name or "(empty name)", None, "",
                                           "a catalog file name is a plain name ending .yaml or .yml"))
    return problems


def load_catalog_texts(texts: dict[str, str], known_steps: Iterable[str] | None = None) -> LoadedCatalog:
    """Check and load a catalog given as texts; raises CatalogLoadError listing every problem."""
    if not texts:
        raise CatalogLoadError([CatalogProblem("files", None, "", "no catalog files")])
    problems = _bad_names(texts)
    if problems:
        raise CatalogLoadError(problems)
    with tempfile.TemporaryDirectory(prefix="ordertower-catalog-") as folder:
        for name, text in texts.items():
            (Path(folder) / name).write_bytes(text.encode("utf-8"))
        return load_catalog(folder, known_steps=known_steps)
