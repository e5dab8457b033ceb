"""``blog.maker_checker``: one person drafted and approved the same voucher (不相容岗位未分离).

Maker-checker (制单与审核分离) requires a second person to approve what the
first drafted. A voucher is flagged when

- the business log holds a successful ``voucher_create`` and a successful
  ``voucher_approve`` on the same ``object_id`` by the same ``user_id``, or
- the ``payments`` table (when given) names the same person as ``created_by``
  and ``approved_by``.

One alert per voucher, with the evidence of both sources where present (the
log events and the payment row). ``amount`` is the voucher's amount when it
was paid (returned and cancelled vouchers moved no money: ``medium``).

Must NOT fire: a voucher drafted by one user and approved by a colleague
(also when the drafter later *views* or *modifies* it); failed approval
attempts (``result = failure``); ids compared after trimming, so ``U01`` and
``U01 `` are one person, but different ids are different people.

Known false positives: small units where one clerk legitimately holds both
roles by written exception, and system accounts that auto-approve (check the
user id shown).
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors._dblog import value_mask
from auditlib.detectors.base import Detector, Text
from auditlib.exprs import action_key, active_payment, succeeded
from auditlib.registry import register
from auditlib.schemas import TABLES


@register
class BlogMakerChecker(Detector):
    id = "blog.maker_checker"
    title = Text("制单审核同一人", "Same user drafted and approved a voucher")
    description = Text(
        "同一操作员既制单又审核同一支付凭证，制单与审核岗位未分离。",
        "One user both drafted and approved the same payment voucher: maker-checker "
        "separation is broken.",
    )
    requires = ("business_log",)
    optional = ("payments",)
    entity = "voucher"
    severity = "high"
    alert_title = Text(
        "制单审核同一人：凭证 {entity_id}（{user_id}）",
        "Same user drafted and approved voucher {entity_id} ({user_id})",
    )
    alert_explanation = Text(
        "凭证 {entity_id}（单位 {unit_id}，金额 {voucher_amount:money} 元，状态 {status}）"
        "由操作员 {user_id} 制单（{created_at}）并由同一人审核（{approved_at}）；"
        "依据：{sources_zh}。"
        "制单与审核应由两人分别完成，本凭证仅经 1 人之手。",
        "Voucher {entity_id} (unit {unit_id}, {voucher_amount:money} yuan, status {status}) "
        "was drafted by user {user_id} ({created_at}) and approved by the same user "
        "({approved_at}); source: {sources_en}. Drafting and approval need 2 different people; "
        "this voucher passed through 1.",
    )

    def find(self, tables, ctx):
        tz = ctx.timezone
        bl = tables["business_log"]
        wanted = lambda a: action_key(a).is_in(["voucher_create", "voucher_approve"])  # noqa: E731
        log = (  # the rows chosen first (the action tested per distinct value), then keyed
            bl.filter(
                value_mask(bl, "action", wanted)
                & succeeded(pl.col("result"))
                & pl.col("object_id").is_not_null()
                & pl.col("user_id").is_not_null()
            )
            .with_columns(action_key(pl.col("action")).alias("action"))
            .select(
                pl.col("object_id").alias("voucher_id"),
                "user_id",
                "action",
                "event_id",
                pl.col("event_time").dt.convert_time_zone(tz),
                pl.col("unit_id").alias("log_unit"),
            )
        )
        is_c, is_a = pl.col("action") == "voucher_create", pl.col("action") == "voucher_approve"
        key = ["voucher_id", "user_id"]
        # the (voucher, user) pairs with both a draft and an approval: a join of the two
        # key sets (no group-by over every draft and approval), then the pairs' events only
        pairs = (
            log.filter(is_c)
            .select(key)
            .join(log.filter(is_a).select(key), on=key, how="inner")
            .unique()
        )
        mine = log.join(pairs, on=key, how="semi")
        agg = mine.group_by(key).agg(
            pl.col("event_time").filter(is_c).min().alias("log_created"),
            pl.col("event_time").filter(is_a).min().alias("log_approved"),
            pl.col("log_unit").drop_nulls().min(),
        )
        refs = (
            mine.with_columns(ref("business_log", "event_id"))
            .group_by(key)
            .agg(
                pl.col("ref").filter(is_c).sort().alias("c_refs"),
                pl.col("ref").filter(is_a).sort().alias("a_refs"),
            )
        )
        by_log = agg.join(refs, on=key, how="left").select(
            "voucher_id",
            "user_id",
            "log_created",
            "log_approved",
            "log_unit",
            pl.concat_list("c_refs", "a_refs").alias("log_refs"),
            pl.lit(True).alias("in_log"),
        )
        pay = tables["payments"] if "payments" in tables else TABLES["payments"].empty(tz).lazy()
        pay = pay.select(
            "voucher_id",
            "created_by",
            "approved_by",
            "unit_id",
            "amount",
            pl.col("status").fill_null("paid"),
            pl.col("created_at").dt.convert_time_zone(tz),
            pl.col("approved_at").dt.convert_time_zone(tz),
            active_payment().alias("paid"),
            pl.lit(True).alias("in_table"),
        )
        by_pay = pay.filter(
            pl.col("created_by").is_not_null() & (pl.col("created_by") == pl.col("approved_by"))
        ).select("voucher_id", pl.col("created_by").alias("user_id"), pl.lit(True).alias("in_pay"))
        both = (
            by_log.join(by_pay, on=["voucher_id", "user_id"], how="full", coalesce=True)
            .join(pay.drop("created_by", "approved_by"), on="voucher_id", how="left")
            .with_columns(
                pl.col("in_log").fill_null(False),
                pl.col("in_pay").fill_null(False),
                pl.col("in_table").fill_null(False),
                pl.col("paid").fill_null(False),
            )
            .sort(
                "voucher_id", "in_pay", "in_log", "user_id", descending=[False, True, True, False]
            )
            .unique("voucher_id", keep="first", maintain_order=True)
        )
        no_refs = pl.lit([], dtype=pl.List(pl.String))
        pay_ref = (
            pl.when(pl.col("in_table"))
            .then(pl.concat_list(ref("payments", "voucher_id")))
            .otherwise(no_refs)
        )
        two = pl.col("in_log") & pl.col("in_pay")
        src_zh = (
            pl.when(two)
            .then(pl.lit("业务日志与支付明细（制单人=审核人）"))
            .when(pl.col("in_log"))
            .then(pl.lit("业务日志"))
            .otherwise(pl.lit("支付明细（制单人=审核人）"))
        )
        src_en = (
            pl.when(two)
            .then(pl.lit("business log and payments (created_by = approved_by)"))
            .when(pl.col("in_log"))
            .then(pl.lit("business log"))
            .otherwise(pl.lit("payments (created_by = approved_by)"))
        )
        approved = pl.coalesce("log_approved", "approved_at")
        paid = pl.col("paid")
        return both.select(
            pl.col("voucher_id").alias("entity_id"),
            pl.col("voucher_id").alias("finding_key"),
            pl.concat_list(pl.col("log_refs").fill_null(no_refs), pay_ref).alias("evidence"),
            pl.coalesce("unit_id", "log_unit").alias("unit_id"),
            "user_id",
            pl.col("amount").alias("voucher_amount"),
            "status",
            pl.when(paid).then(pl.col("amount")).alias("amount"),
            pl.coalesce("log_created", "created_at").alias("created_at"),
            approved.alias("approved_at"),
            approved.alias("event_time"),
            src_zh.alias("sources_zh"),
            src_en.alias("sources_en"),
            pl.when(paid | ~pl.col("in_table"))
            .then(pl.lit("high"))
            .otherwise(pl.lit("medium"))
            .alias("severity"),
            (0.6 + 0.2 * two.cast(pl.Float64) + 0.2 * paid.cast(pl.Float64)).alias("score"),
        ).sort("event_time", "finding_key", nulls_last=True)
