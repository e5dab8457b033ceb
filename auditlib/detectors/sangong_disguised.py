"""``sangong.disguised``: 三公 spending booked under another economic class (隐匿三公).

A paid voucher whose purpose (摘要) or payee is clearly an official reception,
an official vehicle, or a trip abroad, but whose economic class is not the
matching 三公 code, so it escapes the 三公 controls. A documented keyword rule
(``KEYWORDS``), with exclusions for the look-alikes that share words:

- meals inside meeting and training fees (30215/30216 may include 伙食费) do
  not count as reception unless the text says 接待/招待/宴请;
- 工程签证 / 现场签证 (construction site instructions) are not visas;
- 加油站 (building a filling station), 接待室/接待大厅 (a room), 车辆购置税
  and 车辆通行费 refunds booked as revenue are not 三公.

Findings are grouped per unit and 三公 category for the year: one alert lists
every voucher, the amount is their total.

Known false positives: a purpose text mentioning a reception it does not pay
for ("接待群众来访登记系统维护"); the explanation quotes the words matched so an
auditor sees it at once.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Text
from auditlib.exprs import SANGONG, active_payment, in_year, sangong_code, to_time
from auditlib.registry import register

KEYWORDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # code: (strong words, weak words, classes where the weak words are legitimate)
    "30217": (r"接待|招待|宴请|陪餐|公务餐|烟酒|礼品", r"用餐|餐费|工作餐|餐饮|酒水", ("30215", "30216", "30211")),
    "30231": (r"公务用车|公车|车辆维修|车辆保养|车辆保险|车辆年检|燃油费|油卡|加油费?|过路费|过桥费|洗车",
              r"停车费|通行费|轮胎|维修保养", ("30211",)),
    "31013": (r"购置(公务)?车辆|车辆购置|购买(公务)?(车|汽车)|新购车辆|购车", "", ()),
    "30212": (r"因公出国|出国|出境|护照|签证|境外考察|国际机票|赴[港澳台]|出访", "", ()),
}
"""The word lists, per 三公 code: regular expressions over the purpose text (NFKC)."""

EXCLUDE = r"工程签证|现场签证|签证单|加油站|接待室|接待大厅|接待中心装修|车辆购置税|出口退税|入境"
"""Phrases that share a keyword but are not 三公 spending."""


@register
class SangongDisguised(Detector):
    id = "sangong.disguised"
    title = Text("三公经费隐匿列支", "三公 spending booked under another class")
    description = Text(
        "摘要或收款人明显属于公务接待、公务用车或因公出国(境)，却未按三公经济分类列支。",
        "A payment whose purpose is plainly an official reception, official vehicle or trip "
        "abroad, booked under a non-三公 economic class.",
    )
    requires = ("payments",)
    entity = "unit"
    severity = "high"
    alert_title = Text(
        "疑似隐匿三公：单位 {entity_id} {cat_zh} {amount:money} 元未列三公",
        "Hidden 三公: unit {entity_id}, {cat_en}, {amount:money} yuan outside 三公 classes",
    )
    alert_explanation = Text(
        "单位 {entity_id} 有 {n_pay} 笔支付（合计 {amount:money} 元）的摘要含“{words}”，属于{cat_zh}"
        "（应列 {code}），但列支于经济分类 {classes}，未纳入三公经费控制。凭证：{vouchers}。",
        "Unit {entity_id} has {n_pay} payment(s), {amount:money} yuan in all, whose purpose "
        "mentions '{words}' — {cat_en} (class {code}) — booked under {classes}, outside the "
        "三公 controls. Vouchers: {vouchers}.",
    )

    def find(self, tables, ctx):
        text = pl.concat_str(pl.col("purpose").fill_null(""), pl.lit(" "), pl.col("payee_name").fill_null(""))
        text = text.str.normalize("NFKC").str.replace_all(EXCLUDE, "")
        pay = (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .filter(sangong_code(pl.col("economic_class")).is_null())
            .with_columns(text.alias("_t"))
        )
        parts = []
        for code, (strong, weak, weak_ok) in KEYWORDS.items():
            hit = pl.col("_t").str.contains(strong)
            words = pl.col("_t").str.extract_all(strong)
            if weak:
                weak_hit = pl.col("_t").str.contains(weak) & ~pl.col("economic_class").str.slice(0, 5).is_in(list(weak_ok))
                words = words.list.concat(pl.col("_t").str.extract_all(weak))
                hit = hit | weak_hit
            parts.append(pay.filter(hit).with_columns(pl.lit(code).alias("code"), words.list.unique().list.sort().alias("_w")))
        return (
            pl.concat(parts)
            .sort("pay_date", "voucher_id")
            .unique(["voucher_id"], keep="first", maintain_order=True)
            .group_by("unit_id", "code")
            .agg(
                pl.col("amount").sum(), pl.len().alias("n_pay"), pl.col("voucher_id").alias("vouchers"),
                ref("payments", "voucher_id").alias("evidence"),
                pl.col("_w").list.explode(keep_nulls=False, empty_as_null=False).unique().sort().alias("words"),
                pl.col("economic_class").unique().sort().alias("classes"),
                pl.col("pay_date").min().alias("first"),
            )
            .select(
                pl.col("unit_id").alias("entity_id"), "unit_id", "code", "amount", "n_pay", "vouchers",
                "evidence", "words", "classes",
                pl.col("code").replace_strict({k: v[0] for k, v in SANGONG.items()}).alias("cat_zh"),
                pl.col("code").replace_strict({k: v[1] for k, v in SANGONG.items()}).alias("cat_en"),
                pl.concat_str("unit_id", pl.lit("|"), "code", pl.lit(f"|{ctx.year}")).alias("finding_key"),
                to_time(pl.col("first"), ctx.timezone).alias("event_time"),
                (0.6 + 0.4 * (pl.col("n_pay").clip(1, 5) / 5)).alias("score"),
            )
            .sort("finding_key")
        )
