"""The detector registry: built-ins and third-party detectors by entry point.

A package adds detectors by declaring, in its ``pyproject.toml``::

    [project.entry-points."auditlib.detectors"]
    my_rule = "my_package.rules:MyRule"

The entry point may name a Detector subclass or a module/list holding several.
Registering the same id twice raises.

Examples
--------
>>> "payments.duplicate" in all_detectors()
True
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib import metadata

from auditlib.detectors.base import ID_RE, Detector
from auditlib.errors import DetectorError

GROUP = "auditlib.detectors"
_REGISTRY: dict[str, type[Detector]] = {}
_state = {"loaded": False}
plugin_errors: list[str] = []


def register(cls: type[Detector]) -> type[Detector]:
    """Register a detector class (usable as a decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Detector)):
        msg = f"{cls!r} is not a Detector subclass"
        raise DetectorError(msg)
    if not ID_RE.match(getattr(cls, "id", "")):
        msg = f"{cls.__name__}: id {getattr(cls, 'id', None)!r} is not '<domain>.<name>'"
        raise DetectorError(msg)
    other = _REGISTRY.get(cls.id)
    if other is not None and other is not cls:
        msg = f"detector id {cls.id!r} is registered twice ({other.__module__} and {cls.__module__})"
        raise DetectorError(msg)
    _REGISTRY[cls.id] = cls
    return cls


def unregister(detector_id: str) -> None:
    _REGISTRY.pop(detector_id, None)


def _load() -> None:
    if _state["loaded"]:
        return
    _state["loaded"] = True
    import auditlib.detectors as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name != "base" and not mod.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{mod.name}")
    for ep in metadata.entry_points(group=GROUP):
        try:
            obj = ep.load()
            classes = _detectors_in(obj)
            if not classes:
                msg = "it names no Detector subclass"
                raise DetectorError(msg)
            for cls in classes:
                register(cls)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, not fatal
            plugin_errors.append(f"entry point {ep.name} = {ep.value}: {exc}")


def _detectors_in(obj: object) -> list[type[Detector]]:
    if isinstance(obj, type) and issubclass(obj, Detector):
        return [obj]
    if isinstance(obj, list | tuple):
        return [o for o in obj if isinstance(o, type) and issubclass(o, Detector)]
    if hasattr(obj, "__dict__"):
        return [
            o for o in vars(obj).values()
            if isinstance(o, type) and issubclass(o, Detector) and getattr(o, "id", None)
            and o.__module__ == getattr(obj, "__name__", None)
        ]
    return []


def all_detectors() -> dict[str, type[Detector]]:
    """Every registered detector by id, sorted by id."""
    _load()
    return dict(sorted(_REGISTRY.items()))


def get(detector_id: str) -> type[Detector]:
    found = all_detectors().get(detector_id)
    if found is None:
        msg = f"unknown detector {detector_id!r} (known: {', '.join(all_detectors())})"
        raise DetectorError(msg)
    return found
