#!/usr/bin/env bash
# Install what ordertower needs on a fresh machine: uv, then the locked Python environment.
#
# uv is the one on PATH if there is one. Otherwise bootstrap installs a private copy into a
# virtual environment of the project, ${ORDERTOWER_TOOLS_DIR:-.tools}/uv-venv, with that
# environment's own pip. pip never runs outside a virtual environment, so this works where
# the system Python is "externally managed" (PEP 668: Debian 12, Ubuntu 24.04).
# scripts/uv.sh runs whichever uv this found (the Makefile uses it).
#
#   scripts/bootstrap.sh            uv, then `uv sync --frozen` (the project's .venv)
#   scripts/bootstrap.sh --uv-only  uv only; prints the path of the uv it uses
set -euo pipefail
cd "$(dirname "$0")/.."

uv_only=0
case "${1:-}" in
  "") ;;
  --uv-only) uv_only=1 ;;
  *) echo "usage: scripts/bootstrap.sh [--uv-only]" >&2; exit 2 ;;
esac

tools="${ORDERTOWER_TOOLS_DIR:-.tools}"
venv="$tools/uv-venv"
venv_output=""

fail() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

new_venv() {  # python3 -m venv "$venv"; its output in $venv_output when it fails
  rm -rf "$venv"
  mkdir -p "$tools"
  if ! venv_output=$(python3 -m venv "$venv" 2>&1); then
    rm -rf "$venv"
    return 1
  fi
}

install_private_uv() {
  command -v python3 >/dev/null 2>&1 \
    || fail "neither uv nor python3 is on PATH: install Python 3.11 or later (or uv, https://docs.astral.sh/uv/)"
  echo "bootstrap: uv is not on PATH; installing it into $venv (a virtual environment of the project)" >&2
  if ! new_venv; then
    # Debian and Ubuntu ship the venv module's ensurepip separately, in python3-venv
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "bootstrap: python3 -m venv does not work here; installing python3-venv with apt-get" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
        || fail "apt-get install python3-venv failed"
      new_venv || fail "python3 -m venv still fails after installing python3-venv:
$venv_output"
    else
      fail "python3 cannot create a virtual environment (python3 -m venv $venv failed):
$venv_output
On Debian or Ubuntu, install the venv module (sudo apt-get install python3-venv), or
install uv yourself (https://docs.astral.sh/uv/getting-started/installation/); then run
make again."
    fi
  fi
  # pip of the private environment only; PIP_REQUIRE_VIRTUALENV makes pip itself refuse to
  # install anywhere else
  PIP_REQUIRE_VIRTUALENV=1 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check uv \
    || { rm -rf "$venv"; fail "could not install uv into $venv with its pip"; }
}

if command -v uv >/dev/null 2>&1; then
  uv=$(command -v uv)
else
  # a private copy from an earlier run, if it still works (else it is made again)
  if ! "$venv/bin/uv" --version >/dev/null 2>&1; then
    install_private_uv
  fi
  uv="$(cd "$venv/bin" && pwd)/uv"
  "$uv" --version >/dev/null || fail "$uv does not run"
fi

if [ "$uv_only" = 1 ]; then
  echo "$uv"
  exit 0
fi
"$uv" sync --frozen --quiet
