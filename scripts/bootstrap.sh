#!/usr/bin/env bash
# Prepares everything `make test` and `make run` need, installing only what is
# missing: a Python 3.11 venv, Odoo 18.0's Python requirements, the test tools
# and the sandbox (test-requirements.txt), Odoo itself and a PostgreSQL role.
# Prints shell assignments (ODOO_SRC=..., PG...=...) on stdout for the caller to
# eval; everything else goes to stderr.
#
# Settings (environment):
#   VENV        the venv to use        (default ~/.cache/certcapture-exemption/venv-py311)
#   ODOO_SRC    an Odoo 18.0 source tree (default: /opt/odoo/18.0, then an
#               importable odoo, then a shallow clone of the official branch)
#   PGHOST PGPORT PGUSER  the PostgreSQL server and role (default 127.0.0.1 5432 odoo)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
work="$here/.work"
mkdir -p "$work"
log() { printf '[bootstrap] %s\n' "$*" >&2; }

VENV=${VENV:-$HOME/.cache/certcapture-exemption/venv-py311}
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in python3.11 "$HOME/.pyenv/versions/3.11"*/bin/python3.11 /usr/bin/python3.11; do
    if command -v "$candidate" >/dev/null 2>&1; then PY=$(command -v "$candidate"); break; fi
  done
fi
if [ -z "$PY" ]; then
  log "Python 3.11 is required (Odoo 18.0's pins target it): install python3.11 or set PYTHON."
  exit 3
fi

# ---- 1. the venv -----------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
fi
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }

# ---- 2. where is Odoo? -------------------------------------------------------
odoo_src=""
if [ -n "${ODOO_SRC:-}" ] && [ -f "$ODOO_SRC/odoo/release.py" ]; then
  odoo_src=$ODOO_SRC
elif [ -f /opt/odoo/18.0/odoo/release.py ]; then
  odoo_src=/opt/odoo/18.0
else
  found=$("$VENV/bin/python" -c 'import odoo, os; print(os.path.dirname(os.path.dirname(odoo.__file__)))' 2>/dev/null || true)
  if [ -n "$found" ] && [ -f "$found/odoo/release.py" ]; then
    odoo_src=$found
  elif [ -f "$work/odoo-18.0/odoo/release.py" ]; then
    odoo_src="$work/odoo-18.0"
  elif command -v git >/dev/null 2>&1 && timeout 120 git clone -q --depth 1 --branch 18.0 \
        https://github.com/odoo/odoo.git "$work/odoo-18.0.partial" >/dev/null 2>&1; then
    mv "$work/odoo-18.0.partial" "$work/odoo-18.0"
    odoo_src="$work/odoo-18.0"
  else
    rm -rf "$work/odoo-18.0.partial"
  fi
fi
if [ -n "$odoo_src" ]; then
  series=$(sed -n "s/^version_info = (\([0-9]*\), \([0-9]*\),.*/\1.\2/p" "$odoo_src/odoo/release.py")
  if [ "$series" != "18.0" ]; then
    log "Odoo at $odoo_src is $series, not 18.0: ignoring it"
    odoo_src=""
  fi
fi

# ---- 3. Python packages (stamped, so a warm venv costs nothing) --------------
reqs_hash=$(cat "$here/test-requirements.txt" "$here/sandbox/pyproject.toml" \
                ${odoo_src:+"$odoo_src/requirements.txt"} 2>/dev/null | sha256sum | cut -c1-16)
stamp="$VENV/.certcapture-stamp-$reqs_hash${odoo_src:+-odoo}"
if [ ! -f "$stamp" ]; then
  log "installing Python packages into $VENV (first run takes a few minutes)"
  pip install 'setuptools<70' wheel 'setuptools_scm<8'
  if [ -n "$odoo_src" ]; then
    # Odoo's pins, adapted to what builds here: psycopg2 from its binary wheel,
    # python-ldap left out (only auth_ldap needs it, and it needs system headers),
    # cbor2 built from source with the old setuptools and no build isolation.
    grep -v -E '^\s*(#|$)' "$odoo_src/requirements.txt" \
      | sed -E 's/^psycopg2==/psycopg2-binary==/' \
      | grep -v -E '^(python-ldap|cbor2)' > "$work/odoo-requirements.txt"
    cbor2_pin=$(grep -E '^cbor2==' "$odoo_src/requirements.txt" | grep "< '3.12'" | cut -d' ' -f1 || true)
    pip install --no-build-isolation "${cbor2_pin:-cbor2}"
    pip install -r "$work/odoo-requirements.txt"
    # Odoo itself, without re-resolving its pins.
    pip install --no-deps --no-build-isolation -e "$odoo_src"
  fi
  # From the top: the file's `-e ./sandbox` is relative to it.
  (cd "$here" && pip install -r test-requirements.txt) >&2
  rm -f "$VENV"/.certcapture-stamp-*
  touch "$stamp"
fi
# The sandbox is installed editable; a venv shared by two checkouts (a CI
# clone next to a working copy) must serve this checkout's copy.
sandbox_at=$("$VENV/bin/python" -I -c '
import os, importlib.util
spec = importlib.util.find_spec("certcapture_sandbox")
print(os.path.dirname(os.path.dirname(os.path.realpath(spec.origin))))' 2>/dev/null || true)
if [ "$sandbox_at" != "$(cd "$here/sandbox" && pwd -P)" ]; then
  log "installing the sandbox from $here/sandbox (editable) into $VENV"
  (cd "$here" && pip install --no-deps -e ./sandbox) >&2
fi

# ---- 4. PostgreSQL -----------------------------------------------------------
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432}
PGUSER_WANTED=${PGUSER:-odoo}
pg_ok() { pg_isready -h "$PGHOST" -p "$PGPORT" >/dev/null 2>&1; }
if [ -n "$odoo_src" ] && ! pg_ok; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$pgbin" ] && [ -x "$pgbin/initdb" ]; then
    cluster="$work/pgcluster"
    PGHOST="$work" PGPORT=54329
    log "no PostgreSQL answers: starting a private cluster in $cluster (port $PGPORT)"
    run_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
    if [ ! -f "$cluster/PG_VERSION" ]; then
      mkdir -p "$cluster"; [ "$(id -u)" = 0 ] && chown postgres "$cluster" "$work"
      run_pg "'$pgbin/initdb' -D '$cluster' -A trust -U postgres >/dev/null"
    fi
    if ! pg_ok; then  # a cluster started by an earlier run may still be up
      run_pg "'$pgbin/pg_ctl' -D '$cluster' -o \"-p $PGPORT -k '$work' -c listen_addresses=''\" -l '$cluster/server.log' -w start >/dev/null"
    fi
  fi
fi
if [ -n "$odoo_src" ]; then
  if ! pg_ok; then
    log "PostgreSQL is not reachable at $PGHOST:$PGPORT and no server binaries were found."
    log "Install it (apt-get install postgresql) or set PGHOST/PGPORT/PGUSER to a running server."
    exit 4
  fi
  if ! psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER_WANTED" -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    log "creating PostgreSQL role $PGUSER_WANTED"
    for admin in postgres "$(id -un)"; do
      if psql -h "$PGHOST" -p "$PGPORT" -U "$admin" -d postgres -Atc \
           "CREATE ROLE \"$PGUSER_WANTED\" LOGIN CREATEDB" >/dev/null 2>&1; then break; fi
    done
    psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER_WANTED" -d postgres -Atc 'select 1' >/dev/null 2>&1 || {
      log "cannot connect as role $PGUSER_WANTED: create it (CREATE ROLE $PGUSER_WANTED LOGIN CREATEDB) or set PGUSER"
      exit 4
    }
  fi
fi

printf 'VENV=%q\nODOO_SRC=%q\nPGHOST=%q\nPGPORT=%q\nPGUSER=%q\n' \
  "$VENV" "$odoo_src" "$PGHOST" "$PGPORT" "$PGUSER_WANTED"
