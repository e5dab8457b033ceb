#!/usr/bin/env bash
# Set up (idempotently) and run the main job: an audit run over the bundled
# data_samples/, writing the alerts and the report under reports/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
day=$(date +%F)
mkdir -p "reports/$day"
set +e
.venv/bin/auditlib detect data_samples --out "reports/$day/alerts.csv" "$@"
rc=$?
set -e
[ "$rc" = 0 ] && echo "alerts: reports/$day/alerts.csv"
exit "$rc"
