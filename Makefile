# The two commands of the README: `make serve` starts the whole system, `make test` runs
# every test, then pip-audit of uv.lock (scripts/audit-dependencies.sh). Both install what they
# need first (uv and the locked environment). The tests' Python processes share one bytecode
# cache outside the checkout (PYTHONPYCACHEPREFIX), even where the environment says
# PYTHONDONTWRITEBYTECODE: without it each process started compiles everything again.
#
#   make serve PORT=9000 HOST=0.0.0.0   listen elsewhere than 127.0.0.1:8080 (ORDERTOWER_PORT
#                                       in the environment sets the port too)
#
# UV runs uv: the one on PATH, else the private copy scripts/bootstrap.sh installed in .tools/.
.PHONY: serve test setup

UV ?= scripts/uv.sh

# only values given on make's command line: a HOST or PORT that happens to be in the
# environment (zsh sets HOST, platforms set PORT) does not move the server
SERVE_ARGS :=
ifeq ($(origin HOST),command line)
SERVE_ARGS += --host $(HOST)
endif
ifeq ($(origin PORT),command line)
SERVE_ARGS += --port $(PORT)
endif

setup:
	@scripts/bootstrap.sh

serve: setup
	$(UV) run ordertower serve $(SERVE_ARGS)

test: setup
	@scripts/test-services.sh
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX="$${PYTHONPYCACHEPREFIX:-$${TMPDIR:-/tmp}/ordertower-pycache-$$(id -u)}" \
		$(UV) run pytest -q -p no:cacheprovider -n 2 --dist worksteal --durations=30
	@UV=$(UV) scripts/audit-dependencies.sh
