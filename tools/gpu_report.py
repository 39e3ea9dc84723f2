"""The GPU report: every chapter and three probes on each Keras backend, on the GPU at hand.

Usage:
    python tools/gpu_report.py                      # make gpu-report: reports/gpu.json, every backend here
    python tools/gpu_report.py --backends torch     # one backend
    python tools/gpu_report.py --no-chapters        # the probes only
    python tools/gpu_report.py --chapters chapters/04_propagation.ipynb chapters/08_masks_in_rnns.ipynb
    python tools/gpu_report.py --small --allow-cpu  # tiny probes on a CPU (tests/test_gpu_report.py)

It runs in the Python that starts it (the GPU machine's own, with CUDA builds of jax and
torch; TensorFlow is not needed), one process per backend and probe, and per chapter:

- ``recurrent``: a training step of ``Embedding -> LSTM/GRU -> Dense`` on right-padded ids,
  with the mask (``mask_zero=True``) and without; ms per step (the cuDNN cliff, chapter 8).
- ``fast_path``: the masked ``LSTM`` model against ``FastPathRNN`` (helpers/layers/fast_path.py)
  with the same weights: the largest output difference, and ms per training step of each.
- ``attention``: ``keras.ops.dot_product_attention`` in bfloat16 with a key padding mask,
  ``flash_attention=False`` and ``True``: ms per call, the first outputs, or the error.
- every chapter's code cells on every backend (``tools/run_elsewhere.py --worker --in-process``, a
  fresh process each, ``--jobs`` at a time), after the probes so that they do not disturb the timings.

It writes the report (default ``reports/gpu.json``) with the device (``nvidia-smi``), the
versions, the setups and the date; it prints a table per backend and exits 1 if a chapter
cell failed, 2 without a GPU (unless ``--allow-cpu``).
"""

import argparse
import concurrent.futures
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

import run_elsewhere  # noqa: E402  (tools/ is not a package)

SIZES = {"full": {"batch": 128, "time": 256, "units": 256, "vocab": 1000, "embed": 64, "steps": 8, "fits": 3,
                  "attention": (16, 1024, 8, 64), "calls": 20},
         "small": {"batch": 8, "time": 12, "units": 8, "vocab": 50, "embed": 4, "steps": 2, "fits": 1,
                   "attention": (2, 16, 2, 8), "calls": 2}}
PROBES = ("recurrent", "fast_path", "attention")
SETUP = {
    "recurrent": "Right-padded ids (batch B, T steps, lengths T/4..T), Embedding(vocab, E), LSTM or GRU(units), "
                 "Dense(1), Adam, MSE. masked: Embedding(mask_zero=True); unmasked: mask_zero=False. ms per "
                 "training step: median of `fits` fits of `steps` steps after a warm-up fit.",
    "fast_path": "The same data. masked: Embedding(mask_zero=True) -> LSTM(units) -> Dense(1). fast path: "
                 "Embedding (no mask) -> FastPathRNN(LSTM(units)) with lengths_from_ids -> Dense(1), the same "
                 "weights; max_abs_diff between the two models' predictions; ms per training step as above.",
    "attention": "keras.ops.dot_product_attention, bfloat16 q = k = v of shape (batch, T, heads, head_dim), key "
                 "padding mask (batch, 1, 1, T) with lengths T/4..T, flash_attention False and True: ms per call "
                 "(mean of `calls` after a warm-up), the first three outputs of row 0, or the error.",
}


def device_info():
    """The GPU as nvidia-smi names it, or None without one."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode or not out.stdout.strip():
        return None
    name, memory, driver = [part.strip() for part in out.stdout.strip().splitlines()[0].split(",")]
    return f"{name}, {memory} MiB, driver {driver}"


# --------------------------------------------------------------------------- probes (child processes)

def _data(size, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    b, t = size["batch"], size["time"]
    lengths = rng.integers(t // 4, t + 1, size=b)
    ids = np.zeros((b, t), "int32")
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(1, size["vocab"], size=n)
    return ids, rng.normal(size=(b, 1)).astype("float32")


def _ms_per_step(model, ids, target, size):
    """Median over fits of the ms per training step, after a warm-up fit (compilation)."""
    import numpy as np

    reps = np.concatenate([ids] * size["steps"]), np.concatenate([target] * size["steps"])
    model.fit(*reps, batch_size=size["batch"], epochs=1, verbose=0, shuffle=False)
    times = []
    for _ in range(size["fits"]):
        start = time.perf_counter()
        model.fit(*reps, batch_size=size["batch"], epochs=1, verbose=0, shuffle=False)
        times.append((time.perf_counter() - start) * 1000 / size["steps"])
    return round(statistics.median(times), 2)


def _rnn_model(size, kind, masked):
    import keras

    ids = keras.Input((size["time"],), dtype="int32")
    x = keras.layers.Embedding(size["vocab"], size["embed"], mask_zero=masked)(ids)
    x = getattr(keras.layers, kind)(size["units"])(x)
    model = keras.Model(ids, keras.layers.Dense(1)(x))
    model.compile("adam", "mse")
    return model


def probe_recurrent(size):
    import keras

    ids, target = _data(size)
    result = {"shape": [size["batch"], size["time"], size["units"]]}
    for kind in ("LSTM", "GRU"):
        for masked in (False, True):
            keras.utils.set_random_seed(0)
            result[f"{kind}{'_masked' if masked else ''}_ms"] = _ms_per_step(_rnn_model(size, kind, masked),
                                                                          ids, target, size)
    return result


def probe_fast_path(size):
    import keras
    import numpy as np

    from helpers.layers.fast_path import FastPathRNN, lengths_from_ids

    ids, target = _data(size)
    keras.utils.set_random_seed(0)
    masked = _rnn_model(size, "LSTM", True)
    inputs = keras.Input((size["time"],), dtype="int32")
    x = keras.layers.Embedding(size["vocab"], size["embed"])(inputs)
    x = FastPathRNN(keras.layers.LSTM(size["units"]))(x, lengths_from_ids(inputs))
    fast = keras.Model(inputs, keras.layers.Dense(1)(x))
    fast.compile("adam", "mse")
    fast.set_weights(masked.get_weights())
    diff = np.abs(masked.predict(ids, verbose=0) - fast.predict(ids, verbose=0)).max()
    return {"fast_path_max_abs_diff": float(diff), "masked_lstm_ms": _ms_per_step(masked, ids, target, size),
            "fast_path_lstm_ms": _ms_per_step(fast, ids, target, size)}


def probe_attention(size):
    import keras
    import numpy as np

    batch, t, heads, dim = size["attention"]
    rng = np.random.default_rng(0)
    q = keras.ops.convert_to_tensor(rng.normal(size=(batch, t, heads, dim)).astype("float32"), dtype="bfloat16")
    lengths = rng.integers(t // 4, t + 1, size=batch)
    mask = keras.ops.convert_to_tensor((np.arange(t)[None, :] < lengths[:, None])[:, None, None, :])
    result = {}
    for name, flash in (("plain", False), ("flash", True)):
        def call(flash=flash):
            out = keras.ops.dot_product_attention(q, q, q, mask=mask, flash_attention=flash)
            return keras.ops.convert_to_numpy(keras.ops.cast(out[0, 0, 0, :3], "float32"))  # waits for the device
        try:
            first = call()
            start = time.perf_counter()
            for _ in range(size["calls"]):
                call()
            result[f"dpa_{name}_ms"] = round((time.perf_counter() - start) * 1000 / size["calls"], 3)
            result[f"dpa_{name}_out"] = [round(float(v), 4) for v in first]
        except Exception as error:  # flash attention is refused on some backends and devices
            result[f"dpa_{name}_error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
    return result


def run_probe(name, size_name):
    """In a child process: one probe on KERAS_BACKEND's backend; prints one JSON line."""
    from helpers.notebook import prepare_notebook

    prepare_notebook(seed=0)
    import keras

    result = {"backend": keras.backend.backend(), "keras": keras.__version__}
    result.update(globals()[f"probe_{name}"](SIZES[size_name]))
    print(json.dumps(result))


# --------------------------------------------------------------------------- the parent

def _env(backend):
    env = run_elsewhere.kernel_env(backend)
    env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"  # several JAX processes share the GPU
    return env


def probe(backend, name, size_name, python=sys.executable):
    command = [python, str(pathlib.Path(__file__).resolve()), "--probe", name, "--size", size_name]
    try:
        done = subprocess.run(command, cwd=ROOT, env=_env(backend), capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return {"error": "the probe ran past 900 s"}
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": f"the probe exited {done.returncode}: {run_elsewhere._last_lines(done.stderr)}"}


def run_chapter(backend, chapter, timeout, python=sys.executable):
    """One chapter's cells in a fresh process (run_elsewhere's in-process worker)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "chapter.json"
        command = [python, str(ROOT / "tools" / "run_elsewhere.py"), "--worker", "--in-process", "--out", str(out),
                   str(pathlib.Path(chapter).resolve())]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=ROOT, env=_env(backend), capture_output=True, text=True,
                                  timeout=timeout)
            error = None if out.exists() else f"exited {done.returncode}: {run_elsewhere._last_lines(done.stderr)}"
        except subprocess.TimeoutExpired:
            error = f"ran past {timeout} s"
        if error is None:
            return json.loads(out.read_text())[pathlib.Path(chapter).name]
        return {"code_cells": None, "ran": 0, "failed": 1, "seconds": round(time.perf_counter() - start),
                "failures": [{"cell": None, "line": None, "code": None, "error": "ChapterError",
                              "message": f"the chapter process {error}"}]}


def run_chapters(backends, chapters, jobs, timeout, log=print, results=None):
    """Every chapter on every backend, ``jobs`` processes at a time: {backend: {chapter: result}}.

    ``results``, if given, is filled as chapters finish (the caller can save it after each ``log``).
    """
    results = {backend: {} for backend in backends} if results is None else results
    for backend in backends:
        results.setdefault(backend, {})
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_chapter, b, c, timeout): (b, pathlib.Path(c).name)
                   for b in backends for c in chapters}
        for future in concurrent.futures.as_completed(futures):
            backend, name = futures[future]
            r = results[backend][name] = future.result()
            log(f"[{backend}] {name}: {r['ran']} cells run, {r['failed']} failed, {r['seconds']} s")
    return {backend: dict(sorted(found.items())) for backend, found in results.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", choices=["jax", "torch", "tensorflow"],
                        help="default: every backend installed here (helpers.backends.available_backends)")
    parser.add_argument("--chapters", nargs="+", help="default: every chapters/*.ipynb")
    parser.add_argument("--no-chapters", action="store_true", help="the probes only")
    parser.add_argument("--probes", nargs="*", default=list(PROBES), choices=PROBES)
    parser.add_argument("--jobs", type=int, default=4, help="chapter processes side by side (all backends)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per chapter")
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--small", dest="size", action="store_const", const="small")
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU (for tests)")
    parser.add_argument("--json", default=str(ROOT / "reports" / "gpu.json"))
    parser.add_argument("--probe", choices=PROBES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        run_probe(args.probe, args.size)
        return 0
    if args.backends is None:
        from helpers.backends import available_backends

        args.backends = list(available_backends())
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive integer. Received: --jobs={args.jobs}")
    device = device_info()
    if device is None and not args.allow_cpu:
        print("gpu_report: nvidia-smi finds no GPU here; run it on a machine with one (or pass --allow-cpu)")
        return 2
    every = sorted(str(p) for p in (ROOT / "chapters").glob("*.ipynb"))
    chapters = [] if args.no_chapters else (args.chapters or every)
    missing = [c for c in chapters if not pathlib.Path(c).exists()]
    if missing:
        parser.error(f"no such chapter: {', '.join(missing)}")
    report = {"what": "tools/gpu_report.py (make gpu-report): probes and every chapter's code cells per Keras "
                      "backend, each chapter in a fresh process (IPython, in-process). 'cell' is the index of the "
                      "cell in the notebook.",
              "date": time.strftime("%Y-%m-%d", time.gmtime()), "device": device or "no GPU (--allow-cpu)",
              "versions": run_elsewhere.versions(sys.executable), "size": SIZES[args.size], "setup": SETUP,
              "probes": {name: {} for name in args.probes}, "chapters": {}, "seconds": {}}
    out = pathlib.Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for backend in args.backends:  # probes first, one at a time: nothing else on the GPU
        for name in args.probes:
            report["probes"][name][backend] = probe(backend, name, args.size)
            print(f"[{backend}] {name}: {json.dumps(report['probes'][name][backend])}", flush=True)
            out.write_text(json.dumps(report, indent=1) + "\n")
    report["seconds"]["probes"] = round(time.perf_counter() - start)
    start = time.perf_counter()

    def log(message):  # after each chapter: print, and save what is done so far
        print(message, flush=True)
        out.write_text(json.dumps(report, indent=1) + "\n")

    if chapters:
        report["chapters"] = run_chapters(args.backends, chapters, args.jobs, args.timeout, log=log,
                                          results=report["chapters"])
    report["seconds"]["chapters"] = round(time.perf_counter() - start)
    out.write_text(json.dumps(report, indent=1) + "\n")
    status = 0
    for backend, found in report["chapters"].items():
        entry = {"what": f"Keras on {backend}, {device or 'no GPU'}",
                 "install": {"reused": True, "seconds": 0, "size_mb": None, "error": None},
                 "versions": report["versions"], "run_seconds": report["seconds"]["chapters"], "chapters": found}
        print(run_elsewhere.table(backend, entry), flush=True)
        status |= run_elsewhere.failed(entry)
    print(f"wrote {out}")
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
