"""Every registered detector, built-in or plugged in, passes the conformance suite."""

from __future__ import annotations

import pytest

from auditlib.registry import all_detectors
from auditlib.testing import check_detector

# A check a detector is known to fail is listed here with its reason.
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "amount.isolation_forest": {
        "schema": "an unsupervised model: whether it alerts on the small world depends on the "
        "draw; tests/detectors/test_amount_isolation_forest.py runs check_detector on a world "
        "with planted anomalies",
    },
    "timing.december_rush": {
        "schema": "the small world ends on June 30; a year-end rush needs December data "
        "(tests/synth/test_inject_money.py checks it on a world audited in late December)",
    },
}


@pytest.mark.parametrize("detector_id", list(all_detectors()))
def test_detector_conforms(detector_id: str) -> None:
    results = check_detector(
        all_detectors()[detector_id], expected_failures=EXPECTED_FAILURES.get(detector_id)
    )
    assert all(v == "ok" or v.startswith("xfail") for v in results.values())


def test_registry_ids_match_module_names() -> None:
    for det_id, cls in all_detectors().items():
        if cls.__module__.startswith("auditlib.detectors."):
            assert cls.__module__.rsplit(".", 1)[1] == det_id.replace(".", "_"), det_id
