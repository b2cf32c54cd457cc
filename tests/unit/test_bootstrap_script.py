"""scripts/bootstrap.sh on a machine without uv whose system Python is "externally managed"
(PEP 668, Debian 12 / Ubuntu 24.04): uv goes into a private virtual environment, and pip
never runs outside a virtual environment.

The script runs with a PATH of its own: no uv; a ``python3`` that stands for the system
Python (it refuses ``-m pip`` and ``-m ensurepip`` like an externally managed Python, and
logs every call); ``pip``/``pip3`` that refuse and log; ``apt-get`` that logs; and
PIP_REQUIRE_VIRTUALENV=1, so that any real pip outside a virtual environment fails too.
``ORDERTOWER_TOOLS_DIR`` points the private environment at a temporary folder and
``--uv-only`` stops before ``uv sync``, so the project's .venv is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
UV_SH = ROOT / "scripts" / "uv.sh"
SYSTEM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
# the interpreter behind the test's virtual environment stands for the machine's python3
REAL_PYTHON = getattr(sys, "_base_executable", None) or sys.executable

SYSTEM_PYTHON = """#!/bin/sh
# the "system" python3: externally managed (PEP 668); pip and ensurepip refuse to run here
printf 'python3 %s\\n' "$*" >> "$BOOTSTRAP_LOG"
prev=
for arg in "$@"; do
  case "$prev $arg" in
    "-m pip"|"-m ensurepip"|*" -mpip"|*" -mensurepip")
      printf 'SYSTEM-PIP python3 %s\\n' "$*" >> "$BOOTSTRAP_LOG"
      echo "error: externally-managed-environment" >&2
      exit 1 ;;
  esac
  prev=$arg
done
{venv_check}
exec "{real}" "$@"
"""
NO_VENV_MODULE = """case "$1 $2" in
  "-m venv")
    echo "The virtual environment was not created successfully because ensurepip is not
available.  On Debian/Ubuntu systems, you need to install the python3-venv package" >&2
    exit 1 ;;
esac"""
SYSTEM_PIP = """#!/bin/sh
printf 'SYSTEM-PIP %s %s\\n' "$0" "$*" >> "$BOOTSTRAP_LOG"
echo "error: externally-managed-environment" >&2
exit 1
"""
APT_GET = """#!/bin/sh
printf 'APT %s\\n' "$*" >> "$BOOTSTRAP_LOG"
exit 0
"""
FAKE_UV = """#!/bin/sh
printf 'UV %s\\n' "$*" >> "$BOOTSTRAP_LOG"
[ "$1" = --version ] && echo "uv 0.0.0 (fake)"
exit 0
"""
FAKE_ID = """#!/bin/sh
if [ "$1" = -u ]; then echo {uid}; else exec /usr/bin/id "$@"; fi
"""


def _script(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _shadow(directory: str, into: Path) -> str:
    """The directory, or, if it holds a uv, a copy of it made of symlinks without uv."""
    if not any(Path(directory, name).exists() for name in ("uv", "uvx")):
        return directory
    into.mkdir()
    for entry in Path(directory).iterdir():
        if entry.name not in ("uv", "uvx"):
            (into / entry.name).symlink_to(entry)
    return str(into)


def _machine(tmp_path: Path, *, venv_works: bool = True, uid: int | None = None,
             uv_on_path: bool = False) -> dict[str, str]:
    """A fake machine: its PATH, environment and log, in tmp_path."""
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    log = tmp_path / "calls.log"
    log.touch()
    dirs = [d for d in SYSTEM_DIRS if Path(d).is_dir() and not Path(d).is_symlink()]
    dirs = [_shadow(d, tmp_path / f"shadow{i}") for i, d in enumerate(dirs)]
    python = SYSTEM_PYTHON.replace("{real}", REAL_PYTHON).replace(
        "{venv_check}", "" if venv_works else NO_VENV_MODULE)
    names = {"python", "python3"}
    names |= {p.name for d in dirs for p in Path(d).glob("python3*") if re.fullmatch(r"python3\.\d+", p.name)}
    for name in names:
        _script(fakebin / name, python)
    pips = {"pip", "pip3"} | {p.name for d in dirs for p in Path(d).glob("pip*")
                              if re.fullmatch(r"pip(3(\.\d+)?)?", p.name)}
    for name in pips:
        _script(fakebin / name, SYSTEM_PIP)
    _script(fakebin / "apt-get", APT_GET)
    if uid is not None:
        _script(fakebin / "id", FAKE_ID.replace("{uid}", str(uid)))
    if uv_on_path:
        _script(fakebin / "uv", FAKE_UV)
    path = os.pathsep.join([str(fakebin), *dirs])
    assert uv_on_path == (shutil.which("uv", path=path) is not None)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("UV_", "PYTHON", "CONDA", "PIP_")) and k != "VIRTUAL_ENV"}
    # a pip configured for a mirror or a proxy keeps its settings, except what could hide a
    # pip that runs outside a virtual environment
    env.update({k: v for k, v in os.environ.items()
                if k.startswith("PIP_") and k not in ("PIP_REQUIRE_VIRTUALENV", "PIP_BREAK_SYSTEM_PACKAGES",
                                                      "PIP_USER", "PIP_TARGET", "PIP_PREFIX")})
    env.update({"PATH": path, "PIP_REQUIRE_VIRTUALENV": "1", "BOOTSTRAP_LOG": str(log),
                "ORDERTOWER_TOOLS_DIR": str(tmp_path / "tools")})
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def _log(env: dict[str, str]) -> str:
    return Path(env["BOOTSTRAP_LOG"]).read_text(encoding="utf-8")


def test_without_uv_installs_it_into_a_private_venv_and_never_runs_pip_outside_one(tmp_path):
    env = _machine(tmp_path)
    # the stand-in system python3 really is refused pip, even when asked directly
    refused = _run(["python3", "-m", "pip", "--version"], env)
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr
    Path(env["BOOTSTRAP_LOG"]).write_text("", encoding="utf-8")

    done = _run([str(BOOTSTRAP), "--uv-only"], env)

    report = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}\ncalls:\n{_log(env)}"
    assert done.returncode == 0, report
    uv = tmp_path / "tools" / "uv-venv" / "bin" / "uv"
    assert done.stdout.strip() == str(uv), report
    version = _run([str(uv), "--version"], env)
    assert version.returncode == 0 and version.stdout.startswith("uv "), version
    # the system python3 made the virtual environment and nothing else; pip ran in the venv
    calls = _log(env)
    assert "SYSTEM-PIP" not in calls, report
    assert "APT" not in calls, report
    assert calls.splitlines() == [f"python3 -m venv {tmp_path / 'tools' / 'uv-venv'}"], report
    venv_python = tmp_path / "tools" / "uv-venv" / "bin" / "python"
    shown = _run([str(venv_python), "-m", "pip", "show", "uv"], env)
    assert shown.returncode == 0 and "Name: uv" in shown.stdout, shown
    # the Makefile's $(UV) finds the private copy; a second bootstrap reuses it
    assert _run([str(UV_SH), "--version"], env).stdout == version.stdout
    again = _run([str(BOOTSTRAP), "--uv-only"], env)
    assert again.returncode == 0, again.stderr
    assert _log(env) == calls, "the second run installed uv again"


def test_a_uv_on_path_is_used_as_it_is(tmp_path):
    env = _machine(tmp_path, uv_on_path=True)
    done = _run([str(BOOTSTRAP)], env)  # the fake uv only logs: the real .venv is not synced
    assert done.returncode == 0, done.stderr
    assert _log(env).splitlines() == ["UV sync --frozen --quiet"]
    assert not (tmp_path / "tools").exists()


@pytest.mark.parametrize("uid", [1000, 0], ids=["user", "root"])
def test_without_the_venv_module_it_says_what_to_install(tmp_path, uid):
    env = _machine(tmp_path, venv_works=False, uid=uid)
    done = _run([str(BOOTSTRAP), "--uv-only"], env)
    assert done.returncode == 1
    assert "python3-venv" in done.stderr
    calls = _log(env)
    assert "SYSTEM-PIP" not in calls
    # only root installs the venv module (here the fake apt-get installs nothing that helps)
    assert ("APT install -y -qq python3-venv" in calls) == (uid == 0), calls
    if uid == 0:
        assert "still fails after installing python3-venv" in done.stderr
    else:
        assert "sudo apt-get install python3-venv" in done.stderr
    assert not (tmp_path / "tools" / "uv-venv").exists()
