"""Benchmark: what padding costs a masked LSTM and a masked self-attention classifier, and what packing saves.

    .venv/bin/python benchmarks/padding_cost.py                 # full run (about 12 minutes, quiet machine)
    .venv/bin/python benchmarks/padding_cost.py --smoke --output /tmp/smoke.json

One seeded synthetic corpus with long-tailed (log-normal) lengths is batched six ways
(helpers.cost.STRATEGIES: padded to the corpus's longest sequence, to each batch's
longest, bucketed, length-grouped, under a token budget, ragged), packed into rows
(chapter 19: whole sequences share a row, a segment mask keeps them apart; attention
only), and with no padding at all (helpers.cost.ideal_batches: the limit). For each
model and strategy it records the padding, the real tokens per second of training in
wall-clock and in CPU seconds, the ratio to the ideal measured in the same run, memory,
and for packed rows the row fill and the attention work spent across sequences.

How the timings are made reproducible (see benchmarks/README.md and padding_bench/):
every (model, strategy) trains in its own fresh, single-threaded process (a worker);
batches are formed once and replayed; the workers warm up (every shape seen once,
nothing traced while timing), then time their epochs one worker at a time, in an order
rotated from repeat to repeat; every repeat lasts at least --min-repeat-s CPU seconds;
and the whole measurement is made twice (--runs 2) with new processes, so the file
shows each strategy's ratio to the ideal in two independent runs side by side.
"""

import argparse
import datetime
import json
import os
import pathlib
import pickle
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parent.parent
for path in (ROOT, pathlib.Path(__file__).resolve().parent):  # helpers/ and padding_bench/ without installing
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402
from padding_bench import corpus_batches as cb  # noqa: E402

from helpers import cost  # noqa: E402

DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "padding_cost_cpu.json"

FULL = {"corpus_size": cost.CORPUS_DEFAULTS["n"], "batch_size": 32, "repeats": 3, "runs": 2,
        "max_len": cost.CORPUS_DEFAULTS["max_len"], "boundary_ratio": cost.DEFAULT_BOUNDARY_RATIO,
        "max_tokens": cost.DEFAULT_MAX_TOKENS, "pool_batches": cost.DEFAULT_POOL_BATCHES,
        "min_repeat_s": 3.0, "slow_epoch_s": 12.0}
SMOKE = {"corpus_size": 96, "batch_size": 16, "repeats": 2, "runs": 2, "max_len": 128, "boundary_ratio": 1.15,
         "max_tokens": 512, "pool_batches": 2, "min_repeat_s": 0.0, "slow_epoch_s": 1e9}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--smoke", action="store_true", help="tiny corpus: checks the pipeline (numbers meaningless)")
    add("--output", type=pathlib.Path, default=None,
        help=f"results file (default {DEFAULT_OUTPUT.relative_to(ROOT)}; required with --smoke)")
    add("--corpus-size", type=int, default=None, help="number of sequences")
    add("--batch-size", type=int, default=None)
    add("--repeats", type=int, default=None, help="timed rounds per run (each worker once per round)")
    add("--runs", type=int, default=None, help="independent runs, each in fresh processes (default 2)")
    add("--min-repeat-s", type=float, default=None, help="a repeat trains whole epochs for at least this CPU time")
    add("--slow-epoch-s", type=float, default=None,
        help="a strategy whose epoch takes longer (CPU s) is timed once per run, not every round")
    add("--max-len", type=int, default=None, help="longer sequences are truncated to this")
    add("--boundary-ratio", type=float, default=None, help="growth between neighbouring bucket boundaries")
    add("--max-tokens", type=int, default=None, help="token_budget and packed: cells per batch")
    add("--max-batch-size", type=int, default=None, help="token_budget: at most this many sequences per batch")
    add("--pool-batches", type=int, default=None, help="length_grouped: batches per sorted pool")
    add("--memory", choices=("subprocess", "none"), default="subprocess",
        help="sample each worker's resident memory during its first epoch (default)")
    add("--seed", type=int, default=0)
    add("--models", default="lstm,attention", help="comma-separated: lstm, attention")
    add("--no-progress", action="store_true", help="no progress lines")
    add("--worker", nargs=2, metavar=("MODEL", "STRATEGY"), default=None, help=argparse.SUPPRESS)
    add("--batches", type=pathlib.Path, default=None, help=argparse.SUPPRESS)
    add("--no-calibrate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return args
    if args.smoke and args.output is None:
        parser.error("--smoke needs --output (the stored results are for full runs only)")
    for key, value in (SMOKE if args.smoke else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.output = args.output or DEFAULT_OUTPUT
    args.max_batch_size = args.max_batch_size or args.batch_size
    args.row_lengths = cost.packed_row_lengths(args.max_len)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in cost.MODEL_BUILDERS]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(cost.MODEL_BUILDERS)}")
    if args.repeats < 1 or args.runs < 1 or args.corpus_size < args.batch_size:
        parser.error("need repeats >= 1, runs >= 1 and corpus_size >= batch_size")
    return args


def settings_of(args, corpus_settings, boundaries):
    return {
        "corpus": corpus_settings, "batch_size": args.batch_size, "bucket_boundaries": boundaries,
        "boundary_ratio": args.boundary_ratio,
        "length_grouped": {"batch_size": args.batch_size, "pool_batches": args.pool_batches},
        "token_budget": {"max_tokens": args.max_tokens, "max_batch_size": args.max_batch_size},
        "packed": {"row_lengths": args.row_lengths, "max_tokens": args.max_tokens, "models": ["attention"],
                   "how": "first-fit decreasing, whole sequences, shuffled per epoch; a row takes the shortest "
                          "row length that holds its longest sequence; rows of one length batched together, "
                          "max_tokens // row_length rows per batch; segment attention mask"},
        "repeats": args.repeats, "runs": args.runs, "min_repeat_s": args.min_repeat_s,
        "slow_epoch_s": args.slow_epoch_s, "seed": args.seed,
        "models": {m: cost.MODEL_NAMES[m] for m in args.models}, "jit_compile": False, "threads_per_worker": 1,
        "timing": ("each (model, strategy) in its own fresh process with one thread (a worker); epoch_s: "
                   "wall-clock seconds of one epoch over stored batches (Keras's on_epoch_begin to "
                   "on_epoch_end), cpu_s: CPU seconds of the worker over the same epoch; a repeat trains "
                   "passes_per_repeat epochs (at least min_repeat_s CPU seconds) and records their mean; "
                   "repeats interleaved (one worker at a time, order rotated); runs: the whole measurement "
                   "again in new processes; medians over every repeat of every run. Shuffled strategies: "
                   "repeat r trains on epoch r's batches. A strategy whose first epoch took more than "
                   "slow_epoch_s CPU seconds is timed once per run"),
        "retracing": ("dataset element spec (None, None) and jit_compile=False: the train function is traced "
                      "during warm-up only (traces_in_warmup), never while timing (traces_while_timing)"),
        "memory": ("max_batch_cells: the largest batch x width; max_score_cells: the largest batch x width x "
                   "width; memory: each worker's first epoch (epoch 0, after one batch to trace) while a "
                   "thread samples its resident memory (psutil, every 5 ms)"),
        "labels": "random: the corpus measures speed, not accuracy",
    }


def corpus_summary(lengths):
    return {"sequences": int(len(lengths)), "real_tokens": int(lengths.sum()),
            "median_length": float(np.median(lengths)), "mean_length": round(float(lengths.mean()), 2),
            "max_length": int(lengths.max()), "longer_than_500": int((lengths > 500).sum()),
            "percentiles": {str(p): float(np.percentile(lengths, p)) for p in (50, 90, 95, 99)}}


def time_model(args, model_name, batches, stats, folder, progress):
    """Time every strategy of one model; its results entry."""
    from padding_bench.interleaved import time_all
    from padding_bench.summaries import timed_slot

    timed = [s for s in cb.TIMED if s != "packed" or model_name == "attention"]
    paths = {}
    for s in timed:
        paths[s] = folder / f"{s}.pickle"
        with open(paths[s], "wb") as f:
            pickle.dump(batches[s], f)
    plan, runs, loads = time_all(args, model_name, paths, progress)
    entry = {"parameters": None, "strategies": {}}
    for s in timed:
        slot = timed_slot(s, stats[s], plan[s], runs)
        if s == "ideal":
            entry["ideal"] = slot
        elif s == "packed":
            entry["packed"] = slot
        else:
            entry["strategies"][s] = slot
    entry["load_average_per_run"] = loads
    if model_name != "attention":
        entry["packed"] = {"supported": False, "shuffled": True, "reason": cb.LSTM_PACKED_REASON}
    return entry


def run(args, argv=None):
    from padding_bench.summaries import acceptance, add_ratios, reproducibility

    started, load_before = time.perf_counter(), cb.load_average()
    keras, _ = cb.load_tensorflow()
    keras.utils.set_random_seed(args.seed)
    corpus_settings, sequences, labels, lengths, boundaries = cb.corpus_of(args)
    batches = cb.all_batches(args, sequences, labels, boundaries)
    stats = {s: cb.strategy_stats(epochs) for s, epochs in batches.items()}

    def progress(message):
        if not args.no_progress:
            print(f"[{time.perf_counter() - started:6.0f} s, load {cb.load_average()[0]}] {message}",
                  file=sys.stderr, flush=True)

    results = {"benchmark": "padding_cost", "schema": 3, "smoke": bool(args.smoke),
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "command": " ".join(["python benchmarks/padding_cost.py"] + [a for a in (argv or []) if "/" not in a]),
               "machine": cb.machine_info(), "versions": cb.versions(),
               "settings": settings_of(args, corpus_settings, boundaries), "corpus": corpus_summary(lengths),
               "models": {}}
    with tempfile.TemporaryDirectory(prefix="padding_cost_") as folder:
        for model_name in args.models:
            entry = time_model(args, model_name, batches, stats, pathlib.Path(folder), progress)
            entry["parameters"] = int(cost.MODEL_BUILDERS[model_name](seed=args.seed).count_params())
            supported, reason = cb.try_ragged(model_name, sequences, labels, args.batch_size, args.seed)
            entry["strategies"]["ragged"] = {"supported": supported, "shuffled": False, "reason": reason
                                             or "accepted by this Keras, but not timed by this benchmark"}
            entry["strategies"] = {s: entry["strategies"][s] for s in cost.STRATEGIES}
            results["machine"].setdefault("load_average_per_run", []).extend(entry.pop("load_average_per_run"))
            add_ratios(entry)
            results["models"][model_name] = entry
    results["machine"]["load_average_after_timing"] = cb.load_average()
    results["reproducibility"] = reproducibility(results)
    results["acceptance"] = acceptance(results, stats)
    results["machine"]["load_average_at_start"] = load_before
    results["machine"]["load_average_at_end"] = cb.load_average()
    results["wall_time_s"] = round(time.perf_counter() - started, 1)
    return results


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        from padding_bench.epoch_worker import worker_main

        worker_main(args)
        return None
    from padding_bench.summaries import summary

    results = run(args, sys.argv[1:] if argv is None else argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    print(summary(results))
    print(f"results written to {args.output}")
    return results


if __name__ == "__main__":
    main()
