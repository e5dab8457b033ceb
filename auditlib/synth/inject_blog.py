"""Injected cases of the business audit log: the ``blog.*`` detectors.

Payments-stage families (vouchers, one fresh reserved payee each):

- ``blog_self_approved`` (positive, ``blog.maker_checker``): a voucher drafted and
  approved by the same maker — the log gets both events from the same user;
- ``blog_both_roles`` (look-alike): a user drafts one voucher (a colleague approves it)
  and approves another voucher a colleague drafted — both roles, never on one voucher.

Final-stage families add events to the chunk's business log (``ctx.business_log``,
extended in place); where the generator does not provide it they make no case.
Ordinary approvals are reused rather than new ones made, so the database audit stays
consistent with the business log (every approval keeps its write):

- ``blog_background`` (look-alike, always): weekly exports by about two users in three
  (each with a steady volume of their own), one heavy exporter per chunk (~120,000
  rows a week), a nightly ETL export (``etl.report``, 02:0x, steady volume) and weekly
  sessions of a region administrator (``admin.<region>``);
- ``blog_payee_flip`` (positive): a voucher's payee account changed 1-30 hours before
  its approval and changed back 0.5-40 hours after; ``blog_payee_fix`` (look-alike): an
  account corrected once before approval, or mistyped and fixed within minutes;
- ``blog_export_volume`` / ``blog_export_night`` (positives): an export 60-200 times the
  user's usual rows in working hours; an ordinary export at night or on a holiday;
  ``blog_export_makeup`` (look-alike): an export on a 调休 make-up working day;
- ``blog_guessing`` / ``blog_spraying`` (positives): 6-12 failed log-ins from an outside
  address then a success; failures of 6-9 users from one address then one success;
  ``blog_typo`` (look-alikes): one mistyped password then a success, and an office
  proxy where several users mistype once and get in;
- ``blog_grant_revoke`` / ``blog_grant_self`` (positives): a role granted, data exported
  within hours, revoked the next working day; a self-granted administrator changing the
  audit configuration; ``blog_grant_ordinary`` (look-alike): a grant followed by
  ordinary work only;
- ``blog_dormant`` (positive): an account active in early January, silent 100+ days,
  waking to export and change a payee; ``blog_dormant_la`` (look-alikes): a new account
  created in the period, and an account back after 60 days;
- ``blog_off_hours`` (positives): a run of payee changes on a public holiday, or a
  late-evening burst of them; ``blog_off_hours_la`` (look-alikes): the same work on a
  调休 make-up day, or at 20:xx within the grace after closing time.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import polars as pl

from auditlib.synth import names as N
from auditlib.synth.finalize import users_of
from auditlib.synth.inject import CATEGORY_CLASS, ChunkContext, Family
from auditlib.synth.world import epoch_day, from_epoch_day

DAY, H, M = 86400, 3600, 60
User = dict[str, Any]
_COLS = ("t", "user_id", "action", "user_role", "unit_id", "object_type", "object_id",
         "client_ip", "result", "detail")
_FAIL = '{"reason": "密码错误"}'


# ---------------------------------------------------------------------------- helpers
def _ready(ctx: ChunkContext) -> bool:
    return getattr(ctx, "business_log", None) is not None and ctx.payments is not None


def _record(ctx: ChunkContext, prefix: str, detector_id: str, kind: str,
            keys: list[tuple[str, int | str]], description: str) -> None:
    ctx.record(prefix, detector_id, kind, keys, description)  # type: ignore[arg-type]


def _log_refs(ids: list[str]) -> list[tuple[str, int | str]]:
    return [("business_log", e) for e in ids]


def _emit(ctx: ChunkContext, tag: str, rows: list[dict[str, Any]]) -> list[str]:
    """Append events (``t`` in local epoch seconds) to the chunk's log; their event ids.
    Ids are numbered per family (``tag``), so leaving positives out changes no other id."""
    seq = ctx.__dict__.setdefault("blog_seq", {})
    start = seq.get(tag, 0)
    seq[tag] = start + len(rows)
    ids = [f"LB{tag}{ctx.chunk:02d}{start + i + 1:06d}" for i in range(len(rows))]
    log: pl.DataFrame = ctx.business_log  # type: ignore[attr-defined]
    data = {c: [r.get(c) for r in rows] for c in _COLS}
    data["result"] = [r or "success" for r in data["result"]]
    df = pl.DataFrame(data, schema={c: pl.Int64 if c == "t" else pl.String for c in _COLS})
    df = df.with_columns(pl.Series("event_id", ids),
                         pl.from_epoch("t", time_unit="s").alias("event_time"))
    log.extend(df.select(log.columns).cast(dict(log.schema)))
    return ids


def _users(ctx: ChunkContext, half: int | None = None) -> list[User]:
    """The chunk's application users; ``half`` 0 or 1 keeps every other one (positives
    and look-alikes draw from different halves)."""
    users = users_of(ctx.units).sort("user_id").to_dicts()
    return users if half is None else users[half::2]


def _pick(ctx: ChunkContext, pool: list[User]) -> User:
    return pool[int(ctx.rng.integers(0, len(pool)))]


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _exporter(uid: str) -> bool:
    """About two users in three export a report every week."""
    return _crc(uid) % 3 != 0


def _median_rows(uid: str) -> int:
    return 200 + _crc(uid + "rows") % 2800


def _heavy(users: list[User]) -> str | None:
    """The chunk's heavy exporter (~120,000 rows a week), the same for every family."""
    ids = [u["user_id"] for u in users if _exporter(u["user_id"])]
    return min(ids, key=lambda uid: _crc(uid + "heavy")) if ids else None


def _workdays(ctx: ChunkContext) -> np.ndarray:
    p = ctx.period
    return p.wd[p.first:p.last + 1]


def _mid_workday(ctx: ChunkContext, lo: float = 0.2, hi: float = 0.9) -> int:
    wd = _workdays(ctx)
    a = int(len(wd) * lo)
    return int(wd[int(ctx.rng.integers(a, max(int(len(wd) * hi), a + 1)))])


def _special_days(ctx: ChunkContext, *, makeup: bool) -> list[int]:
    """调休 make-up working days on a weekend (``makeup``), else weekday public holidays."""
    p, out = ctx.period, []
    for d in range(epoch_day(p.start), epoch_day(p.as_of) + 1):
        date = from_epoch_day(d)
        if makeup and p.calendar.is_workday(date) and date.weekday() >= 5:
            out.append(d)
        elif not makeup and p.calendar.is_holiday(date) and date.weekday() < 5:
            out.append(d)
    return out


def _outside_ip(rng: np.random.Generator) -> str:
    first = int(rng.choice([36, 42, 58, 101, 112, 117, 183, 221]))
    return f"{first}.{rng.integers(1, 255)}.{rng.integers(1, 255)}.{rng.integers(2, 254)}"


def _ev(t: float, user: User, action: str, **kw: Any) -> dict[str, Any]:
    return {"t": int(t), "user_id": user["user_id"], "action": action,
            "user_role": user.get("user_role"), "unit_id": user.get("unit_id"),
            "client_ip": user.get("client_ip"), **kw}


def _login(t: float, user: User, *, ip: str | None = None, fail: bool = False,
           action: str = "login") -> dict[str, Any]:
    kw = {"client_ip": ip} if ip else {}
    return _ev(t, user, action, object_type="user", object_id=user["user_id"],
               result="failure" if fail else None,
               detail=_FAIL if fail else '{"method": "password+ukey"}', **kw)


def _export(t: float, user: User, rows: float, report: str = "支付明细表") -> dict[str, Any]:
    return _ev(t, user, "data_export", object_type="report", object_id=report,
               detail=f'{{"report": "{report}", "rows": {int(rows)}, "format": "xlsx"}}')


def _payee_change(t: float, user: User, rng: np.random.Generator, field: str) -> dict[str, Any]:
    return _ev(t, user, "payee_modify", object_type="payee",
               object_id=f"P{int(rng.integers(0, 99999)):05d}", detail=f'{{"field": "{field}"}}')


def _admin(ctx: ChunkContext) -> User:
    code = str(ctx.units["region_code"][0])
    return {"user_id": f"admin.{code}", "user_role": "系统管理员", "unit_id": None,
            "client_ip": f"10.8.1.{int(code[-2:]) % 250 + 2}"}


# ------------------------------------------------------------------- payments stage
def _draft(ctx: ChunkContext, unit: dict[str, Any], maker: str, checker: str) -> int:
    rng = ctx.rng
    payee = ctx.take_payee()
    cls = CATEGORY_CLASS[payee["category"]]
    cents = int(rng.integers(2_000, 45_000)) * 100 + int(rng.integers(0, 100))
    day = int(ctx.period.wd[ctx.pay_day_index()])
    return ctx.add([{"unit_idx": unit["unit_idx"], "economic_class": cls, "cents": cents,
                     "payee_idx": payee["payee_idx"], "day": day,
                     "purpose": str(rng.choice(N.PURPOSES[cls])), "created_by": maker,
                     "approved_by": checker}], "inject.blog")[0]


def self_approved(ctx: ChunkContext, n: int) -> None:
    for _ in range(n):
        unit = ctx.unit()
        maker = ctx.maker(unit)
        key = _draft(ctx, unit, maker, maker)
        ctx.case("BLOG-MC", "blog.maker_checker", "positive", [key],
                 f"操作员 {maker} 既制单又审核同一凭证 / user {maker} drafted and approved the "
                 "same voucher")


def both_roles(ctx: ChunkContext, n: int) -> None:
    for _ in range(n):
        unit = ctx.unit()
        maker, checker = ctx.maker(unit), ctx.checker(unit)
        a = _draft(ctx, unit, maker, checker)
        b = _draft(ctx, unit, checker, maker)
        ctx.case("LA-BLOG-MC", "blog.maker_checker", "lookalike", [a, b],
                 f"{maker} 与 {checker} 互为对方制单的凭证审核，无一张凭证由一人经手 / {maker} "
                 f"and {checker} each approved a voucher the other drafted")


# ------------------------------------------------------------------------ background
def background(ctx: ChunkContext, n: int) -> None:
    """Weekly exports, a heavy exporter, the nightly ETL export and admin sessions."""
    if not _ready(ctx):
        return
    rng, p = ctx.rng, ctx.period
    wd = _workdays(ctx)
    weeks: dict[int, list[int]] = {}
    for d in wd:
        weeks.setdefault((int(d) + 3) // 7, []).append(int(d))
    users = _users(ctx)
    exporters = [u for u in users if _exporter(u["user_id"])]
    heavy = _heavy(users)
    rows: list[dict[str, Any]] = []
    heavy_at: list[int] = []
    for u in exporters:
        med = 120_000 if u["user_id"] == heavy else _median_rows(u["user_id"])
        for days in weeks.values():
            if rng.random() < 0.15:
                continue
            if u["user_id"] == heavy:
                heavy_at.append(len(rows))
            t = int(rng.choice(days)) * DAY + rng.uniform(9 * H, 17 * H)
            rows.append(_export(t, u, med * np.exp(rng.normal(0, 0.25))))
    admin = _admin(ctx)
    for days in weeks.values():
        t = days[0] * DAY + rng.uniform(8.5 * H, 9.5 * H)
        rows += [_login(t, admin), _login(t + rng.uniform(600, 2400), admin, action="logout")]
    etl = {"user_id": "etl.report", "user_role": "系统服务", "unit_id": None,
           "client_ip": "10.8.5.21"}
    etl_at = len(rows)
    for i, d in enumerate(range(epoch_day(p.start), epoch_day(p.as_of) + 1)):
        rows.append(_export(d * DAY + 2 * H + rng.uniform(60, 600), etl,
                            40_000 + 35 * i + rng.integers(-300, 300), "总账明细同步"))
    ids = _emit(ctx, "BG", rows)
    etl_ids = ids[etl_at:]
    sample = [etl_ids[int(k)] for k in np.linspace(0, len(etl_ids) - 1, 3)] if etl_ids else []
    for det in ("blog.export_anomaly", "blog.off_hours") if sample else ():
        _record(ctx, "LA-BLOG-ETL", det, "lookalike", _log_refs(sample),
                "ETL 服务账号每晚 02:00 例行导出，数量平稳 / the ETL service account's routine "
                "nightly export at 02:00 with steady volumes")
    if len(heavy_at) >= 3:
        _record(ctx, "LA-BLOG-HEAVY", "blog.export_anomaly", "lookalike",
                _log_refs([ids[k] for k in heavy_at[-2:]]),
                f"{heavy} 每周导出约 12 万行，一贯如此 / {heavy} exports about 120,000 rows "
                "every week, as always")


# ------------------------------------------------------------------------ payee flip
def _vouchers(ctx: ChunkContext, k: int) -> list[dict[str, Any]]:
    """``k`` ordinary paid vouchers mid-period, each used by one case only."""
    used: set[str] = ctx.__dict__.setdefault("blog_used", set())
    wd = _workdays(ctx)
    lo, hi = from_epoch_day(int(wd[len(wd) // 5])), from_epoch_day(int(wd[-5]))
    p = ctx.payments.filter(
        (pl.col("status") == "paid") & pl.col("approved_at").is_not_null()
        & ~pl.col("voucher_id").is_in(list(used)) & pl.col("pay_date").is_between(lo, hi)
        & (pl.col("approved_at") - pl.col("created_at") > pl.duration(minutes=20))
    ).sort("voucher_id")
    if p.height == 0 or k == 0:
        return []
    idx = np.sort(ctx.rng.choice(p.height, size=min(k, p.height), replace=False))
    out = p[idx.tolist()].to_dicts()
    used.update(r["voucher_id"] for r in out)
    return out


def _secs(ts: Any) -> int:
    return int((np.datetime64(ts, "s") - np.datetime64("1970-01-01T00:00:00", "s")).astype(int))


def _maker_of(ctx: ChunkContext, v: dict[str, Any]) -> User:
    us = users_of(ctx.units).filter(pl.col("user_id") == v["created_by"]).to_dicts()
    return us[0] if us else {"user_id": v["created_by"], "unit_id": v["unit_id"]}


def _account_change(t: float, user: User, v: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return _ev(t, user, "voucher_modify", object_type="voucher", object_id=v["voucher_id"],
               detail=f'{{"field": "payee_account", "old": "{old}", "new": "{new}"}}')


def payee_flip(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng = ctx.rng
    for v in _vouchers(ctx, n):
        c, a = _secs(v["created_at"]), _secs(v["approved_at"])
        x = max(c + 60, a - rng.uniform(1 * H, 30 * H))
        y = a + rng.uniform(0.5 * H, 40 * H)
        mine = v["payee_account"]
        other = "6217" + "".join(str(int(d)) for d in rng.integers(0, 10, 15))
        user = _maker_of(ctx, v)
        ids = _emit(ctx, "PF", [_account_change(x, user, v, mine, other),
                                _account_change(y, user, v, other, mine)])
        _record(ctx, "BLOG-FLIP", "blog.payee_flip", "positive",
                [*_log_refs(ids), ("payments", v["_key"])],
                f"凭证 {v['voucher_id']} 审核前收款账号改为 {other}，审核后改回 {mine} / the payee "
                f"account of voucher {v['voucher_id']} switched to {other} before approval and "
                "back after")


def payee_fix(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng = ctx.rng
    for i, v in enumerate(_vouchers(ctx, n)):
        c, a = _secs(v["created_at"]), _secs(v["approved_at"])
        mine = v["payee_account"]
        typo = mine[:-2] + mine[-1] + mine[-2] if mine[-1] != mine[-2] else mine[:-1] + "0"
        if typo == mine:
            typo = mine[:-1] + "1"
        user = _maker_of(ctx, v)
        x = c + (a - c) * rng.uniform(0.2, 0.5)
        if i % 2 == 0:
            rows = [_account_change(x, user, v, typo, mine)]
            what = "收款账号更正一次，未改回 / an account corrected once, never changed back"
        else:
            rows = [_account_change(x, user, v, mine, typo),
                    _account_change(x + min(240, (a - x) / 2), user, v, typo, mine)]
            what = ("账号误改后数分钟内于审核前改正 / an account mistyped and fixed minutes "
                    "later, before approval")
        ids = _emit(ctx, "PX", rows)
        _record(ctx, "LA-BLOG-FLIP", "blog.payee_flip", "lookalike",
                [*_log_refs(ids), ("payments", v["_key"])], f"凭证 {v['voucher_id']}：{what}")


# --------------------------------------------------------------------------- exports
def export_volume(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng = ctx.rng
    heavy = _heavy(_users(ctx))
    pool = [u for u in _users(ctx, 0) if _exporter(u["user_id"]) and u["user_id"] != heavy]
    for _ in range(n if pool else 0):
        u = _pick(ctx, pool)
        rows = int(_median_rows(u["user_id"]) * rng.uniform(60, 200))
        t = _mid_workday(ctx, 0.4, 0.95) * DAY + rng.uniform(14 * H, 16.5 * H)
        ids = _emit(ctx, "EV", [_export(t, u, rows, "收款人信息表")])
        _record(ctx, "BLOG-EXP-VOL", "blog.export_anomaly", "positive", _log_refs(ids),
                f"{u['user_id']} 一次导出 {rows:,} 行，约为其平常的百倍 / {u['user_id']} "
                f"exported {rows:,} rows at once, about a hundred times as usual")


def export_night(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng = ctx.rng
    pool = _users(ctx, 0)
    holidays = _special_days(ctx, makeup=False)
    for i in range(n if pool else 0):
        u = _pick(ctx, pool)
        if i % 2 == 1 and holidays:
            t = int(rng.choice(holidays)) * DAY + rng.uniform(10 * H, 16 * H)
            zh, en = "法定节假日", "on a public holiday"
        else:
            t = _mid_workday(ctx) * DAY + rng.uniform(23 * H, 25.5 * H)
            zh, en = "深夜", "late at night"
        ids = _emit(ctx, "EN", [_export(t, u, _median_rows(u["user_id"]), "人员信息表")])
        for det in ("blog.export_anomaly", "blog.off_hours"):
            _record(ctx, "BLOG-EXP-OFF", det, "positive", _log_refs(ids),
                    f"{u['user_id']} 在{zh}导出数据 / {u['user_id']} exported data {en}")


def export_makeup(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng = ctx.rng
    pool = [u for u in _users(ctx, 1) if _exporter(u["user_id"])]
    makeup = _special_days(ctx, makeup=True)
    for _ in range(n if pool and makeup else 0):
        u = _pick(ctx, pool)
        t = int(rng.choice(makeup)) * DAY + rng.uniform(9 * H, 17 * H)
        ids = _emit(ctx, "EM", [_export(t, u, _median_rows(u["user_id"])),
                                _payee_change(t + rng.uniform(300, 3600), u, rng, "contact_phone")])
        for det in ("blog.export_anomaly", "blog.off_hours"):
            _record(ctx, "LA-BLOG-MAKEUP", det, "lookalike", _log_refs(ids),
                    f"{u['user_id']} 在调休上班日的工作时间导出、修改 / {u['user_id']} worked in "
                    "working hours on a make-up working day (调休)")


# ---------------------------------------------------------------------------- log-ins
def guessing(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng = ctx.rng
    pool = _users(ctx, 0)
    for _ in range(n if pool else 0):
        u, ip, k = _pick(ctx, pool), _outside_ip(rng), int(rng.integers(6, 13))
        ts = np.sort(_mid_workday(ctx) * DAY + rng.uniform(0, 24 * H) + rng.uniform(0, 15 * M, k))
        rows = [_login(t, u, ip=ip, fail=True) for t in ts]
        rows.append(_login(ts[-1] + rng.uniform(20, 300), u, ip=ip))
        ids = _emit(ctx, "BF", rows)
        _record(ctx, "BLOG-BRUTE", "blog.brute_force", "positive", _log_refs(ids),
                f"{u['user_id']} 从外部地址 {ip} 登录失败 {k} 次后成功 / {u['user_id']} logged in "
                f"from outside address {ip} after {k} failures")


def spraying(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng = ctx.rng
    pool = _users(ctx, 0)
    if len(pool) < 8:  # a small world: spray over everybody
        pool = _users(ctx)
    for _ in range(n if len(pool) >= 7 else 0):
        ip, k = _outside_ip(rng), int(rng.integers(6, min(10, len(pool))))
        idx = rng.choice(len(pool), size=k + 1, replace=False)
        t0 = _mid_workday(ctx) * DAY + rng.uniform(0, 24 * H)
        span = rng.uniform(20 * M, 45 * M)
        rows = [_login(t0 + span * j / k + r * 20, pool[int(i)], ip=ip, fail=True)
                for j, i in enumerate(idx[:k]) for r in range(int(rng.integers(1, 3)))]
        victim = pool[int(idx[k])]
        rows.append(_login(t0 + span + rng.uniform(60, 600), victim, ip=ip))
        ids = _emit(ctx, "SP", rows)
        _record(ctx, "BLOG-SPRAY", "blog.brute_force", "positive", _log_refs(ids),
                f"地址 {ip} 对 {k} 个账号撒网尝试后 {victim['user_id']} 登录成功 / address {ip} "
                f"sprayed {k} accounts, then {victim['user_id']} logged in from it")


def typos(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng = ctx.rng
    pool = _users(ctx, 1)
    for i in range(n if pool else 0):
        t0 = _mid_workday(ctx) * DAY + rng.uniform(8.2 * H, 9.5 * H)
        if i % 3 == 2 and len(pool) >= 6:  # an office proxy: six users mistype once each
            proxy = f"10.8.200.{int(rng.integers(2, 250))}"
            rows = []
            for j, u in enumerate(pool[:6]):
                t = t0 + j * rng.uniform(60, 300)
                rows += [_login(t, u, ip=proxy, fail=True),
                         _login(t + rng.uniform(10, 60), u, ip=proxy)]
            what = (f"代理地址 {proxy} 后 6 人各输错一次随即登录 / 6 users behind proxy "
                    f"{proxy} each mistyped once")
        else:
            u, k = _pick(ctx, pool), int(rng.integers(1, 3))
            rows = [_login(t0 + 15 * j, u, fail=True) for j in range(k)]
            rows.append(_login(t0 + 15 * k + rng.uniform(10, 60), u))
            what = (f"{u['user_id']} 输错密码 {k} 次后登录 / {u['user_id']} mistyped the "
                    f"password {k} time(s)")
        ids = _emit(ctx, "TY", rows)
        _record(ctx, "LA-BLOG-TYPO", "blog.brute_force", "lookalike", _log_refs(ids), what)


# ----------------------------------------------------------------------------- grants
def _no_export_user(ctx: ChunkContext, half: int) -> User | None:
    pool = [u for u in _users(ctx, half) if not _exporter(u["user_id"])]
    return _pick(ctx, pool) if pool else None


def _grant(t: float, admin: User, user: User, role: str, action: str = "role_grant") -> dict:
    return _ev(t, admin, action, object_type="user", object_id=user["user_id"],
               detail=f'{{"role": "{role}"}}')


def grant_revoke(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng, admin, wd = ctx.rng, _admin(ctx), _workdays(ctx)
    for _ in range(n):
        u = _no_export_user(ctx, 0)
        if u is None:
            return
        d = _mid_workday(ctx, 0.3, 0.8)
        nxt = int(wd[min(int(np.searchsorted(wd, d)) + 1, len(wd) - 1)])
        g, k = d * DAY + rng.uniform(10 * H, 13 * H), int(rng.integers(1, 4))
        rows = [_grant(g, admin, u, "数据查询岗")]
        rows += [_export(g + rng.uniform(0.5 * H, 3 * H), u, rng.integers(800, 5000), "收款人表")
                 for _ in range(k)]
        rows.append(_grant(nxt * DAY + rng.uniform(8.6 * H, 10 * H), admin, u, "数据查询岗",
                           "role_revoke"))
        ids = _emit(ctx, "GR", rows)
        _record(ctx, "BLOG-GRANT", "blog.grant_then_act", "positive", _log_refs(ids),
                f"{u['user_id']} 被临时授予查询岗，数小时内导出 {k} 次，次日收回 / {u['user_id']} "
                f"was granted a query role, exported {k} time(s) within hours, revoked next day")


def grant_self(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng, admin = ctx.rng, _admin(ctx)
    for _ in range(n):
        g = _mid_workday(ctx, 0.3, 0.9) * DAY + rng.uniform(9 * H, 16 * H)
        ids = _emit(ctx, "GS", [
            _grant(g, admin, admin, "审计管理员"),
            _ev(g + rng.uniform(2 * M, 20 * M), admin, "audit_config_change",
                object_type="config", object_id="audit.retention",
                detail='{"field": "log_retention_days", "old": "365", "new": "7"}'),
        ])
        _record(ctx, "BLOG-GRANT-SELF", "blog.grant_then_act", "positive", _log_refs(ids),
                f"{admin['user_id']} 给自己授予审计管理员并修改审计配置 / {admin['user_id']} "
                "granted itself the audit administrator role and changed the audit configuration")


def grant_ordinary(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng, admin = ctx.rng, _admin(ctx)
    for _ in range(n):
        u = _no_export_user(ctx, 1)
        if u is None:
            return
        g = _mid_workday(ctx, 0.3, 0.8) * DAY + rng.uniform(9 * H, 15 * H)
        ids = _emit(ctx, "GO", [_grant(g, admin, u, "制单岗"),
                                _login(g + rng.uniform(600, 3600), u)])
        _record(ctx, "LA-BLOG-GRANT", "blog.grant_then_act", "lookalike", _log_refs(ids[:1]),
                f"{u['user_id']} 被授予制单岗后只做日常工作 / {u['user_id']} was granted a "
                "drafting role and did ordinary work only")


# ---------------------------------------------------------------------------- dormancy
def _new_account(ctx: ChunkContext, suffix: str) -> User:
    unit = ctx.unit()
    return {"user_id": f"{unit['unit_id'].lower()}.{suffix}",
            "user_role": "审核员" if suffix.startswith("sh") else "制单员",
            "unit_id": unit["unit_id"], "client_ip": f"10.8.77.{int(ctx.rng.integers(2, 250))}"}


def dormant(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng, wd = ctx.rng, _workdays(ctx)
    for j in range(n):
        u = _new_account(ctx, f"sh{9 + j}")
        early = int(wd[int(rng.integers(0, min(8, len(wd))))])
        late = [int(d) for d in wd if d - early >= 100]
        if not late:
            return
        wake = int(rng.choice(late))
        t0, t1 = early * DAY + rng.uniform(9 * H, 11 * H), wake * DAY + rng.uniform(9 * H, 11 * H)
        ids = _emit(ctx, "DW", [
            _login(t0, u), _login(t0 + rng.uniform(600, 3600), u, action="logout"),
            _login(t1, u), _export(t1 + rng.uniform(300, 1800), u, rng.integers(800, 6_000)),
            _payee_change(t1 + rng.uniform(1900, 5400), u, rng, "payee_name"),
        ])
        _record(ctx, "BLOG-DORMANT", "blog.dormant_wakeup", "positive", _log_refs(ids[2:]),
                f"账号 {u['user_id']} 沉寂 {wake - early} 天后重新登录并导出、修改收款人 / account "
                f"{u['user_id']} came back after {wake - early} silent days to export and change "
                "a payee")


def dormant_lookalikes(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng, admin, wd = ctx.rng, _admin(ctx), _workdays(ctx)
    for j in range(n):
        u = _new_account(ctx, f"zd{20 + j}")
        if j % 2 == 0:  # a new account created in the period starts work
            late = [int(d) for d in wd if d - wd[0] >= 100]
            if not late:
                continue
            t = int(rng.choice(late)) * DAY + rng.uniform(9 * H, 11 * H)
            rows = [_ev(t, admin, "user_create", object_type="user", object_id=u["user_id"],
                        detail=f'{{"user": "{u["user_id"]}", "role": "{u["user_role"]}"}}'),
                    _login(t + 3 * H, u), _export(t + 3.5 * H, u, rng.integers(500, 3000))]
            what = "本期新建账号开始工作 / a new account created in the period starts work"
        else:  # back after 60 days, under the threshold
            d0 = int(wd[int(rng.integers(0, max(1, len(wd) // 3)))])
            back = [int(d) for d in wd if 55 <= d - d0 <= 65]
            if not back:
                continue
            t0, t1 = d0 * DAY + 10 * H, int(rng.choice(back)) * DAY + 10 * H
            rows = [_login(t0, u), _login(t1, u), _export(t1 + 1200, u, rng.integers(500, 3000))]
            what = "账号 60 天后恢复使用（未达休眠阈值）/ an account back after 60 days"
        ids = _emit(ctx, "DL", rows)
        _record(ctx, "LA-BLOG-DORMANT", "blog.dormant_wakeup", "lookalike", _log_refs(ids[1:]),
                what)


# --------------------------------------------------------------------------- off hours
def off_hours(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng = ctx.rng
    pool = _users(ctx, 0)
    holidays = _special_days(ctx, makeup=False)
    for i in range(n if pool else 0):
        u = _pick(ctx, pool)
        if i % 2 == 0 and holidays:
            t0 = int(rng.choice(holidays)) * DAY + rng.uniform(10 * H, 15 * H)
            zh, en = "法定节假日", "on a public holiday"
        else:
            t0 = _mid_workday(ctx) * DAY + rng.uniform(21.5 * H, 23 * H)
            zh, en = "夜间", "late in the evening"
        k = int(rng.integers(3, 9))
        ids = _emit(ctx, "OH", [_payee_change(t0 + j * rng.uniform(4 * M, 12 * M), u, rng,
                                              "payee_name") for j in range(k)])
        _record(ctx, "BLOG-OFF", "blog.off_hours", "positive", _log_refs(ids),
                f"{u['user_id']} 在{zh}修改收款人 {k} 次 / {u['user_id']} changed payees {k} "
                f"times {en}")


def off_hours_lookalikes(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    rng = ctx.rng
    pool = _users(ctx, 1)
    makeup = _special_days(ctx, makeup=True)
    for i in range(n if pool else 0):
        u = _pick(ctx, pool)
        if i % 2 == 0 and makeup:
            t = int(rng.choice(makeup)) * DAY + rng.uniform(9 * H, 17 * H)
            zh, en = "调休上班日工作时间", "working hours of a make-up working day"
        else:
            t = _mid_workday(ctx) * DAY + rng.uniform(19.5 * H, 20.8 * H)
            zh, en = "下班后宽限时间内", "the grace after closing time"
        ids = _emit(ctx, "OL", [_payee_change(t, u, rng, "contact_phone")])
        _record(ctx, "LA-BLOG-OFF", "blog.off_hours", "lookalike", _log_refs(ids),
                f"{u['user_id']} 于{zh}修改收款人 / {u['user_id']} changed a payee in {en}")


def _final(name: str, det: str, kind: str, per_scale: float, inject: Any) -> Family:
    return Family(name, det, kind, per_scale, inject, payees_per_case=0,  # type: ignore[arg-type]
                  stage="final")


BLOG_FAMILIES: list[Family] = [
    Family("blog_self_approved", "blog.maker_checker", "positive", 4, self_approved),
    Family("blog_both_roles", "blog.maker_checker", "lookalike", 3, both_roles,
           payees_per_case=2),
    _final("blog_background", "blog.export_anomaly", "lookalike", 0, background),
    _final("blog_payee_flip", "blog.payee_flip", "positive", 3, payee_flip),
    _final("blog_payee_fix", "blog.payee_flip", "lookalike", 4, payee_fix),
    _final("blog_export_volume", "blog.export_anomaly", "positive", 3, export_volume),
    _final("blog_export_night", "blog.export_anomaly", "positive", 2, export_night),
    _final("blog_export_makeup", "blog.export_anomaly", "lookalike", 2, export_makeup),
    _final("blog_guessing", "blog.brute_force", "positive", 3, guessing),
    _final("blog_spraying", "blog.brute_force", "positive", 2, spraying),
    _final("blog_typo", "blog.brute_force", "lookalike", 6, typos),
    _final("blog_grant_revoke", "blog.grant_then_act", "positive", 2, grant_revoke),
    _final("blog_grant_self", "blog.grant_then_act", "positive", 1, grant_self),
    _final("blog_grant_ordinary", "blog.grant_then_act", "lookalike", 2, grant_ordinary),
    _final("blog_dormant", "blog.dormant_wakeup", "positive", 2, dormant),
    _final("blog_dormant_la", "blog.dormant_wakeup", "lookalike", 2, dormant_lookalikes),
    _final("blog_off_hours", "blog.off_hours", "positive", 3, off_hours),
    _final("blog_off_hours_la", "blog.off_hours", "lookalike", 2, off_hours_lookalikes),
]
"""The business-log families, to run after :data:`auditlib.synth.inject.FAMILIES`; the
final-stage ones need ``ctx.business_log`` (the chunk's log, extended in place)."""
