#!/usr/bin/env bash
# Set up (idempotently) and run the main job: a scheduled-style audit run over the
# bundled data_samples/: detect, update the alert store, and produce the eagle-eye
# daily report as PDF and HTML under reports/<audit date>/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
as_of=$(sed -n 's/^as_of: *\([0-9-]*\).*/\1/p' data_samples/auditlib.yaml)
as_of=${as_of:-$(date +%F)}
mkdir -p "reports/$as_of"
set +e
.venv/bin/auditlib detect data_samples --out "reports/$as_of/alerts.csv"
rc=$?
set -e
if [ "$rc" = 2 ]; then exit 2; fi
.venv/bin/auditlib report eagle_eye_daily -p data_dir data_samples -p as_of "$as_of" \
  -p store reports/alerts.sqlite "$@"
echo
echo "report: reports/$as_of/eagle_eye_daily.pdf (and .html); alerts: reports/$as_of/alerts.csv"
