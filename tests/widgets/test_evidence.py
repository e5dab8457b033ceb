"""Selecting an alert shows its explanation and evidence rows, masked by default; timeline."""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.io.tables import Dataset
from auditlib.testing import small_world
from auditlib.widgets.evidence import fetch_evidence
from auditlib.widgets.panels import EvidencePanel, TimelinePanel
from auditlib.widgets.session import Session
from auditlib.widgets.workbench import TABS, Workbench


def _click_first_row(wb: Workbench) -> str:
    _box, btn, _ = wb.explorer._pool[0]
    btn.click()
    return btn.tooltip


def test_selection_shows_the_evidence_masked(session: Session) -> None:
    wb = Workbench(session=session)
    aid = _click_first_row(wb)
    alert = session.alert(aid)
    assert wb.explorer.selected == aid and wb.triage.alert_id == aid
    head, body = wb.evidence.head.value, wb.evidence.body.value
    assert alert["title"] in head
    assert alert["explanation"][:8] in head or "***" in head
    refs = alert["evidence"]
    vouchers = [r.split(":", 1)[1] for r in refs]
    rows = session.dataset["payments"].filter(pl.col("voucher_id").is_in(vouchers))
    assert f"payments · {len(refs)} 行" in body
    for v in vouchers:
        assert v in body
    for acct in rows["payee_account"].unique():
        assert acct not in body, "account numbers are masked by default"
        assert acct[:4] + "*" in body
    # the explanation names the account too: masked there as well
    assert alert["entity_id"] not in head


def test_unmask_toggle_shows_personal_data(session: Session) -> None:
    panel = EvidencePanel(session, lang="en")
    aid = session.alerts["alert_id"][0]
    panel.show(aid)
    acct = session.alert(aid)["entity_id"]
    assert acct not in panel.body.value
    panel.unmask.value = True
    assert acct in panel.body.value and acct in panel.head.value
    assert "Evidence not found" not in panel.body.value
    panel.unmask.value = False
    assert acct not in panel.body.value


def test_composite_keys_and_missing_refs() -> None:
    ds = small_world()
    payroll = ds["payroll"].head(2)
    refs = payroll.select(ref("payroll", "unit_id", "employee_id", "month"))["ref"].to_list()
    fa = ds["final_accounts"].head(1)
    fa_ref = fa.select(ref("final_accounts", "unit_id", "fiscal_year", "economic_class"))["ref"][0]
    ev = fetch_evidence(ds, [refs[1], "payroll:U0001|NOPE|2026-01", refs[0], fa_ref, refs[1]])
    got = ev.tables["payroll"].select("unit_id", "employee_id", "month").rows()
    want = payroll.select("unit_id", "employee_id", "month").rows()
    assert got == [want[1], want[0]], "rows come in the order the alert lists them, once each"
    assert ev.tables["final_accounts"].height == 1
    assert ev.missing == ["payroll:U0001|NOPE|2026-01"]


def test_personal_names_are_masked() -> None:
    ds = small_world()
    sub = ds["subsidies"].head(2)
    ev = fetch_evidence(ds, [f"subsidies:{d}" for d in sub["disbursement_id"]])
    masked = ev.masked().tables["subsidies"]
    for name, ident in sub.select("beneficiary_name", "beneficiary_id").rows():
        assert name in ev.names()
        assert name not in masked["beneficiary_name"].to_list()
        assert masked.filter(pl.col("beneficiary_name") == name[0] + "*" * (len(name) - 1)).height
        if len(ident) == 18:
            assert ident not in masked["beneficiary_id"].to_list()


def test_table_not_loaded_is_said() -> None:
    ds = small_world()
    part = Dataset({"payments": ds["payments"]}, ds.report, ds.settings, ds.data_dir)
    ev = fetch_evidence(
        part, ["bank_transactions:B1", f"payments:{ds['payments']['voucher_id'][0]}"]
    )
    assert ev.not_loaded == ["bank_transactions:B1"] and ev.tables["payments"].height == 1


def test_timeline_of_the_selected_entity(session: Session) -> None:
    wb = Workbench(session=session)
    aid = _click_first_row(wb)
    entity = session.alert(aid)["entity_id"]
    assert wb.timeline.entity.value == entity and wb.timeline.stale
    wb.tabs.selected_index = TABS.index("timeline")  # computed when its tab opens
    ev = wb.timeline.events
    assert ev is not None and ev.height > 0 and not wb.timeline.stale
    assert "payments" in set(ev["source"])
    assert aid in set(ev["alerts"].explode().drop_nulls())
    html = wb.timeline.out.value
    assert f"{ev.height:,} 事件" in html and aid in html
    assert entity not in html.split("</h4>", 1)[1], "accounts masked in the events by default"


def test_timeline_typed_id(session: Session) -> None:
    panel = TimelinePanel(session, lang="en")
    user = session.dataset["payments"]["created_by"].drop_nulls()[0]
    panel.entity.value = user
    panel.go.click()
    assert panel.events is not None and panel.events.height > 0
    assert (panel.events["actor"] == user).any()
    assert "events" in panel.out.value
