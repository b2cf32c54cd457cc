# The two commands of the README: `make serve` starts the whole system, `make test` runs
# every test. Both install what they need first (uv and the locked environment).
.PHONY: serve test setup

setup:
	@scripts/bootstrap.sh

serve: setup
	uv run ordertower serve

test: setup
	@scripts/test-services.sh
	uv run pytest -q -p no:cacheprovider

