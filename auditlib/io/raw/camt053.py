"""ISO 20022 camt.053 bank-to-customer statements → ``bank_transactions``.

Any message version (``camt.053.001.02`` … ``.08`` and later): elements are
matched on their local names, namespaces ignored. Recognised by the document's
``BkToCstmrStmt`` element, so camt.052 (``BkToCstmrAcctRpt``), camt.054
(``BkToCstmrDbtCdtNtfctn``) and pain.001 are not taken for statements.

One row per ``Ntry``, or per ``TxDtls`` when an entry batches several. Mapping:
``AcctSvcrRef`` (else ``NtryRef``) → ``bank_ref``, else ``<rel path>:<entry
number>`` (entries counted from 1 across the file's statements); a batch's rows
take their own ``TxDtls/Refs/AcctSvcrRef``, else the entry's ref with ``#<n>``
appended, so every row's key is distinct. ``ValDt/Dt`` (else the date of
``ValDt/DtTm``, else ``BookgDt`` likewise) → ``value_date``; ``Amt`` (a batch
row: ``TxDtls/Amt`` or ``AmtDtls/TxAmt/Amt``) → ``amount`` and its ``Ccy`` →
``currency``; ``CdtDbtInd`` DBIT/CRDT → ``debit``/``credit``; the statement's
``Acct/Id`` (IBAN or ``Othr/Id``) → ``payer_account`` for debits,
``payee_account`` for credits; the counterparty account (``RltdPties/CdtrAcct``
for debits, ``DbtrAcct`` for credits) → the other account column and the
counterparty's ``Nm`` (``Cdtr``/``Dbtr``, or their ``Pty`` from v8 on) →
``payee_name``; ``Refs/EndToEndId`` unless ``NOTPROVIDED`` → ``voucher_id``.

Money is exact: an amount with more than two decimal places is accepted only
when the extra digits are zeros (``8.850``); otherwise the row is reported and
skipped, never rounded. A row missing a required value (date, amount, payee
account — e.g. a debit with no counterparty account, such as a bank fee) is
reported and skipped. A file that is not XML, not a camt.053 document, or holds
no ``Stmt`` is a :class:`~auditlib.errors.DataError` naming it. Documents with a
DTD are refused (no entity expansion).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.errors import DataError
from auditlib.io.raw import register
from auditlib.io.report import FileReport
from auditlib.schemas import TABLES

_SNIFF = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?BkToCstmrStmt[\s>/]")
_NAMES = ("bank_ref", "value_date", "amount", "payee_account", "voucher_id", "payer_account",
          "payee_name", "direction", "currency")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element | None, *path: str) -> ET.Element | None:
    """The first element down ``path`` of local names (``None`` if absent)."""
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _local(c.tag) == name), None)
    return el


def _children(el: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if el is None else [c for c in el if _local(c.tag) == name]


def _text(el: ET.Element | None, *path: str) -> str | None:
    el = _child(el, *path)
    t = el.text.strip() if el is not None and el.text else ""
    return t or None


def _account(acct: ET.Element | None) -> str | None:
    return _text(acct, "Id", "IBAN") or _text(acct, "Id", "Othr", "Id")


def _date(el: ET.Element | None) -> dt.date | None:
    raw = _text(el, "Dt") or (_text(el, "DtTm") or "")[:10]
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _party_name(parties: ET.Element | None, role: str) -> str | None:
    return _text(parties, role, "Nm") or _text(parties, role, "Pty", "Nm")


def _money(text: str | None) -> Decimal:
    try:
        d = Decimal(text or "")
    except InvalidOperation:
        msg = f"amount {text!r} is not a number"
        raise ValueError(msg) from None
    if not d.is_finite() or abs(d) >= 10**16:
        msg = f"amount {text!r} is not a finite amount below 10^16"
        raise ValueError(msg)
    if d != d.quantize(Decimal("0.01")):
        msg = f"amount {text} has more than 2 decimal places (money is exact to the fen)"
        raise ValueError(msg)
    return d.quantize(Decimal("0.01"))


def _row(ntry: ET.Element, tx: ET.Element | None, batch: bool, acct: str | None,
         ref: str) -> tuple:
    """One row from an entry and (optionally) one of its ``TxDtls``."""
    amt = _child(ntry, "Amt")
    ind = _text(ntry, "CdtDbtInd")
    if batch and tx is not None:
        amt = _child(tx, "Amt")
        amt = amt if amt is not None else _child(tx, "AmtDtls", "TxAmt", "Amt")
        ind = _text(tx, "CdtDbtInd") or ind
    if amt is None:
        msg = "no Amt"
        raise ValueError(msg)
    direction = {"DBIT": "debit", "CRDT": "credit"}.get(ind or "")
    if direction is None:
        msg = f"CdtDbtInd {ind!r} is not DBIT or CRDT"
        raise ValueError(msg)
    value_date = _date(_child(ntry, "ValDt")) or _date(_child(ntry, "BookgDt"))
    if value_date is None:
        msg = "no readable ValDt or BookgDt"
        raise ValueError(msg)
    parties = _child(tx, "RltdPties")
    if direction == "debit":
        payer, payee = acct, _account(_child(parties, "CdtrAcct"))
        name = _party_name(parties, "Cdtr")
    else:
        payer, payee = _account(_child(parties, "DbtrAcct")), acct
        name = _party_name(parties, "Dbtr")
    if payee is None:
        msg = ("no counterparty account (RltdPties/CdtrAcct)" if direction == "debit"
               else "no statement account (Acct/Id)") + ": payee_account is required"
        raise ValueError(msg)
    e2e = _text(tx, "Refs", "EndToEndId")
    return (ref, value_date, _money(amt.text), payee, None if e2e == "NOTPROVIDED" else e2e,
            payer, name, direction, amt.get("Ccy") or None)


def _root(path: Path) -> ET.Element:
    data = path.read_bytes()
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        msg = "XML with a DTD or entities is not accepted in a bank statement"
        raise DataError(msg, file=str(path))
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, ValueError) as exc:
        msg = f"not well-formed XML ({exc})"
        raise DataError(msg, file=str(path)) from None
    doc = root if _local(root.tag) == "BkToCstmrStmt" else _child(root, "BkToCstmrStmt")
    if doc is None:
        msg = f"not a camt.053 statement (root element {_local(root.tag)!r}, no BkToCstmrStmt)"
        raise DataError(msg, file=str(path))
    if not _children(doc, "Stmt"):
        msg = "camt.053 document without any statement (Stmt)"
        raise DataError(msg, file=str(path))
    return doc


def parse_camt053(path: Path, rel: str, settings: Settings) -> tuple[pl.DataFrame, FileReport]:
    """Read one camt.053 file into canonical ``bank_transactions`` columns."""
    report = FileReport("bank_transactions", rel, "camt053")
    rows: list[tuple] = []
    entry_no = 0
    for stmt in _children(_root(path), "Stmt"):
        acct = _account(_child(stmt, "Acct"))
        for ntry in _children(stmt, "Ntry"):
            entry_no += 1
            txs = [t for d in _children(ntry, "NtryDtls") for t in _children(d, "TxDtls")]
            ref = _text(ntry, "AcctSvcrRef") or _text(ntry, "NtryRef") or f"{rel}:{entry_no}"
            batch = len(txs) > 1
            for k, tx in enumerate(txs if batch else [txs[0] if txs else None], start=1):
                report.read += 1
                row_ref = (_text(tx, "Refs", "AcctSvcrRef") or f"{ref}#{k}") if batch else ref
                try:
                    rows.append(_row(ntry, tx, batch, acct, row_ref))
                except ValueError as exc:
                    where = f"entry {entry_no}" + (f" TxDtls #{k}" if batch else "")
                    report.error(entry_no, f"{where} ({row_ref}): {exc}")
                    continue
                report.kept += 1
    schema = TABLES["bank_transactions"].polars_schema(settings.timezone)
    return pl.DataFrame(
        {c: pl.Series(c, [r[i] for r in rows], dtype=schema[c]) for i, c in enumerate(_NAMES)}
    ).select(schema.names()), report


class Camt053Parser:
    name = "camt053"
    table = "bank_transactions"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<" and bool(_SNIFF.search(head))

    def parse(self, path: Path, rel: str, settings: Settings) -> tuple[pl.DataFrame, FileReport]:
        return parse_camt053(path, rel, settings)


register(Camt053Parser())
