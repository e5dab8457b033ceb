"""``subsidy.invalid_id``: subsidies paid to an ID number that cannot exist.

A citizen ID number (GB 11643-1999) is 18 characters: a 6-digit region code
(the first two digits a province: 11-15, 21-23, 31-37, 41-46, 50-54, 61-65;
71, 81, 82, 83 for Taiwan, Hong Kong and Macao residents), an 8-digit birth
date, a 3-digit sequence and a check character (ISO 7064 MOD 11-2, ``X`` for
10; a lower-case ``x`` is accepted). A number with a wrong check character,
an impossible birth date (not a date, before 1900 or after the audit date)
or a region prefix of no province is fabricated or mistyped, and the money
paid to it is at risk.

Only ids that look like real numbers are judged: 18 characters of digits
with a final digit or ``X``. Masked ids (containing ``*``), pseudonyms,
15-digit old numbers and anything else are compared as given elsewhere and
never judged here. If more than ``max_invalid_share`` of the well-shaped ids
fail, the column evidently holds pseudonyms of that shape, not ID numbers,
and nothing is reported.

One finding per id with payments in the fiscal year (up to the audit
date); the amount is their net total.

Known false positives: none for the check itself; a mistyped id of a real
person is a data-quality finding rather than fraud (the explanation names the
check that failed).
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import in_year, to_time
from auditlib.registry import register

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
PROVINCES = (
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
    "83",
)


def check_char(id_expr: pl.Expr) -> pl.Expr:
    """The GB 11643 check character of the first 17 digits.

    >>> pl.DataFrame({"i": ["11010519491231002X"]}).select(check_char(pl.col("i")))["i"][0]
    'X'
    """
    total = pl.sum_horizontal(
        [id_expr.str.slice(i, 1).cast(pl.Int64, strict=False) * w for i, w in enumerate(WEIGHTS)]
    )
    return (total % 11).replace_strict(dict(enumerate(CHECK)), return_dtype=pl.String)


def well_shaped(id_expr: pl.Expr) -> pl.Expr:
    """18 characters: 17 digits, then a digit or X (x)."""
    return id_expr.str.contains(r"^\d{17}[\dXx]$").fill_null(False)


@register
class SubsidyInvalidId(Detector):
    id = "subsidy.invalid_id"
    title = Text("补贴发放至无效身份证号", "Subsidy paid to an invalid ID number")
    description = Text(
        "受益人身份证号校验位错误、出生日期不合法或地区码不存在（GB 11643-1999）。",
        "The beneficiary's ID number has a wrong check character, an impossible birth date or "
        "no valid region prefix (GB 11643-1999).",
    )
    requires = ("subsidies",)
    entity = "beneficiary"
    severity = "medium"
    params = (
        Param(
            "max_invalid_share",
            float,
            0.5,
            "Share of failing well-shaped ids above which "
            "the ids are taken as pseudonyms and not judged.",
            min=0.0,
            max=1.0,
        ),
    )
    alert_title = Text(
        "无效身份证号：{entity_id}（{beneficiary_name}）",
        "Invalid ID number: {entity_id} ({beneficiary_name})",
    )
    alert_explanation = Text(
        "受益人 {beneficiary_name} 的身份证号 {entity_id} 不符合 GB 11643-1999：{problems_zh}。"
        "{year} 年截至 {as_of} 向该号码发放补贴 {n_pay} 笔，合计 {amount:money} 元"
        "（项目 {programs}）。",
        "The ID number {entity_id} of beneficiary {beneficiary_name} fails GB 11643-1999: "
        "{problems_en}. In {year} up to {as_of}, {n_pay} subsidy payment(s) of {amount:money} yuan "
        "were made to it (programs {programs}).",
    )

    def find(self, tables, ctx):
        order = ["pay_date", "disbursement_id"]
        rows = tables["subsidies"].filter(
            in_year(pl.col("pay_date"), ctx.year, ctx.as_of)
            & (pl.col("amount") != 0)
            & well_shaped(pl.col("beneficiary_id"))
        )
        i = pl.col("beneficiary_id").str.to_uppercase()
        birth = i.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
        expect = check_char(i)
        checks = {
            "bad_check": expect != i.str.slice(17, 1),
            "bad_birth": birth.is_null() | (birth.dt.year() < 1900) | (birth > ctx.as_of),
            "bad_region": ~i.str.slice(0, 2).is_in(list(PROVINCES)),
        }
        flag = {k: pl.col(k) for k in checks}

        def problems(a: str, b: str, c: str) -> pl.Expr:
            return pl.concat_list(
                pl.when(flag["bad_check"]).then(pl.format(a, expect, i.str.slice(17, 1))),
                pl.when(flag["bad_birth"]).then(pl.format(b, i.str.slice(6, 8))),
                pl.when(flag["bad_region"]).then(pl.format(c, i.str.slice(0, 6))),
            ).list.drop_nulls()

        bad = flag["bad_check"] | flag["bad_birth"] | flag["bad_region"]
        # judge each distinct id once; give up when most fail (pseudonyms shaped like ids)
        ids = (
            rows.select("beneficiary_id")
            .unique()
            .with_columns(**checks)
            .with_columns(bad.alias("bad"))
            .filter(pl.col("bad") & (pl.col("bad").mean() <= self.max_invalid_share))
            .with_columns(
                problems("校验位应为 {}，实为 {}", "出生日期 {} 不合法", "地区码 {} 不属于任何省份")
                .list.join("；")
                .alias("problems_zh"),
                problems(
                    "check character should be {}, is {}",
                    "birth date {} is impossible",
                    "region code {} is of no province",
                )
                .list.join("; ")
                .alias("problems_en"),
                (
                    0.5
                    + 0.15
                    * sum(
                        flag[k].cast(pl.Float64) for k in ("bad_check", "bad_birth", "bad_region")
                    )
                ).alias("score"),
            )
        )
        per_id = (
            rows.join(ids.select("beneficiary_id"), on="beneficiary_id", how="semi")
            .group_by("beneficiary_id")
            .agg(
                pl.col("amount").sum().alias("amount"),
                pl.len().alias("n_pay"),
                pl.col("beneficiary_name").sort_by(order).first(),
                pl.col("unit_id").sort_by(order).drop_nulls().first(),
                pl.col("program_code").unique().sort().str.join(", ").alias("programs"),
                pl.col("pay_date").min().alias("first_date"),
                ref("subsidies", "disbursement_id").sort_by(order).alias("evidence"),
            )
        )
        return (
            per_id.join(ids, on="beneficiary_id", how="inner")
            .select(
                pl.col("beneficiary_id").alias("entity_id"),
                pl.lit(str(ctx.year)).alias("finding_key"),
                "evidence",
                "unit_id",
                "beneficiary_name",
                "amount",
                "n_pay",
                "programs",
                "problems_zh",
                "problems_en",
                "score",
                pl.lit(ctx.year).alias("year"),
                pl.lit(str(ctx.as_of)).alias("as_of"),
                to_time(pl.col("first_date"), ctx.timezone).alias("event_time"),
            )
            .sort("entity_id", "finding_key")
        )
