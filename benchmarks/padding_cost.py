"""Benchmark: what padding costs a masked LSTM and a masked self-attention classifier.

    .venv/bin/python benchmarks/padding_cost.py                 # full run (a few minutes)
    .venv/bin/python benchmarks/padding_cost.py --smoke --output /tmp/smoke.json

One seeded synthetic corpus with long-tailed (log-normal) lengths is batched four ways
(helpers.cost.STRATEGIES): padded to the corpus's longest sequence, padded to each
batch's longest, bucketed by length with tf.data's bucket_by_sequence_length, and
ragged. For each model and strategy the benchmark records the fraction of processed
timesteps that are padding and the training throughput (real tokens per second) and
step time, as the median over several repeats. A reference with no padding at all
(helpers.cost.ideal_batches) gives the limit. The results go to a JSON file together
with the machine, the versions and the settings.

How the timings are kept honest (see benchmarks/README.md):
- batches are formed once, stored, and replayed at every epoch, so every repeat times
  the same work, and the timing covers the training steps, not the input pipeline;
- every model is compiled with jit_compile=False and fed through a dataset whose
  element spec is (None, None), so Keras's train function (a tf.function with
  reduce_retracing=True) is traced once per model whatever the batch width; the
  number of traces is counted and stored;
- before timing, each model trains on one batch of every distinct shape it will see
  (warm-up), which also fills TensorFlow's per-shape caches;
- repeats are interleaved: each repeat runs every (model, strategy) pair once, in an
  order rotated from repeat to repeat, so that load from other processes spreads over
  all strategies instead of hitting one; the median over repeats is reported.
"""

import argparse
import contextlib
import datetime
import json
import os
import pathlib
import platform
import re
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from helpers import cost  # noqa: E402

DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "padding_cost_cpu.json"

FULL = {"corpus_size": cost.CORPUS_DEFAULTS["n"], "batch_size": 32, "repeats": 5,
        "max_len": cost.CORPUS_DEFAULTS["max_len"], "boundary_ratio": cost.DEFAULT_BOUNDARY_RATIO}
SMOKE = {"corpus_size": 96, "batch_size": 16, "repeats": 1, "max_len": 128, "boundary_ratio": 1.15}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny corpus, 1 repeat: checks the pipeline in seconds (numbers meaningless)")
    parser.add_argument("--output", type=pathlib.Path, default=None,
                        help=f"results file (default {DEFAULT_OUTPUT.relative_to(ROOT)}; required with --smoke)")
    parser.add_argument("--corpus-size", type=int, default=None, help="number of sequences")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs per (model, strategy)")
    parser.add_argument("--max-len", type=int, default=None, help="longer sequences are truncated to this")
    parser.add_argument("--boundary-ratio", type=float, default=None,
                        help="growth between neighbouring bucket boundaries")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="lstm,attention", help="comma-separated: lstm, attention")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.smoke and args.output is None:
        parser.error("--smoke needs --output (the stored results are for full runs only)")
    defaults = SMOKE if args.smoke else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.output = args.output or DEFAULT_OUTPUT
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in cost.MODEL_BUILDERS]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(cost.MODEL_BUILDERS)}")
    if args.repeats < 1 or args.corpus_size < args.batch_size:
        parser.error("need repeats >= 1 and corpus_size >= batch_size")
    return args


@contextlib.contextmanager
def quiet_stderr_fd():
    """Silence file descriptor 2 while TensorFlow loads (its C++ start-up notices)."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"cpu": cpu, "logical_cores": os.cpu_count(), "platform": platform.platform(terse=True),
            "accelerators": []}
    try:
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def versions():
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__}


def replay(batches):
    """A dataset that yields the stored (ids, labels) batches, spec (None, None) / (None,)."""
    import tensorflow as tf

    spec = (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.int32))
    ds = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=spec)
    return without_autotune(ds.apply(tf.data.experimental.assert_cardinality(len(batches))))


def without_autotune(ds):
    """Switch tf.data's autotuning off for a dataset.

    With it on (TensorFlow 2.21, CPU), fit() sometimes returned only when its dataset
    iterator's background thread woke up, at 5.12 s, 10.24 s or 20.48 s after the start
    (a doubling back-off), adding up to 1.6 s after the last step; replaying stored
    batches needs no tuning.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def first_of_each_shape(batches):
    seen, warm = set(), []
    for ids, labels in batches:
        if ids.shape not in seen:
            seen.add(ids.shape)
            warm.append((ids, labels))
    return warm


class Counted:
    """Wraps a model's train_step to count how often TensorFlow traces it."""

    def __init__(self, model):
        self.traces = 0
        original = model.train_step

        def train_step(data):
            self.traces += 1  # Python runs here only while tracing
            return original(data)

        model.train_step = train_step


class StepCounter:
    """A callback that counts training steps and times the epoch from its first to its last step.

    The epoch's time is taken between Keras's on_epoch_begin and on_epoch_end, so it
    covers the training steps and not what fit() does before and after them.
    """

    def __init__(self):
        import keras

        counter = self

        class _Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                counter.begin = (time.perf_counter(), time.process_time())

            def on_train_batch_end(self, batch, logs=None):
                counter.steps += 1

            def on_epoch_end(self, epoch, logs=None):
                counter.end = (time.perf_counter(), time.process_time())

        self.steps = 0
        self.begin = self.end = None
        self.callback = _Callback()

    @property
    def wall(self):
        return self.end[0] - self.begin[0]

    @property
    def cpu(self):
        return self.end[1] - self.begin[1]


def clean_message(exc):
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    layer = next((ln for ln in lines if ln.startswith("Exception encountered when calling")), "")
    detail = next((ln for ln in lines if not ln.startswith("Exception encountered") and ln != ""), "")
    where = re.search(r"calling (\w+)\.call", layer)
    return f"{type(exc).__name__}: {detail}" + (f" (raised in {where.group(1)}.call)" if where else "")


def try_ragged(model_name, sequences, labels, batch_size, seed):
    """Can this model train on RaggedTensor batches? Returns (supported, reason)."""
    ds = cost.make_dataset(sequences[: 2 * batch_size], labels[: 2 * batch_size], "ragged", batch_size)
    attempts = []
    for ragged_input in (False, True):
        model = cost.MODEL_BUILDERS[model_name](seed=seed, ragged_input=ragged_input)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(ds, epochs=1, verbose=0)
            return True, None
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            how = "keras.Input(ragged=True)" if ragged_input else "keras.Input(shape=(None,))"
            attempts.append(f"with {how}: {clean_message(exc)}")
    return False, "; ".join(attempts)


def run(args):
    started = time.perf_counter()
    with warnings.catch_warnings(), quiet_stderr_fd():
        warnings.simplefilter("ignore")
        import keras
        import tensorflow as tf
    # TensorFlow warns when many tf.functions trace; here every model traces its own
    # train function once, and traces_while_timing (counted below) shows none retraces.
    tf.get_logger().setLevel("ERROR")

    keras.utils.set_random_seed(args.seed)
    corpus_settings = dict(cost.CORPUS_DEFAULTS, n=args.corpus_size, max_len=args.max_len, seed=args.seed)
    sequences, labels = cost.synthetic_corpus(**corpus_settings)
    lengths = np.array([len(s) for s in sequences])
    boundaries = cost.geometric_boundaries(min(8, int(lengths.max())), int(lengths.max()), args.boundary_ratio)

    # Form every strategy's batches once, with tf.data, and keep them.
    batches, stats = {}, {}
    for strategy in ("global_max", "batch_max", "bucketed"):
        ds = cost.make_dataset(sequences, labels, strategy, args.batch_size, boundaries)
        batches[strategy] = [(np.asarray(x), np.asarray(y)) for x, y in ds.as_numpy_iterator()]
    ideal = [(np.asarray(x), np.asarray(y)) for x, y in
             cost.ideal_batches(sequences, labels, args.batch_size).as_numpy_iterator()]
    batches["ideal"] = ideal
    for name, bs in batches.items():
        stats[name] = cost.batch_stats([x for x, _ in bs])

    results = {
        "benchmark": "padding_cost",
        "schema": 1,
        "smoke": bool(args.smoke),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python benchmarks/padding_cost.py" + (" --smoke" if args.smoke else ""),
        "machine": machine_info(),
        "versions": versions(),
        "settings": {
            "corpus": corpus_settings,
            "batch_size": args.batch_size,
            "bucket_boundaries": boundaries,
            "boundary_ratio": args.boundary_ratio,
            "repeats": args.repeats,
            "seed": args.seed,
            "models": {m: cost.MODEL_NAMES[m] for m in args.models},
            "jit_compile": False,
            "timing": ("epoch_s: wall-clock seconds of one epoch over stored batches, from Keras's "
                       "on_epoch_begin to on_epoch_end (the training steps; forming the batches is not "
                       "timed); fit_s: the whole model.fit call, for reference; tf.data autotuning off "
                       "for the replayed batches; median over repeats; repeats interleaved, order rotated. "
                       "cpu_s: CPU seconds of this process over the same epoch (all its threads), less "
                       "sensitive to other processes on a shared machine than wall-clock time"),
            "retracing": ("dataset element spec (None, None) and jit_compile=False, so the train function "
                          "is traced at the first warm-up call only (twice: the first call creates the "
                          "optimizer's variables), never again: see traces_in_warmup and traces_while_timing; "
                          "warm-up: one batch of every distinct shape before timing"),
            "labels": "random: the corpus measures speed, not accuracy",
        },
        "corpus": {
            "sequences": int(len(lengths)),
            "real_tokens": int(lengths.sum()),
            "median_length": float(np.median(lengths)),
            "mean_length": round(float(lengths.mean()), 2),
            "max_length": int(lengths.max()),
            "longer_than_500": int((lengths > 500).sum()),
            "percentiles": {str(p): float(np.percentile(lengths, p)) for p in (50, 90, 95, 99)},
        },
        "models": {},
    }

    # Build, check ragged support, warm up.
    jobs, models, counters = [], {}, {}
    # The bar counts processed timesteps (batch x width), which is what the time goes into.
    def work(bs):
        return sum(int(np.size(x)) for x, _ in bs)

    total = len(args.models) * sum(work(first_of_each_shape(bs)) + args.repeats * work(bs)
                                   for bs in batches.values())
    tqdm.monitor_interval = 0  # no tqdm monitor thread waking up during the timings
    bar = tqdm(total=total, unit="step", unit_scale=True, desc="warm-up", disable=args.no_progress,
               file=sys.stderr)
    for model_name in args.models:
        entry = {"parameters": None, "strategies": {}}
        supported, reason = try_ragged(model_name, sequences, labels, args.batch_size, args.seed)
        if supported:  # a future Keras: time it like the others
            batches_r = [(x, np.asarray(y)) for x, y in
                         cost.make_dataset(sequences, labels, "ragged", args.batch_size)]
            batches[f"ragged_{model_name}"] = batches_r
        else:
            entry["strategies"]["ragged"] = {"supported": False, "reason": reason}
        for strategy in ("global_max", "batch_max", "bucketed", "ideal") + (("ragged",) if supported else ()):
            key = (model_name, strategy)
            bs = batches[f"ragged_{model_name}" if strategy == "ragged" else strategy]
            model = cost.MODEL_BUILDERS[model_name](seed=args.seed)
            entry["parameters"] = int(model.count_params())
            counters[key] = Counted(model)
            models[key] = model
            steps = StepCounter()
            t0 = time.perf_counter()
            warm = first_of_each_shape(bs) if strategy != "ragged" else bs[:1]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(replay(warm) if strategy != "ragged" else _ragged_replay(warm), epochs=1,
                          verbose=0, shuffle=False, callbacks=[steps.callback])
            bar.update(work(warm) if strategy != "ragged" else 0)
            jobs.append(key)
            slot = {"supported": True, "warmup_s": round(time.perf_counter() - t0, 3),
                    "warmup_batches": len(warm), "traces_in_warmup": counters[key].traces,
                    "epoch_s": [], "cpu_s": [], "fit_s": []}
            if strategy == "ideal":
                entry["ideal"] = slot
            else:
                entry["strategies"][strategy] = slot
        results["models"][model_name] = entry

    # Timed epochs, interleaved.
    for repeat in range(args.repeats):
        shift = repeat % len(jobs)
        order = jobs[shift:] + jobs[:shift]
        for model_name, strategy in order:
            bar.set_description(f"repeat {repeat + 1}/{args.repeats} {model_name} {strategy}")
            bs = batches[f"ragged_{model_name}" if strategy == "ragged" else strategy]
            ds = replay(bs) if strategy != "ragged" else _ragged_replay(bs)
            steps = StepCounter()
            t0 = time.perf_counter()
            models[(model_name, strategy)].fit(ds, epochs=1, verbose=0, shuffle=False, callbacks=[steps.callback])
            fit_wall = time.perf_counter() - t0
            if steps.steps != len(bs):
                raise RuntimeError(f"{model_name}/{strategy}: ran {steps.steps} steps, expected {len(bs)}")
            entry = results["models"][model_name]
            slot = entry["ideal"] if strategy == "ideal" else entry["strategies"][strategy]
            slot["epoch_s"].append(round(steps.wall, 4))
            slot["cpu_s"].append(round(steps.cpu, 4))
            slot["fit_s"].append(round(fit_wall, 4))
            bar.update(work(bs) if strategy != "ragged" else 0)
    bar.close()

    # Summaries.
    for model_name in args.models:
        entry = results["models"][model_name]
        for strategy, slot in list(entry["strategies"].items()) + [("ideal", entry["ideal"])]:
            if not slot.get("supported", True):
                continue
            s = stats["ideal" if strategy == "ideal" else strategy] if strategy != "ragged" else {
                "batches": len(batches[f"ragged_{model_name}"]), "real_tokens": int(lengths.sum()),
                "processed_timesteps": int(lengths.sum()), "padding_fraction": 0.0, "distinct_widths": None,
                "max_width": int(lengths.max()), "sequences": int(len(lengths))}
            median = float(np.median(slot["epoch_s"]))
            median_cpu = float(np.median(slot["cpu_s"]))
            slot.update({
                "batches": s["batches"],
                "real_tokens": s["real_tokens"],
                "processed_timesteps": s["processed_timesteps"],
                "padding_fraction": round(s["padding_fraction"], 6),
                "distinct_widths": s["distinct_widths"],
                "max_width": s["max_width"],
                "sequential_steps": s.get("sequential_steps"),
                "traces_while_timing": counters[(model_name, strategy)].traces - slot["traces_in_warmup"],
                "median_epoch_s": round(median, 4),
                "median_step_ms": round(1000 * median / s["batches"], 3),
                "real_tokens_per_s": round(s["real_tokens"] / median, 1),
                "timesteps_per_s": round(s["processed_timesteps"] / median, 1),
                "spread": round((max(slot["epoch_s"]) - min(slot["epoch_s"])) / median, 3),
                "median_cpu_s": round(median_cpu, 4),
                "real_tokens_per_cpu_s": round(s["real_tokens"] / median_cpu, 1),
            })
        base = entry["strategies"]["global_max"]["real_tokens_per_s"]
        for strategy, slot in list(entry["strategies"].items()) + [("ideal", entry["ideal"])]:
            if slot.get("supported", True):
                slot["speedup_vs_global_max"] = round(slot["real_tokens_per_s"] / base, 3)
                slot["cpu_speedup_vs_global_max"] = round(
                    slot["real_tokens_per_cpu_s"] / entry["strategies"]["global_max"]["real_tokens_per_cpu_s"], 3)
        entry["strategies"] = {s: entry["strategies"][s] for s in cost.STRATEGIES}

    bucketed_pad = stats["bucketed"]["padding_fraction"]
    results["acceptance"] = {
        "bucketed_padding_fraction_at_most_0.15": bucketed_pad <= 0.15,
        "bucketed_at_least_2x_global_max": {
            m: results["models"][m]["strategies"]["bucketed"]["speedup_vs_global_max"] >= 2 for m in args.models},
    }
    try:
        results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    results["wall_time_s"] = round(time.perf_counter() - started, 1)
    return results


def _ragged_replay(batches):
    import tensorflow as tf

    ids = [x for x, _ in batches]
    labels = [y for _, y in batches]
    spec = (tf.RaggedTensorSpec((None, None), tf.int32, ragged_rank=1), tf.TensorSpec((None,), tf.int32))
    return without_autotune(tf.data.Dataset.from_generator(lambda: zip(ids, labels), output_signature=spec))


def summary(results):
    lines = [f"{'model':<10} {'strategy':<11} {'padding':>8} {'tokens/s':>10} {'step ms':>9} {'vs max':>7}"
             f" {'spread':>7} {'cpu: vs max':>12}"]
    for row in cost.results_rows(results):
        if not row["supported"]:
            lines.append(f"{row['model']:<10} {row['strategy']:<11} not supported: {row['reason'][:70]}")
            continue
        lines.append(f"{row['model']:<10} {row['strategy']:<11} {100 * row['padding_fraction']:7.1f}% "
                     f"{row['real_tokens_per_s']:10.0f} {row['median_step_ms']:9.1f} {row['speedup']:6.2f}x"
                     f" {row['spread']:7.2f} {row['cpu_speedup']:11.2f}x")
    lines.append(f"acceptance: {json.dumps(results['acceptance'])}")
    lines.append(f"wall time: {results['wall_time_s']} s")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    results = run(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    print(summary(results))
    print(f"results written to {args.output}")
    return results


if __name__ == "__main__":
    main()
