"""The ``auditlib`` command.

Exit status: 0 the run finished (found something or not); 2 bad input or usage
(nothing written); 1 a detector failed (the others' alerts are written).
Errors meant for the user are printed as one clear message, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from auditlib.errors import AuditlibError


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        msg = f"expected a date YYYY-MM-DD, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2 with one line
        self.print_usage(sys.stderr)
        print(f"auditlib: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="auditlib", description="Eagle eye for public-finance audit.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    d = sub.add_parser("detect", help="run every enabled detector over a data directory")
    d.add_argument("data_dir", type=Path)
    d.add_argument("--config", type=Path)
    d.add_argument("--as-of", type=_date)
    d.add_argument("--out", type=Path, required=True, help=".csv, .parquet or .jsonl")
    d.add_argument("--only", action="append", help="run only this detector (repeatable)")

    ld = sub.add_parser("load", help="load one table as detect does and write it")
    ld.add_argument("data_dir", type=Path)
    ld.add_argument("table")
    ld.add_argument("--config", type=Path)
    ld.add_argument("--out", type=Path, required=True)

    sub.add_parser("detectors", help="list the registered detectors")

    s = sub.add_parser("synth", help="write a synthetic world in the contract's format")
    s.add_argument("out_dir", type=Path)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--scale", type=float, default=1.0)
    s.add_argument("--clean", action="store_true", help="no injected anomalies")
    s.add_argument("--format", choices=("csv", "parquet"), default="csv")
    r = sub.add_parser("report", help="run a report notebook (papermill) to HTML and PDF")
    r.add_argument("notebook", help="a template name (eagle_eye_daily, ...) or a path")
    r.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"), default=[])
    r.add_argument("--out", type=Path, default=Path("reports"))
    r.add_argument("--no-pdf", action="store_true")

    sc = sub.add_parser("schedule", help="scheduled report runs")
    sc.add_argument("action", choices=("run-due", "serve", "list"))
    sc.add_argument("--schedule", type=Path, default=Path("schedule.yaml"))
    sc.add_argument("--now", help="pretend it is this time (ISO 8601), for catch-up tests")
    sc.add_argument("--force", metavar="JOB", help="run this job now even if it already ran")

    tl = sub.add_parser("timeline", help="every event about one entity across all sources")
    tl.add_argument("data_dir", type=Path)
    tl.add_argument("entity", help="a user, DB account, voucher, payee account, unit, indicator...")
    tl.add_argument("--config", type=Path)
    tl.add_argument("--alerts", type=Path, help="alerts file from detect (default: run detectors)")
    tl.add_argument("--out", type=Path, help=".csv, .parquet or .jsonl (default: print)")

    tr = sub.add_parser("triage", help="confirm or dismiss an alert in the alert store")
    tr.add_argument("alert_id")
    tr.add_argument("status", choices=("confirmed", "dismissed", "open"))
    tr.add_argument("--store", type=Path, default=Path("reports/alerts.sqlite"))
    tr.add_argument("--by", required=True)
    tr.add_argument("--reason", required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"detect": cmd_detect, "load": cmd_load, "detectors": cmd_detectors,
                "synth": cmd_synth, "report": cmd_report, "schedule": cmd_schedule,
                "triage": cmd_triage, "timeline": cmd_timeline}[args.cmd](args)
    except AuditlibError as exc:
        print(f"auditlib: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("auditlib: interrupted", file=sys.stderr)
        return 130


def _progress(det_id: str, i: int, n: int) -> None:
    if not sys.stderr.isatty():
        return
    bar = "#" * int(20 * i / max(n, 1))
    sys.stderr.write(f"\r[{bar:<20}] {i}/{n} {det_id:<40}")
    if i == n:
        sys.stderr.write("\r" + " " * 70 + "\r")
    sys.stderr.flush()


def cmd_detect(args: argparse.Namespace) -> int:
    from auditlib.alerts.writers import check_format, write_frame
    from auditlib.config import Settings
    from auditlib.engine import build_detectors, run
    from auditlib.io.tables import load_dir

    check_format(args.out)
    settings = Settings.load(args.data_dir, args.config, args.as_of)
    detectors = build_detectors(settings, args.only)
    dataset = load_dir(args.data_dir, settings)
    print(dataset.report.text(), file=sys.stderr)
    result = run(dataset, detectors=detectors, progress=_progress)
    write_frame(result.alerts, args.out)
    _print_summary(result)
    print(f"{result.alerts.height} alert(s) written to {args.out}", file=sys.stderr)
    return 1 if result.failed else 0


def _print_summary(result) -> None:  # noqa: ANN001
    import polars as pl

    with pl.Config(tbl_rows=200, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True,
                   tbl_width_chars=120):
        print(result.summary(), file=sys.stderr)
    for det_id, why in result.skipped.items():
        print(f"skipped {det_id}: {why}", file=sys.stderr)
    for det_id, why in result.failed.items():
        print(f"FAILED  {det_id}: {why}", file=sys.stderr)
    for label, n in result.suppressed_by.items():
        print(f"suppressed {n} by allowlist entry {label}", file=sys.stderr)


def cmd_load(args: argparse.Namespace) -> int:
    from auditlib.alerts.writers import check_format, write_frame
    from auditlib.config import Settings
    from auditlib.io.tables import load_dir
    from auditlib.schemas import TABLES

    check_format(args.out)
    if args.table not in TABLES:
        msg = f"unknown table {args.table!r} (known: {', '.join(TABLES)})"
        raise AuditlibError(msg)
    settings = Settings.load(args.data_dir, args.config)
    ds = load_dir(args.data_dir, settings, [args.table])
    if args.table not in ds.tables:
        msg = f"{args.data_dir}: no source for table {args.table!r}"
        raise AuditlibError(msg)
    write_frame(ds[args.table], args.out)
    print(ds.report.text())
    return 0


def cmd_detectors(args: argparse.Namespace) -> int:
    from auditlib.registry import all_detectors, plugin_errors

    for det_id, cls in all_detectors().items():
        params = ", ".join(f"{p.name}={p.default!r}" for p in cls.params)
        print(f"{det_id:<28} {cls.severity:<8} {cls.entity:<14} needs {'+'.join(cls.requires)}")
        print(f"{'':<28} {cls.title.zh} / {cls.title.en}" + (f"  [{params}]" if params else ""))
    for e in plugin_errors:
        print(f"plugin error: {e}", file=sys.stderr)
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from auditlib.synth import generate

    summary = generate(args.out_dir, seed=args.seed, scale=args.scale, clean=args.clean,
                       fmt=args.format)
    print(f"synthetic world written to {args.out_dir}: {summary}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from auditlib.report.execute import run_report

    res = run_report(args.notebook, dict(args.param), out_root=args.out, pdf=not args.no_pdf)
    for p in res.outputs:
        print(p)
    if res.status != "ok":
        print(f"auditlib: report {res.name} FAILED: {res.error}", file=sys.stderr)
        return 1
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from auditlib import schedule as S

    sched = S.Schedule.load(args.schedule)
    if args.action == "list":
        for j in sched.jobs:
            print(f"{j.name:<24} {j.cron:<16} {j.notebook}  {j.parameters}")
        for row in S.Ledger(sched.ledger).rows():
            print("ledger:", *row)
        return 0
    if args.action == "serve":
        S.serve(sched)
        return 0
    now = dt.datetime.fromisoformat(args.now) if args.now else None
    done = S.run_due(sched, now=now, force=args.force)
    return 1 if any(s != "ok" for *_, s in done) else 0


def cmd_timeline(args: argparse.Namespace) -> int:
    import polars as pl

    from auditlib.alerts.writers import check_format, write_frame
    from auditlib.config import Settings
    from auditlib.engine import run
    from auditlib.io.tables import load_dir
    from auditlib.timeline import timeline

    if args.out:
        check_format(args.out)
    settings = Settings.load(args.data_dir, args.config)
    ds = load_dir(args.data_dir, settings)
    if args.alerts:
        alerts = _read_alerts(args.alerts)
    else:
        alerts = run(ds).alerts
    tl = timeline(ds, args.entity, alerts)
    if args.out:
        write_frame(tl, args.out)
        print(f"{tl.height} event(s) written to {args.out}")
    else:
        with pl.Config(tbl_rows=500, fmt_str_lengths=90, tbl_width_chars=200, tbl_hide_dataframe_shape=True):
            print(tl)
    if tl.height == 0:
        print(f"no event mentions {args.entity!r}", file=sys.stderr)
    return 0


def _read_alerts(path: Path):  # noqa: ANN202
    import polars as pl

    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    if path.suffix == ".jsonl":
        return pl.read_ndjson(path)
    df = pl.read_csv(path, infer_schema=False)
    return df.with_columns(pl.col("evidence").str.split(";"))


def cmd_triage(args: argparse.Namespace) -> int:
    from auditlib.store import AlertStore

    AlertStore(args.store).set_status(args.alert_id, args.status, by=args.by, reason=args.reason)
    print(f"{args.alert_id}: {args.status}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
