"""``subsidy.public_employee``: public employees receiving means-tested subsidies.

Means-tested (家庭经济状况核查) subsidies are for households in need; a
public employee (财政供养人员, ``persons`` ``list_type`` ``public_employee``)
has a wage the test counts, so receiving one is a classic 一卡通 finding
(违规享受低保等). People match as in ``subsidy.deceased`` (id as given; a
masked id with the name); payments before the employee's ``effective_date``
(start of employment) are not counted.

Which programs are means-tested: by default a ``program_name`` containing
one of ``keywords`` (低保, 最低生活保障, 特困, 五保, 困难, 救助, 贫困, 扶贫,
低收入, 残疾人两项补贴; 临时救助, 医疗救助 and 困难残疾人生活补贴 fall under
救助/困难). Not by default: 重度残疾人护理补贴, 高龄津贴, 耕地地力保护补贴 and
other universal or production subsidies, which public employees may receive.
The parameter ``programs`` (program codes) replaces the keyword test when
set, for a province whose names differ.

One finding per person and fiscal year; the amount at risk is the net total
of the means-tested payments in the year up to the audit date.

Known false positives: a relative's subsidy paid under the employee's id; an
employee whose eligibility was approved through the household test (rare);
a name containing 困难 that is not means-tested (set ``programs``).
"""

from __future__ import annotations

import re

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.detectors.subsidy_deceased import name_matches
from auditlib.exprs import in_year, masked_name, to_time
from auditlib.registry import register

KEYWORDS = (
    "低保",
    "最低生活保障",
    "特困",
    "五保",
    "困难",
    "救助",
    "贫困",
    "扶贫",
    "低收入",
    "残疾人两项补贴",
)
"""Program-name keywords of means-tested programs (the default of ``keywords``)."""


@register
class SubsidyPublicEmployee(Detector):
    id = "subsidy.public_employee"
    title = Text("财政供养人员违规领取困难补贴", "Public employee receiving means-tested subsidies")
    description = Text(
        "财政供养人员领取低保、特困、救助等需经家庭经济状况核查的补贴。",
        "A public employee (on the public payroll) receives means-tested subsidies "
        "(minimum living allowance, extreme-poverty support, assistance).",
    )
    requires = ("subsidies", "subsidy_programs", "persons")
    entity = "beneficiary"
    severity = "high"
    params = (
        Param(
            "keywords",
            tuple,
            KEYWORDS,
            "Program-name keywords that make a program "
            "means-tested (used when 'programs' is empty).",
        ),
        Param(
            "programs",
            tuple,
            (),
            "Program codes that are means-tested; when set, replaces the keyword test.",
        ),
    )
    alert_title = Text(
        "财政供养人员领取困难补贴：{beneficiary_name} {amount:money} 元",
        "Public employee paid means-tested subsidies: {beneficiary_name}, {amount:money} yuan",
    )
    alert_explanation = Text(
        "受益人 {entity_id}（{beneficiary_name}）在财政供养人员名单中（单位 {emp_unit}，"
        "{since}起），{year} 年截至 {as_of} 领取需经家庭经济状况核查的补贴 {n_pay} 笔，合计 "
        "{amount:money} 元：{programs_zh}。财政供养人员有固定工资收入，一般不符合此类补贴条件。",
        "Beneficiary {entity_id} ({beneficiary_name}) is on the public-employee list (unit "
        "{emp_unit}, since {since}) and received {n_pay} means-tested payment(s) in {year} up "
        "to {as_of}, {amount:money} yuan: {programs_en}. Public employees have a wage income "
        "and are normally not eligible.",
    )

    def means_tested(self) -> pl.Expr:
        """Is the program (``program_code``, ``program_name``) means-tested?"""
        if self.programs:
            return pl.col("program_code").is_in(list(self.programs))
        if not self.keywords:
            return pl.lit(False)
        pattern = "|".join(re.escape(k) for k in self.keywords)
        return pl.col("program_name").str.normalize("NFKC").str.contains(pattern).fill_null(False)

    def find(self, tables, ctx):
        emp = (
            tables["persons"]
            .filter(pl.col("list_type") == "public_employee")
            .select(
                "person_id",
                "list_type",
                pl.col("name").alias("list_name"),
                pl.col("unit_id").alias("emp_unit"),
                pl.col("effective_date").alias("start"),
            )
        )
        progs = (
            tables["subsidy_programs"]
            .filter(self.means_tested())
            .select("program_code", "program_name")
        )
        order = ["pay_date", "disbursement_id"]
        rows = (
            tables["subsidies"]
            .filter(in_year(pl.col("pay_date"), ctx.year, ctx.as_of) & (pl.col("amount") != 0))
            .join(progs, on="program_code", how="inner")
            .join(emp, left_on="beneficiary_id", right_on="person_id", how="inner")
            .filter(
                (pl.col("start").is_null() | (pl.col("pay_date") >= pl.col("start")))
                & name_matches("beneficiary_id", "beneficiary_name", "list_name")
            )
            .with_columns(
                masked_name(pl.col("beneficiary_id"), pl.col("beneficiary_name")).alias("mname")
            )
        )
        per_prog = (
            rows.group_by("beneficiary_id", "mname", "program_code")
            .agg(
                pl.col("program_name").first(),
                pl.col("amount").sum().alias("net"),
                pl.len().alias("n"),
            )
            .sort("program_code")
        )
        text = per_prog.group_by("beneficiary_id", "mname").agg(
            pl.format("{} {} {} 元（{} 笔）", "program_code", "program_name", "net", "n")
            .str.join("；")
            .alias("programs_zh"),
            pl.format("{} {} {} yuan ({} payment(s))", "program_code", "program_name", "net", "n")
            .str.join("; ")
            .alias("programs_en"),
        )
        return (
            rows.group_by("beneficiary_id", "mname")
            .agg(
                pl.col("amount").sum().alias("amount"),
                pl.len().alias("n_pay"),
                pl.col("beneficiary_name").sort_by(order).first(),
                pl.col("emp_unit").first(),
                pl.col("start").first(),
                pl.col("list_type").first(),
                pl.col("unit_id").sort_by(order).drop_nulls().first().alias("sub_unit"),
                pl.col("pay_date").min().alias("first_date"),
                ref("subsidies", "disbursement_id").sort_by(order).alias("ev"),
            )
            .filter(pl.col("amount") > 0)
            .join(text, on=["beneficiary_id", "mname"], how="left", nulls_equal=True)
            .select(
                pl.col("beneficiary_id").alias("entity_id"),
                pl.concat_str(
                    [pl.lit(str(ctx.year)), pl.col("mname")], separator="|", ignore_nulls=True
                ).alias("finding_key"),
                pl.concat_list(
                    ref("persons", "beneficiary_id", "list_type").alias("p"), "ev"
                ).alias("evidence"),
                pl.coalesce("emp_unit", "sub_unit").alias("unit_id"),
                "beneficiary_name",
                "amount",
                "n_pay",
                "programs_zh",
                "programs_en",
                pl.col("emp_unit").fill_null("—"),
                pl.col("start").cast(pl.String).fill_null("—").alias("since"),
                pl.lit(ctx.year).alias("year"),
                pl.lit(str(ctx.as_of)).alias("as_of"),
                to_time(pl.col("first_date"), ctx.timezone).alias("event_time"),
                (0.7 + 0.3 * (pl.col("n_pay").cast(pl.Float64) / 12).clip(0, 1)).alias("score"),
            )
            .sort("entity_id", "finding_key")
        )
