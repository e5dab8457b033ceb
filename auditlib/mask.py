"""Masking personal data (ID numbers, bank accounts, personal names) for reports and widgets.

Examples
--------
>>> mask_digits("6222000012345678")
'6222********5678'
>>> mask_digits("33010219900101123X")
'330102********123X'
>>> mask_name("张三丰")
'张**'
>>> mask_text("账号 6222000012345678（张三）收款", names=["张三"])
'账号 6222********5678（张*）收款'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

def mask_digits(value: str | None) -> str | None:
    """An 18-character ID keeps its region (6) and last 4; an account its first and last 4."""
    if value is None:
        return None
    v = str(value)
    if re.fullmatch(r"\d{17}[\dXx]", v):
        return v[:6] + "*" * 8 + v[-4:]
    if re.fullmatch(r"\d{12,}", v):
        return v[:4] + "*" * (len(v) - 8) + v[-4:]
    return v


def mask_name(value: str | None) -> str | None:
    """A personal name keeps its first character."""
    if value is None or not value:
        return value
    return value[0] + "*" * (len(value) - 1)


def mask_text(text: str | None, names: Iterable[str] = ()) -> str | None:
    """Mask ID numbers, account numbers (12+ digits) and the given personal names in text."""
    if text is None:
        return None
    out = re.sub(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])", lambda m: mask_digits(m.group(0)) or "", text)
    out = re.sub(r"(?<![0-9A-Za-z*])\d{12,}(?![0-9A-Za-z])", lambda m: mask_digits(m.group(0)) or "", out)
    for n in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        out = out.replace(n, mask_name(n) or n)
    return out


def mask_frame(df: pl.DataFrame, names: Iterable[str] = ()) -> pl.DataFrame:
    """Mask every String column of ``df`` (and lists of strings) as :func:`mask_text` does."""
    names = list(names)
    exprs = []
    for c, t in df.schema.items():
        if t == pl.String:
            exprs.append(pl.col(c).map_elements(lambda v: mask_text(v, names), return_dtype=pl.String))
        elif t == pl.List(pl.String):
            exprs.append(
                pl.col(c).map_elements(
                    lambda vs: [mask_text(v, names) for v in vs], return_dtype=pl.List(pl.String)
                )
            )
        else:
            exprs.append(pl.col(c))
    return df.select(exprs) if df.height else df
