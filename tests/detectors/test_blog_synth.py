"""The blog.* detectors on a synthetic world with the business-log cases of
:mod:`auditlib.synth.inject_blog`: every positive caught, no look-alike flagged, the
conformance suite passed, and (nearly) silent on the clean world."""

from __future__ import annotations

import importlib
import json

import pytest

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.io.tables import load_dir
from auditlib.registry import all_detectors
from auditlib.synth.inject_blog import BLOG_FAMILIES
from auditlib.testing import check_detector

gen = importlib.import_module("auditlib.synth.generate")
BLOG = sorted(k for k in all_detectors() if k.startswith("blog."))


def _generate(out, *, clean: bool) -> dict:
    """``generate`` with the blog families, the chunk's business log handed to them —
    patched in only where the generator does not run them itself yet."""
    listed = getattr(gen, "all_families", lambda: gen.FAMILIES)
    if any(f.name == BLOG_FAMILIES[0].name for f in listed()):
        return gen.generate(out, seed=3, scale=0.2, clean=clean, fmt="parquet")
    real_finalize, real_run = gen.finalize, gen._run_families
    last = {}

    def finalize(*a, **k):
        last["fin"] = real_finalize(*a, **k)
        return last["fin"]

    def run(ctx, *a, **k):
        if a[-1] == "final" and getattr(ctx, "business_log", None) is None:
            ctx.business_log = last["fin"].business_log  # extended in place, then written
        return real_run(ctx, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        if hasattr(gen, "all_families"):
            mp.setattr(gen, "all_families", lambda: [*listed(), *BLOG_FAMILIES])
        else:
            mp.setattr(gen, "FAMILIES", [*gen.FAMILIES, *BLOG_FAMILIES])
        mp.setattr(gen, "finalize", finalize)
        mp.setattr(gen, "_run_families", run)
        return gen.generate(out, seed=3, scale=0.2, clean=clean, fmt="parquet")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("blog-world")
    _generate(out, clean=False)
    return out, load_dir(out, Settings.load(out))


@pytest.fixture(scope="module")
def clean_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("blog-clean")
    _generate(out, clean=True)
    return load_dir(out, Settings.load(out))


def _alerts(ds):
    ctx = Context.from_settings(ds.settings)
    return {k: all_detectors()[k]().detect(ds.lazy(), ctx) for k in BLOG}


def test_ground_truth(world):
    out, ds = world
    alerts = _alerts(ds)
    cases = [json.loads(line) for line in (out / "ground_truth.jsonl").open(encoding="utf-8")]
    cases = [c for c in cases if c["detector_id"].startswith("blog.")]
    assert {c["detector_id"] for c in cases if c["kind"] == "positive"} == set(BLOG)
    problems = []
    for c in cases:
        evidence = [set(e) for e in alerts[c["detector_id"]]["evidence"].to_list()]
        refs = set(c["evidence"])
        if c["kind"] == "positive" and not any(refs <= e for e in evidence):
            problems.append(f"missed {c['case_id']}: {c['description']}")
        if c["kind"] == "lookalike" and any(refs & e for e in evidence):
            problems.append(f"flagged look-alike {c['case_id']}: {c['description']}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("detector_id", BLOG)
def test_conformance_on_the_world(world, detector_id):
    check_detector(all_detectors()[detector_id], world=world[1])


def test_quiet_on_the_clean_world(clean_world):
    """At most one alert per 10,000 input records across the family."""
    alerts = _alerts(clean_world)
    rows = sum(df.height for df in clean_world.tables.values())
    titles = [t for a in alerts.values() for t in a["title"].to_list()]
    assert len(titles) <= rows // 10_000, titles
