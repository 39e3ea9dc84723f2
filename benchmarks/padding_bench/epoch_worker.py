"""The worker: a fresh, single-threaded process that trains one (model, strategy) and times epochs.

The parent (:mod:`interleaved`) starts one worker per (model, strategy) with its stored
batches (a pickle), waits until every worker is warm, then asks them in turn, over
stdin/stdout (one JSON object per line), to train ``passes`` epochs of repeat ``r``.
A worker blocked on stdin uses no CPU, so only one worker computes at a time.

How the timings are kept honest:
- one thread (TF_NUM_INTRAOP_THREADS=1 and TF_NUM_INTEROP_THREADS=1 in its environment,
  and tf.config.threading), so its CPU time is the work of one core, not how many
  threads happened to get one;
- the epoch is timed between Keras's on_epoch_begin and on_epoch_end, in wall-clock
  seconds and in CPU seconds of the process (``time.process_time``);
- the replayed dataset has element spec (None, None) and the model jit_compile=False:
  the train function is traced once (counted), whatever the batch width;
- warm-up first: the smallest batch (traces, makes the optimizer), then epoch 0 (memory
  sampled, CPU time used to size the repeats), then one batch of every other shape.
"""

import json
import pickle
import resource
import sys
import threading
import time
import warnings

from helpers import cost
from padding_bench.corpus_batches import load_tensorflow


def replay(batches):
    """A dataset that yields stored batches: ``(ids, labels)`` or packed ``(inputs, labels, weights)``."""
    import tensorflow as tf

    ids = tf.TensorSpec((None, None), tf.int32)
    if isinstance(batches[0][0], dict):
        spec = ({"ids": ids, "segment_ids": ids}, ids, tf.TensorSpec((None, None), tf.float32))
    else:
        spec = (ids, tf.TensorSpec((None,), tf.int32))
    ds = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=spec)
    options = tf.data.Options()
    # With autotuning on (TensorFlow 2.21, CPU) fit() sometimes returned only when the
    # iterator's background thread woke up, seconds after the last step.
    options.autotune.enabled = False
    return ds.apply(tf.data.experimental.assert_cardinality(len(batches))).with_options(options)


def shape_of(batch):
    x = batch[0]
    return (x["ids"] if isinstance(x, dict) else x).shape


def first_of_each_shape(batches, seen=None):
    seen = set() if seen is None else seen
    warm = []
    for batch in batches:
        if shape_of(batch) not in seen:
            seen.add(shape_of(batch))
            warm.append(batch)
    return warm


class StepCounter:
    """A callback that counts training steps and times the epoch (wall and CPU seconds)."""

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

    def seconds(self):
        return self.end[0] - self.begin[0], self.end[1] - self.begin[1]


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


def build_model(model_name, strategy, epochs, seed):
    if strategy == "packed":
        most = epochs[0][0][1].shape[1]  # labels padded to the most sequences in a row
        return cost.build_packed_attention_classifier(most, seed=seed)
    return cost.MODEL_BUILDERS[model_name](seed=seed)


def timed_fit(model, batches):
    """One epoch over ``batches``; returns (wall s, CPU s, whole fit s)."""
    steps = StepCounter()
    t0 = time.perf_counter()
    model.fit(replay(batches), epochs=1, verbose=0, shuffle=False, callbacks=[steps.callback])
    fit_s = time.perf_counter() - t0
    if steps.steps != len(batches):
        raise RuntimeError(f"ran {steps.steps} steps, expected {len(batches)}")
    return (*steps.seconds(), fit_s)


class Worker:
    """One (model, strategy): warm-up, then timed epochs on command."""

    def __init__(self, model_name, strategy, batches_path, seed, calibrate, memory):
        keras, tf = load_tensorflow()
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        keras.utils.set_random_seed(seed)
        with open(batches_path, "rb") as f:
            self.epochs = pickle.load(f)
        self.model = build_model(model_name, strategy, self.epochs, seed)
        self.traces = 0
        original = self.model.train_step

        def train_step(data):
            self.traces += 1  # Python runs here only while tracing
            return original(data)

        self.model.train_step = train_step
        self.calibrate, self.memory = calibrate, memory

    def warm_up(self):
        t0 = time.perf_counter()
        first = self.epochs[0]
        report = {"ready": True}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.fit(replay([min(first, key=lambda b: shape_of(b)[0] * shape_of(b)[1])]),
                           epochs=1, verbose=0, shuffle=False)
            seen = set()
            if self.calibrate:
                with RssSampler() as rss:
                    before = rss.now()
                    wall, cpu, _ = timed_fit(self.model, first)
                seen = {shape_of(b) for b in first}
                report["estimate_cpu_s"], report["estimate_wall_s"] = round(cpu, 4), round(wall, 4)
                if self.memory:
                    report["memory"] = {
                        "rss_before_epoch_mb": round(before, 1), "peak_rss_mb": round(rss.peak, 1),
                        "rss_increase_mb": round(rss.peak - before, 1),
                        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
            warm = first_of_each_shape([b for e in self.epochs for b in e], seen)
            if warm:
                self.model.fit(replay(warm), epochs=1, verbose=0, shuffle=False)
        report.update(warmup_s=round(time.perf_counter() - t0, 3), warmup_batches=len(warm) + 1,
                      traces_in_warmup=self.traces)
        return report

    def time_repeat(self, repeat, passes):
        batches = self.epochs[repeat % len(self.epochs)]
        walls, cpus, fits = zip(*(timed_fit(self.model, batches) for _ in range(passes)))
        return {"epoch_s": sum(walls) / passes, "cpu_s": sum(cpus) / passes, "fit_s": sum(fits) / passes,
                "traces": self.traces}


def worker_main(args):
    """Entry point of ``padding_cost.py --worker MODEL STRATEGY``: the protocol loop on stdin/stdout."""
    protocol = sys.stdout
    sys.stdout = sys.stderr  # nothing but protocol lines on the real stdout
    model_name, strategy = args.worker
    worker = Worker(model_name, strategy, args.batches, args.seed, not args.no_calibrate,
                    args.memory == "subprocess")

    def send(message):
        protocol.write(json.dumps(message) + "\n")
        protocol.flush()

    send(worker.warm_up())
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("stop"):
            break
        send(worker.time_repeat(command["repeat"], command["passes"]))
