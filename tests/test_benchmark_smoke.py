"""Runs the padding-cost benchmark in --smoke mode (attention only, two runs) and checks its results file."""

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
                           "--models", "attention", "--no-progress", "--output", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, encoding="utf-8") as f:
        return json.load(f), proc.stdout


def test_smoke_file_has_machine_versions_settings(smoke):
    results, _ = smoke
    assert results["smoke"] is True and results["schema"] == 3
    assert results["machine"]["logical_cores"] >= 1 and results["machine"]["cpu"]
    assert set(results["versions"]) == {"python", "tensorflow", "keras", "numpy"}
    settings = results["settings"]
    assert settings["repeats"] == 2 and settings["runs"] == 2 and settings["threads_per_worker"] == 1
    assert settings["token_budget"]["max_tokens"] >= results["corpus"]["max_length"]
    assert settings["packed"]["row_lengths"][-1] == results["corpus"]["max_length"]
    assert settings["jit_compile"] is False
    assert settings["bucket_boundaries"] == sorted(settings["bucket_boundaries"])
    assert len(cost.results_rows(results)) == len(cost.STRATEGIES) + 1
    machine = results["machine"]
    assert all(len(machine[f"load_average_{when}"]) == 3 for when in ("at_start", "after_timing", "at_end"))
    assert [r["run"] for r in machine["load_average_per_run"]] == [1, 2]


def test_smoke_has_every_strategy_with_sane_values(smoke):
    results, _ = smoke
    assert set(results["models"]) == {"attention"}
    entry = results["models"]["attention"]
    assert list(entry["strategies"]) == list(cost.STRATEGIES)
    s = entry["strategies"]
    for name in ("global_max", "batch_max", "bucketed", "length_grouped", "token_budget"):
        v = s[name]
        assert v["supported"] is True and v["shuffled"] is cost.SHUFFLED[name]
        assert 0 <= v["padding_fraction"] < 1
        assert v["real_tokens_per_s"] > 0 and math.isfinite(v["real_tokens_per_cpu_s"])
        assert v["ratio_to_ideal"] > 0 and v["max_batch_cells"] >= v["max_width"]
        assert v["median_step_ms"] > 0 and len(v["epoch_s"]) == len(v["cpu_s"]) == 4  # 2 runs x 2 repeats
        assert v["traces_while_timing"] == 0 and v["traces_in_warmup"] >= 1
        assert v["real_tokens"] == results["corpus"]["real_tokens"]
        assert v["processed_timesteps"] >= v["real_tokens"]
        assert v["memory"]["peak_rss_mb"] >= v["memory"]["rss_before_epoch_mb"] > 0
        assert [set(run) >= {"cpu_ratio_to_ideal", "ratio_to_ideal"} for run in v["runs"]] == [True, True]
    assert s["global_max"]["padding_fraction"] >= s["batch_max"]["padding_fraction"] \
        >= s["bucketed"]["padding_fraction"]
    assert s["global_max"]["speedup_vs_global_max"] == 1.0
    for name in ("length_grouped", "token_budget"):
        assert s[name]["epochs_formed"] == 2 and s[name]["epochs_differ"] is True
    assert s["token_budget"]["max_batch_cells"] <= results["settings"]["token_budget"]["max_tokens"]
    assert entry["ideal"]["padding_fraction"] == 0.0
    assert s["ragged"]["supported"] in (True, False)
    if not s["ragged"]["supported"]:
        assert "Error" in s["ragged"]["reason"]


def test_smoke_packed_strategy(smoke):
    results, _ = smoke
    packed = results["models"]["attention"]["packed"]
    assert packed["supported"] is True and packed["shuffled"] is True
    assert packed["real_tokens"] == results["corpus"]["real_tokens"]  # whole sequences: nothing cut
    assert 0.5 < packed["row_fill"] <= 1 and math.isclose(packed["padding_fraction"], 1 - packed["row_fill"],
                                                          abs_tol=1e-6)
    assert 0 < packed["cross_segment_fraction"] < 1 and packed["traces_while_timing"] == 0
    assert packed["max_batch_cells"] <= results["settings"]["packed"]["max_tokens"]
    assert packed["score_cells"] > 0 and packed["cpu_ratio_to_ideal"] > 0
    assert set(results["acceptance"]["packed_attention"]) == {
        "rows_at_least_0.95_full", "padding_at_most_0.05", "at_least_0.85_of_ideal_cpu", "at_least_0.85_of_ideal_wall"}


def test_smoke_two_runs_side_by_side(smoke):
    results, stdout = smoke
    agreement = results["reproducibility"]
    assert agreement["runs"] == 2
    rows = agreement["ratios"]["attention"]
    assert set(rows) == set(cost.STRATEGIES) - {"ragged"} | {"packed"}
    assert all(len(r["cpu_ratio_to_ideal"]) == 2 and r["cpu_difference"] >= 0 for r in rows.values())
    assert isinstance(results["acceptance"]["ratios_reproducible_within_5pc_cpu"], bool)
    assert "packed" in stdout and "acceptance" in stdout and "run against run" in stdout


def test_smoke_requires_an_output_path():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "padding_cost.py"), "--smoke"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--output" in proc.stderr
