#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine with Python 3.11:
#   Debian packages the project truly needs (only those missing are installed),
#   a .venv with auditlib (editable) and its dev tools.
# Usage: scripts/bootstrap.sh [--for-tests]   (adds PostgreSQL+pgAudit and Chromium for the tests)
set -euo pipefail
cd "$(dirname "$0")/.."

want_pg=0
for a in "$@"; do
  case "$a" in
    --for-tests|--with-postgres) want_pg=1 ;;  # servers and browser the tests drive
    *) echo "bootstrap: unknown option $a" >&2; exit 2 ;;
  esac
done

# --- Debian packages ---------------------------------------------------------
debs=(poppler-utils fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
if [ "$want_pg" = 1 ]; then debs+=(postgresql postgresql-15-pgaudit chromium); fi
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "bootstrap: installing Debian packages: ${missing[*]}" >&2
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: not a Debian machine; please install: ${missing[*]}" >&2
  fi
fi

# --- Python environment ------------------------------------------------------
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.auditlib-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
