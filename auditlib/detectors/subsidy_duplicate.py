"""``subsidy.duplicate``: one beneficiary paid twice for one program and period.

A 一卡通 program pays each beneficiary once per period: the program's
``period`` (``month`` / ``quarter`` / ``year``; ``once`` means once ever). The
beneficiary is ``beneficiary_id`` compared as given (ids may be pseudonymised);
a *masked* id (``330102********1234``) no longer tells people apart, so for
those the normalised name is compared too.

The period of a payment is the one its ``pay_date`` falls in. What must NOT
fire:

- a monthly (quarterly, yearly) program paid every period to the same person:
  different periods;
- a catch-up (补发): when the beneficiary's previous paid period is ``k``
  periods back (``k - 1`` unpaid periods in between), up to ``k`` payments in
  this period are the missed ones being made good; a beneficiary's first
  period in the data allows one;
- a payment reversed in the same period (a negative amount cancels one
  payment), and payments after the audit date.

Findings are periods whose latest payment falls in the fiscal year (``once``
programs: the latest of all the beneficiary's payments). The money at risk is
the period's net total minus the payments the beneficiary was due (the first
ones by date).

Known false positives: an arrears payment (补发) for a period before the
beneficiary's first payment in the loaded data, e.g. when only this year's
data is loaded and December was paid in January. Known misses: a genuine
duplicate right after an unpaid period reads as a catch-up. Programs missing
from ``subsidy_programs`` cannot be judged and are skipped.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Text
from auditlib.exprs import masked_name, period_index, period_label, to_time
from auditlib.registry import register

PERIOD_ZH = {"month": "按月", "quarter": "按季", "year": "按年", "once": "一次性"}
PERIOD_EN = {"month": "monthly", "quarter": "quarterly", "year": "yearly", "once": "one-off"}


def subsidy_rows(
    tables, ctx, *, extra: tuple[str, ...] = (), beneficiaries: pl.Series | None = None
) -> pl.LazyFrame:
    """Subsidy payments up to the audit date (zero amounts dropped) with their program's
    ``period`` (and the ``extra`` program columns), ``mname`` (the name that goes with a
    masked id, else null) and ``pidx`` (the period's index). Programs missing from
    ``subsidy_programs`` drop out. ``beneficiaries``: only the payments to these ids."""
    progs = tables["subsidy_programs"].select("program_code", "period", *extra)
    keep = (pl.col("pay_date") <= ctx.as_of) & (pl.col("amount") != 0)
    if beneficiaries is not None:
        keep = keep & pl.col("beneficiary_id").is_in(beneficiaries.unique().implode())
    return (
        tables["subsidies"]
        .filter(keep)
        .join(progs, on="program_code", how="inner")
        .with_columns(
            masked_name(pl.col("beneficiary_id"), pl.col("beneficiary_name")).alias("mname"),
            period_index(pl.col("pay_date"), pl.col("period")).alias("pidx"),
        )
    )


def payment_text(lang: str) -> pl.Expr:
    """One payment as ``D1（2026-03-05，500.00 元）`` / ``D1 (2026-03-05, 500.00 yuan)``."""
    if lang == "zh":
        return pl.format("{}（{}，{} 元）", "disbursement_id", "pay_date", "amount")
    return pl.format("{} ({}, {} yuan)", "disbursement_id", "pay_date", "amount")


PERIOD_KEY = ["beneficiary_id", "mname", "program_code", "pidx"]
"""A beneficiary's period of a program (``mname`` is null unless the id is masked)."""


def paid_periods(tables, ctx, could_flag: pl.Expr) -> pl.LazyFrame:
    """One row per beneficiary, program and *paid* period (net count and total above zero)
    that ``could_flag`` keeps, with ``gap`` (unpaid periods since the beneficiary's previous
    paid period of the program) and ``allowed`` (= 1 + gap: payments a catch-up may bring).

    ``could_flag`` is a test on a period's figures (``n_eff``, ``net``, ``first_date``,
    ``last_date`` and the program's columns) that holds for every period a detector could
    flag whatever its catch-up allowance (for instance ``n_eff > 1``): the gaps are worked
    out for the series of those periods only, not by sorting millions of periods. Figures
    only (grouped on ids and integers): add the texts and evidence of the periods you keep
    with :func:`with_details`."""
    pos = pl.col("amount") > 0
    progs = tables["subsidy_programs"].select(
        "program_code", "program_name", "max_amount", "period"
    )
    per = (
        subsidy_rows(tables, ctx)
        .group_by(PERIOD_KEY)
        .agg(
            pos.sum().cast(pl.Int64).alias("n_pos"),
            (~pos).sum().cast(pl.Int64).alias("n_neg"),
            pl.col("amount").sum().alias("net"),
            pl.col("pay_date").min().alias("first_date"),
            pl.col("pay_date").max().alias("last_date"),
        )
        .with_columns((pl.col("n_pos") - pl.col("n_neg")).alias("n_eff"))
        .filter((pl.col("n_eff") > 0) & (pl.col("net") > 0))
        .join(progs, on="program_code", how="inner")
        .collect()
        .lazy()
    )
    series = ["beneficiary_id", "mname", "program_code"]
    flagged = per.filter(could_flag)
    periods = per.join(  # every paid period of a series with a period that could be flagged
        flagged.select(series).unique(), on=series, how="semi", nulls_equal=True
    ).sort(PERIOD_KEY, nulls_last=True)
    same = pl.all_horizontal(pl.col(c).eq_missing(pl.col(c).shift(1)) for c in series)
    gap = (pl.col("pidx") - pl.col("pidx").shift(1) - 1).clip(lower_bound=0)
    return (
        periods.with_columns(pl.when(same).then(gap).otherwise(0).alias("gap"))
        .filter(could_flag)
        .with_columns(
            (pl.col("gap") + 1).alias("allowed"),
            period_label(pl.col("first_date"), pl.col("period")).alias("period_label"),
        )
    )


def with_details(periods: pl.LazyFrame, tables, ctx) -> pl.LazyFrame:
    """The kept periods with their payments: ``beneficiary_name``, ``unit_id``,
    ``pos_amounts`` (positive amounts by date), ``payments_zh``/``payments_en`` and
    ``evidence`` (every payment of the period, by date)."""
    order = ["pay_date", "disbursement_id"]
    pos = pl.col("amount") > 0
    periods = periods.collect().lazy()  # (few: the flagged ones)
    keys = periods.select(PERIOD_KEY).collect()
    rows = subsidy_rows(tables, ctx, beneficiaries=keys["beneficiary_id"]).join(
        keys.lazy(), on=PERIOD_KEY, how="semi", nulls_equal=True
    )
    detail = rows.group_by(PERIOD_KEY).agg(
        pl.col("beneficiary_name").sort_by(order).first(),
        pl.col("unit_id").sort_by(order).drop_nulls().first().alias("unit_id"),
        pl.col("amount")
        .filter(pos)
        .sort_by(pl.col("pay_date").filter(pos), pl.col("disbursement_id").filter(pos))
        .alias("pos_amounts"),
        payment_text("zh").sort_by(order).str.join("；").alias("payments_zh"),
        payment_text("en").sort_by(order).str.join("; ").alias("payments_en"),
        ref("subsidies", "disbursement_id").sort_by(order).alias("evidence"),
    )
    return periods.join(detail, on=PERIOD_KEY, how="inner", nulls_equal=True)


def period_names() -> list[pl.Expr]:
    """The program's period in words (``period_zh``, ``period_en``)."""
    return [
        pl.col("period").replace_strict(PERIOD_ZH, default="").alias("period_zh"),
        pl.col("period").replace_strict(PERIOD_EN, default="").alias("period_en"),
    ]


def period_when() -> list[pl.Expr]:
    """When, in words (``when_zh``, ``when_en``): ``2026-03 期内`` / ``in period 2026-03``;
    a one-off program's period is the beneficiary's whole history."""
    once = pl.col("period") == "once"
    return [
        pl.when(once)
        .then(pl.lit("累计"))
        .otherwise(pl.format("{} 期内", "period_label"))
        .alias("when_zh"),
        pl.when(once)
        .then(pl.lit("in all (one-off program)"))
        .otherwise(pl.format("in period {}", "period_label"))
        .alias("when_en"),
    ]


def catchup_note() -> list[pl.Expr]:
    """A note on allowed catch-up payments (``note_zh``, ``note_en``), empty without one."""
    has = pl.col("gap") > 0
    return [
        pl.when(has)
        .then(pl.format("（此前 {} 期未发放，本期允许补发，共可发放 {} 次）", "gap", "allowed"))
        .otherwise(pl.lit(""))
        .alias("note_zh"),
        pl.when(has)
        .then(
            pl.format(
                " ({} earlier period(s) unpaid, so up to {} payments may be a catch-up)",
                "gap",
                "allowed",
            )
        )
        .otherwise(pl.lit(""))
        .alias("note_en"),
    ]


@register
class SubsidyDuplicate(Detector):
    id = "subsidy.duplicate"
    title = Text("补贴重复发放", "Subsidy paid twice")
    description = Text(
        "同一受益人在同一补贴项目的同一发放周期内被发放两次或以上（已考虑补发）。",
        "One beneficiary paid two or more times for one program and period (catch-ups allowed).",
    )
    requires = ("subsidies", "subsidy_programs")
    entity = "beneficiary"
    severity = "high"
    alert_title = Text(
        "补贴重复发放：{beneficiary_name} {program_name} {when_zh}发放 {n_eff} 次",
        "Subsidy paid twice: {program_name} {when_en}, {n_eff} payments to {beneficiary_name}",
    )
    alert_explanation = Text(
        "受益人 {entity_id}（{beneficiary_name}）在补贴项目 {program_code}（{program_name}，"
        "{period_zh}发放）{when_zh}收到 {n_eff} 次发放，净额 {net:money} 元：{payments_zh}。"
        "每期应发放 {allowed} 次{note_zh}，多发 {amount:money} 元。",
        "Beneficiary {entity_id} ({beneficiary_name}) was paid {n_eff} times for program "
        "{program_code} ({program_name}, paid {period_en}) {when_en}, "
        "{net:money} yuan net: {payments_en}. Due {allowed} payment(s) in the period{note_en}; "
        "{amount:money} yuan paid too much.",
    )

    def find(self, tables, ctx):
        due = pl.col("pos_amounts").list.head(pl.col("allowed")).list.sum()
        extra = pl.col("n_eff") - pl.col("allowed")
        flagged = paid_periods(tables, ctx, pl.col("n_eff") > 1).filter(
            (pl.col("n_eff") > pl.col("allowed")) & (pl.col("last_date").dt.year() == ctx.year)
        )
        return (
            with_details(flagged, tables, ctx)
            .select(
                pl.col("beneficiary_id").alias("entity_id"),
                pl.concat_str(
                    [pl.col("program_code"), pl.col("period_label"), pl.col("mname")],
                    separator="|",
                    ignore_nulls=True,
                ).alias("finding_key"),
                "evidence",
                "unit_id",
                "beneficiary_name",
                "program_code",
                "program_name",
                "period_label",
                "n_eff",
                "net",
                "allowed",
                "gap",
                "payments_zh",
                "payments_en",
                (pl.col("net") - due).clip(lower_bound=0).alias("amount"),
                *period_names(),
                *period_when(),
                *catchup_note(),
                to_time(pl.col("first_date"), ctx.timezone).alias("event_time"),
                (0.7 + 0.1 * extra.clip(1, 3)).alias("score"),
            )
            .sort("entity_id", "finding_key")
        )
