"""docs/operations.md is the one list of settings an operator reads: it must name every
environment variable the code reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"ORDERTOWER_[A-Z0-9_]*[A-Z0-9]")


def variables_read_by_the_code() -> set[str]:
    files = [*ROOT.joinpath("src").rglob("*.py"), *ROOT.joinpath("scripts").glob("*"),
             ROOT / "Makefile", ROOT / "tests" / "conftest.py"]
    found: set[str] = set()
    for path in files:
        if path.is_file():
            found |= set(VARIABLE.findall(path.read_text(errors="replace")))
    return found


def test_every_environment_variable_the_code_reads_is_in_the_operations_guide():
    documented = set(VARIABLE.findall((ROOT / "docs" / "operations.md").read_text()))
    read = variables_read_by_the_code()

    assert {"ORDERTOWER_DATABASE_URL", "ORDERTOWER_PUBLIC_URL", "ORDERTOWER_NO_AUTH",
            "ORDERTOWER_SIMULATORS_URL", "ORDERTOWER_LOG_FORMAT"} <= read  # the scan works
    assert sorted(read - documented) == []
