#!/usr/bin/env bash
# pip-audit of every pinned package in uv.lock (runtime and dev), as `make test` runs it.
#
# First a self-check: a pin with known vulnerabilities (jinja2 2.10) must be reported. When it
# is not, pip-audit's vulnerability service (PyPI's per-version JSON API, or OSV) cannot be
# reached from this machine: every package would be skipped as "not found" and the audit would
# prove nothing, so the script says so loudly and does not pretend (exit 0, nothing audited).
# Otherwise the lock is audited with --strict: a known vulnerability, or a package the service
# cannot check, fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-scripts/uv.sh}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

audit() { "$UV" run --frozen pip-audit --disable-pip --no-deps --progress-spinner off "$@"; }

echo "jinja2==2.10" > "$work/known-vulnerable.txt"
service=""
for candidate in pypi osv; do  # PyPI's JSON API, then OSV (osv.dev)
  audit --strict --timeout 10 --vulnerability-service "$candidate" \
    -r "$work/known-vulnerable.txt" >"$work/self-check-$candidate.out" 2>&1
  if [ $? -ne 0 ] && grep -qi "known vulnerabilit" "$work/self-check-$candidate.out"; then
    service=$candidate
    break
  fi
done
if [ -z "$service" ]; then
  echo "pip-audit: NOT RUN. No vulnerability service is reachable from this machine (the" \
       "self-check pin jinja2==2.10 was not reported by PyPI's JSON API nor by OSV):"
  tail -n 2 "$work"/self-check-*.out | sed 's/^/  | /'
  exit 0
fi

# the example plug-in (examples/plugin) is this repository's code, not a package to audit
"$UV" export --frozen --format requirements-txt --no-hashes --no-emit-project --all-groups \
  --no-emit-package ordertower-numbering \
  --quiet > "$work/requirements.txt" || exit 1
echo "pip-audit ($service): $(grep -c '==' "$work/requirements.txt") pinned packages of uv.lock"
audit --strict --vulnerability-service "$service" -r "$work/requirements.txt"
