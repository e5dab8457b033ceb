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
from auditlib.exprs import active_payment, fen
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
        limit = int(round(self.threshold * 100))
        df = (
            tables["payments"]
            .filter(active_payment())
            .with_columns(fen(pl.col("amount")).alias("fen"))
            .filter(pl.col("fen") < limit)
            .select("unit_id", "payee_account", "payee_name", "voucher_id", "pay_date", "fen")
            .filter(pl.len().over("unit_id", "payee_account") >= self.min_parts)
            .with_columns(pl.struct("unit_id", "payee_account").rank("dense").alias("grp"))
            .sort("grp", "pay_date", "voucher_id")
            .collect()
        )
        if df.height == 0:
            return _empty()
        grp = df["grp"].to_numpy().astype(np.int64)
        day = df["pay_date"].cast(pl.Int32).to_numpy().astype(np.int64)
        pos = grp * 1_000_000 + day  # dates fit well inside 1e6 days
        end = np.searchsorted(pos, pos + self.window_days, side="right") - 1
        cum = np.concatenate(([0], np.cumsum(df["fen"].to_numpy())))
        idx = np.arange(df.height)
        total = cum[end + 1] - cum[idx]
        flagged = (total > limit) & (end - idx + 1 >= self.min_parts)
        if not flagged.any():
            return _empty()
        # merge overlapping flagged windows of one group into clusters
        reach = np.where(flagged, end, -1)
        starts, ends = [], []
        for i in np.flatnonzero(flagged):
            if starts and grp[i] == grp[starts[-1]] and i <= ends[-1]:
                ends[-1] = max(ends[-1], reach[i])
            else:
                starts.append(i)
                ends.append(reach[i])
        cluster = np.full(df.height, -1)
        for c, (s, e) in enumerate(zip(starts, ends, strict=True)):
            cluster[s : e + 1] = c
        parts = df.with_columns(pl.Series("cluster", cluster)).filter(pl.col("cluster") >= 0)
        return (
            parts.lazy()
            .group_by("cluster")
            .agg(
                pl.col("unit_id").first(), pl.col("payee_account").first().alias("entity_id"),
                pl.col("payee_name").first(),
                pl.col("voucher_id").first().alias("first_voucher"),
                pl.col("voucher_id").alias("vouchers"),
                ref("payments", "voucher_id").alias("evidence"),
                pl.col("pay_date").min().alias("first_date"), pl.col("pay_date").max().alias("last_date"),
                (pl.col("fen").sum() / 100).alias("amount"), (pl.col("fen").max() / 100).alias("max_part"),
                pl.len().alias("n_parts"),
                (pl.col("fen").min() / limit).alias("closeness"),
            )
            .select(
                "entity_id", "unit_id", "payee_name", "vouchers", "evidence", "n_parts", "max_part",
                pl.concat_str("entity_id", pl.lit("|"), "first_voucher").alias("finding_key"),
                pl.col("amount"), (pl.col("amount") - self.threshold).alias("excess"),
                pl.col("first_date").cast(pl.String), pl.col("last_date").cast(pl.String),
                (pl.col("last_date") - pl.col("first_date")).dt.total_days().alias("span"),
                pl.col("first_date").cast(pl.Datetime("us")).dt.replace_time_zone(ctx.timezone).alias("event_time"),
                (0.5 + 0.5 * pl.col("closeness").clip(0, 1)).alias("score"),
                pl.when(pl.col("closeness") >= 0.8).then(pl.lit("high")).otherwise(pl.lit("medium")).alias("severity"),
            )
            .sort("finding_key")
        )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"entity_id": pl.String, "finding_key": pl.String, "evidence": pl.List(pl.String)})
