"""From a chunk's payment drafts to the tables: payments (times, voucher ids), bank
transactions, business log, database audit, indicators and final accounts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from auditlib.synth.payments import SANGONG
from auditlib.synth.world import Plan

DAY = 86400
H = 3600
APP_SERVERS = ("10.8.0.11", "10.8.0.12", "10.8.0.13")
DATABASE = "fmis"


@dataclass
class Finalized:
    payments: pl.DataFrame
    """Canonical columns plus the internal draft ``_key``."""
    bank: pl.DataFrame
    business_log: pl.DataFrame
    db_audit: pl.DataFrame
    indicators: pl.DataFrame
    final_accounts: pl.DataFrame
    refs: dict[int, str]
    """Draft key -> voucher id."""
    inserts_per_day: np.ndarray
    """Payments created per epoch day, aligned with ``Plan.period.wd[0]`` .. as_of."""


def to_datetime(col: str) -> pl.Expr:
    return pl.from_epoch(pl.col(col), time_unit="s").alias(col)


def money(col: str = "cents", name: str = "amount") -> pl.Expr:
    return (pl.col(col).cast(pl.Decimal(18, 2)) / 100).cast(pl.Decimal(18, 2)).alias(name)


def money_text(col: str) -> pl.Expr:
    c = pl.col(col)
    return (c // 100).cast(pl.String) + pl.lit(".") + (c % 100).cast(pl.String).str.zfill(2)


def dt_text(col: str) -> pl.Expr:
    return pl.from_epoch(pl.col(col), time_unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")


def times(draft: pl.DataFrame, plan: Plan, rng: np.random.Generator) -> pl.DataFrame:
    """created_at / approved_at where not preset: working hours 08:30-18:00 on the pay day
    or the working day before, created before approved."""
    p = plan.period
    day = draft["day"].to_numpy()
    i = p.index(day)
    if len(i) and not np.array_equal(p.wd[np.minimum(i, len(p.wd) - 1)], day):
        msg = "a payment's pay day is not a working day"
        raise RuntimeError(msg)
    prev = p.wd[np.maximum(i - 1, 0)]
    n = len(day)
    r = rng.random(n)
    cday = np.where(r < 0.6, prev, day)
    aday = np.where(r < 0.25, prev, day)
    csec = rng.uniform(8.5 * H, 17.5 * H, size=n)
    created = cday * DAY + csec.astype(np.int64)
    same = aday == cday
    room = 18 * H - csec
    asec_same = csec + 180 + rng.random(n) * np.maximum(room - 180, 1)
    asec_other = rng.uniform(8.5 * H, 18 * H, size=n)
    approved = aday * DAY + np.where(same, asec_same, asec_other).astype(np.int64)
    cancel_after = pl.Series(rng.integers(600, 7200, size=n))
    return draft.with_columns(
        pl.coalesce(pl.col("created_at"), pl.Series(created)).alias("created_at"),
        pl.coalesce(pl.col("approved_at"), pl.Series(approved)).alias("approved_at"),
    ).with_columns(
        pl.when(pl.col("status") == "cancelled")
        .then(pl.coalesce(pl.col("cancel_at"), pl.col("approved_at") + cancel_after))
        .alias("cancel_at")
    )


def users_of(units: pl.DataFrame) -> pl.DataFrame:
    """Application users of the units: makers (制单员) and checkers (审核员), with a stable
    workstation address each."""
    rows = []
    offset: dict[int, int] = {}
    for u in units.sort("unit_idx").iter_rows(named=True):
        r = u["region_idx"]
        base = offset.get(r, 0)
        for role, prefix, k in (("制单员", "zd", u["makers"]), ("审核员", "sh", u["checkers"])):
            for j in range(1, k + 1):
                base += 1
                ip = f"10.{16 + (r // 250) % 200}.{r % 250}.{1 + (base - 1) % 254}"
                rows.append((u["unit_id"].lower() + f".{prefix}{j}", u["unit_id"], role, ip,
                             r))
        offset[r] = base
    return pl.DataFrame(rows, schema=["user_id", "unit_id", "user_role", "client_ip",
                                      "region_idx"], orient="row")


def finalize(plan: Plan, draft: pl.DataFrame, units: pl.DataFrame, indicators: pl.DataFrame,
             rng: np.random.Generator) -> Finalized:
    p = plan.period
    as_of_day = int(p.wd[p.last])
    as_of_end = (int((np.datetime64(p.as_of, "D") - np.datetime64("1970-01-01", "D"))
                     .astype(np.int64)) + 1) * DAY
    draft = times(draft, plan, rng)
    reg = plan.regions.select("region_idx", "region_code")
    ui = units.select("unit_idx", "unit_id", "region_idx")
    zero = plan.accounts.filter(pl.col("account_type") == "zero_balance").select(
        "unit_id", pl.col("account_no").alias("_zero"))
    pay = (
        draft.join(ui, on="unit_idx", how="left", maintain_order="left")
        .join(reg, on="region_idx", how="left", maintain_order="left")
        .join(plan.payees.select("payee_idx", "payee_name", "payee_account", "payee_bank"),
              on="payee_idx", how="left", maintain_order="left")
        .sort("region_idx", "created_at", "_key")
        .with_columns(
            (pl.lit("V") + pl.col("region_code")
             + (pl.int_range(pl.len()).over("region_idx") + 1).cast(pl.String).str.zfill(7)
             ).alias("voucher_id"),
            pl.coalesce("name_override", "payee_name").alias("payee_name"),
            pl.col("payee_name").alias("_canonical_name"),
        )
        .join(zero, on="unit_id", how="left", maintain_order="left")
    )
    refs = dict(zip(pay["_key"].to_list(), pay["voucher_id"].to_list(), strict=True))

    payments = pay.select(
        "_key", "voucher_id", "unit_id", "indicator_id",
        pl.col("day").cast(pl.Date).alias("pay_date"),
        money(), "payee_name", "payee_account", "economic_class", "payee_bank", "purpose",
        "pay_method", "status", "created_by", "approved_by",
        pl.from_epoch("created_at", time_unit="s").alias("created_at"),
        pl.from_epoch("approved_at", time_unit="s").alias("approved_at"),
    )

    # ------------------------------------------------------------------ bank
    moved = pay.filter(pl.col("status").is_in(["paid", "returned"]))
    nxt = p.wd[np.minimum(p.index(moved["day"].to_numpy()) + 1, len(p.wd) - 1)]
    late = (rng.random(moved.height) < 0.15) & (nxt <= as_of_day) & (
        moved["status"].to_numpy() == "paid")
    value_day = np.where(late, nxt, moved["day"].to_numpy())
    debits = moved.select(
        pl.Series("value_day", value_day), "cents", "payee_account", "voucher_id",
        pl.col("_zero").alias("payer_account"), pl.col("_canonical_name").alias("payee_name"),
        pl.lit("debit").alias("direction"), "region_idx", "region_code",
    )
    ret = pay.filter(pl.col("status") == "returned")
    credits = ret.select(
        pl.col("return_day").alias("value_day"), "cents",
        pl.col("_zero").alias("payee_account"), "voucher_id",
        pl.col("payee_account").alias("payer_account"),
        pl.col("_canonical_name").alias("payee_name"),
        pl.lit("credit").alias("direction"), "region_idx", "region_code",
    )
    bank = (
        pl.concat([debits, credits])
        .sort("region_idx", "value_day", "voucher_id", "direction")
        .with_columns(
            (pl.lit("B") + pl.col("value_day").cast(pl.Date).dt.strftime("%Y%m%d")
             + pl.col("region_code")
             + (pl.int_range(pl.len()).over("region_idx", "value_day") + 1).cast(pl.String)
             .str.zfill(5)).alias("bank_ref"))
        .select("bank_ref", pl.col("value_day").cast(pl.Date).alias("value_date"), money(),
                "payee_account", "voucher_id", "payer_account", "payee_name", "direction",
                pl.lit("CNY").alias("currency"))
    )

    # ------------------------------------------------------------------ business log
    users = users_of(units)
    ip = users.select("user_id", "user_role", "client_ip")
    common = ["voucher_id", "unit_id", "region_idx", "region_code"]
    create = pay.select(
        *common, pl.col("created_at").alias("t"), pl.col("created_by").alias("user_id"),
        pl.lit("voucher_create").alias("action"), pl.lit(0).alias("_o"),
        (pl.lit('{"amount": "') + money_text("cents") + pl.lit('", "indicator_id": "')
         + pl.col("indicator_id") + pl.lit('", "payee_account": "') + pl.col("payee_account")
         + pl.lit('", "economic_class": "') + pl.col("economic_class") + pl.lit('"}')
         ).alias("detail"),
        (pl.lit("INSERT INTO public.payment (voucher_id, unit_id, indicator_id, pay_date, "
                "amount, payee_name, payee_account, economic_class, status, created_by, "
                "created_at) VALUES ('") + pl.col("voucher_id") + pl.lit("', '")
         + pl.col("unit_id") + pl.lit("', '") + pl.col("indicator_id") + pl.lit("', '")
         + pl.col("day").cast(pl.Date).dt.strftime("%Y-%m-%d") + pl.lit("', ")
         + money_text("cents") + pl.lit(", '") + pl.col("payee_name") + pl.lit("', '")
         + pl.col("payee_account") + pl.lit("', '") + pl.col("economic_class")
         + pl.lit("', 'draft', '") + pl.col("created_by") + pl.lit("', '")
         + dt_text("created_at") + pl.lit("')")).alias("statement"),
        pl.lit("INSERT").alias("command"),
    )
    approve = pay.select(
        *common, pl.col("approved_at").alias("t"), pl.col("approved_by").alias("user_id"),
        pl.lit("voucher_approve").alias("action"), pl.lit(1).alias("_o"),
        pl.lit('{"opinion": "同意"}').alias("detail"),
        (pl.lit("UPDATE public.payment SET status = 'approved', approved_by = '")
         + pl.col("approved_by") + pl.lit("', approved_at = '") + dt_text("approved_at")
         + pl.lit("' WHERE voucher_id = '") + pl.col("voucher_id") + pl.lit("'")
         ).alias("statement"),
        pl.lit("UPDATE").alias("command"),
    )
    cancel = pay.filter(pl.col("status") == "cancelled").select(
        *common, pl.col("cancel_at").alias("t"), pl.col("created_by").alias("user_id"),
        pl.lit("voucher_cancel").alias("action"), pl.lit(2).alias("_o"),
        pl.lit('{"reason": "信息有误，作废重录"}').alias("detail"),
        (pl.lit("UPDATE public.payment SET status = 'cancelled' WHERE voucher_id = '")
         + pl.col("voucher_id") + pl.lit("'")).alias("statement"),
        pl.lit("UPDATE").alias("command"),
    )
    vouchers = pl.concat([create, approve, cancel]).join(ip, on="user_id", how="left",
                                                          maintain_order="left")

    # logins: each user on each working day they act, and some other days
    acts = vouchers.group_by("user_id", (pl.col("t") // DAY).alias("d")).agg(
        pl.col("t").min().alias("first"), pl.col("t").max().alias("last"))
    wd = p.wd[max(p.first - 1, 0):p.last + 1]
    grid = users.select("user_id", "unit_id", "region_idx").join(
        pl.DataFrame({"d": wd}), how="cross", maintain_order="left_right")
    grid = grid.join(acts, on=["user_id", "d"], how="left", maintain_order="left")
    g = grid.height
    idle = grid["first"].is_null().to_numpy()
    keep = ~idle | (rng.random(g) < 0.35)
    login = np.where(idle, grid["d"].to_numpy() * DAY + rng.uniform(8 * H, 9.5 * H, g),
                     grid["first"].fill_null(0).to_numpy() - rng.uniform(120, 1500, g))
    logout = np.where(idle, login + rng.uniform(600, 7200, g),
                      grid["last"].fill_null(0).to_numpy() + rng.uniform(300, 1800, g))
    grid = grid.with_columns(pl.Series("login", login.astype(np.int64)),
                             pl.Series("logout", logout.astype(np.int64))).filter(
        pl.Series(keep)).join(ip, on="user_id", how="left", maintain_order="left").join(
        reg, on="region_idx", how="left", maintain_order="left")
    sessions = pl.concat([
        grid.select("user_id", "unit_id", "region_idx", "region_code", "user_role",
                    "client_ip", pl.col("login").alias("t"), pl.lit("login").alias("action"),
                    pl.lit(-1).alias("_o"),
                    pl.lit('{"method": "password+ukey"}').alias("detail")),
        grid.select("user_id", "unit_id", "region_idx", "region_code", "user_role",
                    "client_ip", pl.col("logout").alias("t"), pl.lit("logout").alias("action"),
                    pl.lit(9).alias("_o"), pl.lit("{}").alias("detail")),
    ])
    bl_cols = ["t", "user_id", "action", "user_role", "unit_id", "client_ip", "detail",
               "region_idx", "region_code", "_o"]
    log = (
        pl.concat([
            vouchers.select(*bl_cols, pl.lit("voucher").alias("object_type"),
                            pl.col("voucher_id").alias("object_id")),
            sessions.select(*bl_cols, pl.lit("user").alias("object_type"),
                            pl.col("user_id").alias("object_id")),
        ])
        .sort("region_idx", "t", "_o", "user_id", "object_id")
        .with_columns(
            (pl.lit("L") + pl.col("region_code")
             + (pl.int_range(pl.len()).over("region_idx") + 1).cast(pl.String).str.zfill(8)
             ).alias("event_id"))
    )
    business_log = log.select(
        "event_id", pl.from_epoch("t", time_unit="s").alias("event_time"), "user_id", "action",
        "user_role", "unit_id", "object_type", "object_id", "client_ip",
        pl.lit("success").alias("result"), "detail",
    )

    # ------------------------------------------------------------------ database audit
    nv = vouchers.height
    slot = rng.integers(0, 3, size=nv)
    dbt = vouchers["t"].to_numpy() + rng.integers(0, 4, size=nv)
    db = vouchers.select("region_idx", "region_code", "statement", "command").with_columns(
        pl.Series("t", dbt), pl.Series("slot", slot),
        pl.Series("_o", vouchers["_o"].to_numpy()))
    db = db.with_columns((pl.col("t") // DAY).alias("_d"))
    sess = db.select("_d", "region_idx", "slot").unique().sort("_d", "region_idx", "slot")
    # PostgreSQL's session id: "<start epoch (UTC), hex>.<backend pid, hex>"
    sess = sess.with_columns(pl.Series("session_id", [
        f"{d * DAY + 7 * H + 30 * 60 - 8 * H:x}.{4000 + r * 3 + k:x}"
        for d, r, k in sess.iter_rows()], dtype=pl.String))
    db = db.join(sess, on=["_d", "region_idx", "slot"], how="left", maintain_order="left").sort(
        "region_idx", "t", "_o", "statement")
    db = db.with_columns(
        (pl.int_range(pl.len()).over("session_id") + 1).cast(pl.Int64).alias("statement_id"),
        (pl.lit("A") + pl.col("region_code")
         + (pl.int_range(pl.len()).over("region_idx") + 1).cast(pl.String).str.zfill(8)
         ).alias("event_id"),
        pl.col("slot").replace_strict(list(range(len(APP_SERVERS))), list(APP_SERVERS),
                                      return_dtype=pl.String).alias("client_ip"),
    )
    db_audit = db.select(
        "event_id", pl.from_epoch("t", time_unit="s").alias("event_time"),
        pl.lit("budget_app").alias("db_user"), "command", pl.lit(DATABASE).alias("database"),
        "client_ip", pl.lit("budget-app").alias("application_name"), "session_id",
        "statement_id", pl.lit(1).cast(pl.Int64).alias("substatement_id"),
        pl.lit("WRITE").alias("audit_class"), pl.lit("TABLE").alias("object_type"),
        pl.lit("public.payment").alias("object_name"), "statement",
        pl.lit("<not logged>").alias("parameter"), pl.lit(1).cast(pl.Int64).alias("rows"),
        pl.lit(0).cast(pl.Int64).alias("retcode"),
    )

    # ------------------------------------------------------------------ indicators
    spent = pay.group_by("indicator_id").agg(pl.col("cents").sum().alias("spent"))
    ind = indicators.join(spent, on="indicator_id", how="left", maintain_order="left").with_columns(
        pl.col("spent").fill_null(0))
    s = ind["spent"].to_numpy().astype(float)
    frac = max(p.fraction, 1e-6)
    target = np.maximum(s / frac * rng.uniform(1.05, 1.3, size=len(s)), s * 1.05)
    empty = s == 0
    target[empty] = rng.uniform(20_000, 200_000, size=int(empty.sum())) * 100
    amount_cents = (np.ceil(target / 10_000) * 10_000).astype(np.int64)
    ind = ind.with_columns(pl.Series("cents", amount_cents))
    indicators_out = ind.select(
        "indicator_id", "unit_id", "fiscal_year", money(), "economic_class",
        "functional_class", "fund_source", "fund_label", "project_id", "purpose",
    )
    sg = ind.filter(pl.col("economic_class").is_in(list(SANGONG)))
    prev = (np.ceil(sg["cents"].to_numpy() * rng.uniform(1.03, 1.3, size=sg.height) / 10_000)
            * 10_000).astype(np.int64)
    final_accounts = sg.select(
        "unit_id", (pl.col("fiscal_year") - 1).alias("fiscal_year"), "economic_class",
    ).with_columns(money_from(prev))

    created_day = pay["created_at"].to_numpy() // DAY
    lo = int(p.wd[0])
    counts = np.bincount(created_day - lo, minlength=as_of_end // DAY - lo)
    return Finalized(payments, bank, business_log, db_audit, indicators_out, final_accounts,
                     refs, counts)


def money_from(cents: np.ndarray, name: str = "amount") -> pl.Series:
    s = pl.Series(name, cents, dtype=pl.Int64)
    return (s.cast(pl.Decimal(18, 2)) / 100).cast(pl.Decimal(18, 2)).alias(name)
