"""Loading tables per the data contract: encodings, headers, types, and every promised error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from auditlib.cli import main
from auditlib.config import Settings
from auditlib.errors import DataError
from auditlib.io.tables import load_dir

HEAD_EN = "voucher_id,unit_id,indicator_id,pay_date,amount,payee_name,payee_account,economic_class"
HEAD_ZH = "支付凭证号,单位编码,指标编码,支付日期,支付金额,收款人名称,收款人账号,经济分类编码"
SETTINGS = Settings.from_mapping({"as_of": "2026-06-30"})


def write(d: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = d / name
    p.write_bytes(text.encode(encoding))
    return p


def test_gb18030_with_chinese_headers_and_money_formats(tmp_path: Path) -> None:
    rows = [
        HEAD_ZH + ",状态,制单时间",
        'V001 ,U01,I01,2026/3/5,"1,234.50",杭州（某）公司,\u30000123456,30201,已支付,2026-03-05 09:00',
        "V002,U01,I01,20260306,￥(100.00),某公司,0123457,30201,,2026-03-06T10:00:00+08:00",
        "V003,U01,I01,2026-03-07,¥7,某公司,0123458,30201,退票,2026-03-07 01:00:00Z",
    ]
    write(tmp_path, "payments.csv", "\n".join(rows) + "\n", "gb18030")
    ds = load_dir(tmp_path, SETTINGS)
    df = ds["payments"]
    assert df["voucher_id"].to_list() == ["V001", "V002", "V003"]
    assert df["payee_account"].to_list() == ["0123456", "0123457", "0123458"]  # zeros kept, spaces gone
    assert df["amount"].to_list() == [Decimal("1234.50"), Decimal("-100.00"), Decimal("7.00")]
    assert df["status"].to_list() == ["paid", "paid", "returned"]
    assert df["pay_date"].to_list() == [dt.date(2026, 3, 5), dt.date(2026, 3, 6), dt.date(2026, 3, 7)]
    assert df.schema["created_at"] == pl.Datetime("us", "Asia/Shanghai")
    assert [t.hour for t in df["created_at"]] == [9, 10, 9]
    assert df.schema["amount"] == pl.Decimal(18, 2)
    assert "gb18030" in ds.report.files[0].format


def test_utf8_bom_and_header_case(tmp_path: Path) -> None:
    text = "\ufeff" + HEAD_EN.upper() + "\nV1,U1,I1,2026-01-05,10.5,A,001,302\n"
    write(tmp_path, "payments.csv", text)
    df = load_dir(tmp_path, SETTINGS)["payments"]
    assert df["voucher_id"].to_list() == ["V1"]
    assert df["amount"][0] == Decimal("10.50")
    assert "utf-8" in load_dir(tmp_path, SETTINGS).report.files[0].format


def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    write(tmp_path, "payments.csv", "voucher_id,unit_id\nV1,U1\n")
    with pytest.raises(DataError) as e:
        load_dir(tmp_path, SETTINGS)
    assert "payments.csv" in str(e.value) and "indicator_id" in str(e.value)
    assert e.value.column == "indicator_id"


def test_unparsable_money_rejects_table_naming_row_and_column(tmp_path: Path) -> None:
    write(tmp_path, "payments.csv", HEAD_EN + "\nV1,U1,I1,2026-01-05,10,A,1,302\nV2,U1,I1,2026-01-05,12.345,A,1,302\n")
    with pytest.raises(DataError) as e:
        load_dir(tmp_path, SETTINGS)
    msg = str(e.value)
    assert "payments.csv" in msg and "row 2" in msg and "'amount'" in msg and "12.345" in msg
    assert (e.value.row, e.value.column) == (2, "amount")


def test_bad_optional_value_is_nulled_and_counted(tmp_path: Path) -> None:
    write(tmp_path, "payments.csv", HEAD_EN + ",status,created_at\n"
          "V1,U1,I1,2026-01-05,10,A,1,302,weird,2026-13-01 10:00\nV2,U1,I1,2026-01-05,11,A,1,302,paid,\n")
    ds = load_dir(tmp_path, SETTINGS)
    df = ds["payments"]
    assert df.height == 2
    assert df["status"].to_list() == [None, "paid"]
    assert df["created_at"].to_list() == [None, None]
    assert ds.report.files[0].nulled == {"status": 1, "created_at": 1}


def test_duplicate_key_names_both_rows(tmp_path: Path) -> None:
    write(tmp_path, "payments.csv", HEAD_EN + "\nV1,U1,I1,2026-01-05,10,A,1,302\n"
          "V2,U1,I1,2026-01-05,10,A,1,302\nV1,U1,I1,2026-01-06,10,A,1,302\n")
    with pytest.raises(DataError, match=r"duplicate key voucher_id = 'V1' \(rows 1 and 3\)"):
        load_dir(tmp_path, SETTINGS)


def test_duplicate_keys_interleaved_name_rows_of_one_key(tmp_path: Path) -> None:
    rows = ["V1,U1,I1,2026-01-05,10,A,1,302", "V2,U1,I1,2026-01-05,10,A,1,302",
            "V1,U1,I1,2026-01-06,10,A,1,302", "V2,U1,I1,2026-01-06,10,A,1,302"]
    write(tmp_path, "payments.csv", HEAD_EN + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"voucher_id = 'V1' \(rows 1 and 3\)"):
        load_dir(tmp_path, SETTINGS)


def test_composite_key_duplicate(tmp_path: Path) -> None:
    write(tmp_path, "payroll.csv", "unit_id,employee_id,month,amount,account_no,pay_date\n"
          "U1,E1,2026-01,100,1,2026-01-10\nU1,E1,2026-1,100,1,2026-01-11\n")
    with pytest.raises(DataError, match="unit_id\\+employee_id\\+month"):
        load_dir(tmp_path, SETTINGS)


def test_both_names_for_one_column_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "payments.csv", HEAD_EN + ",支付金额\nV1,U1,I1,2026-01-05,10,A,1,302,10\n")
    with pytest.raises(DataError, match="'amount' twice"):
        load_dir(tmp_path, SETTINGS)


def test_two_sources_for_one_table(tmp_path: Path) -> None:
    write(tmp_path, "payments.csv", HEAD_EN + "\n")
    pl.DataFrame({"voucher_id": ["V1"]}).write_parquet(tmp_path / "payments.parquet")
    with pytest.raises(DataError, match="payments.csv and payments.parquet"):
        load_dir(tmp_path, SETTINGS)


def test_xlsx_numeric_ids_written_back_and_too_long_is_an_error(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEAD_ZH.split(","))
    ws.append(["V1", "U1", "I1", dt.date(2026, 3, 5), 1234.5, "某公司", 6222000012345, 30201])
    wb.save(tmp_path / "payments.xlsx")
    df = load_dir(tmp_path, SETTINGS)["payments"]
    assert df["payee_account"][0] == "6222000012345"
    assert df["economic_class"][0] == "30201"
    assert df["amount"][0] == Decimal("1234.50")
    assert df["pay_date"][0] == dt.date(2026, 3, 5)

    ws.append(["V2", "U1", "I1", dt.date(2026, 3, 6), 1, "某公司", 6.22200001234567e18, 30201])
    wb.save(tmp_path / "payments.xlsx")
    with pytest.raises(DataError, match=r"cell G3 .*\(15\)"):
        load_dir(tmp_path, SETTINGS)


def test_parquet_typed_input(tmp_path: Path) -> None:
    pl.DataFrame({
        "voucher_id": ["V1"], "unit_id": ["U1"], "indicator_id": ["I1"],
        "pay_date": [dt.date(2026, 1, 5)], "amount": [12.5], "payee_name": ["A"],
        "payee_account": ["001"], "economic_class": ["302"],
        "created_at": [dt.datetime(2026, 1, 5, 9)],
    }).write_parquet(tmp_path / "payments.parquet")
    df = load_dir(tmp_path, SETTINGS)["payments"]
    assert df["amount"][0] == Decimal("12.50")
    assert df["created_at"][0].hour == 9 and str(df["created_at"][0].tzinfo) == "Asia/Shanghai"


@pytest.mark.parametrize("pad", ["", " ", "\u3000", "\t", "\ufeff"])
def test_parquet_ids_and_text_stripped_only_where_needed(tmp_path: Path, pad: str) -> None:
    """Clean id/text columns are taken as they are; one padded or empty value anywhere
    makes the column go through parsing (ids stripped, blank → null; a required one
    missing is an error; free text keeps its spaces unless it is blank)."""
    pl.DataFrame({
        "voucher_id": ["V1", f"V2{pad}"], "unit_id": ["U1", "U1"], "indicator_id": ["I1", "I1"],
        "pay_date": [dt.date(2026, 1, 5)] * 2, "amount": [12.5, 3.0],
        "payee_name": [f"{pad}某公司", "B"], "payee_account": ["001", "002"],
        "economic_class": ["30201", "30201"], "purpose": ["x", pad or "y"],
    }).write_parquet(tmp_path / "payments.parquet")
    df = load_dir(tmp_path, SETTINGS)["payments"]
    assert df["voucher_id"].to_list() == ["V1", "V2"]
    assert df["payee_name"].to_list() == [f"{pad}某公司", "B"]
    assert df["purpose"].to_list() == ["x", None if pad else "y"]
    pl.DataFrame({
        "voucher_id": ["V1", ""], "unit_id": ["U1", "U1"], "indicator_id": ["I1", "I1"],
        "pay_date": [dt.date(2026, 1, 5)] * 2, "amount": [12.5, 3.0],
        "payee_name": ["A", "B"], "payee_account": ["001", "002"],
        "economic_class": ["30201", "30201"],
    }).write_parquet(tmp_path / "payments.parquet")
    with pytest.raises(DataError, match="voucher_id"):
        load_dir(tmp_path, SETTINGS)


def test_unknown_extra_columns_are_kept(tmp_path: Path) -> None:
    write(tmp_path, "units.csv", "单位编码,单位名称,备注\n001,教育局,x\n")
    df = load_dir(tmp_path, SETTINGS)["units"]
    assert df.columns[-1] == "备注" and df["unit_id"][0] == "001"


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path, capsys) -> None:
    write(tmp_path, "payments.csv", HEAD_EN + "\nV1,U1,I1,not-a-date,10,A,1,302\n")
    out = tmp_path / "alerts.csv"
    assert main(["detect", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "payments.csv" in err and "row 1" in err and "pay_date" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_unknown_config_key_exits_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "auditlib.yaml").write_text("thresholds: {split_payment: 100}\nfoo: 1\n")
    assert main(["detect", str(tmp_path), "--out", str(tmp_path / "a.csv")]) == 2
    assert "unknown setting 'foo'" in capsys.readouterr().err


def test_cli_unknown_detector_parameter_exits_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "auditlib.yaml").write_text("detectors:\n  payments.split: {windw_days: 3}\n")
    assert main(["detect", str(tmp_path), "--out", str(tmp_path / "a.csv")]) == 2
    assert "windw_days" in capsys.readouterr().err


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/Berlin", "America/St_Johns"])
def test_parquet_naive_datetimes_read_as_wall_clock(tmp_path: Path, tz: str) -> None:
    """A naive Parquet datetime is wall-clock time in the run's zone: by a fixed offset
    where the zone has one over the data, by the zone rules across a DST change."""
    times = [dt.datetime(2026, 1, 5, 9, 30), dt.datetime(2026, 7, 1, 12),
             dt.datetime(2026, 10, 25, 0, 15)]
    pl.DataFrame({"event_id": ["1", "2", "3"], "event_time": times, "user_id": ["u"] * 3,
                  "action": ["login"] * 3}).write_parquet(tmp_path / "business_log.parquet")
    s = Settings.from_mapping({"as_of": "2026-12-31", "timezone": tz})
    got = load_dir(tmp_path, s)["business_log"]["event_time"].to_list()
    assert [t.replace(tzinfo=None) for t in got] == times
    assert got == [pl.Series([t]).dt.replace_time_zone(tz)[0] for t in times]
