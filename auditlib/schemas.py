"""The canonical tables of the data contract, declared once.

Every loader, parser, detector and test takes column names, Chinese aliases,
types, keys and enumerations from here (``../shared/spec/data-contract.md``).

Examples
--------
>>> TABLES["payments"].key
('voucher_id',)
>>> TABLES["payments"].column("amount").kind
'money'
>>> TABLES["payroll"].key
('unit_id', 'employee_id', 'month')
>>> resolve_header("支付金额", TABLES["payments"])
'amount'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import polars as pl

Kind = Literal["id", "text", "money", "date", "datetime", "int", "enum", "month"]

MONEY = pl.Decimal(18, 2)
"""Money: exact decimal yuan with two places."""


def datetime_type(timezone: str = "UTC") -> pl.Datetime:
    """The canonical timestamp type: microseconds, time-zone aware."""
    return pl.Datetime("us", time_zone=timezone)


ENUMS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "status": {
            "paid": "paid", "已支付": "paid", "支付成功": "paid", "": "paid",
            "returned": "returned", "退回": "returned", "退票": "returned",
            "cancelled": "cancelled", "作废": "cancelled", "撤销": "cancelled",
        },
        "pay_method": {
            "direct": "direct", "直接支付": "direct",
            "authorized": "authorized", "授权支付": "authorized",
        },
        "list_type": {
            "deceased": "deceased", "死亡人员": "deceased",
            "public_employee": "public_employee", "财政供养人员": "public_employee",
        },
        "period": {
            "month": "month", "月": "month", "quarter": "quarter", "季": "quarter",
            "year": "year", "年": "year", "once": "once", "一次性": "once",
        },
        "result": {"success": "success", "成功": "success", "failure": "failure", "失败": "failure"},
        "direction": {
            "debit": "debit", "借": "debit", "支出": "debit",
            "credit": "credit", "贷": "credit", "收入": "credit",
        },
        "account_type": {
            "zero_balance": "zero_balance", "basic": "basic", "special": "special", "real": "real",
            "零余额账户": "zero_balance", "基本账户": "basic", "专用账户": "special",
            "实有资金账户": "real",
        },
        "audit_class": {
            c.lower(): c for c in ("READ", "WRITE", "DDL", "ROLE", "FUNCTION", "MISC", "MISC_SET")
        },
    }
)
"""Accepted spellings of each enumerated column, mapped to the canonical value.

English keys are matched case-insensitively; an empty cell maps only where the
contract gives a default (``status`` → ``paid``)."""


@dataclass(frozen=True)
class Column:
    """One canonical column: name, Chinese alias, kind and whether it is required."""

    name: str
    zh: str
    kind: Kind
    required: bool = True

    @property
    def enum(self) -> Mapping[str, str] | None:
        return ENUMS.get(self.name) if self.kind == "enum" else None


@dataclass(frozen=True)
class Table:
    """One canonical table: its columns in order, its key and the raw formats it accepts."""

    name: str
    zh: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    raw_folder: bool = False
    """Whether a folder ``<table>/`` of raw files is accepted (db_audit, business_log, bank)."""
    json_file: bool = False
    """Whether ``<table>.jsonl``/``.json`` is accepted (business_log as OCSF)."""
    _by_name: Mapping[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", MappingProxyType({c.name: c for c in self.columns}))

    def column(self, name: str) -> Column:
        return self._by_name[name]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def polars_schema(self, timezone: str = "UTC") -> pl.Schema:
        """The typed schema a loaded table has (extra columns a file brings come after)."""
        return pl.Schema({c.name: polars_type(c.kind, timezone) for c in self.columns})

    def empty(self, timezone: str = "UTC") -> pl.DataFrame:
        """An empty frame with this table's canonical schema."""
        return pl.DataFrame(schema=self.polars_schema(timezone))


def polars_type(kind: Kind, timezone: str = "UTC") -> pl.DataType:
    return {
        "id": pl.String(), "text": pl.String(), "enum": pl.String(), "month": pl.String(),
        "money": MONEY, "date": pl.Date(), "datetime": datetime_type(timezone),
        "int": pl.Int64(),
    }[kind]


def _c(name: str, zh: str, kind: Kind, required: bool = True) -> Column:
    return Column(name, zh, kind, required)


def _opt(name: str, zh: str, kind: Kind) -> Column:
    return Column(name, zh, kind, False)


_TABLES = (
    Table("units", "预算单位", (
        _c("unit_id", "单位编码", "id"), _c("unit_name", "单位名称", "text"),
        _opt("region_code", "行政区划代码", "id"), _opt("parent_id", "上级单位编码", "id"),
    ), ("unit_id",)),
    Table("unit_accounts", "单位账户", (
        _c("account_no", "账号", "id"), _c("unit_id", "单位编码", "id"),
        _opt("account_name", "户名", "text"), _opt("account_type", "账户类型", "enum"),
    ), ("account_no",)),
    Table("indicators", "预算指标", (
        _c("indicator_id", "指标编码", "id"), _c("unit_id", "单位编码", "id"),
        _c("fiscal_year", "预算年度", "int"), _c("amount", "指标金额", "money"),
        _opt("economic_class", "经济分类编码", "id"), _opt("functional_class", "功能分类编码", "id"),
        _opt("fund_source", "资金来源", "text"), _opt("fund_label", "资金标识", "text"),
        _opt("project_id", "项目编码", "id"), _opt("purpose", "用途", "text"),
    ), ("indicator_id",)),
    Table("payments", "支付明细", (
        _c("voucher_id", "支付凭证号", "id"), _c("unit_id", "单位编码", "id"),
        _c("indicator_id", "指标编码", "id"), _c("pay_date", "支付日期", "date"),
        _c("amount", "支付金额", "money"), _c("payee_name", "收款人名称", "text"),
        _c("payee_account", "收款人账号", "id"), _c("economic_class", "经济分类编码", "id"),
        _opt("payee_bank", "收款人开户行", "text"), _opt("purpose", "摘要", "text"),
        _opt("pay_method", "支付方式", "enum"), _opt("status", "状态", "enum"),
        _opt("created_by", "制单人", "id"), _opt("approved_by", "审核人", "id"),
        _opt("created_at", "制单时间", "datetime"), _opt("approved_at", "审核时间", "datetime"),
    ), ("voucher_id",)),
    Table("final_accounts", "上年决算", (
        _c("unit_id", "单位编码", "id"), _c("fiscal_year", "年度", "int"),
        _c("economic_class", "经济分类编码", "id"), _c("amount", "决算金额", "money"),
    ), ("unit_id", "fiscal_year", "economic_class")),
    Table("subsidies", "一卡通补贴发放", (
        _c("disbursement_id", "发放流水号", "id"), _c("program_code", "补贴项目编码", "id"),
        _c("beneficiary_id", "身份证号", "id"), _c("beneficiary_name", "姓名", "text"),
        _c("account_no", "账号", "id"), _c("amount", "金额", "money"),
        _c("pay_date", "发放日期", "date"),
        _opt("region_code", "行政区划代码", "id"), _opt("unit_id", "主管部门", "id"),
    ), ("disbursement_id",)),
    Table("subsidy_programs", "补贴项目", (
        _c("program_code", "补贴项目编码", "id"), _c("program_name", "项目名称", "text"),
        _c("max_amount", "标准金额", "money"), _c("period", "周期", "enum"),
        _opt("exclusive_group", "互斥组", "id"),
    ), ("program_code",)),
    Table("persons", "参考名单", (
        _c("person_id", "身份证号", "id"), _c("list_type", "名单类型", "enum"),
        _opt("name", "姓名", "text"), _opt("unit_id", "单位编码", "id"),
        _opt("effective_date", "生效日期", "date"),
    ), ("person_id", "list_type")),
    Table("payroll", "工资发放", (
        _c("unit_id", "单位编码", "id"), _c("employee_id", "人员编号", "id"),
        _c("month", "月份", "month"), _c("amount", "金额", "money"),
        _c("account_no", "账号", "id"), _c("pay_date", "发放日期", "date"),
    ), ("unit_id", "employee_id", "month")),
    Table("business_log", "业务操作日志", (
        _c("event_id", "日志编号", "id"), _c("event_time", "操作时间", "datetime"),
        _c("user_id", "操作员", "id"), _c("action", "操作类型", "text"),
        _opt("user_role", "角色", "text"), _opt("unit_id", "单位编码", "id"),
        _opt("object_type", "对象类型", "text"), _opt("object_id", "对象编号", "id"),
        _opt("client_ip", "客户端IP", "text"), _opt("result", "结果", "enum"),
        _opt("detail", "详情", "text"),
    ), ("event_id",), raw_folder=True, json_file=True),
    Table("db_audit", "数据库审计日志", (
        _c("event_id", "事件编号", "id"), _c("event_time", "时间", "datetime"),
        _c("db_user", "数据库账号", "id"), _c("command", "命令", "text"),
        _opt("database", "数据库", "text"), _opt("client_ip", "客户端IP", "text"),
        _opt("application_name", "应用名", "text"), _opt("session_id", "会话编号", "id"),
        _opt("statement_id", "语句编号", "int"), _opt("substatement_id", "子语句编号", "int"),
        _opt("audit_class", "审计类别", "enum"), _opt("object_type", "对象类型", "text"),
        _opt("object_name", "对象名", "text"), _opt("statement", "语句", "text"),
        _opt("parameter", "参数", "text"), _opt("rows", "行数", "int"),
        _opt("retcode", "返回码", "int"),
    ), ("event_id",), raw_folder=True),
    Table("change_tickets", "运维工单", (
        _c("ticket_id", "工单号", "id"), _c("db_user", "数据库账号", "id"),
        _c("start_time", "开始时间", "datetime"), _c("end_time", "结束时间", "datetime"),
        _opt("objects", "涉及对象", "text"), _opt("description", "说明", "text"),
    ), ("ticket_id",)),
    Table("bank_transactions", "银行回单", (
        _c("bank_ref", "银行流水号", "id"), _c("value_date", "记账日期", "date"),
        _c("amount", "金额", "money"), _c("payee_account", "收款人账号", "id"),
        _opt("voucher_id", "支付凭证号", "id"), _opt("payer_account", "付款人账号", "id"),
        _opt("payee_name", "收款人名称", "text"), _opt("direction", "借贷方向", "enum"),
        _opt("currency", "币种", "id"),
    ), ("bank_ref",), raw_folder=True),
)

TABLES: Mapping[str, Table] = MappingProxyType({t.name: t for t in _TABLES})
"""Every table of the contract by name, in the contract's order."""


def resolve_header(header: str, table: Table) -> str | None:
    """The canonical column a file header names (English any case, or Chinese), else None."""
    h = header.strip(" \t\u3000\ufeff")
    low = h.lower()
    for c in table.columns:
        if low == c.name or h == c.zh:
            return c.name
    return None
