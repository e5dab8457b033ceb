"""``example.round_amount``: large payments of a suspiciously round amount.

Real invoices rarely come to an exact multiple of 1,000 yuan; a large payment that
does is worth a look (an advance, a made-up invoice, a transfer dressed as a purchase).

Known false positives: fixed-price contracts, deposits and grants paid in round sums.

Not registered with ``@register``: the entry point in ``pyproject.toml`` names the class
and auditlib's registry loads it.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import active_payment


class RoundAmount(Detector):
    id = "example.round_amount"
    title = Text("整数金额大额支付", "Large round-amount payment")
    description = Text(
        "单笔支付金额不低于下限且恰为整千（或设定单位）的倍数。",
        "A payment at or above a floor whose amount is an exact multiple of a round unit.",
    )
    requires = ("payments",)
    entity = "voucher"
    severity = "low"
    params = (
        Param("min_amount", float, 10000.0, "Smallest amount (yuan) that alerts.", min=0.0),
        Param(
            "round_unit", float, 1000.0, "The round unit in yuan (1000: whole thousands).", min=1.0
        ),
    )
    alert_title = Text(
        "整数金额支付 {voucher_id}：{amount:money} 元",
        "Round-amount payment {voucher_id}: {amount:money} yuan",
    )
    alert_explanation = Text(
        "单位 {unit_id} 于 {pay_date} 以凭证 {voucher_id} 向 {payee_name} 支付 {amount:money} 元，"
        "恰为 {round_unit:money} 元的整数倍，且不低于 {min_amount:money} 元。",
        "Unit {unit_id} paid {payee_name} {amount:money} yuan with voucher {voucher_id} on "
        "{pay_date}: an exact multiple of {round_unit:money} yuan, at or above {min_amount:money}.",
    )

    def find(self, tables, ctx):
        cents = (pl.col("amount") * 100).cast(pl.Int64)
        unit = round(self.round_unit * 100)
        return (
            tables["payments"]
            .filter(active_payment() & (pl.col("amount") >= self.min_amount) & (cents % unit == 0))
            .select(
                pl.col("voucher_id").alias("entity_id"),
                pl.col("voucher_id").alias("finding_key"),
                pl.concat_list(ref("payments", "voucher_id")).alias("evidence"),
                "voucher_id",
                "unit_id",
                "amount",
                "payee_name",
                "pay_date",
                pl.col("pay_date")
                .cast(pl.Datetime("us"))
                .dt.replace_time_zone(ctx.timezone)
                .alias("event_time"),
            )
        )
