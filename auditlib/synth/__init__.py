"""A synthetic province-like world for testing detectors end to end.

``generate(out_dir, seed=0, scale=1.0, clean=False, fmt="csv")`` writes every table of
the data contract, an ``auditlib.yaml`` and ``ground_truth.jsonl`` (the injected cases a
detector must find, and look-alikes it must leave alone). See :mod:`auditlib.synth.inject`
for the ground-truth semantics and how to add a family of cases.
"""

from __future__ import annotations

from auditlib.synth.generate import GROUND_TRUTH, generate
from auditlib.synth.ids import gb11643_check_digit, is_valid_gb11643

__all__ = ["GROUND_TRUTH", "gb11643_check_digit", "generate", "is_valid_gb11643"]
