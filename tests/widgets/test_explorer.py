"""Alert explorer: filters → table content, page size, sort, the summary strip; zh/en."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from auditlib.widgets.explorer import AlertExplorer
from auditlib.widgets.query import AlertFilter, AlertQuery
from auditlib.widgets.session import Session


def visible_ids(ex: AlertExplorer) -> list[str]:
    """Alert ids of the rows on screen, read from the rendered row widgets."""
    out = []
    for box, btn, html in ex._pool:
        if box.layout.display != "none":
            assert btn.tooltip in html.value
            out.append(btn.tooltip)
    return out


def test_session_holds_the_run(session: Session) -> None:
    df = session.alerts
    assert df.height > 50, "the busy run must give more than one page"
    assert set(df["detector_id"]) <= {"payments.split", "payments.duplicate"}
    assert {"domain", "region_code", "unit_name", "status", "sev_rank"} <= set(df.columns)
    assert (df["status"] == "new").all()
    assert df["region_code"].null_count() == df["unit_id"].null_count()


def test_renders_only_one_page(session: Session) -> None:
    ex = AlertExplorer(session, page_size=20)
    ids = visible_ids(ex)
    total = session.alerts.height
    assert len(ids) == 20
    assert ex.current is not None and ex.current.pages == -(-total // 20)
    assert f"/ {total:,}" in ex.w_page.value
    ex.go(ex.current.pages - 1)
    last = visible_ids(ex)
    assert len(last) == total - 20 * (ex.current.pages - 1)
    assert not set(last) & set(ids)
    assert ex.w_next.disabled and not ex.w_prev.disabled
    ex.go(999)  # clamped to the last page
    assert visible_ids(ex) == last


def test_default_order_is_the_engine_order(session: Session) -> None:
    ex = AlertExplorer(session, page_size=50)
    expected = session.alerts.sort(
        ["sev_rank", "score", "alert_id"], descending=[True, True, False]
    )
    assert visible_ids(ex) == expected["alert_id"].head(50).to_list()


@pytest.mark.parametrize("descending", [True, False])
def test_sort_by_amount(session: Session, descending: bool) -> None:
    ex = AlertExplorer(session, page_size=30)
    ex.set_sort("amount", descending=descending)
    rows = ex.current.rows
    amounts = [a for a in rows["amount"].to_list() if a is not None]
    assert amounts == sorted(amounts, reverse=descending)
    assert visible_ids(ex) == rows["alert_id"].to_list()
    # the first row on screen shows its amount as money
    first = ex._pool[0][2].value
    assert f"{amounts[0]:,.2f}" in first


def test_filters_match_polars(session: Session) -> None:
    df = session.alerts
    unit = df["unit_id"].drop_nulls()[0]
    mid = float(df["amount"].drop_nulls().sort()[df["amount"].drop_nulls().len() // 2])
    ex = AlertExplorer(session, page_size=500)
    cases = [
        ({"detectors": ["payments.duplicate"]}, pl.col("detector_id") == "payments.duplicate"),
        ({"domains": ["payments"]}, pl.col("domain") == "payments"),
        ({"severities": ["high"]}, pl.col("severity") == "high"),
        ({"units": [unit]}, pl.col("unit_id") == unit),
        (
            {"regions": [df["region_code"].drop_nulls()[0]]},
            pl.col("region_code") == df["region_code"].drop_nulls()[0],
        ),
        ({"min_amount": mid}, pl.col("amount") >= Decimal(str(mid))),
        (
            {"date_from": dt.date(2026, 3, 1), "date_to": dt.date(2026, 3, 31)},
            pl.col("event_time").dt.date().is_between(dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
        ),
        ({"statuses": ["new"]}, pl.col("status") == "new"),
    ]
    for values, expr in cases:
        ex.clear()
        ex.set_filter(**values)
        want = set(df.filter(expr.fill_null(False))["alert_id"])
        assert set(visible_ids(ex)) == want, values
        assert ex.current.total == len(want)
        assert want, f"{values} should keep some alerts on the busy world"
    ex.clear()
    assert ex.current.total == df.height


def test_unknown_filter_is_an_error(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown filter"):
        AlertExplorer(session).set_filter(colour="red")


def test_summary_strip(session: Session) -> None:
    ex = AlertExplorer(session)
    ex.set_filter(detectors=["payments.split"])
    s = session.query.summary(ex.filter)
    split = session.alerts.filter(pl.col("detector_id") == "payments.split")
    assert s["total"] == split.height
    assert sum(s["by_severity"].values()) == split.height
    assert s["amount"] == split["amount"].sum()
    assert f"{s['amount']:,.2f}" in ex.w_summary.value
    assert f"<b>{split.height:,}</b>" in ex.w_summary.value


def test_text_search_and_empty_result(session: Session) -> None:
    ex = AlertExplorer(session)
    aid = session.alerts["alert_id"][3]
    ex.set_filter(text=aid.upper())
    assert visible_ids(ex) == [aid]
    ex.set_filter(text="no such thing at all")
    assert visible_ids(ex) == []
    assert "没有符合条件的告警" in ex.w_rows.children[0].value


def test_language_switch(session: Session) -> None:
    ex = AlertExplorer(session, lang="zh")
    assert "严重性" in ex.w_header.value and "涉及金额" in ex.w_header.value
    ex.set_filter(severities=["high"])
    ex.set_lang("en")
    assert "Severity" in ex.w_header.value and "Amount at risk" in ex.w_header.value
    assert ex.filters.multi["severities"].value == ("high",), "switching language keeps the filters"
    row = session.alerts.filter(pl.col("alert_id") == visible_ids(ex)[0]).row(0, named=True)
    assert row["title_en"][:20] in ex._pool[0][2].value


def test_query_caches_and_invalidates(session: Session) -> None:
    q = AlertQuery(session.alerts)
    f = AlertFilter(domains=("payments",))
    a = q.filtered(f)
    assert q.filtered(f) is a
    q.update(session.alerts.head(3))
    assert q.filtered(f).height <= 3
