"""The workbench's words in Chinese and English, in one table.

>>> label("severity", "zh"), label("severity", "en")
('严重性', 'Severity')
>>> sev_label("high", "zh")
'高'
>>> label("no_such_key", "en")
'no_such_key'
"""

from __future__ import annotations

from auditlib.report.audit import DOMAIN_ZH, SEV_ZH

LANGS = ("zh", "en")

LABELS: dict[str, tuple[str, str]] = {
    # tabs and panels
    "workbench": ("鹰眼审计工作台", "Eagle eye workbench"),
    "explorer": ("告警浏览", "Alerts"),
    "evidence": ("证据", "Evidence"),
    "timeline": ("追踪", "Timeline"),
    "triage": ("处理", "Triage"),
    "charts": ("图表", "Charts"),
    "lab": ("检测器实验室", "Detector lab"),
    # filters
    "detector": ("检测器", "Detector"),
    "domain": ("领域", "Domain"),
    "severity": ("严重性", "Severity"),
    "status": ("状态", "Status"),
    "unit": ("单位", "Unit"),
    "units_hint": ("单位编码，逗号分隔", "unit ids, comma-separated"),
    "region": ("行政区划", "Region"),
    "date_from": ("起始日期", "From"),
    "date_to": ("截止日期", "To"),
    "min_amount": ("最低金额", "Min amount"),
    "search": ("搜索", "Search"),
    "search_hint": ("告警编号、对象或标题", "alert id, entity or title"),
    "clear": ("清除筛选", "Clear filters"),
    "all": ("全部", "All"),
    "sort_by": ("排序", "Sort by"),
    "descending": ("降序", "Descending"),
    "page": ("页", "Page"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "view": ("查看", "View"),
    "lang": ("语言", "Language"),
    # columns
    "alert_id": ("告警编号", "Alert id"),
    "detector_id": ("检测器", "Detector"),
    "score": ("得分", "Score"),
    "entity": ("对象", "Entity"),
    "entity_id": ("对象", "Entity"),
    "unit_id": ("单位", "Unit"),
    "unit_name": ("单位名称", "Unit name"),
    "region_code": ("行政区划", "Region"),
    "event_time": ("发生时间", "Time"),
    "title": ("标题", "Title"),
    "amount": ("涉及金额", "Amount at risk"),
    # summary strip
    "alerts": ("告警", "Alerts"),
    "shown": ("筛选后", "Filtered"),
    "total_amount": ("涉及金额合计（元）", "Amount at risk (yuan)"),
    "no_alerts": ("没有符合条件的告警", "No alert matches the filters"),
    # evidence
    "select_alert": (
        "在告警表中点“查看”以查看证据",
        "Click “View” in the alert table to see the evidence",
    ),
    "explanation": ("说明", "Explanation"),
    "unmask": ("显示个人信息（身份证号、账号、姓名）", "Show personal data (IDs, accounts, names)"),
    "masked_note": ("个人信息已脱敏", "personal data masked"),
    "not_found": ("未在数据中找到的证据", "Evidence not found in the data"),
    "rows": ("行", "rows"),
    "table_not_loaded": ("该表未加载", "table not loaded"),
    # timeline
    "entity_hint": (
        "输入编号：用户、单位、凭证、账号……",
        "an id: user, unit, voucher, account, ...",
    ),
    "track": ("追踪", "Track"),
    "events": ("事件", "events"),
    "showing_first": ("仅显示前", "showing the first"),
    "time": ("时间", "Time"),
    "source": ("来源", "Source"),
    "ref": ("记录", "Record"),
    "event": ("事件", "Event"),
    "actor": ("操作人", "Actor"),
    "detail": ("详情", "Detail"),
    "alerts_col": ("相关告警", "Alerts"),
    # triage
    "confirm": ("确认", "Confirm"),
    "dismiss": ("排除", "Dismiss"),
    "reopen": ("重新打开", "Reopen"),
    "reason": ("理由", "Reason"),
    "reason_hint": ("为何确认或排除", "why confirm or dismiss"),
    "by": ("处理人", "By"),
    "need_reason": ("请填写处理人和理由", "Say who and why"),
    "no_store": (
        "未指定告警库（store），处理结果仅保存在本次会话",
        "No alert store: the status is kept in this session only",
    ),
    "saved": ("已保存", "saved"),
    "history": ("处理记录", "History"),
    # charts
    "by_unit": ("按单位", "By unit"),
    "by_region": ("按行政区划", "By region"),
    "weekly": ("每周告警", "Alerts per week"),
    "sangong": ("三公经费与三项限额", "三公 spending and its three limits"),
    "refresh": ("刷新", "Refresh"),
    # lab
    "params": ("参数", "Parameters"),
    "before": ("调整前", "Before"),
    "after": ("调整后", "After"),
    "added": ("新增告警", "Alerts added"),
    "removed": ("消失告警", "Alerts removed"),
    "seconds": ("耗时（秒）", "Seconds"),
    "reset": ("恢复默认", "Reset"),
    "bad_param": ("参数无效", "Invalid parameter"),
    "needs": ("需要数据表", "Needs tables"),
    "missing_tables": ("缺少数据表，无法运行", "Missing tables, cannot run"),
    "failed": ("运行失败", "Failed"),
}

STATUS_ZH = {
    "new": "新增",
    "open": "未处理",
    "confirmed": "已确认",
    "dismissed": "已排除",
    "resolved": "已消失",
}


def label(key: str, lang: str) -> str:
    """The label for ``key`` in ``lang`` (the key itself when none is defined)."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def pick(zh: str, en: str, lang: str) -> str:
    """``zh`` or ``en`` by ``lang``."""
    return zh if lang == "zh" else en


def sev_label(sev: str, lang: str) -> str:
    return SEV_ZH.get(sev, sev) if lang == "zh" else sev


def status_label(status: str, lang: str) -> str:
    return STATUS_ZH.get(status, status) if lang == "zh" else status


def domain_label(domain: str, lang: str) -> str:
    return f"{DOMAIN_ZH.get(domain, domain)} {domain}" if lang == "zh" else domain


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        msg = f"lang must be one of {', '.join(LANGS)}, got {lang!r}"
        raise ValueError(msg)
    return lang
