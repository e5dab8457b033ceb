"""The pandas twin of the log benchmark: csvlog parsing and the core of two log rules.

pandas 3 with Arrow-backed strings (``pd.ArrowDtype``); where pandas' own ``.str``
methods would go through Python ``re`` row by row (``extract``/``findall`` with groups),
``pyarrow.compute`` is called directly, as a competent pandas 3 user does (the payments
twin does the same). What is twinned is stated in :mod:`benchmarks.logs_common`.

- **Reading**: ``pyarrow.csv.read_csv`` — what ``pd.read_csv(engine="pyarrow")`` calls,
  directly, because pandas' pyarrow engine cannot set ``newlines_in_values`` (a csvlog's
  statements span lines) and fails on ``names`` + ``usecols`` in pandas 3.1. Only the
  columns used are converted; empty fields are nulls.
- **pgAudit payload**: a CSV record of 9 or 10 fields inside the message. Each payload
  becomes a line ``<record number>,<payload>`` of one buffer (``binary_join_element_wise``,
  no Python strings) read again by ``pyarrow.csv``; records of 9 fields (no ``rows``) are
  rejected by that reader (it wants one field count) and read with Python's ``csv``.
- **Times**: PostgreSQL's csvlog ``log_time`` is ``YYYY-MM-DD HH:MM:SS.mmm <zone>``: the
  first 23 characters cast by Arrow, the zone (a handful of distinct values) resolved per
  distinct value — an abbreviation or none in the settings' time zone, ``UTC``/``GMT``/
  ``Z`` as UTC, ``+hh[:mm]`` as an offset.
- **Failed statements** (ERROR/FATAL/PANIC with a SQLSTATE): few rows, done in Python;
  their verb is the statement's first word (:func:`benchmarks.logs_common.first_verb`).
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

try:
    from benchmarks import logs_common as C
    from benchmarks.common import findings_table
except ImportError:  # run from benchmarks/
    import common  # type: ignore[no-redef]
    import logs_common as C  # type: ignore[no-redef]

    findings_table = common.findings_table

USED = (0, 1, 2, 4, 5, 11, 12, 13, 19, 22)
"""csvlog columns read: log_time, user, database, connection_from, session_id, severity,
SQLSTATE, message, query, application_name."""


def _pa(s: pd.Series) -> pa.Array:
    """The Arrow array under a pandas column (one chunk)."""
    arr = pa.array(s, from_pandas=True) if not isinstance(s.dtype, pd.ArrowDtype) else None
    if arr is None:
        arr = s.array._pa_array
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _s(arr, index=None) -> pd.Series:
    return pd.Series(
        pd.arrays.ArrowExtensionArray(
            pa.chunked_array([arr]) if isinstance(arr, pa.Array) else arr
        ),
        index=index,
    )


def _ncols(path) -> int:
    """Fields of the first csvlog record."""
    with open(path, encoding="utf-8", newline="") as f:
        return len(next(csv.reader(f)))


def _strings(names) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(
        include_columns=list(names),
        column_types=dict.fromkeys(names, pa.string()),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )


# ------------------------------------------------------------------------------ parsing
def payload_fields(pay: pa.Array, n: pa.Array) -> pa.Table:
    """The pgAudit fields of each payload (``n`` and :data:`AUDIT_FIELDS`, strings)."""
    head = pc.binary_join_element_wise("\n", pc.cast(n, pa.string()), "")
    lines = pc.binary_join_element_wise(
        head.cast(pa.large_string()), pay.cast(pa.large_string()), pa.scalar(",", pa.large_string())
    )
    lines = pa.concat_arrays([lines])  # offset 0
    offsets = np.frombuffer(lines.buffers()[1], np.int64)[: len(lines) + 1]
    buf = lines.buffers()[2][int(offsets[0]) : int(offsets[-1])]
    short: list[str] = []

    def reject(row) -> str:
        if row.actual_columns == 10:  # 9 pgAudit fields: no rows
            short.append(row.text)
            return "skip"
        return "error"

    names = ["n", *C.AUDIT_FIELDS]
    conv = _strings(C.AUDIT_FIELDS)
    conv.include_columns = names
    conv.column_types = {**conv.column_types, "n": pa.int64()}
    conv.quoted_strings_can_be_null = False
    t = pacsv.read_csv(
        pa.BufferReader(buf),
        read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=reject),
        convert_options=conv,
    )
    if short:
        rows = [next(csv.reader([x], strict=True)) for x in short]
        extra = pa.table(
            {
                "n": pa.array([int(r[0]) for r in rows], pa.int64()),
                **{
                    f: pa.array([r[i + 1] or None for r in rows], pa.string())
                    for i, f in enumerate(C.AUDIT_FIELDS[:9])
                },
                "rows": pa.nulls(len(rows), pa.string()),
            }
        )
        t = pa.concat_tables([t, extra]).sort_by("n")
    if t.num_rows != len(pay):
        raise ValueError(f"{len(pay) - t.num_rows} pgAudit payload(s) unreadable")
    bad = pc.invert(pc.is_in(t.column("audit_type"), pa.array(["SESSION", "OBJECT"])))
    if pc.any(bad).as_py():
        raise ValueError("a pgAudit audit type is not SESSION or OBJECT")
    cols = {}
    for f in C.AUDIT_FIELDS[1:]:
        c = t.column(f)
        if f in ("statement_id", "substatement_id", "rows"):
            c = pc.cast(c, pa.int64())
        else:  # a quoted empty field is null too (auditlib: ``x or None``)
            c = pc.if_else(pc.equal(c, ""), pa.scalar(None, pa.string()), c)
        cols[f] = c.combine_chunks()
    return pa.table(cols)


_OFFSET = re.compile(r"^([+-])(\d\d):?(\d\d)?$")


def event_time(raw: pa.Array, tz: str) -> pa.Array:
    """csvlog ``log_time`` as ``timestamp[us, tz]``."""
    naive = pc.cast(pc.utf8_slice_codeunits(raw, 0, 23), pa.timestamp("us"))
    zone = pc.utf8_slice_codeunits(raw, 24)
    utc = pc.cast(pa.nulls(len(raw), pa.int64()), pa.timestamp("us", "UTC"))
    for z in pc.unique(zone).to_pylist():
        mask = pc.equal(zone, z) if z is not None else pc.is_null(zone)
        if z in ("UTC", "GMT", "Z", "UT"):
            part = pc.assume_timezone(naive, "UTC")
        elif z and (m := _OFFSET.match(z)):
            mins = (int(m.group(2)) * 60 + int(m.group(3) or 0)) * (1 if m.group(1) == "+" else -1)
            part = pc.assume_timezone(
                pc.subtract(naive, pa.scalar(mins * 60_000_000, pa.duration("us"))), "UTC"
            )
        else:  # an abbreviation (CST) or none: the settings' zone
            part = pc.cast(
                pc.assume_timezone(naive, tz, ambiguous="earliest", nonexistent="earliest"),
                pa.timestamp("us", "UTC"),
            )
        utc = pc.if_else(mask, part, utc)
    return pc.cast(utc, pa.timestamp("us", tz))


def parse_csvlog(path, rel: str, tz: str) -> pd.DataFrame:
    """A PostgreSQL csvlog with pgAudit records → the canonical db_audit columns."""
    ncols = _ncols(path)
    names = [f"c{i}" for i in range(ncols)]
    use = [f"c{i}" for i in USED if i < ncols]
    t = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=_strings(use),
    )
    raw = t.to_pandas(types_mapper=pd.ArrowDtype)
    n = pd.Series(np.arange(1, len(raw) + 1, dtype=np.int64))
    msg = raw["c13"].fillna("")
    is_audit = msg.str.startswith("AUDIT: ").fillna(False).to_numpy(bool)
    sev = raw["c11"].replace(C.SEVERITY_EN)
    failed = (
        ~is_audit
        & sev.isin(C.FAILED).fillna(False).to_numpy(bool)
        & raw["c1"].notna().to_numpy(bool)
        & raw["c12"].str.fullmatch(r"[0-9A-Z]{5}").fillna(False).to_numpy(bool)
    )
    app = (
        raw["c22"]
        if "c22" in raw
        else pd.Series(pd.NA, index=raw.index, dtype=pd.ArrowDtype(pa.string()))
    )
    server = pd.DataFrame(
        {
            "n": n,
            "time": raw["c0"],
            "db_user": raw["c1"],
            "database": raw["c2"],
            "client_ip": raw["c4"].str.replace(r":\d+$", "", regex=True),
            "application_name": app,
            "session_id": raw["c5"],
        }
    )
    audit = server[is_audit].reset_index(drop=True)
    fields = payload_fields(_pa(msg[is_audit].str.slice(7)), _pa(audit["n"]))
    audit = pd.concat([audit, fields.to_pandas(types_mapper=pd.ArrowDtype)], axis=1)
    parts = [audit]
    if failed.any():  # few: ERROR/FATAL records
        f = server[failed].reset_index(drop=True)
        q = _pa(raw["c19"][failed]).to_pylist()
        st = _pa(raw["c12"][failed]).to_pylist()
        sv = _pa(sev[failed]).to_pylist()
        f["statement"] = pd.array(q, dtype=pd.ArrowDtype(pa.string()))
        f["command"] = pd.array(
            [
                C.first_verb(x) or ("FAILED_CONNECT" if s[:2] == "28" else v)
                for x, s, v in zip(q, st, sv, strict=True)
            ],
            dtype=pd.ArrowDtype(pa.string()),
        )
        f["retcode"] = pd.array([C.sqlstate_code(s) for s in st], dtype=pd.ArrowDtype(pa.int64()))
        parts.append(f)
        ev = pd.concat(parts, ignore_index=True).sort_values("n", kind="stable")
    else:
        ev = audit
    ev = ev.reset_index(drop=True)
    out = pd.DataFrame(
        {
            "event_id": rel + ":" + ev["n"].astype(pd.ArrowDtype(pa.string())),
            "event_time": _s(event_time(_pa(ev["time"]), tz)),
        }
    )
    for name, kind in C.DB_AUDIT[2:]:
        typ = pa.int64() if kind == "int" else pa.string()
        col = ev[name] if name in ev else pd.Series(pd.NA, index=ev.index)
        out[name] = col.astype(pd.ArrowDtype(typ))
    return out


# ------------------------------------------------------------------------------ loading
def load_business_log(path, tz: str) -> pd.DataFrame:
    """business_log.parquet typed as the contract says: ids stripped (empty → null), text
    blank → null, ``result`` spellings mapped, naive times in ``tz``."""
    t = pd.read_parquet(path, dtype_backend="pyarrow")
    out = pd.DataFrame(index=t.index)
    for c in t.columns:
        s = t[c]
        if c == "event_time":
            a = _pa(s)
            if a.type.tz is None:
                a = pc.assume_timezone(
                    a.cast(pa.timestamp("us")), tz, ambiguous="earliest", nonexistent="earliest"
                )
            out[c] = _s(pc.cast(a, pa.timestamp("us", tz)))
        elif c in ("event_id", "user_id", "unit_id", "object_id"):
            v = s.str.strip(C.SPACES)
            out[c] = v.where(v.str.len() > 0)
        elif c == "result":
            v = s.str.strip(C.SPACES).str.lower()
            out[c] = v.map(C.RESULT).astype(pd.ArrowDtype(pa.string()))
        else:
            out[c] = s.where(s.str.strip(C.SPACES).str.len() > 0)
    return out


def load_tickets(path, tz: str) -> list[dict]:
    t = pd.read_parquet(path)
    rows = []
    for r in t.to_dict("records"):
        st, en = pd.Timestamp(r["start_time"]), pd.Timestamp(r["end_time"])
        rows.append(
            {
                "user": str(r["db_user"]).strip().lower(),
                "start_time": st.tz_localize(tz) if st.tzinfo is None else st.tz_convert(tz),
                "end_time": en.tz_localize(tz) if en.tzinfo is None else en.tz_convert(tz),
                "objects": r.get("objects"),
            }
        )
    return rows


# -------------------------------------------------------------------------------- rules
def prepare(db: pd.DataFrame) -> pd.DataFrame:
    """user, verb, ok, upper-case class, markers nulled (auditlib.detectors._dblog.prepare)."""
    cmd = db["command"].str.strip().str.upper()
    user = db["db_user"].str.strip().str.lower()
    verb = _s(pc.struct_field(pc.extract_regex(_pa(cmd), r"^(?P<v>\w+)"), "v"), db.index)
    out = pd.DataFrame(
        {
            "event_id": db["event_id"],
            "event_time": db["event_time"],
            "db_user": db["db_user"],
            "user": user,
            "verb": verb.where(verb.notna()),
            "ok": db["retcode"].fillna(0) == 0,
            "audit_class": db["audit_class"].str.upper(),
            "session_id": db["session_id"],
            "statement_id": db["statement_id"],
            "object_name": db["object_name"],
        },
        index=db.index,
    )
    for c in ("statement", "parameter"):
        s = db[c]
        out[c] = s.mask(s.str.fullmatch(C.MARKER).fillna(False))
    return out


def _writes(df: pd.DataFrame) -> pd.Series:
    return (df["verb"].isin(C.WRITE_VERBS) | (df["audit_class"] == "WRITE")).fillna(False)


def _hits(df: pd.DataFrame, protected: list[str]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(writes a protected table, out of the core, (position, table) hits) per row: tables
    from ``object_name`` (lower case, quotes dropped, ``|``-separated, ``public.`` when
    unqualified); rows without it or COPY are out of the core."""
    ooc = (df["object_name"].isna() | (df["verb"] == "COPY")).fillna(True).to_numpy(bool)
    verb = df["verb"]
    row_write = (
        (verb.isin(C.WRITE_VERBS) | ((df["audit_class"] == "WRITE") & ~verb.isin(C.READ_VERBS)))
        .fillna(False)
        .to_numpy(bool)
    )
    pos = np.flatnonzero(row_write & ~ooc)
    names = df["object_name"].iloc[pos].str.replace(r"[\"`]", "", regex=True).str.lower()
    names.index = pos
    exploded = names.str.split("|").explode()
    exploded = exploded.where(exploded.str.contains(".", regex=False), "public." + exploded)
    hit_rows = exploded[exploded.isin(protected).to_numpy(bool)]
    hits = pd.DataFrame({"pos": hit_rows.index.to_numpy(np.int64), "table": hit_rows.to_numpy()})
    hit = np.zeros(len(df), bool)
    hit[hits["pos"].to_numpy()] = True
    return hit, ooc, hits


def _us(s: pd.Series) -> np.ndarray:
    """Times as int64 microseconds since the epoch (nulls → min int64)."""
    a = _pa(s).cast(pa.int64())
    return pc.fill_null(a, np.iinfo(np.int64).min).to_numpy()


def statement_groups(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """``df`` sorted by statement, time, event id (with ``_pos``, the row's position in
    ``df``, and ``g``, one integer per statement) and the positions where statements start.
    A statement: account, session, statement id, a new one after a gap of more than 60 s;
    a record without session or statement id is one of its own (add_statement_key)."""
    has = (df["session_id"].notna() & (df["statement_id"].fillna(0) > 0)).to_numpy(bool)
    code = df.groupby(["user", "session_id", "statement_id"], sort=False, dropna=False).ngroup()
    code = np.where(has, code.to_numpy(), -1)
    d = df.assign(_b=code, _nohas=~has, _pos=np.arange(len(df))).sort_values(
        ["_nohas", "_b", "event_time", "event_id"], kind="stable", na_position="last"
    )
    b = d["_b"].to_numpy()
    t = _us(d["event_time"])
    tnull = t == np.iinfo(np.int64).min
    new = np.ones(len(d), bool)
    new[1:] = (
        (b[1:] != b[:-1]) | (np.diff(t) > C.STATEMENT_GAP_S * 1_000_000) | tnull[1:] | tnull[:-1]
    )
    new |= d["_nohas"].to_numpy()
    starts = np.flatnonzero(new)
    return d.drop(columns=["_b", "_nohas"]).assign(g=np.cumsum(new) - 1), starts


def _any(flags: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.logical_or.reduceat(flags, starts) if len(starts) else np.zeros(0, bool)


def _refs(ids: pd.Series) -> pd.Series:
    esc = ids.str.replace("%", "%25", regex=False).str.replace(";", "%3B", regex=False)
    return "db_audit:" + esc.str.replace("|", "%7C", regex=False)


def _evidence(rows: pd.DataFrame, groups) -> dict:
    """g → evidence references in (time, event id) order, for the groups asked."""
    sel = rows[rows["g"].isin(list(groups))]
    refs = _refs(sel["event_id"])
    return {int(g): list(v) for g, v in refs.groupby(sel["g"].to_numpy(), sort=False)}


def _tables(d: pd.DataFrame, hits: pd.DataFrame) -> pd.Series:
    """g → sorted protected tables written (positions in ``hits`` are ``_pos``)."""
    g = pd.Series(d["g"].to_numpy(), index=d["_pos"].to_numpy())
    h = hits.assign(g=g.reindex(hits["pos"].to_numpy()).to_numpy())
    return h.groupby("g")["table"].agg(lambda s: sorted(set(s)))


def direct_write(db: pd.DataFrame, tickets: list[dict], p: dict) -> pa.Table:
    df = prepare(db)
    df = df[df["ok"] & df["user"].notna() & ~df["user"].isin(p["app_users"]) & _writes(df)]
    hit, ooc, hits = _hits(df, p["protected"])
    users = df["user"].to_numpy()[hit]
    keep = df["user"].isin(set(users)).to_numpy(bool)
    if not keep.any():
        return _empty(C.DIRECT)
    old = np.flatnonzero(keep)  # positions before → after the user filter
    renum = np.full(len(df), -1)
    renum[old] = np.arange(len(old))
    hits = hits.assign(pos=renum[hits["pos"].to_numpy()])
    hits = hits[hits["pos"] >= 0]
    df = df[keep]
    d, starts = statement_groups(df)
    pos = d["_pos"].to_numpy()
    ghit, gooc = _any(hit[old][pos], starts), _any(ooc[old][pos], starts)
    first = d.iloc[starts]
    found = np.flatnonzero(ghit & ~gooc)
    tables = _tables(d, hits)
    ev = _evidence(d, found)
    keys, ents, evid = [], [], []
    for g in found:
        f = first.iloc[g]
        if C.covered(tickets, f["user"], f["event_time"], tables[g]):
            continue
        keys.append(f["event_id"])
        ents.append(f["db_user"])
        evid.append(ev[int(g)])
    return _table(C.DIRECT, ents, keys, evid)


def _empty(det: str) -> pa.Table:
    return _table(det, [], [], [])


def _table(det: str, ents, keys, evid) -> pa.Table:
    n = len(keys)
    return findings_table(
        det,
        entity_id=pa.array(ents, pa.string()),
        finding_key=pa.array(keys, pa.string()),
        unit_id=pa.nulls(n, pa.string()),
        amount_fen=pa.nulls(n, pa.int64()),
        evidence=pa.array(evid, pa.list_(pa.string())),
    )


def business(biz: pd.DataFrame) -> pd.DataFrame:
    """Successful operations on data objects (auditlib.detectors._xcheck.business):
    ``object_id`` and ``biz_us`` (time in microseconds)."""
    action = biz["action"].str.strip().str.lower()
    otype = biz["object_type"].str.strip().str.lower()
    ok = (
        (
            (biz["result"].fillna("success") != "failure")
            & biz["object_id"].notna()
            & biz["event_time"].notna()
            & ~action.isin(C.SESSION_ACTIONS)
            & ~otype.fillna("").isin(C.NOT_DATA)
        )
        .fillna(False)
        .to_numpy(bool)
    )
    return pd.DataFrame(
        {"object_id": biz["object_id"][ok].to_numpy(), "biz_us": _us(biz["event_time"][ok])}
    )


def _shapes(ids) -> list[str]:
    u = pc.unique(pa.array(ids, pa.string()) if not isinstance(ids, pd.Series) else _pa(ids))
    u = u.filter(pc.is_valid(u))
    return pc.unique(pc.replace_substring_regex(u, r"\p{Nd}", "\x00")).to_pylist()


def tokens(text: pa.Array, pattern: str) -> pd.DataFrame:
    """(row, token) for every match of ``pattern`` (RE2) in ``text``, distinct: Arrow counts
    the matches; one match is extracted by Arrow, several by Python ``re`` (few rows)."""
    cnt = pc.count_substring_regex(text, pattern).to_numpy(zero_copy_only=False)
    one = np.flatnonzero(cnt == 1)
    got = pc.struct_field(pc.extract_regex(text.take(one), f"(?P<t>{pattern})"), "t")
    rows, toks = [one], [got]
    many = np.flatnonzero(cnt > 1)
    if len(many):
        py = re.compile(pattern.replace(r"\p{Nd}", r"\d"))
        found = [
            (i, m)
            for i, s in zip(many, text.take(many).to_pylist(), strict=True)
            for m in py.findall(s)
        ]
        rows.append(np.array([i for i, _ in found], np.int64))
        toks.append(pa.array([m for _, m in found], pa.string()))
    return pd.DataFrame(
        {
            "row": np.concatenate(rows),
            "object_id": _s(pa.concat_arrays([t.cast(pa.string()) for t in toks])),
        }
    ).drop_duplicates()


def _first_valid(d: pd.DataFrame, col: str, n_groups: int) -> pa.Array:
    """The first non-null value of ``col`` in each statement (``d`` sorted, ``g`` 0..n-1)."""
    nn = np.flatnonzero(d[col].notna().to_numpy(bool))
    g = d["g"].to_numpy()[nn]
    firsts = nn[np.r_[True, g[1:] != g[:-1]]] if len(nn) else nn
    pick = np.full(n_groups, -1, np.int64)
    pick[d["g"].to_numpy()[firsts]] = firsts
    idx = pa.array(pick, mask=pick < 0)
    return _pa(d[col]).take(idx)


def _ids_of(pairs: pd.DataFrame, rows: np.ndarray) -> dict[int, list[str]]:
    """row → its sorted distinct ids, for the rows asked (few: the unmatched)."""
    sel = pairs[np.isin(pairs["row"].to_numpy(), rows)]
    out: dict[int, set] = {}
    for r, o in zip(sel["row"].to_numpy(), sel["object_id"].tolist(), strict=True):
        out.setdefault(int(r), set()).add(o)
    return {r: sorted(v) for r, v in out.items()}


def unexplained_write(db: pd.DataFrame, biz: pd.DataFrame, p: dict, params: dict) -> pa.Table:
    tol = params["tolerance_seconds"] * 1_000_000
    bt = _us(biz["event_time"])
    bt = bt[bt != np.iinfo(np.int64).min]
    if len(bt) == 0:
        return _empty(C.UNEXPLAINED)
    b0, b1 = bt.min(), bt.max()
    df = prepare(db)
    df = df[df["ok"] & df["event_time"].notna() & df["user"].isin(p["app_users"]) & _writes(df)]
    hit, ooc, _ = _hits(df, p["protected"])
    d, starts = statement_groups(df)
    pos = d["_pos"].to_numpy()
    ghit, gooc = _any(hit[pos], starts), _any(ooc[pos], starts)
    t = _us(d["event_time"])[starts]
    sel = np.flatnonzero(ghit & (t >= b0 - tol) & (t <= b1 + tol))
    judged = len(sel)
    if judged == 0:
        return _empty(C.UNEXPLAINED)
    # the statement's text and parameters (first non-null of each), " "-joined, nulls skipped
    idx = pa.array(sel)
    st = _first_valid(d, "statement", len(starts)).take(idx)
    pm = _first_valid(d, "parameter", len(starts)).take(idx)
    text = pc.fill_null(pc.coalesce(pc.binary_join_element_wise(st, pm, " "), st, pm), "")
    db_t = t[sel]
    bz = business(biz)
    ids = pc.unique(pa.array(bz["object_id"].to_numpy(), pa.string()))
    pattern = C.id_pattern(_shapes(ids), digit=r"\p{Nd}")
    if pattern:
        tok = tokens(text, pattern)
        pairs = tok[pc.is_in(_pa(tok["object_id"]), value_set=ids).to_numpy(zero_copy_only=False)]
    else:
        pairs = pd.DataFrame({"row": np.zeros(0, np.int64), "object_id": np.zeros(0, object)})
    near = pairs.merge(bz, on="object_id")
    gap = np.abs(near["biz_us"].to_numpy() - db_t[near["row"].to_numpy()])
    matched = np.zeros(judged, bool)
    matched[near["row"].to_numpy()[gap <= tol]] = True
    rest = np.flatnonzero(~matched)
    known = _ids_of(pairs, rest)
    distinct = ids.filter(pc.match_substring_regex(ids, r"\D"))
    upat = C.id_pattern(_shapes(distinct), digit=r"\p{Nd}")
    unknown: dict[int, list[str]] = {}
    if upat not in (None, C.GENERIC_ID):
        ut = tokens(text.take(pa.array(rest)), upat)
        ut = ut[~pc.is_in(_pa(ut["object_id"]), value_set=ids).to_numpy(zero_copy_only=False)]
        unknown = {rest[r]: v for r, v in _ids_of(ut, ut["row"].to_numpy()).items()}
    out = []
    for r in rest:
        ent = known.get(int(r)) or unknown.get(int(r))
        if ent:
            out.append((int(r), ent))
    if judged >= 20 and 1 - len(out) / judged < params["min_link_rate"]:
        return _empty(C.UNEXPLAINED)
    out = [(r, ent) for r, ent in out if not gooc[sel[r]]]
    groups = [int(sel[r]) for r, _ in out]
    ev = _evidence(d, groups)
    first = d["event_id"].to_numpy()[starts]
    return _table(
        C.UNEXPLAINED,
        [ent[0] for _, ent in out],
        [first[g] for g in groups],
        [ev[g] for g in groups],
    )
