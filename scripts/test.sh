#!/usr/bin/env bash
# Set up (idempotently) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --for-tests
export AUDITLIB_SHARED="${AUDITLIB_SHARED:-$(cd .. && pwd)/shared}"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "no tests ran" >&2; exit 1; fi
exit "$rc"
