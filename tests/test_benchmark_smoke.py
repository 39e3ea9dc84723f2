"""Runs the padding-cost benchmark in --smoke mode and checks its results file."""

import json
import math
import os
import subprocess
import sys

import pytest

from helpers import cost
from nbtools import ROOT


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "padding_cost.py"), "--smoke",
                           "--no-progress", "--output", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, encoding="utf-8") as f:
        return json.load(f), proc.stdout


def test_smoke_file_has_machine_versions_settings(smoke):
    results, _ = smoke
    assert results["smoke"] is True
    assert results["machine"]["logical_cores"] >= 1 and results["machine"]["cpu"]
    assert set(results["versions"]) == {"python", "tensorflow", "keras", "numpy"}
    assert results["settings"]["repeats"] == 1
    assert results["settings"]["jit_compile"] is False
    assert results["settings"]["bucket_boundaries"] == sorted(results["settings"]["bucket_boundaries"])
    assert len(cost.results_rows(results)) == 10


def test_smoke_has_every_strategy_with_sane_values(smoke):
    results, _ = smoke
    assert set(results["models"]) == {"lstm", "attention"}
    for model, entry in results["models"].items():
        assert list(entry["strategies"]) == list(cost.STRATEGIES)
        s = entry["strategies"]
        for name in ("global_max", "batch_max", "bucketed"):
            v = s[name]
            assert v["supported"] is True
            assert 0 <= v["padding_fraction"] < 1
            assert v["real_tokens_per_s"] > 0 and math.isfinite(v["real_tokens_per_s"])
            assert v["median_step_ms"] > 0 and len(v["epoch_s"]) == 1
            assert v["traces_while_timing"] == 0
            assert v["real_tokens"] == results["corpus"]["real_tokens"]
            assert v["processed_timesteps"] >= v["real_tokens"]
        assert s["global_max"]["padding_fraction"] >= s["batch_max"]["padding_fraction"] \
            >= s["bucketed"]["padding_fraction"]
        assert s["global_max"]["speedup_vs_global_max"] == 1.0
        assert entry["ideal"]["padding_fraction"] == 0.0
        ragged = s["ragged"]
        assert ragged["supported"] in (True, False)
        if not ragged["supported"]:
            assert ragged["reason"] and "Error" in ragged["reason"]


def test_smoke_prints_a_summary(smoke):
    _, stdout = smoke
    assert "bucketed" in stdout and "acceptance" in stdout


def test_smoke_requires_an_output_path():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "padding_cost.py"), "--smoke"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--output" in proc.stderr
