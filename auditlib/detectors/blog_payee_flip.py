"""``blog.payee_flip``: a payee account switched just before an approval and switched back after.

The classic diversion: change the receiving account of a voucher (or of a payee
record) to another account, let the voucher be approved and paid, then change
it back so the records look clean. A finding is two consecutive account changes
of one object, a change ``X`` and the next change ``Y``, with a voucher approved
between them, at most ``window_hours`` after ``X`` and at most ``window_hours``
before ``Y``.

Account changes are ``payee_modify`` events (``detail.field`` absent or naming an
account: ``account``, ``账号``, ``卡号``...) and ``voucher_modify`` events whose
``detail.field`` names the payee account (``payee_account``, ``收款账号``,
``收款人账号``). ``Y`` changes the account *back* when ``Y.new == X.old``.

Which approval: for a voucher's own account (``voucher_modify``, or a change on
an ``object_type`` voucher, or a ``payee_modify`` whose detail names a
``voucher_id``), the approvals of that voucher; for a payee record, approvals of
the vouchers that ``payments`` shows paying the old or the new account.
Approvals are ``voucher_approve`` log events and ``payments.approved_at``.

Must NOT fire: an account corrected once and never changed back (one change is
no pair); two changes with old/new logged where the second does not restore the
first value (a correction of a correction); a change back with no approval in
between; changes of the payee *name* or phone.

When old/new are not logged the revert cannot be verified: such pairs fire only
on a voucher's own account, as ``medium``. Known false positives: a wrong
account entered, the voucher approved, then the account restored as a fix (check
whether the payment went out to the interim account).
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import action_key, json_field, succeeded
from auditlib.registry import register
from auditlib.schemas import TABLES

VOUCHER_FIELD = r"(?i)payee.?acc|收款(人)?(账|帐)号|收款(人)?账户"
PAYEE_FIELD = r"(?i)acc|acct|card|(账|帐)号|账户|卡号"


@register
class BlogPayeeFlip(Detector):
    id = "blog.payee_flip"
    title = Text("收款账号审核前改、审核后改回", "Payee account switched around an approval")
    description = Text(
        "收款账号在凭证审核前被修改、审核后短期内又被改回。",
        "A payee account changed shortly before a voucher was approved and changed back "
        "shortly after.",
    )
    requires = ("business_log",)
    optional = ("payments",)
    entity = "voucher"
    severity = "high"
    params = (
        Param(
            "window_hours",
            float,
            72.0,
            "Hours from the change to the approval, and from "
            "the approval to the change back, at most.",
            min=1,
            max=24 * 60,
        ),
    )
    alert_title = Text(
        "收款账号审核前改、审核后改回：凭证 {entity_id}",
        "Payee account switched around the approval of voucher {entity_id}",
    )
    alert_explanation = Text(
        "{object_zh} {object_id} 的收款账号于 {changed_at} 由 {user_out} 从 {old} 改为 {new}；"
        "{gap_in:.1f} 小时后凭证 {vouchers}（共 {n_vouchers} 张，{amount:money} 元）于 "
        "{approved_at} 审核；审核后 {gap_out:.1f} 小时（{changed_back_at}）由 {user_back} "
        "改为 {back}{verified_zh}。两段间隔均在 {window_hours:.0f} 小时窗口内。",
        "The payee account of {object_en} {object_id} was changed by {user_out} on {changed_at} "
        "from {old} to {new}; {gap_in:.1f} hours later voucher(s) {vouchers} ({n_vouchers}, "
        "{amount:money} yuan) were approved on {approved_at}; {gap_out:.1f} hours after the "
        "approval ({changed_back_at}) {user_back} changed it to {back}{verified_en}. Both gaps "
        "are within the {window_hours:.0f}-hour window.",
    )

    def find(self, tables, ctx):
        tz = ctx.timezone
        log = (
            tables["business_log"]
            .with_columns(
                action_key(pl.col("action")).alias("action"),
                pl.col("event_time").dt.convert_time_zone(tz),
            )
            .filter(succeeded(pl.col("result")) & pl.col("event_time").is_not_null())
        )
        field = json_field(pl.col("detail"), "field", "字段", "column")
        is_voucher = (action_key(pl.col("object_type")) == "voucher").fill_null(False)
        changes = (
            log.filter(
                pl.col("action").is_in(["payee_modify", "voucher_modify"])
                & pl.col("object_id").is_not_null()
            )
            .with_columns(field.alias("field"))
            .filter(
                (
                    (pl.col("action") == "voucher_modify")
                    & pl.col("field").str.contains(VOUCHER_FIELD)
                )
                | (
                    (pl.col("action") == "payee_modify")
                    & (pl.col("field").is_null() | pl.col("field").str.contains(PAYEE_FIELD))
                )
            )
            .select(
                "event_id",
                "event_time",
                "user_id",
                "unit_id",
                pl.when((pl.col("action") == "voucher_modify") | is_voucher)
                .then(pl.col("object_id"))
                .otherwise(json_field(pl.col("detail"), "voucher_id", "凭证号"))
                .alias("voucher_id"),
                pl.when((pl.col("action") == "voucher_modify") | is_voucher)
                .then(pl.lit("voucher"))
                .otherwise(pl.col("object_type").fill_null("payee"))
                .alias("object_kind"),
                "object_id",
                _account(json_field(pl.col("detail"), "old", "old_value", "原值", "before")).alias(
                    "old"
                ),
                _account(json_field(pl.col("detail"), "new", "new_value", "新值", "after")).alias(
                    "new"
                ),
            )
            .sort("object_kind", "object_id", "event_time", "event_id")
        )
        grp = ["object_kind", "object_id"]
        prev = {
            c: pl.col(c).shift(1).over(grp)
            for c in ("event_id", "event_time", "user_id", "old", "new", "voucher_id")
        }
        pairs = (
            changes.with_columns(**{f"x_{c}": e for c, e in prev.items()})
            .filter(pl.col("x_event_id").is_not_null())
            .filter(
                pl.col("event_time") - pl.col("x_event_time")
                <= pl.duration(hours=2 * self.window_hours)
            )
            .with_columns(
                (pl.col("x_old").is_not_null() & pl.col("new").is_not_null()).alias("verified"),
                pl.coalesce("voucher_id", "x_voucher_id").alias("link_voucher"),
            )
            .drop("voucher_id", "x_voucher_id")
            # a known second value must restore the first; unknown values only on a voucher
            .filter(
                pl.when(pl.col("verified"))
                .then(pl.col("new") == pl.col("x_old"))
                .otherwise(pl.col("link_voucher").is_not_null())
            )
        )
        pay = tables["payments"] if "payments" in tables else TABLES["payments"].empty(tz).lazy()
        pay = pay.select(
            "voucher_id",
            "payee_account",
            "amount",
            pl.col("unit_id").alias("pay_unit"),
            pl.col("approved_at").dt.convert_time_zone(tz),
        )
        appr = pl.concat(
            [
                log.filter(
                    (pl.col("action") == "voucher_approve") & pl.col("object_id").is_not_null()
                ).select(
                    pl.col("object_id").alias("voucher_id"),
                    pl.col("event_time").alias("a_time"),
                    ref("business_log", "event_id").alias("a_ref"),
                ),
                pay.filter(pl.col("approved_at").is_not_null()).select(
                    "voucher_id",
                    pl.col("approved_at").alias("a_time"),
                    ref("payments", "voucher_id").alias("a_ref"),
                ),
            ]
        ).join(pay.drop("approved_at"), on="voucher_id", how="left")
        on_voucher = (
            pairs.filter(pl.col("link_voucher").is_not_null())
            .join(appr, left_on="link_voucher", right_on="voucher_id", how="inner")
            .with_columns(pl.col("link_voucher").alias("voucher_id"))
        )
        payee_pairs = pairs.filter(pl.col("link_voucher").is_null() & pl.col("verified"))
        on_account = pl.concat(
            [
                payee_pairs.join(appr, left_on=acct, right_on="payee_account", how="inner")
                for acct in ("x_new", "x_old")
            ]
        )
        w = pl.duration(hours=self.window_hours)
        cols = [
            *pairs.collect_schema().names(),
            "voucher_id",
            "a_time",
            "a_ref",
            "amount",
            "pay_unit",
        ]
        hits = pl.concat([on_voucher.select(cols), on_account.select(cols)]).filter(
            pl.col("a_time").is_between(pl.col("x_event_time"), pl.col("event_time"))
            & (pl.col("a_time") - pl.col("x_event_time") <= w)
            & (pl.col("event_time") - pl.col("a_time") <= w)
        )
        pay_ref = pl.when(pl.col("amount").is_not_null()).then(ref("payments", "voucher_id"))
        per_flip = (
            hits.with_columns(pay_ref.alias("p_ref"))
            .sort("x_event_id", "a_time", "voucher_id", "a_ref")
            .group_by("x_event_id", maintain_order=True)
            .agg(
                pl.col("voucher_id").unique(maintain_order=True).alias("vouchers"),
                pl.col("voucher_id").first().alias("entity_id"),
                pl.col("a_time").first().alias("approved_at"),
                pl.col("a_ref").unique(maintain_order=True).alias("a_refs"),
                pl.col("p_ref").drop_nulls().unique(maintain_order=True).alias("p_refs"),
                pl.struct("voucher_id", "amount")
                .unique()
                .struct.field("amount")
                .sum()
                .alias("amount"),
                pl.col("pay_unit").drop_nulls().first(),
                *[
                    pl.col(c).first()
                    for c in (
                        "event_id",
                        "event_time",
                        "user_id",
                        "unit_id",
                        "new",
                        "verified",
                        "object_kind",
                        "object_id",
                        "x_event_time",
                        "x_user_id",
                        "x_old",
                        "x_new",
                    )
                ],
            )
        )
        hours = lambda d: d.dt.total_seconds() / 3600.0  # noqa: E731
        v = pl.col("verified")
        return per_flip.select(
            "entity_id",
            pl.col("x_event_id").alias("finding_key"),
            pl.concat_list(
                ref("business_log", "x_event_id").alias("x"),
                "a_refs",
                ref("business_log", "event_id").alias("y"),
                "p_refs",
            )
            .list.unique(maintain_order=True)
            .alias("evidence"),
            pl.coalesce("pay_unit", "unit_id").alias("unit_id"),
            pl.col("x_event_time").alias("event_time"),
            pl.col("x_event_time").alias("changed_at"),
            pl.col("event_time").alias("changed_back_at"),
            "approved_at",
            pl.col("x_user_id").alias("user_out"),
            pl.col("user_id").alias("user_back"),
            pl.col("x_old").alias("old"),
            pl.col("x_new").alias("new"),
            pl.col("new").alias("back"),
            "object_id",
            "vouchers",
            pl.col("vouchers").list.len().alias("n_vouchers"),
            pl.when(pl.col("amount") > 0).then(pl.col("amount")).alias("amount"),
            pl.when(pl.col("object_kind") == "voucher")
            .then(pl.lit("凭证"))
            .otherwise(pl.lit("收款人"))
            .alias("object_zh"),
            pl.when(pl.col("object_kind") == "voucher")
            .then(pl.lit("voucher"))
            .otherwise(pl.lit("payee"))
            .alias("object_en"),
            hours(pl.col("approved_at") - pl.col("x_event_time")).alias("gap_in"),
            hours(pl.col("event_time") - pl.col("approved_at")).alias("gap_out"),
            pl.when(v)
            .then(pl.lit("（即改回原账号）"))
            .otherwise(pl.lit("（日志未记录新旧值，无法核实是否改回原账号）"))
            .alias("verified_zh"),
            pl.when(v)
            .then(pl.lit(" (the original account)"))
            .otherwise(pl.lit(" (old/new values not logged: the revert is unverified)"))
            .alias("verified_en"),
            pl.when(v).then(pl.lit("high")).otherwise(pl.lit("medium")).alias("severity"),
            pl.when(v).then(pl.lit(0.9)).otherwise(pl.lit(0.6)).alias("score"),
        ).sort("event_time", "finding_key", nulls_last=True)


def _account(expr: pl.Expr) -> pl.Expr:
    """An account number compared loosely: no spaces or dashes (``6222 0000-1111``)."""
    return expr.str.replace_all(r"[\s\-]", "")
