"""Benchmark: what padding costs a masked LSTM and a masked self-attention classifier.

    .venv/bin/python benchmarks/padding_cost.py                 # full run (a few minutes)
    .venv/bin/python benchmarks/padding_cost.py --smoke --output /tmp/smoke.json

One seeded synthetic corpus with long-tailed (log-normal) lengths is batched six ways
(helpers.cost.STRATEGIES): padded to the corpus's longest sequence, padded to each
batch's longest, bucketed by length with tf.data's bucket_by_sequence_length, grouped
by length in shuffled pools (Hugging Face's group_by_length), in batches under a token
budget (fairseq's max_tokens), and ragged. The last two but one draw a new order at
every epoch: each timed repeat is another epoch. For each model and strategy the
benchmark records the fraction of processed timesteps that are padding, the training
throughput (real tokens per second) and step time as the median over several
repeats, and memory: the largest batch's cells, and the peak resident memory of a
fresh process that trains one epoch (--memory subprocess). A reference with no
padding at all (helpers.cost.ideal_batches) gives the limit. The results go to a JSON
file together with the machine, the versions, the settings and the load average
before and after (the machine may be shared).

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
import datetime
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import threading
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from helpers import cost  # noqa: E402
from helpers.notebook import _quiet_stderr_fd, error_message  # noqa: E402

DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "padding_cost_cpu.json"

FULL = {"corpus_size": cost.CORPUS_DEFAULTS["n"], "batch_size": 32, "repeats": 5,
        "max_len": cost.CORPUS_DEFAULTS["max_len"], "boundary_ratio": cost.DEFAULT_BOUNDARY_RATIO,
        "max_tokens": cost.DEFAULT_MAX_TOKENS, "pool_batches": cost.DEFAULT_POOL_BATCHES}
SMOKE = {"corpus_size": 96, "batch_size": 16, "repeats": 2, "max_len": 128, "boundary_ratio": 1.15,
         "max_tokens": 512, "pool_batches": 2}
#: The strategies timed on padded batches (ragged is tried separately).
PADDED = ("global_max", "batch_max", "bucketed", "length_grouped", "token_budget")


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
    parser.add_argument("--max-tokens", type=int, default=None, help="token_budget: cells per batch")
    parser.add_argument("--max-batch-size", type=int, default=None,
                        help="token_budget: at most this many sequences per batch (default: the batch size)")
    parser.add_argument("--pool-batches", type=int, default=None, help="length_grouped: batches per sorted pool")
    parser.add_argument("--memory", choices=("subprocess", "none"), default="subprocess",
                        help="measure peak memory per (model, strategy) in a fresh process each (default)")
    parser.add_argument("--probe-memory", nargs=2, metavar=("MODEL", "STRATEGY"), default=None,
                        help=argparse.SUPPRESS)  # the child of --memory subprocess
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="lstm,attention", help="comma-separated: lstm, attention")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.smoke and args.output is None and args.probe_memory is None:
        parser.error("--smoke needs --output (the stored results are for full runs only)")
    defaults = SMOKE if args.smoke else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.output = args.output or DEFAULT_OUTPUT
    if args.max_batch_size is None:
        args.max_batch_size = args.batch_size
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in cost.MODEL_BUILDERS]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(cost.MODEL_BUILDERS)}")
    if args.repeats < 1 or args.corpus_size < args.batch_size:
        parser.error("need repeats >= 1 and corpus_size >= batch_size")
    return args


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
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "platform": platform.platform(terse=True),
            "accelerators": [], "note": ("a shared machine: other programs ran during the benchmark; "
                                         "load_average_* is os.getloadavg() (1, 5, 15 minutes)")}


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
            attempts.append(f"with {how}: {type(exc).__name__}: {error_message(exc).splitlines()[0]}")
    return False, "; ".join(attempts)


def load_tensorflow():
    with warnings.catch_warnings(), _quiet_stderr_fd():
        warnings.simplefilter("ignore")
        import keras
        import tensorflow as tf
    # TensorFlow warns when many tf.functions trace; here every model traces its own
    # train function once, and traces_while_timing (counted below) shows none retraces.
    tf.get_logger().setLevel("ERROR")
    return keras, tf


def corpus_of(args):
    settings = dict(cost.CORPUS_DEFAULTS, n=args.corpus_size, max_len=args.max_len, seed=args.seed)
    sequences, labels = cost.synthetic_corpus(**settings)
    lengths = np.array([len(s) for s in sequences])
    boundaries = cost.geometric_boundaries(min(8, int(lengths.max())), int(lengths.max()), args.boundary_ratio)
    return settings, sequences, labels, lengths, boundaries


def form_batches(args, strategy, sequences, labels, boundaries, epoch=0):
    """One epoch of (ids, labels) NumPy batches of a strategy, formed by its tf.data pipeline."""
    if strategy == "ideal":
        ds = cost.ideal_batches(sequences, labels, args.batch_size)
    elif strategy == "bucketed":
        ds = cost.make_dataset(sequences, labels, strategy, args.batch_size, boundaries)
    elif strategy == "token_budget":
        ds = cost.make_dataset(sequences, labels, strategy, max_tokens=args.max_tokens,
                               max_batch_size=args.max_batch_size, seed=args.seed, epoch=epoch)
    elif strategy == "length_grouped":
        ds = cost.make_dataset(sequences, labels, strategy, args.batch_size, pool_batches=args.pool_batches,
                               seed=args.seed, epoch=epoch)
    else:
        ds = cost.make_dataset(sequences, labels, strategy, args.batch_size)
    return [(np.asarray(x), np.asarray(y)) for x, y in ds.as_numpy_iterator()]


class RssSampler:
    """Samples this process's resident memory (psutil) in a thread; keeps the peak, in MiB."""

    def __init__(self, interval_s=0.005):
        import psutil

        self._process = psutil.Process()
        self._interval = interval_s
        self.peak = self.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self):
        return self._process.memory_info().rss / 2**20

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            self._stop.wait(self._interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def probe_memory(args):
    """In a fresh process: train one epoch of one (model, strategy) and report its memory (JSON)."""
    model_name, strategy = args.probe_memory
    keras, _ = load_tensorflow()
    keras.utils.set_random_seed(args.seed)
    _, sequences, labels, _, boundaries = corpus_of(args)
    bs = form_batches(args, strategy, sequences, labels, boundaries, epoch=0)
    model = cost.MODEL_BUILDERS[model_name](seed=args.seed)
    smallest = min(bs, key=lambda b: b[0].size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(replay([smallest]), epochs=1, verbose=0, shuffle=False)  # traces, makes the optimizer
        with RssSampler() as rss:
            before = rss.now()
            model.fit(replay(bs), epochs=1, verbose=0, shuffle=False)
    report = {"rss_before_epoch_mb": round(before, 1), "peak_rss_mb": round(rss.peak, 1),
              "rss_increase_mb": round(rss.peak - before, 1),
              "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    print(json.dumps(report))


def memory_of(args, model_name, strategy):
    """Run probe_memory in a child process (a fresh heap: no other strategy's peak is in it)."""
    command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--probe-memory", model_name, strategy,
               "--corpus-size", str(args.corpus_size), "--batch-size", str(args.batch_size),
               "--max-len", str(args.max_len), "--boundary-ratio", str(args.boundary_ratio),
               "--max-tokens", str(args.max_tokens), "--max-batch-size", str(args.max_batch_size),
               "--pool-batches", str(args.pool_batches), "--seed", str(args.seed)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe {model_name}/{strategy} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run(args, argv=None):
    started = time.perf_counter()
    load_before = load_average()
    keras, tf = load_tensorflow()

    keras.utils.set_random_seed(args.seed)
    corpus_settings, sequences, labels, lengths, boundaries = corpus_of(args)

    # Form every strategy's batches once, with tf.data, and keep them: one epoch for the
    # fixed strategies, one epoch per repeat (epochs 0, 1, ...) for the shuffled ones.
    batches, stats = {}, {}
    for strategy in PADDED + ("ideal",):
        epochs = args.repeats if cost.SHUFFLED[strategy] else 1
        batches[strategy] = [form_batches(args, strategy, sequences, labels, boundaries, e) for e in range(epochs)]
        per_epoch = [cost.batch_stats([x for x, _ in bs]) for bs in batches[strategy]]
        every = cost.batch_stats([x for bs in batches[strategy] for x, _ in bs])  # all epochs together
        s = dict(every, batches=round(every["batches"] / epochs, 2), sequences=every["sequences"] // epochs,
                 real_tokens=every["real_tokens"] // epochs,
                 processed_timesteps=round(every["processed_timesteps"] / epochs),
                 sequential_steps=round(every["sequential_steps"] / epochs))
        if epochs > 1:
            s["epochs_formed"] = epochs
            s["batches_per_epoch"] = [p["batches"] for p in per_epoch]
            s["padding_fraction_per_epoch"] = [round(p["padding_fraction"], 6) for p in per_epoch]
            orders = {tuple((x.shape, x[:, 0].tobytes()) for x, _ in bs) for bs in batches[strategy]}
            s["epochs_differ"] = len(orders) == epochs  # every epoch's batches in another order
        stats[strategy] = s

    results = {
        "benchmark": "padding_cost",
        "schema": 2,
        "smoke": bool(args.smoke),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["python benchmarks/padding_cost.py"] + [a for a in (argv or []) if "/" not in a]),
        "machine": machine_info(),
        "versions": versions(),
        "settings": {
            "corpus": corpus_settings,
            "batch_size": args.batch_size,
            "bucket_boundaries": boundaries,
            "boundary_ratio": args.boundary_ratio,
            "length_grouped": {"batch_size": args.batch_size, "pool_batches": args.pool_batches},
            "token_budget": {"max_tokens": args.max_tokens, "max_batch_size": args.max_batch_size},
            "repeats": args.repeats,
            "seed": args.seed,
            "models": {m: cost.MODEL_NAMES[m] for m in args.models},
            "jit_compile": False,
            "timing": ("epoch_s: wall-clock seconds of one epoch over stored batches, from Keras's "
                       "on_epoch_begin to on_epoch_end (the training steps; forming the batches is not "
                       "timed); fit_s: the whole model.fit call, for reference; tf.data autotuning off "
                       "for the replayed batches; median over repeats; repeats interleaved, order rotated. "
                       "cpu_s: CPU seconds of this process over the same epoch (all its threads), less "
                       "sensitive to other processes on a shared machine than wall-clock time. "
                       "Shuffled strategies: repeat r trains on epoch r's batches"),
            "retracing": ("dataset element spec (None, None) and jit_compile=False, so the train function "
                          "is traced at the first warm-up call only (twice: the first call creates the "
                          "optimizer's variables), never again: see traces_in_warmup and traces_while_timing; "
                          "warm-up: one batch of every distinct shape before timing"),
            "memory": ("max_batch_cells: the largest batch x width; max_score_cells: the largest "
                       "batch x width x width (self-attention's scores per head); memory: a fresh process "
                       "per (model, strategy), two at a time, trains on its smallest batch, then one epoch (epoch 0) "
                       "while "
                       "a thread samples its resident memory (psutil, every 5 ms): peak_rss_mb, and "
                       "rss_increase_mb over the memory just before the epoch"),
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

    def work(bs):  # the bar counts processed timesteps (batch x width): what the time goes into
        return sum(int(np.size(x)) for x, _ in bs)

    def epoch_of(strategy, repeat):
        epochs = batches[strategy]
        return epochs[repeat % len(epochs)]

    total = len(args.models) * sum(work(first_of_each_shape([b for e in eps for b in e]))
                                   + sum(work(epoch_of(s, r)) for r in range(args.repeats))
                                   for s, eps in batches.items())
    tqdm.monitor_interval = 0  # no tqdm monitor thread waking up during the timings
    bar = tqdm(total=total, unit="step", unit_scale=True, desc="warm-up", disable=args.no_progress,
               file=sys.stderr)
    # Build, check ragged support, warm up.
    jobs, models, counters = [], {}, {}
    for model_name in args.models:
        entry = {"parameters": None, "strategies": {}}
        supported, reason = try_ragged(model_name, sequences, labels, args.batch_size, args.seed)
        if supported:  # a future Keras: time it like the others
            batches[f"ragged_{model_name}"] = [[(x, np.asarray(y)) for x, y in
                                                cost.make_dataset(sequences, labels, "ragged", args.batch_size)]]
        else:
            entry["strategies"]["ragged"] = {"supported": False, "shuffled": False, "reason": reason}
        for strategy in PADDED + ("ideal",) + (("ragged",) if supported else ()):
            key = (model_name, strategy)
            name = f"ragged_{model_name}" if strategy == "ragged" else strategy
            model = cost.MODEL_BUILDERS[model_name](seed=args.seed)
            entry["parameters"] = int(model.count_params())
            counters[key] = Counted(model)
            models[key] = model
            t0 = time.perf_counter()
            every = [b for e in batches[name] for b in e]
            warm = first_of_each_shape(every) if strategy != "ragged" else every[:1]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(replay(warm) if strategy != "ragged" else _ragged_replay(warm), epochs=1,
                          verbose=0, shuffle=False)
            bar.update(work(warm) if strategy != "ragged" else 0)
            jobs.append(key)
            slot = {"supported": True, "shuffled": cost.SHUFFLED[strategy],
                    "warmup_s": round(time.perf_counter() - t0, 3),
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
            bs = epoch_of(f"ragged_{model_name}" if strategy == "ragged" else strategy, repeat)
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
    load_after_timing = load_average()

    # Summaries.
    for model_name in args.models:
        entry = results["models"][model_name]
        for strategy, slot in list(entry["strategies"].items()) + [("ideal", entry["ideal"])]:
            if not slot.get("supported", True):
                continue
            s = stats[strategy] if strategy != "ragged" else {
                "batches": len(batches[f"ragged_{model_name}"][0]), "real_tokens": int(lengths.sum()),
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
                "distinct_shapes": s.get("distinct_shapes"),
                "max_width": s["max_width"],
                "max_batch_cells": s.get("max_batch_cells"),
                "max_score_cells": s.get("max_score_cells"),
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
            for key in ("epochs_formed", "batches_per_epoch", "padding_fraction_per_epoch", "epochs_differ"):
                if key in s:
                    slot[key] = s[key]
        base = entry["strategies"]["global_max"]
        ideal = entry["ideal"]
        for strategy, slot in list(entry["strategies"].items()) + [("ideal", ideal)]:
            if slot.get("supported", True):
                slot["speedup_vs_global_max"] = round(slot["real_tokens_per_s"] / base["real_tokens_per_s"], 3)
                slot["cpu_speedup_vs_global_max"] = round(
                    slot["real_tokens_per_cpu_s"] / base["real_tokens_per_cpu_s"], 3)
                slot["ratio_to_ideal"] = round(slot["real_tokens_per_s"] / ideal["real_tokens_per_s"], 3)
                slot["cpu_ratio_to_ideal"] = round(slot["real_tokens_per_cpu_s"] / ideal["real_tokens_per_cpu_s"], 3)
        entry["strategies"] = {s: entry["strategies"][s] for s in cost.STRATEGIES}

    # Memory, each (model, strategy) in a fresh process, after the timings (so as not to disturb them).
    # Two children at a time: each measures only its own process, so they may share the cores.
    if args.memory == "subprocess":
        from concurrent.futures import ThreadPoolExecutor

        pairs = [(m, s) for m in args.models for s in PADDED + ("ideal",)]
        if not args.no_progress:
            print(f"memory: {len(pairs)} fresh processes, two at a time", file=sys.stderr, flush=True)
        with ThreadPoolExecutor(max_workers=2) as pool:
            measured = list(pool.map(lambda pair: memory_of(args, *pair), pairs))
        for (model_name, strategy), memory in zip(pairs, measured):
            entry = results["models"][model_name]
            (entry["ideal"] if strategy == "ideal" else entry["strategies"][strategy])["memory"] = memory

    bucketed_pad = stats["bucketed"]["padding_fraction"]
    goal = {}
    for m in args.models:
        strategies = results["models"][m]["strategies"]
        met = [s for s in PADDED if strategies[s]["shuffled"] and strategies[s]["padding_fraction"] <= 0.05
               and strategies[s]["ratio_to_ideal"] >= 0.85]
        goal[m] = met
    results["acceptance"] = {
        "bucketed_padding_fraction_at_most_0.15": bucketed_pad <= 0.15,
        "bucketed_at_least_2x_global_max": {
            m: results["models"][m]["strategies"]["bucketed"]["speedup_vs_global_max"] >= 2 for m in args.models},
        "shuffled_at_least_0.85_of_ideal_with_at_most_5pc_padding": goal,
    }
    results["machine"]["load_average_at_start"] = load_before
    results["machine"]["load_average_after_timing"] = load_after_timing
    results["machine"]["load_average_at_end"] = load_average()
    results["wall_time_s"] = round(time.perf_counter() - started, 1)
    return results


def _ragged_replay(batches):
    import tensorflow as tf

    ids = [x for x, _ in batches]
    labels = [y for _, y in batches]
    spec = (tf.RaggedTensorSpec((None, None), tf.int32, ragged_rank=1), tf.TensorSpec((None,), tf.int32))
    return without_autotune(tf.data.Dataset.from_generator(lambda: zip(ids, labels), output_signature=spec))


def summary(results):
    lines = [f"{'model':<10} {'strategy':<15} {'padding':>8} {'tokens/s':>10} {'step ms':>9} {'vs max':>7}"
             f" {'vs ideal':>8} {'spread':>7} {'cpu: vs max':>12} {'cells':>7} {'peak MiB':>9}"]
    for row in cost.results_rows(results):
        if not row["supported"]:
            lines.append(f"{row['model']:<10} {row['strategy']:<15} not supported: {row['reason'][:70]}")
            continue
        peak = row["peak_rss_mb"]
        lines.append(f"{row['model']:<10} {row['strategy']:<15} {100 * row['padding_fraction']:7.1f}% "
                     f"{row['real_tokens_per_s']:10.0f} {row['median_step_ms']:9.1f} {row['speedup']:6.2f}x"
                     f" {row['ratio_to_ideal']:7.2f}x {row['spread']:7.2f} {row['cpu_speedup']:11.2f}x"
                     f" {row['max_batch_cells']:>7} {peak if peak is not None else '-':>9}")
    lines.append(f"acceptance: {json.dumps(results['acceptance'])}")
    lines.append(f"load average (1, 5, 15 min) at start {results['machine']['load_average_at_start']}, "
                 f"after timing {results['machine']['load_average_after_timing']}, "
                 f"at end {results['machine']['load_average_at_end']}")
    lines.append(f"wall time: {results['wall_time_s']} s")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.probe_memory:
        probe_memory(args)
        return None
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
