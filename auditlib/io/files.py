"""Reading table files into all-String frames: CSV (UTF-8, BOM, GB18030), Parquet, xlsx.

Encodings are detected from the bytes: a file that is valid UTF-8 (with or
without BOM) is UTF-8; anything else is decoded as GB18030 (a superset of GBK
and GB2312), and a byte sequence invalid there too is an error naming the
byte offset.
"""

from __future__ import annotations

import codecs
import csv
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

from auditlib.errors import DataError

_CHUNK = 1 << 22


def detect_encoding(path: Path) -> str:
    """``utf-8`` (BOM or not) or ``gb18030``, from the bytes.

    Reads the file in chunks with an incremental decoder, so a large file is
    checked without holding it in memory.
    """
    dec = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError:
                return "gb18030"
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def _transcode(path: Path, encoding: str) -> Path:
    """A temporary UTF-8 copy of ``path``; errors name the byte offset."""
    dec = codecs.getincrementaldecoder(encoding)()
    out = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, removed by the caller
        "w", encoding="utf-8", suffix=".csv", delete=False, newline=""
    )
    offset = 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                try:
                    out.write(dec.decode(chunk))
                except UnicodeDecodeError as exc:
                    msg = f"bytes at offset {offset + exc.start} are neither UTF-8 nor GB18030"
                    raise DataError(msg, file=str(path)) from None
                offset += len(chunk)
            out.write(dec.decode(b"", final=True))
    except BaseException:
        out.close()
        Path(out.name).unlink(missing_ok=True)
        raise
    out.close()
    return Path(out.name)


def read_header(path: Path, encoding: str) -> list[str]:
    with path.open("r", encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh:
        try:
            row = next(csv.reader(fh))
        except StopIteration:
            msg = "the file is empty (no header row)"
            raise DataError(msg, file=str(path)) from None
    return row


def read_csv(path: Path) -> tuple[pl.DataFrame, list[str], str]:
    """All-String frame of a CSV file, its header as written, and its encoding."""
    encoding = detect_encoding(path)
    src = path if encoding == "utf-8" else _transcode(path, encoding)
    try:
        header = read_header(src, "utf-8")
        try:
            df = pl.read_csv(
                src, infer_schema=False, has_header=True, raise_if_empty=False,
                truncate_ragged_lines=False,
            )
        except pl.exceptions.PolarsError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            msg = f"not a readable CSV file: {first}"
            raise DataError(msg, file=str(path)) from None
    finally:
        if src != path:
            src.unlink(missing_ok=True)
    # polars names columns from the header; keep positions, names are resolved later
    df.columns = [f"__c{i}" for i in range(df.width)]
    return df, header, encoding


def read_parquet(path: Path) -> tuple[pl.DataFrame, list[str]]:
    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader error is a user data error
        msg = f"not a readable Parquet file: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        raise DataError(msg, file=str(path)) from None
    header = list(df.columns)
    df.columns = [f"__c{i}" for i in range(df.width)]
    return df, header


def _excel_col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def read_xlsx(path: Path, kind_of: Callable[[str], str | None]) -> tuple[pl.DataFrame, list[str]]:
    """The first sheet as all-String columns.

    Numbers are written back as text: a whole number without decimals or
    exponent, money with its digits; an id cell holding a number too long for
    Excel to keep exactly (over 15 digits) is an error naming the cell.
    ``kind_of`` tells from a header the kind of column it names (id, date, ...), or None.
    """
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001
        msg = f"not a readable xlsx workbook: {exc}"
        raise DataError(msg, file=str(path)) from None
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header_row = next(rows, None)
        if header_row is None:
            msg = "the first sheet is empty (no header row)"
            raise DataError(msg, file=str(path))
        header = ["" if h is None else str(h) for h in header_row]
        while header and header[-1] == "":
            header.pop()
        kinds = [kind_of(h) for h in header]
        cols: list[list[str | None]] = [[] for _ in header]
        for r, row in enumerate(rows, start=2):
            if row is None or all(v is None for v in row):
                continue
            for c in range(len(header)):
                v = row[c] if c < len(row) else None
                cols[c].append(_cell_text(v, kinds[c], path, r, c))
    finally:
        wb.close()
    schema = {f"__c{i}": pl.String for i in range(len(cols))}
    df = pl.DataFrame({f"__c{i}": col for i, col in enumerate(cols)}, schema=schema)
    return df, header


def _cell_text(v: object, kind: str | None, path: Path, r: int, c: int) -> str | None:
    import datetime as dt

    is_id = kind == "id"

    if v is None:
        return None
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        if is_id and abs(v) >= 10**15:
            _too_long(path, r, c, v)
        return str(v)
    if isinstance(v, float):
        if is_id:
            if abs(v) >= 1e15:
                _too_long(path, r, c, v)
            if v.is_integer():
                return str(int(v))
            return repr(v)
        cents = v * 100
        if abs(cents - round(cents)) < 1e-6:
            return f"{v:.2f}"
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if kind == "date" else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat()
    return str(v)


def _too_long(path: Path, r: int, c: int, v: object) -> None:
    msg = (
        f"cell {_excel_col(c)}{r} holds the id as a number ({v!r}) with more digits than "
        "Excel keeps exactly (15); store the column as text in the workbook"
    )
    raise DataError(msg, file=str(path), row=r - 1)


def fingerprint(data_dir: Path) -> dict[str, str]:
    """SHA-256 of every file under ``data_dir`` (relative path → hex digest), sorted."""
    import hashlib

    out = {}
    for p in sorted(q for q in data_dir.rglob("*") if q.is_file() and not q.name.startswith(".")):
        h = hashlib.sha256()
        with p.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        out[p.relative_to(data_dir).as_posix()] = h.hexdigest()
    return out


def fingerprint_digest(prints: dict[str, str]) -> str:
    """One short digest over a fingerprint mapping (for title pages)."""
    import hashlib

    text = "\n".join(f"{k} {v}" for k, v in sorted(prints.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
