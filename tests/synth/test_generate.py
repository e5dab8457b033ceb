"""The synthetic world: files, keys, internal consistency, ground truth, determinism."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from auditlib.calendar import Calendar
from auditlib.synth.inject import FAMILIES

# the ordinary flow's invariants are checked with the payment families only: the other
# domains' cases (and some look-alikes) break them on purpose, and have their own tests
PAYMENT_FAMILIES = list(FAMILIES)
from auditlib.config import Settings
from auditlib.schemas import MONEY, TABLES
from auditlib.synth import GROUND_TRUTH, gb11643_check_digit, generate, is_valid_gb11643
from auditlib.synth.names import MEANS_TESTED

SCALE = 0.2
THRESHOLD = 50_000


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("world")
    return out, generate(out, seed=7, scale=SCALE, families=PAYMENT_FAMILIES)


@pytest.fixture(scope="module")
def clean_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean")
    return out, generate(out, seed=7, scale=SCALE, clean=True, families=PAYMENT_FAMILIES)


def read(d: Path, table: str) -> pl.DataFrame:
    """A generated CSV table, every column as text."""
    return pl.read_csv(d / f"{table}.csv", infer_schema=False)


def typed_payments(d: Path) -> pl.DataFrame:
    return read(d, "payments").with_columns(
        pl.col("amount").cast(MONEY), pl.col("pay_date").str.to_date(),
        pl.col("created_at").str.to_datetime("%Y-%m-%d %H:%M:%S"),
        pl.col("approved_at").str.to_datetime("%Y-%m-%d %H:%M:%S"),
    )


def ground_truth(d: Path) -> list[dict]:
    return [json.loads(line) for line in (d / GROUND_TRUTH).read_text("utf-8").splitlines()]


def digest(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.iterdir()) if p.is_file()}


# ------------------------------------------------------------------------------ files
def test_summary(world):
    _, s = world
    assert s["counts"]["payments"] > 3000
    assert s["cases"]["positive"] > 0 and s["cases"]["lookalike"] > 0
    assert set(s["counts"]) == set(TABLES)


def test_a_file_per_table_with_canonical_header(world):
    d, _ = world
    for name, table in TABLES.items():
        path = d / f"{name}.csv"
        assert path.exists(), name
        header = path.read_text("utf-8").splitlines()[0].split(",")
        assert tuple(header) == table.names, name
        assert read(d, name).height > 0, name
    assert not (d / ".synth-parts").exists()


def test_settings_file(world):
    d, _ = world
    s = Settings.load(d)
    assert s.as_of == dt.date(2026, 6, 30) and s.fiscal_year == 2026
    assert s.timezone == "Asia/Shanghai"
    assert s.db.app_users == ("budget_app",)
    assert s.db.protected_tables == ("public.payment", "public.indicator")
    assert s.db.sensitive_tables == ("public.payee", "public.person")


def test_keys_unique(world):
    d, _ = world
    for name, table in TABLES.items():
        df = read(d, name)
        assert df.select(table.key).is_duplicated().sum() == 0, name
        assert df.select(pl.col(table.key).is_null().any()).row(0) == (False,) * len(table.key)


def test_formats(world):
    d, _ = world
    text = (d / "payments.csv").read_text("utf-8")
    assert not text.startswith("\ufeff")
    p = read(d, "payments")
    assert p["amount"].str.contains(r"^-?\d+\.\d{2}$").all()
    assert p["pay_date"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert p["created_at"].str.contains(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$").all()
    assert p["voucher_id"].str.contains(r"^V\d+$").all()
    accounts = read(d, "unit_accounts")["account_no"]
    assert accounts.str.len_chars().is_between(16, 19).all()
    assert accounts.str.starts_with("0").any()  # leading zeros kept
    assert set(read(d, "unit_accounts")["account_type"]) >= {"zero_balance", "basic"}
    assert read(d, "units")["region_code"].str.contains(r"^\d{6}$").all()


# ------------------------------------------------------------------------------ payments
def test_pay_dates_are_working_days(world):
    d, _ = world
    p = typed_payments(d)
    cal = Calendar()
    assert p.select(cal.workday_expr(pl.col("pay_date")).all()).item()
    assert p["pay_date"].max() <= dt.date(2026, 6, 30)
    assert p["pay_date"].min() >= dt.date(2026, 1, 1)
    # 调休 make-up working days are used, holidays are not
    days = set(p["pay_date"].to_list())
    assert dt.date(2026, 2, 14) in days or dt.date(2026, 2, 28) in days or \
        dt.date(2026, 1, 4) in days
    assert not any(cal.is_holiday(x) for x in days)


def test_voucher_times(world):
    d, _ = world
    p = typed_payments(d)
    cal = Calendar()
    assert (p["created_by"] != p["approved_by"]).all()
    assert (p["created_at"] < p["approved_at"]).all()
    for col in ("created_at", "approved_at"):
        t = p[col].dt.hour().cast(pl.Int32) * 60 + p[col].dt.minute().cast(pl.Int32)
        assert t.is_between(8 * 60 + 30, 18 * 60).all(), col
        day = p[col].dt.date()
        assert p.select(cal.workday_expr(day).all()).item(), col
    # on the pay day or the working day before
    prev = {x: cal.workdays_between(x - dt.timedelta(days=20), x)[-2]
            for x in set(p["pay_date"].to_list())}
    for pay, created, approved in zip(p["pay_date"].to_list(),
                                      p["created_at"].dt.date().to_list(),
                                      p["approved_at"].dt.date().to_list(), strict=True):
        assert created in (pay, prev[pay])
        assert approved in (pay, prev[pay])


def test_payments_consistent_with_indicators(world):
    d, _ = world
    p = typed_payments(d)
    ind = read(d, "indicators").with_columns(pl.col("amount").cast(MONEY))
    j = p.join(ind.select("indicator_id", pl.col("unit_id").alias("ind_unit"),
                          pl.col("economic_class").alias("ind_class"),
                          pl.col("amount").alias("budget")), on="indicator_id", how="left")
    assert j["ind_unit"].is_not_null().all()
    assert (j["unit_id"] == j["ind_unit"]).all()
    ok = j["ind_class"].is_null() | j.select(
        pl.col("economic_class").str.starts_with(pl.col("ind_class"))).to_series()
    assert ok.all()
    sangong = j.filter(pl.col("economic_class").is_in(["30212", "30217", "30231", "31013"]))
    assert sangong.height > 0
    assert (sangong["ind_class"] == sangong["economic_class"]).all()
    assert ind["economic_class"].is_null().any()
    # the clean world never overruns an indicator (every status counted)
    spent = p.group_by("indicator_id").agg(pl.col("amount").sum())
    over = spent.join(ind, on="indicator_id").filter(pl.col("amount") > pl.col("amount_right"))
    assert over.height == 0
    # 三公 final accounts of last year are above this year's spending
    fa = read(d, "final_accounts").with_columns(pl.col("amount").cast(MONEY))
    assert (fa["fiscal_year"] == "2025").all()
    sg = sangong.group_by("unit_id", "economic_class").agg(pl.col("amount").sum())
    chk = sg.join(fa, on=["unit_id", "economic_class"], how="left")
    assert chk["amount_right"].is_not_null().all()
    assert (chk["amount_right"] >= chk["amount"]).all()


def test_statuses_and_payees(world):
    d, _ = world
    p = read(d, "payments")
    assert set(p["status"]) == {"paid", "returned", "cancelled"}
    assert (p["status"] == "paid").mean() > 0.95
    assert set(p["pay_method"]) == {"direct", "authorized"}
    assert p["payee_name"].str.contains("（").any()
    # a payee account has one canonical name (variants aside) and one bank
    norm = p.with_columns(pl.col("payee_name").map_elements(
        lambda s: "".join(unicodedata.normalize("NFKC", s).split()), return_dtype=pl.String))
    assert norm.group_by("payee_account").agg(pl.col("payee_name").n_unique())[
        "payee_name"].max() == 1
    assert p.group_by("payee_account").agg(pl.col("payee_bank").n_unique())[
        "payee_bank"].max() == 1
    rent = p.filter(pl.col("purpose").str.contains("月房租"))
    assert rent.height > 0
    assert rent.group_by("payee_account").agg(pl.col("amount").n_unique())["amount"].max() == 1


def test_every_payment_logged(world):
    d, _ = world
    p = read(d, "payments")
    log = read(d, "business_log")
    for action, user, at in (("voucher_create", "created_by", "created_at"),
                             ("voucher_approve", "approved_by", "approved_at")):
        ev = log.filter(pl.col("action") == action).select(
            pl.col("object_id").alias("voucher_id"), pl.col("user_id").alias(user),
            pl.col("event_time").alias(at), "object_type", "result")
        assert ev["voucher_id"].n_unique() == ev.height
        j = p.join(ev, on=["voucher_id", user, at], how="left")
        assert j["object_type"].eq("voucher").all(), action
        assert (j["result"] == "success").all()
    cancelled = set(p.filter(pl.col("status") == "cancelled")["voucher_id"])
    assert set(log.filter(pl.col("action") == "voucher_cancel")["object_id"]) == cancelled
    assert log["client_ip"].str.starts_with("10.").all()
    assert log.filter(pl.col("action") == "login").height > 0
    # a login precedes each user's first voucher action of the day
    acts = log.filter(pl.col("action").str.starts_with("voucher_")).group_by(
        "user_id", pl.col("event_time").str.slice(0, 10).alias("day")).agg(
        pl.col("event_time").min().alias("first"))
    logins = log.filter(pl.col("action") == "login").select(
        "user_id", pl.col("event_time").str.slice(0, 10).alias("day"),
        pl.col("event_time").alias("login"))
    j = acts.join(logins, on=["user_id", "day"], how="left")
    assert j["login"].is_not_null().all()
    assert (j["login"] < j["first"]).all()
    for detail in log["detail"].sample(200, seed=1):
        json.loads(detail)


def test_every_voucher_written_in_db_audit(world):
    d, _ = world
    p = read(d, "payments")
    db = read(d, "db_audit")
    app = db.filter(pl.col("db_user") == "budget_app")
    assert (app["object_name"] == "public.payment").all()
    assert (app["audit_class"] == "WRITE").all()
    assert (app["rows"] == "1").all() and (app["retcode"] == "0").all()
    ins = app.filter(pl.col("command") == "INSERT").with_columns(
        pl.col("statement").str.extract(r"VALUES \('(V\d+)'").alias("voucher_id"))
    assert set(ins["voucher_id"]) == set(p["voucher_id"])
    upd = app.filter(pl.col("command") == "UPDATE").with_columns(
        pl.col("statement").str.extract(r"voucher_id = '(V\d+)'").alias("voucher_id"))
    assert set(upd["voucher_id"]) == set(p["voucher_id"])
    # within seconds of the business event
    j = ins.join(p, on="voucher_id").with_columns(
        (pl.col("event_time").str.to_datetime() - pl.col("created_at").str.to_datetime())
        .dt.total_seconds().alias("lag"))
    assert j["lag"].is_between(0, 5).all()
    # statement ids increase within a session
    s = app.with_columns(pl.col("statement_id").cast(pl.Int64)).sort("event_time", "event_id")
    assert s.group_by("session_id").agg(
        (pl.col("statement_id").diff().drop_nulls() > 0).all().alias("up"))["up"].all()
    etl = db.filter(pl.col("db_user") == "etl_user")
    assert etl.height >= 181 and (etl["audit_class"] == "READ").all()
    assert etl["event_time"].str.slice(11, 2).is_in(["02"]).all()
    assert etl["rows"].cast(pl.Int64).max() > 1000
    # DBA work falls inside an approved ticket's window, on its objects
    tickets = read(d, "change_tickets")
    dba = db.filter(pl.col("db_user").str.starts_with("dba_"))
    assert dba.height > 0
    for row in dba.iter_rows(named=True):
        t = tickets.filter(pl.col("db_user") == row["db_user"]).row(0, named=True)
        assert t["start_time"] <= row["event_time"] <= t["end_time"]


def test_bank_debits(world):
    d, _ = world
    p = read(d, "payments")
    bank = read(d, "bank_transactions")
    acc = read(d, "unit_accounts").filter(pl.col("account_type") == "zero_balance")
    debit = bank.filter(pl.col("direction") == "debit")
    moved = p.filter(pl.col("status").is_in(["paid", "returned"]))
    assert debit["voucher_id"].n_unique() == debit.height
    j = moved.join(debit, on="voucher_id", how="left", suffix="_b")
    assert j["bank_ref"].is_not_null().all()
    assert (j["amount"] == j["amount_b"]).all()
    assert (j["payee_account"] == j["payee_account_b"]).all()
    j = j.join(acc.select("unit_id", "account_no"), on="unit_id")
    assert (j["payer_account"] == j["account_no"]).all()
    # booked on the pay day or the next working day
    cal = Calendar()
    for pay, value in zip(j["pay_date"].to_list(), j["value_date"].to_list(), strict=True):
        pay, value = dt.date.fromisoformat(pay), dt.date.fromisoformat(value)
        assert value == pay or (value > pay and cal.workdays_between(pay, value) == [pay, value])
    assert set(bank["currency"]) == {"CNY"}
    assert not set(p.filter(pl.col("status") == "cancelled")["voucher_id"]) & set(
        bank["voucher_id"].drop_nulls())


# ------------------------------------------------------------------------------ people
def test_gb11643():
    assert gb11643_check_digit("11010519491231002") == "X"
    assert is_valid_gb11643("11010519491231002X")
    assert not is_valid_gb11643("110105194912310021")
    assert not is_valid_gb11643("11010519491331002X")


def test_citizen_ids_valid(world):
    d, _ = world
    ids = read(d, "subsidies")["beneficiary_id"].to_list() + read(d, "persons")[
        "person_id"].to_list()
    assert ids and all(is_valid_gb11643(x) for x in ids)


def test_subsidies_clean_rules(world):
    d, _ = world
    subs = read(d, "subsidies").with_columns(pl.col("amount").cast(MONEY),
                                             pl.col("pay_date").str.to_date())
    progs = read(d, "subsidy_programs").with_columns(pl.col("max_amount").cast(MONEY))
    persons = read(d, "persons").with_columns(pl.col("effective_date").str.to_date())
    j = subs.join(progs, on="program_code")
    assert (j["amount"] <= j["max_amount"]).all()
    assert subs.group_by("account_no").agg(pl.col("beneficiary_id").n_unique())[
        "beneficiary_id"].max() == 1
    dead = persons.filter(pl.col("list_type") == "deceased")
    assert dead.height > 0 and dead["effective_date"].is_not_null().all()
    after = subs.join(dead, left_on="beneficiary_id", right_on="person_id").filter(
        pl.col("pay_date") >= pl.col("effective_date"))
    assert after.height == 0
    # some deceased beneficiaries were paid before they died
    assert subs.join(dead, left_on="beneficiary_id", right_on="person_id").height > 0
    staff = persons.filter(pl.col("list_type") == "public_employee")
    assert staff.height > 0
    means = subs.filter(pl.col("program_code").is_in(list(MEANS_TESTED)))
    assert means.join(staff, left_on="beneficiary_id", right_on="person_id").height == 0
    groups = progs.filter(pl.col("exclusive_group").is_not_null())
    assert groups.height >= 2
    g = subs.join(groups, on="program_code").with_columns(
        pl.col("pay_date").dt.strftime("%Y-%m").alias("m"))
    assert g.group_by("beneficiary_id", "exclusive_group", "m").agg(
        pl.col("program_code").n_unique())["program_code"].max() == 1


def test_payroll(world):
    d, _ = world
    pr = read(d, "payroll").with_columns(pl.col("pay_date").str.to_date())
    assert pr["month"].str.contains(r"^2026-\d{2}$").all()
    assert (pr["pay_date"].dt.day() <= 15).all()
    assert (pr["pay_date"].dt.strftime("%Y-%m") == pr["month"]).all()
    assert pr.group_by("unit_id", "employee_id").agg(pl.col("account_no").n_unique())[
        "account_no"].max() == 1
    # the wage payment of a unit and month is the payroll's total
    p = typed_payments(d).filter(pl.col("economic_class") == "30101")
    tot = pr.with_columns(pl.col("amount").cast(MONEY)).group_by("unit_id", "pay_date").agg(
        pl.col("amount").sum())
    j = tot.join(p, on=["unit_id", "pay_date"], how="left")
    assert (j["amount"] == j["amount_right"]).all()


# ------------------------------------------------------------------------------ ground truth
def _norm(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split())


def naive_duplicates(p: pl.DataFrame, window: int = 10) -> set[frozenset[str]]:
    """Pairs of paid vouchers to one payee account (or normalised name), same amount,
    within ``window`` days."""
    out: set[frozenset[str]] = set()
    paid = p.filter(pl.col("status") == "paid").with_columns(
        pl.col("payee_name").map_elements(_norm, return_dtype=pl.String).alias("nname"))
    for key in ("payee_account", "nname"):
        a = paid.select(key, "amount", "pay_date", "voucher_id")
        j = a.join(a, on=[key, "amount"], suffix="_2").filter(
            (pl.col("voucher_id") < pl.col("voucher_id_2"))
            & ((pl.col("pay_date_2") - pl.col("pay_date")).dt.total_days().abs() <= window))
        out |= {frozenset(x) for x in zip(j["voucher_id"], j["voucher_id_2"], strict=True)}
    return out


def naive_split_runs(p: pl.DataFrame, window: int = 15) -> list[set[str]]:
    """Runs of paid vouchers under the threshold to one payee account within ``window``
    days whose total reaches the threshold (any unit)."""
    small = p.filter((pl.col("status") == "paid") & (pl.col("amount") < THRESHOLD)).sort(
        "payee_account", "pay_date")
    runs = []
    for _, g in small.group_by("payee_account"):
        if g.height < 2:
            continue
        days = g["pay_date"].cast(pl.Int32).to_numpy()
        amounts = g["amount"].cast(pl.Float64).to_numpy()
        vouchers = np.array(g["voucher_id"].to_list())
        for i in range(len(days)):
            m = (days >= days[i]) & (days < days[i] + window)
            if m.sum() >= 2 and amounts[m].sum() >= THRESHOLD:
                runs.append(set(vouchers[m]))
    return runs


def test_ground_truth_lines(world):
    d, s = world
    gt = ground_truth(d)
    assert len(gt) == s["cases"]["positive"] + s["cases"]["lookalike"]
    vouchers = set(read(d, "payments")["voucher_id"])
    ids = [c["case_id"] for c in gt]
    assert len(ids) == len(set(ids))
    for c in gt:
        assert set(c) == {"case_id", "detector_id", "kind", "evidence", "description"}
        assert c["kind"] in ("positive", "lookalike")
        assert c["evidence"] and c["description"]
        for ref in c["evidence"]:
            table, key = ref.split(":", 1)
            assert table in TABLES
            if table == "payments":
                assert key in vouchers, ref
    kinds = {(c["detector_id"], c["kind"]) for c in gt}
    assert kinds >= {("payments.duplicate", "positive"), ("payments.split", "positive"),
                     ("payments.duplicate", "lookalike"), ("payments.split", "lookalike")}


def test_ground_truth_holds_for_naive_detectors(world):
    """Every positive is found by a naive check, nothing else is, and no look-alike is."""
    d, _ = world
    p = typed_payments(d)
    gt = ground_truth(d)
    refs = {c["case_id"]: {r.split(":", 1)[1] for r in c["evidence"]} for c in gt}
    dups = naive_duplicates(p)
    pos_dup = [refs[c["case_id"]] for c in gt
               if c["detector_id"] == "payments.duplicate" and c["kind"] == "positive"]
    assert {frozenset(x) for x in pos_dup} == dups
    runs = naive_split_runs(p)
    pos_split = [refs[c["case_id"]] for c in gt
                 if c["detector_id"] == "payments.split" and c["kind"] == "positive"]
    for case in pos_split:
        assert 2 <= len(case) <= 5
        parts = p.filter(pl.col("voucher_id").is_in(list(case)))
        assert (parts["amount"] < THRESHOLD).all() and parts["amount"].sum() > THRESHOLD
        assert parts["payee_account"].n_unique() == 1 and parts["unit_id"].n_unique() == 1
        assert (parts["pay_date"].max() - parts["pay_date"].min()).days <= 3
    for run in runs:
        assert any(run <= case for case in pos_split), run
    for c in gt:
        if c["kind"] != "lookalike":
            continue
        ev = refs[c["case_id"]]
        if c["detector_id"] == "payments.duplicate":
            assert not any(pair & ev for pair in dups), c["case_id"]
        else:
            assert not any(run & ev for run in runs), c["case_id"]
            parts = p.filter(pl.col("voucher_id").is_in(list(ev)))
            assert parts.height >= 2 and parts["amount"].sum() < THRESHOLD


def test_lookalike_statuses(world):
    d, _ = world
    p = read(d, "payments")
    status = dict(zip(p["voucher_id"], p["status"], strict=True))
    gt = ground_truth(d)
    prefixes = {c["case_id"].rsplit("-", 1)[0] for c in gt if c["kind"] == "lookalike"}
    assert {"LA-DUP-MONTHLY", "LA-DUP-CANCEL", "LA-DUP-RETURN", "LA-SPLIT-SMALL"} <= prefixes
    for c in gt:
        v = [r.split(":", 1)[1] for r in c["evidence"]]
        if c["case_id"].startswith("LA-DUP-CANCEL"):
            assert [status[x] for x in v] == ["cancelled", "paid"]
        if c["case_id"].startswith("LA-DUP-RETURN"):
            assert [status[x] for x in v] == ["returned", "paid"]
            rows = p.filter(pl.col("voucher_id").is_in(v))
            assert rows["payee_account"].n_unique() == 1 and rows["amount"].n_unique() == 1


def test_clean_world_has_no_positives(clean_world):
    d, s = clean_world
    gt = ground_truth(d)
    assert s["cases"]["positive"] == 0
    assert gt and all(c["kind"] == "lookalike" for c in gt)
    p = typed_payments(d)
    assert naive_duplicates(p) == set()
    assert naive_split_runs(p) == []


# ------------------------------------------------------------------------------ determinism
def test_deterministic(world, tmp_path):
    d, _ = world
    again = tmp_path / "again"
    generate(again, seed=7, scale=SCALE, families=PAYMENT_FAMILIES)
    assert digest(again) == digest(d)
    other = tmp_path / "other"
    generate(other, seed=8, scale=SCALE, families=PAYMENT_FAMILIES)
    assert digest(other)["payments.csv"] != digest(d)["payments.csv"]


def test_parquet(tmp_path):
    s = generate(tmp_path, seed=3, scale=0.1, fmt="parquet")
    for name, table in TABLES.items():
        df = pl.read_parquet(tmp_path / f"{name}.parquet")
        assert tuple(df.columns) == table.names, name
        assert df.height == s["counts"][name], name
        for c in table.columns:
            if c.kind == "money":
                assert df.schema[c.name] == MONEY, (name, c.name)
            elif c.kind == "date":
                assert df.schema[c.name] == pl.Date, (name, c.name)
            elif c.kind == "datetime":
                assert df.schema[c.name] == pl.Datetime("us"), (name, c.name)
            elif c.kind == "int":
                assert df.schema[c.name] == pl.Int64, (name, c.name)
            else:
                assert df.schema[c.name] == pl.String, (name, c.name)
    again = tmp_path / "again"
    generate(again, seed=3, scale=0.1, fmt="parquet")
    a, b = digest(tmp_path), digest(again)
    assert all(a[k] == b[k] for k in b)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="fmt"):
        generate(tmp_path, scale=0.05, fmt="xlsx")
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, scale=0)
    with pytest.raises(ValueError, match="as_of"):
        generate(tmp_path, scale=0.05, as_of=dt.date(2025, 6, 30))


def test_as_of_and_year(tmp_path):
    s = generate(tmp_path, seed=1, scale=0.1, year=2025, as_of=dt.date(2025, 3, 31))
    assert s["fiscal_year"] == 2025 and s["as_of"] == "2025-03-31"
    p = read(tmp_path, "payments")
    assert p["pay_date"].max() <= "2025-03-31" and p["pay_date"].min() >= "2025-01-01"
    assert (read(tmp_path, "final_accounts")["fiscal_year"] == "2024").all()
    assert Settings.load(tmp_path).as_of == dt.date(2025, 3, 31)
