"""``payments.duplicate``: the same money paid twice to one payee account.

Two paid vouchers of one unit to the same payee account for the same amount
within ``window_days`` are a probable duplicate. What is *not* one:

- a returned or cancelled voucher and its re-draft (only ``status = paid``
  counts), and reversals (negative amounts);
- recurring bills (rent, utilities) whose purpose texts name different
  periods (``3月房租`` vs ``4月房租``);
- payee-name spellings (full-width brackets, spaces) do not matter: the key
  is the account, and names are compared only after normalisation.

Known false positives: genuinely repeated identical purchases within days
(two identical orders); the explanation shows both purposes so an auditor
can tell.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import active_payment, codes, fen, period_token, rows_at
from auditlib.registry import register


@register
class PaymentsDuplicate(Detector):
    id = "payments.duplicate"
    title = Text("重复支付", "Duplicate payment")
    description = Text(
        "同一单位在短期内向同一收款账号支付相同金额的两笔已支付凭证。",
        "Two paid vouchers of one unit to the same payee account for the same amount "
        "within a few days.",
    )
    requires = ("payments",)
    entity = "payee_account"
    severity = "high"
    params = (
        Param("window_days", int, 10, "Days between the two payments at most.", min=0, max=366),
        Param("min_amount", float, 0.0, "Ignore payments below this amount (yuan).", min=0),
    )
    alert_title = Text(
        "疑似重复支付：{payee_name} {amount:money} 元",
        "Possible duplicate payment: {amount:money} yuan to {payee_name}",
    )
    alert_explanation = Text(
        "单位 {unit_id} 于 {first_date} 以凭证 {first_voucher} 向账号 {entity_id}（{first_name}）"
        "支付 {amount:money} 元，{gap} 天后（{second_date}）又以凭证 {second_voucher}"
        "（收款人名称“{payee_name}”）支付相同金额，间隔在 {window_days} 天阈值内。"
        "摘要分别为“{first_purpose}”与“{purpose}”。重复支付金额 {amount:money} 元。",
        "Unit {unit_id} paid {amount:money} yuan to account {entity_id} ({first_name}) "
        "with voucher {first_voucher} on {first_date}, and the same amount again {gap} day(s) "
        "later ({second_date}) with voucher {second_voucher} (payee name '{payee_name}'), "
        "within the {window_days}-day window. Purposes: '{first_purpose}' and '{purpose}'. "
        "Amount paid twice: {amount:money} yuan.",
    )

    def find(self, tables, ctx):
        # integer keys (categorical codes of unit and account, amount in fen); the billing
        # period (NFKC + six regexes) only for candidate pairs; the previous row of the sorted
        # candidates by one shift and a same-key mask, not five shift().over(keys) windows
        keys = ["_u", "_a", "_fen"]
        rows = tables["payments"].with_row_index("_r")
        cand = (  # numbers only for every payment; a key seen once pairs with nothing
            rows.filter(active_payment() & (pl.col("amount") >= self.min_amount))
            .select(
                "_r",
                codes(pl.col("unit_id")).alias("_u"),
                codes(pl.col("payee_account")).alias("_a"),
                fen(pl.col("amount")).alias("_fen"),
            )
            .filter(pl.len().over(keys) > 1)
            .collect()
        )
        texts = rows_at(rows, cand["_r"], "unit_id", "payee_account", "amount", "voucher_id",
                        "pay_date", "payee_name", "purpose")
        pay = (
            cand.hstack(texts.drop("_r").get_columns())
            .lazy()
            .drop("_r")
            .sort([*keys, "pay_date", "voucher_id"])
        )
        same = pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in keys])
        pairs = (
            pay.with_columns(
                pl.col("voucher_id").shift(1).alias("first_voucher"),
                pl.col("pay_date").shift(1).alias("first_date"),
                pl.col("payee_name").shift(1).alias("first_name"),
                pl.col("purpose").shift(1).alias("first_purpose"),
                same.alias("_same"),
            )
            .with_columns(gap=(pl.col("pay_date") - pl.col("first_date")).dt.total_days())
            .filter(pl.col("_same") & (pl.col("gap") <= self.window_days))
            .with_columns(
                period_token(pl.col("purpose")).alias("period"),
                period_token(pl.col("first_purpose")).alias("first_period"),
            )
        )
        distinct_period = (
            pl.col("period").is_not_null()
            & pl.col("first_period").is_not_null()
            & (pl.col("period") != pl.col("first_period"))
        )
        return pairs.filter(~distinct_period).select(
            pl.col("payee_account").alias("entity_id"),
            pl.concat_str("first_voucher", pl.lit("|"), "voucher_id").alias("finding_key"),
            pl.concat_list(
                ref("payments", "first_voucher").alias("a"),
                ref("payments", "voucher_id").alias("b"),
            ).alias("evidence"),
            "unit_id",
            "amount",
            "payee_name",
            "first_name",
            "purpose",
            "first_purpose",
            pl.col("first_voucher"),
            pl.col("voucher_id").alias("second_voucher"),
            pl.col("first_date").cast(pl.String),
            pl.col("pay_date").cast(pl.String).alias("second_date"),
            "gap",
            pl.col("first_date")
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone(ctx.timezone)
            .alias("event_time"),
            (1.0 - pl.col("gap") / (2.0 * (self.window_days + 1))).alias("score"),
        )
