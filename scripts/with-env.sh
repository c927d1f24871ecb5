#!/usr/bin/env bash
# Runs a command inside the project's prepared environment: bootstrap.sh
# installs what is missing and tells where the venv, Odoo and PostgreSQL are;
# the command then runs with the venv first on PATH and those as variables.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
assignments=$(bash "$here/scripts/bootstrap.sh")
eval "$assignments"
export VENV ODOO_SRC PGHOST PGPORT PGUSER
export PATH="$VENV/bin:$PATH"
cd "$here"
exec "$@"
