# The two commands a newcomer needs (see README.md):
#   make test   lint, Odoo-free tests, then the add-on's tests in real Odoo 18.0
#   make run    Odoo with the add-on and demo data, next to the local CertCapture sandbox
# Both set up whatever is missing first (venv, Odoo's requirements, PostgreSQL role).

PYTHON ?= python3.11
export PYTHON

.PHONY: test run lint bootstrap reset-demo clean live-check bench

test:
	@bash scripts/with-env.sh python scripts/run_tests.py

run:
	@bash scripts/with-env.sh python scripts/run_demo.py

lint:
	@bash scripts/with-env.sh python scripts/run_tests.py --only lint

bootstrap:
	@bash scripts/with-env.sh true

# The calls the add-on uses, against a real AvaTax sandbox account (set
# AVATAX_ACCOUNT_ID, AVATAX_LICENSE_KEY, AVATAX_COMPANY_CODE); never in CI.
live-check:
	@bash scripts/with-env.sh python scripts/live_check.py $(ARGS)

# What the add-on costs an order, a certificate pull and a bulk sync, next to
# plain Odoo (docs/performance.md); e.g. ARGS='--only orders --orders 20'.
bench:
	@bash scripts/with-env.sh python scripts/bench.py $(ARGS)

# Start the demo story over: a new demo database and an empty sandbox.
reset-demo:
	@bash scripts/with-env.sh sh -c 'dropdb --if-exists --force $${CERTCAPTURE_DEMO_DB:-certcapture_demo}'
	rm -f .work/sandbox-state.json

clean:
	rm -rf .work build dist *.egg-info sandbox/build sandbox/dist .pytest_cache .ruff_cache
