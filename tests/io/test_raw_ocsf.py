"""OCSF 1.x events → business_log."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from auditlib.config import Settings
from auditlib.errors import DataError
from auditlib.io.raw import pick
from auditlib.io.raw.ocsf import OcsfParser, parse_ocsf_file
from auditlib.schemas import TABLES

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"shared samples folder {SAMPLES} is absent"
)
SH = ZoneInfo("Asia/Shanghai")
SETTINGS = Settings.from_mapping({"timezone": "Asia/Shanghai"})
INVALID = {  # trailing commas upstream
    "aws_cloudtrail_v1.5.0__api_activity__generic_api_activity.ocsf",
    "aws_cloudtrail_v1.5.0__authentication__authentication.ocsf",
}


@needs_samples
def test_every_ocsf_sample():
    files = sorted((SAMPLES / "ocsf").glob("*.ocsf"))
    assert len(files) == 14
    kept: dict[str, object] = {}
    totals = {"read": 0, "kept": 0, "skipped": 0, "other_class": 0}
    for f in files:
        parser = pick("business_log", f)
        assert parser.name == "ocsf"
        df, rep = parser.parse(f, f.name, SETTINGS)
        assert df.schema == TABLES["business_log"].polars_schema("Asia/Shanghai")
        assert rep.read == 1
        for k in totals:
            totals[k] += getattr(rep, k)
        if f.name in INVALID:
            assert rep.skipped == 1 and df.height == 0
            assert rep.errors[0].startswith(f"{f.name}: record 1: not valid JSON")
            continue
        cls = json.loads(f.read_text(encoding="utf-8"))["class_uid"]
        assert df.height == (1 if cls in (6003, 3002) else 0), f.name
        assert rep.other_class == (0 if cls in (6003, 3002) else 1), f.name
        if df.height:
            kept[f.name] = df.row(0, named=True)
    assert totals == {"read": 14, "kept": 5, "skipped": 2, "other_class": 7}

    gh = kept["github_v1.3.0__api_activity__api_activity.ocsf"]
    assert gh["event_id"] == "m-111111111111=="
    assert gh["event_time"] == dt.datetime(2024, 10, 17, 14, 42, 46, 108000,
                                           tzinfo=dt.UTC).astimezone(SH)
    assert (gh["user_id"], gh["action"], gh["object_type"], gh["object_id"], gh["client_ip"],
            gh["result"], gh["user_role"], gh["unit_id"]) == (
        "51111", "git.push", None, "383067938", "1.1.1.1", None, None, None)
    assert gh["detail"] == json.dumps(
        {"external_id": "", "transport_protocol_name": "ssh", "business_id": 11, "user": "",
         "user_id": 0, "repository_public": False}, ensure_ascii=False, sort_keys=True)

    login = kept["github_v1.3.0__authentication__authentication.ocsf"]
    assert (login["action"], login["user_id"]) == ("login", "51111")

    aws = kept["aws_cloudtrail_v1.5.0__account_change__account_change.ocsf"]
    assert (aws["action"], aws["result"]) == ("DescribeTargetHealth", "success")
    assert aws["user_id"] == "arn:aws:sts::112233445566:assumed-role/AWSServiceRole/scheduler"

    # Okta's mapping writes epoch seconds in `time`: read as such (time_dt agrees)
    okta = kept["okta_v1.3.0__authentication__authentication.ocsf"]
    assert okta["event_time"] == dt.datetime(2024, 8, 13, 15, 58, 20, tzinfo=dt.UTC)
    assert (okta["action"], okta["result"], okta["client_ip"]) == ("login", "success", "10.0.0.1")


@needs_samples
def test_raw_vendor_json_is_not_ocsf():
    f = SAMPLES / "ocsf" / "okta_v1.3.0__authentication__authentication.raw"
    with pytest.raises(DataError, match=r"okta_v1\.3\.0__authentication__authentication\.raw"):
        pick("business_log", f)


def _event(uid: str | None, cls: int = 6003, **kw) -> dict:
    ev = {"class_uid": cls, "activity_id": kw.pop("activity_id", 1), "time": 1735700400000,
          "actor": {"user": {"uid": "u1", "groups": [{"name": "财务科"}, {"name": "x"}],
                             "org": {"uid": "U001"}}},
          "api": {"operation": "voucher_approve"}, "resources": [{"type": "voucher",
                                                                  "uid": "V9"}],
          "src_endpoint": {"ip": "10.0.0.7"}, "status": "Failure",
          "unmapped": {"新": "值", "a": 1}, **kw}
    if uid is not None:
        ev["metadata"] = {"uid": uid}
    return ev


def test_json_lines_bad_line_reported_rest_loaded(tmp_path):
    f = tmp_path / "business_log.jsonl"
    lines = [json.dumps(_event("e1")), '{"class_uid": 6003, "broken": ,}',
             json.dumps(_event(None, cls=3002, activity_id=2)), "",
             json.dumps(_event("e4", cls=4001)), json.dumps(_event(None))]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    df, rep = parse_ocsf_file(f, "business_log.jsonl", SETTINGS)
    assert (rep.read, rep.kept, rep.skipped, rep.other_class) == (5, 3, 1, 1)
    assert rep.errors[0].startswith("business_log.jsonl: record 2: not valid JSON")
    assert df["event_id"].to_list() == ["e1", "business_log.jsonl:3", "business_log.jsonl:6"]
    row = df.row(0, named=True)
    assert row == {
        "event_id": "e1", "event_time": dt.datetime(2025, 1, 1, 11, 0, tzinfo=SH),
        "user_id": "u1", "action": "voucher_approve", "user_role": "财务科", "unit_id": "U001",
        "object_type": "voucher", "object_id": "V9", "client_ip": "10.0.0.7",
        "result": "failure", "detail": '{"a": 1, "新": "值"}',
    }
    assert df["action"][1] == "logout"


def test_array_file_and_single_document(tmp_path):
    f = tmp_path / "events.json"
    f.write_text(json.dumps([_event(None), _event("x", cls=2004), _event(None, time=None)],
                            indent=2), encoding="utf-8")
    assert OcsfParser().sniff(f.read_bytes(), f)
    df, rep = OcsfParser().parse(f, "sub/events.json", SETTINGS)
    assert (rep.read, rep.kept, rep.other_class, rep.null_time) == (3, 2, 1, 1)
    assert df["event_id"].to_list() == ["sub/events.json:1", "sub/events.json:3"]
    one = tmp_path / "one.ocsf"
    one.write_text(json.dumps(_event(None, actor={}), indent=4), encoding="utf-8")
    df, rep = OcsfParser().parse(one, "one.ocsf", SETTINGS)
    assert (rep.read, rep.kept, rep.skipped) == (1, 0, 1)
    assert "user_id is required" in rep.errors[0]


def test_sniff():
    p = OcsfParser()
    assert p.sniff(b'\xef\xbb\xbf  {"class_uid": 6003}', Path("a.json"))
    assert p.sniff(b'[{"class_uid": 3002}]', Path("a.json"))
    assert not p.sniff(b'{"eventVersion": "1.08"}', Path("a.json"))
    assert not p.sniff(b"TIME,HOSTNAME,root", Path("a.json"))


def test_odd_values_are_reported_never_raised(tmp_path):
    f = tmp_path / "odd.json"
    odd = [{"class_uid": 6003, "actor": "bob", "api": [], "time": "abc"},
           {"class_uid": 3002, "activity_id": [1], "actor": {"user": {"uid": {"x": 1},
                                                                      "name": "li"}}},
           42, "text"]
    f.write_text(json.dumps(odd), encoding="utf-8")
    _, rep = OcsfParser().parse(f, "odd.json", SETTINGS)
    assert (rep.read, rep.kept, rep.skipped) == (4, 0, 4)
    assert [e.split(": ", 2)[1] for e in rep.errors] == [f"record {n}" for n in (1, 2, 3, 4)]


@needs_samples
def test_folder_of_real_ocsf_samples_loads_with_repeated_uids_kept(tmp_path: Path) -> None:
    """Upstream examples reuse metadata.uid across files: distinct events are kept, not dropped."""
    import shutil

    from auditlib.io.tables import load_dir

    shutil.copytree(SAMPLES / "ocsf", tmp_path / "business_log", ignore=shutil.ignore_patterns("*.raw"))
    ds = load_dir(tmp_path, Settings())
    bl = ds["business_log"]
    assert bl.height == 5 and bl["event_id"].is_unique().all()
    assert "m-111111111111==#2" in bl["event_id"].to_list()
    assert sum(f.skipped for f in ds.report.files) == 2  # the two invalid JSON files
