"""Small HTML pieces for notebook outputs: escaped tables with money formatting.

>>> import polars as pl
>>> str(table(pl.DataFrame({"a": ["<x>"], "m": [1234.5]}), money=["m"]))[:60]
'<table><thead><tr><th>a</th><th class="num">m</th></tr></the'
"""

from __future__ import annotations

import html as _html
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import polars as pl


class HTML:
    """Displayable HTML (Jupyter shows ``_repr_html_``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def esc(v: Any) -> str:
    return _html.escape("" if v is None else str(v))


def money(v: Any) -> str:
    if v is None:
        return ""
    return f"{Decimal(str(v)):,.2f}"


def table(
    df: pl.DataFrame,
    *,
    header: Sequence[str] | None = None,
    money: Sequence[str] = (),
    numeric: Sequence[str] = (),
    max_rows: int = 200,
) -> HTML:
    cols = list(df.columns)
    names = list(header) if header is not None else cols
    right = set(money) | set(numeric)
    th = "".join(
        f'<th class="num">{esc(n)}</th>' if c in right else f"<th>{esc(n)}</th>"
        for c, n in zip(cols, names, strict=True)
    )
    body = []
    for row in df.head(max_rows).iter_rows(named=True):
        tds = []
        for c in cols:
            v = row[c]
            if c in money:
                tds.append(f'<td class="num">{_fmt_money(v)}</td>')
            elif c in numeric:
                tds.append(f'<td class="num">{esc(_fmt_num(v))}</td>')
            elif isinstance(v, list):
                tds.append(f"<td>{esc('; '.join(map(str, v)))}</td>")
            else:
                tds.append(f"<td>{esc(v)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    more = ""
    if df.height > max_rows:
        more = f'<p class="muted">… {df.height - max_rows} more rows</p>'
    return HTML(f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}")


def _fmt_money(v: Any) -> str:
    return money(v) if v is not None else ""


def _fmt_num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)
