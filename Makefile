# The two commands a newcomer needs (see README.md):
#   make test   lint, Odoo-free tests, then the add-on's tests in real Odoo 18.0
#   make run    Odoo with the add-on and demo data, next to the local CertCapture sandbox
# Both set up whatever is missing first (venv, Odoo's requirements, PostgreSQL role).

PYTHON ?= python3.11
export PYTHON

.PHONY: test run lint bootstrap clean

test:
	@bash scripts/with-env.sh python scripts/run_tests.py

run:
	@bash scripts/with-env.sh python scripts/run_demo.py

lint:
	@bash scripts/with-env.sh python scripts/run_tests.py --only lint

bootstrap:
	@bash scripts/with-env.sh true

clean:
	rm -rf .work build dist *.egg-info .pytest_cache .ruff_cache
