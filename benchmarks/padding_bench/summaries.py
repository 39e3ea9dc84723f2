"""From timings to the results file: medians, ratios to the ideal per run, acceptance, the table."""

import json

import numpy as np

from helpers import cost
from padding_bench.corpus_batches import PADDED

#: Keys of a strategy's counts copied into its results slot.
STAT_KEYS = ("batches", "real_tokens", "processed_timesteps", "distinct_widths", "distinct_shapes", "max_width",
             "max_batch_cells", "max_score_cells", "sequential_steps", "score_cells", "rows", "row_fill",
             "same_segment_cells", "cross_segment_cells", "cross_segment_fraction", "useful_score_fraction",
             "epochs_formed", "batches_per_epoch", "padding_fraction_per_epoch", "epochs_differ")


def _rates(real_tokens, epoch_s, cpu_s):
    wall, cpu = float(np.median(epoch_s)), float(np.median(cpu_s))
    return {"median_epoch_s": round(wall, 4), "median_cpu_s": round(cpu, 4),
            "real_tokens_per_s": round(real_tokens / wall, 1), "real_tokens_per_cpu_s": round(real_tokens / cpu, 1)}


def timed_slot(strategy, stats, plan, runs):
    """The results slot of one (model, strategy): counts, every repeat's seconds, medians, per run."""
    ready = runs[0][0][strategy]
    slot = {"supported": True, "shuffled": cost.SHUFFLED[strategy], "warmup_s": ready["warmup_s"],
            "warmup_batches": ready["warmup_batches"], "traces_in_warmup": ready["traces_in_warmup"],
            "passes_per_repeat": plan["passes"], "slow": plan["slow"]}
    if "memory" in ready:
        slot["memory"] = ready["memory"]
    for key in ("epoch_s", "cpu_s", "fit_s"):
        slot[key] = [v for _, t in runs for v in t[strategy][key]]
    slot["traces_while_timing"] = max(t[strategy]["traces"] - r[strategy]["traces_in_warmup"] for r, t in runs)
    slot.update({k: stats[k] for k in STAT_KEYS if k in stats})
    slot["padding_fraction"] = round(stats["padding_fraction"], 6)
    slot.update(_rates(stats["real_tokens"], slot["epoch_s"], slot["cpu_s"]))
    median = slot["median_epoch_s"]
    slot.update({"median_step_ms": round(1000 * median / stats["batches"], 3),
                 "timesteps_per_s": round(stats["processed_timesteps"] / median, 1),
                 "spread": round((max(slot["epoch_s"]) - min(slot["epoch_s"])) / median, 3),
                 "cpu_spread": round((max(slot["cpu_s"]) - min(slot["cpu_s"])) / slot["median_cpu_s"], 3)})
    slot["runs"] = [_rates(stats["real_tokens"], t[strategy]["epoch_s"], t[strategy]["cpu_s"]) for _, t in runs]
    return slot


def add_ratios(entry):
    """Speed-ups over pad-to-global-max and ratios to the ideal: overall and per run."""
    base, ideal = entry["strategies"]["global_max"], entry["ideal"]
    slots = list(entry["strategies"].values()) + [ideal] + ([entry["packed"]] if "packed" in entry else [])
    for slot in slots:
        if not slot.get("supported", True):
            continue
        slot["speedup_vs_global_max"] = round(slot["real_tokens_per_s"] / base["real_tokens_per_s"], 3)
        slot["cpu_speedup_vs_global_max"] = round(slot["real_tokens_per_cpu_s"] / base["real_tokens_per_cpu_s"], 3)
        slot["ratio_to_ideal"] = round(slot["real_tokens_per_s"] / ideal["real_tokens_per_s"], 3)
        slot["cpu_ratio_to_ideal"] = round(slot["real_tokens_per_cpu_s"] / ideal["real_tokens_per_cpu_s"], 3)
        for run, ideal_run in zip(slot["runs"], ideal["runs"]):
            run["ratio_to_ideal"] = round(run["real_tokens_per_s"] / ideal_run["real_tokens_per_s"], 3)
            run["cpu_ratio_to_ideal"] = round(run["real_tokens_per_cpu_s"] / ideal_run["real_tokens_per_cpu_s"], 3)


def reproducibility(results, tolerance=0.05):
    """Each strategy's ratio to the ideal in every run, side by side, and whether they agree."""
    table, worst = {}, {"cpu": 0.0, "wall": 0.0}
    for model, entry in results["models"].items():
        rows = list(entry["strategies"].items()) + ([("packed", entry["packed"])] if "packed" in entry else [])
        for strategy, slot in rows:
            if not slot.get("supported", True):
                continue
            cpu = [r["cpu_ratio_to_ideal"] for r in slot["runs"]]
            wall = [r["ratio_to_ideal"] for r in slot["runs"]]
            row = {"cpu_ratio_to_ideal": cpu, "ratio_to_ideal": wall,
                   "cpu_difference": round((max(cpu) - min(cpu)) / float(np.mean(cpu)), 4),
                   "wall_difference": round((max(wall) - min(wall)) / float(np.mean(wall)), 4)}
            table.setdefault(model, {})[strategy] = row
            if not slot.get("slow"):
                worst["cpu"] = max(worst["cpu"], row["cpu_difference"])
                worst["wall"] = max(worst["wall"], row["wall_difference"])
    return {"runs": results["settings"]["runs"], "tolerance": tolerance, "ratios": table,
            "max_cpu_difference": round(worst["cpu"], 4), "max_wall_difference": round(worst["wall"], 4),
            "cpu_within_tolerance": worst["cpu"] <= tolerance, "wall_within_tolerance": worst["wall"] <= tolerance,
            "note": ("difference: (largest - smallest) / mean of a strategy's ratio to the ideal over the runs, "
                     "each run in fresh processes; the max is taken over strategies timed every repeat "
                     "(slow ones, timed once per run, are listed but not counted)")}


def acceptance(results, stats):
    models = results["models"]
    goal = {m: [s for s in PADDED if models[m]["strategies"][s]["shuffled"]
                and models[m]["strategies"][s]["padding_fraction"] <= 0.05
                and models[m]["strategies"][s]["ratio_to_ideal"] >= 0.85] for m in models}
    verdict = {
        "bucketed_padding_fraction_at_most_0.15": stats["bucketed"]["padding_fraction"] <= 0.15,
        "bucketed_at_least_2x_global_max": {
            m: models[m]["strategies"]["bucketed"]["speedup_vs_global_max"] >= 2 for m in models},
        "shuffled_at_least_0.85_of_ideal_with_at_most_5pc_padding": goal,
    }
    packed = models.get("attention", {}).get("packed")
    if packed and packed.get("supported"):
        verdict["packed_attention"] = {
            "rows_at_least_0.95_full": packed["row_fill"] >= 0.95,
            "padding_at_most_0.05": packed["padding_fraction"] <= 0.05,
            "at_least_0.85_of_ideal_cpu": packed["cpu_ratio_to_ideal"] >= 0.85,
            "at_least_0.85_of_ideal_wall": packed["ratio_to_ideal"] >= 0.85}
    verdict["ratios_reproducible_within_5pc_cpu"] = results["reproducibility"]["cpu_within_tolerance"]
    return verdict


def summary(results):
    lines = [f"{'model':<10} {'strategy':<15} {'padding':>8} {'tokens/s':>10} {'tok/cpu-s':>10} {'vs ideal':>8}"
             f" {'cpu vs ideal':>12} {'runs (cpu)':>13} {'spread':>7} {'peak MiB':>9}"]
    for model, entry in results["models"].items():
        rows = list(entry["strategies"].items()) + [("ideal", entry["ideal"])]
        rows += [("packed", entry["packed"])] if "packed" in entry else []
        for strategy, s in rows:
            if not s.get("supported", True):
                lines.append(f"{model:<10} {strategy:<15} not timed: {s['reason'][:80]}")
                continue
            peak = (s.get("memory") or {}).get("peak_rss_mb", "-")
            per_run = "/".join(f"{r['cpu_ratio_to_ideal']:.2f}" for r in s["runs"])
            lines.append(f"{model:<10} {strategy:<15} {100 * s['padding_fraction']:7.1f}% "
                         f"{s['real_tokens_per_s']:10.0f} {s['real_tokens_per_cpu_s']:10.0f} "
                         f"{s['ratio_to_ideal']:7.2f}x {s['cpu_ratio_to_ideal']:11.2f}x {per_run:>13} "
                         f"{s['spread']:7.2f} {peak:>9}")
    lines.append(f"acceptance: {json.dumps(results['acceptance'])}")
    agreement = results["reproducibility"]
    lines.append(f"ratios to the ideal, run against run: largest difference {agreement['max_cpu_difference']}"
                 f" (CPU), {agreement['max_wall_difference']} (wall)")
    machine = results["machine"]
    lines.append(f"load average (1, 5, 15 min) at start {machine['load_average_at_start']}, "
                 f"after timing {machine['load_average_after_timing']}, at end {machine['load_average_at_end']}")
    lines.append(f"wall time: {results['wall_time_s']} s")
    return "\n".join(lines)
