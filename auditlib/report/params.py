"""Report parameters: declared by a notebook's ``parameters`` cell, validated before execution.

A parameter is never a way to run code: the notebook's declarations are read
with ``ast`` (literals only, nothing evaluated), values given on the command
line are parsed as YAML scalars or flow lists and must have the declared type,
and the standard parameters are checked for meaning (a date, a language, a
severity, an existing directory).

Examples
--------
>>> decl = {"as_of": "", "lang": "zh", "units": [], "mask_pii": True}
>>> validate({"lang": "en", "units": "[U001, U002]", "mask_pii": "false"}, decl)
{'as_of': '', 'lang': 'en', 'units': ['U001', 'U002'], 'mask_pii': False}
>>> validate({"lang": "__import__('os').system('id')"}, decl)
Traceback (most recent call last):
...
auditlib.errors.ConfigError: parameter 'lang': must be one of zh, en, got "__import__('os').system('id')"
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import yaml

from auditlib.alerts.schema import SEVERITIES
from auditlib.errors import ConfigError

STANDARD = ("data_dir", "as_of", "lang", "min_severity", "units", "mask_pii", "store")
_SAFE_TEXT = re.compile(r"^[^\x00-\x1f\x7f]{0,500}$")
_ID = re.compile(r"^[\w.\-]{1,64}$")


def declared(notebook: Path) -> dict[str, Any]:
    """Names and default values of the notebook's ``parameters`` cell (literals only)."""
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"{notebook}: not a readable notebook ({exc})"
        raise ConfigError(msg) from None
    for cell in nb.get("cells", []):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            src = "".join(cell.get("source", []))
            out: dict[str, Any] = {}
            for node in ast.parse(src).body:
                target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
                value = getattr(node, "value", None)
                if not isinstance(target, ast.Name) or value is None:
                    continue
                try:
                    out[target.id] = ast.literal_eval(value)
                except ValueError:
                    msg = f"{notebook}: parameter {target.id} has a default that is not a literal"
                    raise ConfigError(msg) from None
            return out
    msg = f"{notebook}: no cell tagged 'parameters'"
    raise ConfigError(msg)


def _coerce(name: str, raw: Any, default: Any) -> Any:
    value = yaml.safe_load(raw) if isinstance(raw, str) and not isinstance(default, str) else raw
    kind = type(default)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            msg = f"parameter '{name}': expected true or false, got {raw!r}"
            raise ConfigError(msg)
    elif isinstance(default, list):
        if value is None:
            value = []
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            msg = f"parameter '{name}': expected a list of plain values, got {raw!r}"
            raise ConfigError(msg)
        value = [str(v) for v in value]
    elif isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"parameter '{name}': expected a number, got {raw!r}"
            raise ConfigError(msg)
        value = kind(value)
    elif isinstance(default, str) or default is None:
        value = "" if value is None else value
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            msg = f"parameter '{name}': expected text, got {raw!r}"
            raise ConfigError(msg)
        value = str(value)
        if not _SAFE_TEXT.match(value):
            msg = f"parameter '{name}': text with control characters or over 500 characters"
            raise ConfigError(msg)
    return value


def _meaning(name: str, value: Any) -> None:
    if name == "lang" and value not in ("zh", "en"):
        msg = f"parameter 'lang': must be one of zh, en, got {value!r}"
        raise ConfigError(msg)
    if name == "min_severity" and value not in SEVERITIES:
        msg = f"parameter 'min_severity': must be one of {', '.join(SEVERITIES)}, got {value!r}"
        raise ConfigError(msg)
    if name == "as_of" and value:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            msg = f"parameter 'as_of': expected a date YYYY-MM-DD, got {value!r}"
            raise ConfigError(msg) from None
    if name == "units":
        bad = [u for u in value if not _ID.match(u)]
        if bad:
            msg = f"parameter 'units': not unit ids: {bad}"
            raise ConfigError(msg)
    if name == "data_dir" and value and not Path(value).is_dir():
        msg = f"parameter 'data_dir': {value!r} is not a directory"
        raise ConfigError(msg)


def validate(given: dict[str, Any], decl: dict[str, Any]) -> dict[str, Any]:
    """The full parameter set: declared defaults overridden by ``given``, all checked."""
    unknown = [k for k in given if k not in decl]
    if unknown:
        msg = f"unknown parameter(s) {', '.join(unknown)}; the notebook declares {', '.join(decl)}"
        raise ConfigError(msg)
    out = {}
    for name, default in decl.items():
        value = _coerce(name, given[name], default) if name in given else default
        _meaning(name, value)
        out[name] = value
    return out
