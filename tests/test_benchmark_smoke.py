"""Runs the padding-cost benchmark in --smoke mode and checks its results file."""

import json
import math
import os
import subprocess
import sys

import pytest
from nbtools import ROOT

from helpers import cost


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "padding_cost.py"), "--smoke",
                           "--no-progress", "--memory", "none", "--output", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, encoding="utf-8") as f:
        return json.load(f), proc.stdout


def test_smoke_file_has_machine_versions_settings(smoke):
    results, _ = smoke
    assert results["smoke"] is True
    assert results["machine"]["logical_cores"] >= 1 and results["machine"]["cpu"]
    assert set(results["versions"]) == {"python", "tensorflow", "keras", "numpy"}
    assert results["settings"]["repeats"] == 2
    assert results["settings"]["token_budget"]["max_tokens"] >= results["corpus"]["max_length"]
    assert results["settings"]["jit_compile"] is False
    assert results["settings"]["bucket_boundaries"] == sorted(results["settings"]["bucket_boundaries"])
    assert len(cost.results_rows(results)) == 2 * (len(cost.STRATEGIES) + 1)
    machine = results["machine"]
    assert all(len(machine[f"load_average_{when}"]) == 3 for when in ("at_start", "after_timing", "at_end"))


def test_smoke_has_every_strategy_with_sane_values(smoke):
    results, _ = smoke
    assert set(results["models"]) == {"lstm", "attention"}
    for model, entry in results["models"].items():
        assert list(entry["strategies"]) == list(cost.STRATEGIES)
        s = entry["strategies"]
        for name in ("global_max", "batch_max", "bucketed", "length_grouped", "token_budget"):
            v = s[name]
            assert v["supported"] is True and v["shuffled"] is cost.SHUFFLED[name]
            assert 0 <= v["padding_fraction"] < 1
            assert v["real_tokens_per_s"] > 0 and math.isfinite(v["real_tokens_per_s"])
            assert v["ratio_to_ideal"] > 0 and v["max_batch_cells"] >= v["max_width"]
            assert v["median_step_ms"] > 0 and len(v["epoch_s"]) == 2
            assert v["traces_while_timing"] == 0
            assert v["real_tokens"] == results["corpus"]["real_tokens"]
            assert v["processed_timesteps"] >= v["real_tokens"]
        assert s["global_max"]["padding_fraction"] >= s["batch_max"]["padding_fraction"] \
            >= s["bucketed"]["padding_fraction"]
        assert s["global_max"]["speedup_vs_global_max"] == 1.0
        for name in ("length_grouped", "token_budget"):
            assert s[name]["epochs_formed"] == 2 and s[name]["epochs_differ"] is True
        assert s["token_budget"]["max_batch_cells"] <= results["settings"]["token_budget"]["max_tokens"]
        assert s["token_budget"]["max_batch_cells"] < s["global_max"]["max_batch_cells"]
        assert entry["ideal"]["padding_fraction"] == 0.0
        ragged = s["ragged"]
        assert ragged["supported"] in (True, False)
        if not ragged["supported"]:
            assert ragged["reason"] and "Error" in ragged["reason"]


def test_smoke_prints_a_summary(smoke):
    _, stdout = smoke
    assert "bucketed" in stdout and "acceptance" in stdout


def test_memory_probe_reports_the_peak_of_a_fresh_process():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "padding_cost.py"), "--smoke",
                           "--probe-memory", "attention", "token_budget"],
                          cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    memory = json.loads(proc.stdout.strip().splitlines()[-1])
    assert memory["peak_rss_mb"] >= memory["rss_before_epoch_mb"] > 0
    assert memory["rss_increase_mb"] == pytest.approx(memory["peak_rss_mb"] - memory["rss_before_epoch_mb"], abs=0.2)


def test_smoke_requires_an_output_path():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "padding_cost.py"), "--smoke"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--output" in proc.stderr
