"""Evidence drill-down: the records an alert rests on, fetched from their source tables.

References are ``table:key`` (composite keys joined by ``|``, parsed with
:func:`auditlib.alerts.schema.parse_ref`); rows come back grouped per table in
the order the alert lists them, masked by default (ID numbers, accounts and
personal names, :mod:`auditlib.mask`).

Examples
--------
>>> from auditlib.testing import small_world
>>> ds = small_world()
>>> v = ds["payments"]["voucher_id"][0]
>>> ev = fetch_evidence(ds, [f"payments:{v}", "payments:NOPE", "nosuch:1"])
>>> ev.tables["payments"]["voucher_id"].to_list() == [v], ev.missing, ev.not_loaded
(True, ['payments:NOPE'], ['nosuch:1'])
>>> acct = ev.tables["payments"]["payee_account"][0]
>>> masked = ev.masked()
>>> masked.tables["payments"]["payee_account"][0] != acct
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from auditlib.alerts.schema import parse_ref
from auditlib.io.tables import Dataset
from auditlib.mask import mask_frame, mask_text
from auditlib.schemas import TABLES

NAME_COLUMNS = ("beneficiary_name", "name", "payee_name", "account_name")
"""Columns that may hold a personal name (masked when the value looks like one)."""
ALWAYS_PERSONAL = ("beneficiary_name", "name")
"""Columns whose every value is a person's name."""
_PERSON = re.compile(r"^[\u4e00-\u9fff][\u4e00-\u9fff·]{1,3}$")


@dataclass(frozen=True)
class Evidence:
    """Evidence rows per table, the references not found, and tables not loaded."""

    tables: dict[str, pl.DataFrame]
    missing: list[str] = field(default_factory=list)
    not_loaded: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(df.height for df in self.tables.values())

    def names(self) -> list[str]:
        """Personal names found in the rows (to mask them in any text too)."""
        found: set[str] = set()
        for df in self.tables.values():
            for c in NAME_COLUMNS:
                if c not in df.columns or df.schema[c] != pl.String:
                    continue
                for v in df[c].drop_nulls().unique().to_list():
                    if c in ALWAYS_PERSONAL or _PERSON.match(v):
                        found.add(v)
        return sorted(found)

    def masked(self, extra_names: Iterable[str] = ()) -> Evidence:
        """The same evidence with personal data masked (mask_frame on every table)."""
        names = [*self.names(), *extra_names]
        return Evidence(
            {t: mask_frame(df, names) for t, df in self.tables.items()},
            [mask_text(r, names) or "" for r in self.missing],
            list(self.not_loaded),
        )


def group_refs(refs: Iterable[str]) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """References per table, in first-seen order, each as (ref, key values); duplicates once."""
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    seen: set[str] = set()
    for r in refs:
        if r in seen:
            continue
        seen.add(r)
        table, vals = parse_ref(r)
        out.setdefault(table, []).append((r, vals))
    return out


def fetch_evidence(dataset: Dataset, refs: Iterable[str]) -> Evidence:
    """The rows behind ``refs``, grouped per table; a key not found is reported, not dropped."""
    tables: dict[str, pl.DataFrame] = {}
    missing: list[str] = []
    not_loaded: list[str] = []
    for table, items in group_refs(refs).items():
        if table not in TABLES or table not in dataset.tables:
            not_loaded.extend(r for r, _ in items)
            continue
        key = list(TABLES[table].key)
        good = [(i, r, v) for i, (r, v) in enumerate(items) if len(v) == len(key)]
        missing.extend(r for r, v in items if len(v) != len(key))
        if not good:
            continue
        knames = [f"__k{i}" for i in range(len(key))]
        wanted = pl.DataFrame(
            [[i, *v] for i, _, v in good],
            schema=["__order", *knames],
            orient="row",
        ).with_columns(
            pl.col("__order").cast(pl.Int64), *(pl.col(k).cast(pl.String) for k in knames)
        )
        df = dataset.tables[table]
        first = pl.col(key[0]) if df.schema[key[0]] == pl.String else pl.col(key[0]).cast(pl.String)
        cand = df.filter(first.is_in(wanted["__k0"].unique().implode())).with_columns(
            pl.col(c).cast(pl.String).alias(k) for c, k in zip(key, knames, strict=True)
        )
        found = wanted.join(cand, on=knames, how="inner").sort("__order")
        got = set(found["__order"].to_list())
        missing.extend(r for i, r, _ in good if i not in got)
        tables[table] = found.drop("__order", *knames)
    return Evidence(tables, missing, not_loaded)
