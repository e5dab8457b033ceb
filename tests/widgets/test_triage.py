"""Triage: confirm / dismiss / reopen with who and why, written to the store, shown in the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditlib.errors import AuditlibError
from auditlib.store import AlertStore
from auditlib.widgets.session import Session, default_user
from auditlib.widgets.workbench import Workbench

from .test_explorer import visible_ids


def _stored(path: Path, alert_id: str) -> dict:
    return AlertStore(path).alerts().filter(alert_id=alert_id).row(0, named=True)


def test_dismiss_then_reopen(session: Session, store_path: Path) -> None:
    wb = Workbench(session=session, lang="zh")
    aid = wb.explorer._pool[2][1].tooltip
    wb.select(aid)
    wb.triage.who.value = "li.na"
    wb.triage.reason.value = "合同分期付款，已核实 / instalments of one contract"
    wb.triage.buttons["dismiss"].click()
    row = _stored(store_path, aid)
    assert (row["status"], row["status_by"]) == ("dismissed", "li.na")
    assert row["status_reason"].startswith("合同分期付款")
    assert "dismissed" in wb.triage.message.value
    assert "已排除" in wb.explorer._pool[2][2].value, "the table shows the new status"
    assert wb.triage.reason.value == ""
    wb.explorer.set_filter(statuses=["dismissed"])
    assert visible_ids(wb.explorer) == [aid]
    wb.explorer.clear()
    assert wb.triage.apply("reopen", reason="new bank statement arrived", by="li.na") == "open"
    assert _stored(store_path, aid)["status"] == "open"
    hist = AlertStore(store_path).history(aid)
    assert hist["new"].to_list()[-2:] == ["dismissed", "open"]
    assert "new bank statement arrived" in wb.triage.history.value


def test_confirm_needs_who_and_why(session: Session, store_path: Path) -> None:
    wb = Workbench(session=session)
    aid = session.alerts["alert_id"][0]
    wb.select(aid)
    wb.triage.reason.value = "   "
    assert wb.triage.apply("confirm") is None
    assert "needs who made it and why" in wb.triage.message.value
    assert _stored(store_path, aid)["status"] == "new"
    assert wb.triage.apply("confirm", reason="与发票核对一致", by="") is None
    assert wb.triage.apply("confirm", reason="与发票核对一致", by="wang.q") == "confirmed"
    assert _stored(store_path, aid)["status"] == "confirmed"


def test_status_survives_a_new_session(session: Session, busy_world, store_path: Path) -> None:
    aid = session.alerts["alert_id"][1]
    session.triage(aid, "dismiss", by="zhao", reason="known supplier")
    again = Session.from_dataset(
        busy_world, store=store_path, detectors=["payments.split", "payments.duplicate"]
    )
    assert again.alert(aid)["status"] == "dismissed"
    assert again.alert(aid)["status_reason"] == "known supplier"


def test_without_a_store_status_is_kept_in_the_session(busy_world) -> None:
    s = Session.from_dataset(busy_world, detectors=["payments.duplicate"])
    wb = Workbench(session=s, lang="en")
    aid = s.alerts["alert_id"][0]
    wb.select(aid)
    assert wb.triage.apply("confirm", reason="checked", by="me") == "confirmed"
    assert "No alert store" in wb.triage.message.value
    assert s.alert(aid)["status"] == "confirmed"


def test_bad_action_and_unknown_alert(session: Session) -> None:
    with pytest.raises(AuditlibError, match="action must be one of"):
        session.triage(session.alerts["alert_id"][0], "delete", by="a", reason="b")
    with pytest.raises(AuditlibError, match="no alert"):
        session.triage("0000000000000000", "confirm", by="a", reason="b")


def test_default_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "auditor7")
    assert default_user() == "auditor7"
