#!/usr/bin/env bash
# Run uv: the one on PATH, else the private copy scripts/bootstrap.sh installed into
# ${ORDERTOWER_TOOLS_DIR:-.tools}/uv-venv (`make setup` runs bootstrap). Usage: scripts/uv.sh ARGS
set -euo pipefail
if command -v uv >/dev/null 2>&1; then
  exec uv "$@"
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="${ORDERTOWER_TOOLS_DIR:-.tools}"
case "$tools" in
  /*) ;;
  *) tools="$root/$tools" ;;
esac
if [ -x "$tools/uv-venv/bin/uv" ]; then
  exec "$tools/uv-venv/bin/uv" "$@"
fi
echo "uv is not installed: run scripts/bootstrap.sh (or make setup) first" >&2
exit 127
