"""``payments.split``: one purchase split into payments under the approval threshold.

Per unit and payee account, paid vouchers each *below* ``threshold``
(``thresholds.split_payment`` in ``auditlib.yaml``, default 50,000 yuan)
whose total within ``window_days`` of the first exceeds it. Overlapping
windows of one payee merge into one finding keyed by the payee and its first
voucher, with every part as evidence.

Windows use cumulative sums and ``search_sorted`` on one global sort (not a
rolling window per group), which is what keeps this fast at 10M payments.

Known false positives: several genuinely separate small purchases from one
supplier in a week; the score is higher the closer the parts sit under the
threshold, which is what splitting looks like.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import active_payment, codes, fen, rows_at
from auditlib.registry import register


@register
class PaymentsSplit(Detector):
    id = "payments.split"
    title = Text("拆分支付", "Split payment")
    description = Text(
        "同一单位短期内向同一收款账号多次支付，每笔低于审批/采购限额，合计超过限额。",
        "Several payments of one unit to one payee account in a short window, each under the "
        "approval/procurement threshold, together over it.",
    )
    requires = ("payments",)
    entity = "payee_account"
    severity = "medium"
    params = (
        Param("threshold", float, 50000.0, "Approval threshold in yuan.", min=0.01,
              setting="split_payment"),
        Param("window_days", int, 7, "Window from the first part, in days.", min=0, max=92),
        Param("min_parts", int, 2, "Fewest parts that make a split.", min=2),
    )
    alert_title = Text(
        "疑似拆分支付：{n_parts} 笔合计 {amount:money} 元（限额 {threshold:money}）",
        "Possible split payment: {n_parts} parts, {amount:money} yuan (threshold {threshold:money})",
    )
    alert_explanation = Text(
        "单位 {unit_id} 在 {first_date} 至 {last_date}（{span} 天，窗口 {window_days} 天）内向账号 "
        "{entity_id}（{payee_name}）支付 {n_parts} 笔：{vouchers}；每笔均低于限额 {threshold:money} 元"
        "（最大一笔 {max_part:money} 元），合计 {amount:money} 元，超过限额 {excess:money} 元。",
        "Unit {unit_id} paid account {entity_id} ({payee_name}) {n_parts} times between "
        "{first_date} and {last_date} ({span} days; window {window_days}): {vouchers}. Each is "
        "below the {threshold:money} yuan threshold (largest {max_part:money}), together "
        "{amount:money} yuan, {excess:money} over it.",
    )

    def find(self, tables, ctx):
        # integer group codes, not struct(...).rank("dense"); only numbers go through the
        # sort (numpy lexsort), the voucher tiebreak only where group and day tie; names are
        # gathered for the parts at the end; overlapping windows merge by a running maximum
        limit = round(self.threshold * 100)
        # only numbers for every payment (row number in the table, group code, day, fen);
        # texts are read back by row number for the few rows that need them
        pay = tables["payments"].with_row_index("_r")
        k = (
            pay.filter(active_payment())
            .select(
                "_r",
                (codes(pl.col("unit_id")) * (1 << 32) + codes(pl.col("payee_account"))).alias("grp"),
                pl.col("pay_date").cast(pl.Int32).alias("day"),
                fen(pl.col("amount")).alias("fen"),
            )
            .filter(pl.col("fen") < limit)
            .collect()
        )
        if k.height == 0:
            return _empty()
        grp = k["grp"].to_numpy()
        day = k["day"].to_numpy().astype(np.int64)
        order = np.lexsort((day, grp))
        grp, day = grp[order], day[order]
        rows = k["_r"].to_numpy()[order]
        fen_all = k["fen"].to_numpy()
        del k
        tie = (grp[1:] == grp[:-1]) & (day[1:] == day[:-1])
        if tie.any():  # order equal (group, day) runs by voucher id
            in_run = np.zeros(len(order), dtype=bool)
            in_run[1:] |= tie
            in_run[:-1] |= tie
            pos = np.flatnonzero(in_run)
            run = np.cumsum(np.concatenate(([True], ~tie)))[pos]
            vid = rows_at(pay, rows[pos], "voucher_id")["voucher_id"]
            sub = pl.DataFrame({"run": run, "v": vid, "p": pos}).sort("run", "v")
            order[pos] = order[sub["p"].to_numpy()]
            rows[pos] = rows[sub["p"].to_numpy()]
        fen_ = fen_all[order]
        del order, fen_all
        dense = np.cumsum(np.concatenate(([0], grp[1:] != grp[:-1])))
        del grp
        p = dense * 1_000_000 + day
        del dense, day
        end = np.searchsorted(p, p + self.window_days, side="right") - 1
        cum = np.concatenate(([0], np.cumsum(fen_)))
        i = np.arange(len(p))
        flagged = (cum[end + 1] - cum[i] > limit) & (end - i + 1 >= self.min_parts)
        del cum, i, p
        f = np.flatnonzero(flagged)
        if len(f) == 0:
            return _empty()
        reach = np.maximum.accumulate(end[f])
        new = np.ones(len(f), dtype=bool)
        new[1:] = f[1:] > reach[:-1]
        starts = f[new]
        ends = np.maximum.reduceat(end[f], np.flatnonzero(new))
        lengths = ends - starts + 1
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        members = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        cluster = np.repeat(np.arange(len(starts)), lengths)
        cols = ["unit_id", "payee_account", "payee_name", "voucher_id", "pay_date"]
        parts = rows_at(pay, rows[members], *cols).select(
            *cols, pl.Series("fen", fen_[members]), pl.Series("cluster", cluster))
        limit_ = limit
        return (
            parts.lazy()
            .group_by("cluster", maintain_order=True)
            .agg(
                pl.col("unit_id").first(),
                pl.col("payee_account").first().alias("entity_id"),
                pl.col("payee_name").first(),
                pl.col("voucher_id").first().alias("first_voucher"),
                pl.col("voucher_id").alias("vouchers"),
                ref("payments", "voucher_id").alias("evidence"),
                pl.col("pay_date").min().alias("first_date"),
                pl.col("pay_date").max().alias("last_date"),
                (pl.col("fen").sum() / 100).alias("amount"),
                (pl.col("fen").max() / 100).alias("max_part"),
                pl.len().alias("n_parts"),
                (pl.col("fen").min() / limit_).alias("closeness"),
            )
            .select(
                "entity_id",
                "unit_id",
                "payee_name",
                "vouchers",
                "evidence",
                "n_parts",
                "max_part",
                pl.concat_str("entity_id", pl.lit("|"), "first_voucher").alias("finding_key"),
                pl.col("amount"),
                (pl.col("amount") - self.threshold).alias("excess"),
                pl.col("first_date").cast(pl.String),
                pl.col("last_date").cast(pl.String),
                (pl.col("last_date") - pl.col("first_date")).dt.total_days().alias("span"),
                pl.col("first_date")
                .cast(pl.Datetime("us"))
                .dt.replace_time_zone(ctx.timezone)
                .alias("event_time"),
                (0.5 + 0.5 * pl.col("closeness").clip(0, 1)).alias("score"),
                pl.when(pl.col("closeness") >= 0.8)
                .then(pl.lit("high"))
                .otherwise(pl.lit("medium"))
                .alias("severity"),
            )
            .sort("finding_key")
        )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"entity_id": pl.String, "finding_key": pl.String, "evidence": pl.List(pl.String)})
