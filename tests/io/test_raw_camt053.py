"""ISO 20022 camt.053 statements → bank_transactions."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from auditlib.config import Settings
from auditlib.errors import DataError
from auditlib.io.raw import pick
from auditlib.io.raw.camt053 import Camt053Parser
from auditlib.schemas import TABLES

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"shared samples folder {SAMPLES} is absent"
)
CAMT = SAMPLES / "iso20022" / "camt053"
SETTINGS = Settings.from_mapping({"timezone": "Asia/Shanghai"})
COLS = ("bank_ref", "value_date", "amount", "payee_account", "voucher_id", "payer_account",
        "payee_name", "direction", "currency")
D = dt.date
NL26, NL56 = "NL26VAYB8060476890", "NL56AGDH9619008421"

EXPECTED = {
    "genkgo__camt053.v2.all-balance-types.xml": [
        ("genkgo__camt053.v2.all-balance-types.xml:1", D(2015, 1, 2), Decimal("8.85"),
         "CH2801234000123456789", "000000001", None, None, "credit", "EUR")],
    "genkgo__camt053.v2.five.decimals.xml": [  # 8.850: exact in two places
        ("genkgo__camt053.v2.five.decimals.xml:1", D(2015, 1, 2), Decimal("8.85"), NL26,
         "000000001", None, None, "credit", "EUR")],
    "genkgo__camt053.v2.minimal.xml": [
        ("genkgo__camt053.v2.minimal.xml:1", D(2015, 1, 2), Decimal("8.85"), NL26, None, NL56,
         "NAME NAME", "credit", "EUR")],
    "genkgo__camt053.v2.multi.statement.xml": [
        ("genkgo__camt053.v2.multi.statement.xml:1", D(2015, 1, 2), Decimal("8.85"), NL26,
         "000000001", None, None, "credit", "EUR"),
        ("genkgo__camt053.v2.multi.statement.xml:2", D(2015, 1, 2), Decimal("7.00"), NL56,
         "000000002", NL26, "Company Name 2", "debit", "EUR")],
    "genkgo__camt053.v4.xml": [
        ("AAAASESS-FP-CN_98765/01", D(2015, 1, 2), Decimal("8.85"), NL26, None, NL56,
         "NAME NAME", "credit", "EUR")],
    "genkgo__camt053.v8.xml": [  # v8: the party's name sits in Dbtr/Pty/Nm
        ("AAAASESS-FP-CN_98765/01", D(2015, 1, 2), Decimal("8.85"), NL26, "MUELL/FINP/RA12345",
         NL56, "NAME NAME", "credit", "EUR")],
    "genkgo__camt53.only-Dt-with-DtTm.xml": [],  # a statement without entries
}


@needs_samples
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_camt053_samples(name):
    f = CAMT / name
    parser = pick("bank_transactions", f)
    assert parser.name == "camt053"
    df, rep = parser.parse(f, name, SETTINGS)
    assert df.schema == TABLES["bank_transactions"].polars_schema("Asia/Shanghai")
    assert df.select(COLS).rows() == EXPECTED[name]
    assert (rep.read, rep.kept, rep.skipped) == (len(EXPECTED[name]),) * 2 + (0,)


@needs_samples
def test_statement_file_without_statement_is_an_error_naming_it():
    f = CAMT / "genkgo__camt053.v2.wrong.xml"
    assert Camt053Parser().sniff(f.read_bytes(), f)
    msg = r"genkgo__camt053\.v2\.wrong\.xml: camt\.053 document without any statement"
    with pytest.raises(DataError, match=msg):
        Camt053Parser().parse(f, f.name, SETTINGS)


@needs_samples
@pytest.mark.parametrize("folder", ["camt052", "camt054", "pain001"])
def test_other_iso20022_messages_are_not_statements(folder):
    files = sorted((SAMPLES / "iso20022" / folder).glob("*.xml"))
    assert files
    for f in files:
        assert not Camt053Parser().sniff(f.read_bytes()[:65536], f), f.name
        with pytest.raises(DataError, match=re.escape(f.name)):
            pick("bank_transactions", f)


def _doc(entries: str, acct: str = "<IBAN>CN0011</IBAN>") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.10">
 <BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId></GrpHdr>
  <Stmt><Id>S1</Id><Acct><Id>{acct}</Id></Acct>{entries}</Stmt>
 </BkToCstmrStmt>
</Document>"""


def _ntry(amount: str, body: str = "", ind: str = "DBIT", dates: str = "") -> str:
    dates = dates or "<ValDt><Dt>2026-03-02</Dt></ValDt>"
    return (f'<Ntry><Amt Ccy="CNY">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd>{dates}'
            f"{body}</Ntry>")


def _tx(e2e: str, acct: str, name: str, amount: str = "") -> str:
    amt = f'<Amt Ccy="CNY">{amount}</Amt>' if amount else ""
    return (f"<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>{amt}<RltdPties>"
            f"<Cdtr><Nm>{name}</Nm></Cdtr><CdtrAcct><Id><Othr><Id>{acct}</Id></Othr></Id>"
            f"</CdtrAcct></RltdPties></TxDtls>")


def test_batches_fallback_refs_dates_and_bad_amounts(tmp_path):
    batch = "<NtryDtls>" + _tx("V1", "6222001", "张三", "100.00") + _tx(
        "NOTPROVIDED", "6222002", "李四", "200.50") + "</NtryDtls>"
    entries = "".join([
        _ntry("300.50", "<AcctSvcrRef>BR-7</AcctSvcrRef>" + batch),
        _ntry("300.50", batch),
        _ntry("12.345", "<NtryRef>R3</NtryRef><NtryDtls>" + _tx("V3", "6222003", "王五")
              + "</NtryDtls>"),
        _ntry("9.99", "<NtryDtls>" + _tx("V4", "6222004", "赵六") + "</NtryDtls>",
              dates="<BookgDt><DtTm>2026-03-05T23:30:00+08:00</DtTm></BookgDt>"),
        _ntry("5.00", "<NtryRef>FEE</NtryRef>"),  # a bank fee: no counterparty account
        _ntry("1,000.00", "<NtryRef>R6</NtryRef>", ind="CRDT"),
        _ntry("(-1.00)", "<NtryRef>R7</NtryRef>", ind="CRDT",
              dates="<ValDt><DtTm>2026-03-07T01:00:00</DtTm></ValDt>"),
        _ntry("-3.10", "<NtryRef>R8</NtryRef>", ind="CRDT",
              dates="<ValDt><DtTm>2026-03-08T01:00:00</DtTm></ValDt>"),
    ])
    f = tmp_path / "s.xml"
    f.write_text(_doc(entries), encoding="utf-8")
    df, rep = Camt053Parser().parse(f, "2026/s.xml", SETTINGS)
    assert df.select(COLS).rows() == [
        ("BR-7#1", D(2026, 3, 2), Decimal("100.00"), "6222001", "V1", "CN0011", "张三", "debit",
         "CNY"),
        ("BR-7#2", D(2026, 3, 2), Decimal("200.50"), "6222002", None, "CN0011", "李四", "debit",
         "CNY"),
        ("2026/s.xml:2#1", D(2026, 3, 2), Decimal("100.00"), "6222001", "V1", "CN0011", "张三",
         "debit", "CNY"),
        ("2026/s.xml:2#2", D(2026, 3, 2), Decimal("200.50"), "6222002", None, "CN0011", "李四",
         "debit", "CNY"),
        ("2026/s.xml:4", D(2026, 3, 5), Decimal("9.99"), "6222004", "V4", "CN0011", "赵六",
         "debit", "CNY"),
        ("R8", D(2026, 3, 8), Decimal("-3.10"), "CN0011", None, None, None, "credit", "CNY"),
    ]
    assert (rep.read, rep.kept, rep.skipped) == (10, 6, 4)
    assert [e.split(": ", 2)[1:] for e in rep.errors] == [
        ["record 3", "entry 3 (R3): amount 12.345 has more than 2 decimal places (money is "
                     "exact to the fen)"],
        ["record 5", "entry 5 (FEE): no counterparty account (RltdPties/CdtrAcct): payee_account "
                     "is required"],
        ["record 6", "entry 6 (R6): amount '1,000.00' is not a number"],
        ["record 7", "entry 7 (R7): amount '(-1.00)' is not a number"],
    ]


def test_invalid_xml_and_dtd_are_errors(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text(_doc(_ntry("1.00"))[:-30], encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.xml: not well-formed XML"):
        Camt053Parser().parse(bad, "bad.xml", SETTINGS)
    dtd = tmp_path / "dtd.xml"
    dtd.write_text('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]>'
                   + _doc(_ntry("1.00")).split("?>", 1)[1], encoding="utf-8")
    with pytest.raises(DataError, match=r"dtd\.xml: XML with a DTD"):
        Camt053Parser().parse(dtd, "dtd.xml", SETTINGS)


def test_amounts_that_are_not_money_are_reported(tmp_path):
    f = tmp_path / "m.xml"
    body = "<NtryDtls>" + _tx("V1", "6222001", "张三") + "</NtryDtls>"
    f.write_text(_doc(_ntry("NaN", body) + _ntry("1e20", body) + _ntry("0.10", body)),
                 encoding="utf-8")
    df, rep = Camt053Parser().parse(f, "m.xml", SETTINGS)
    assert df["amount"].to_list() == [Decimal("0.10")]
    assert (rep.read, rep.kept, rep.skipped) == (3, 1, 2)
    assert all("not a finite amount" in e for e in rep.errors)
