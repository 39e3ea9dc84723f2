"""How long the padding audit takes: a two-block attention encoder, 32 sequences of up to 128 steps.

Chapter 15 (Audit your own model) shows the stored result. Each backend runs in a
process of its own (``KERAS_BACKEND`` is read when Keras is imported); in each, the
model is built, the audit runs once to warm up (graph tracing, first-call costs) and
then ``--repeats`` times; the median and the minimum are recorded with the load average
of the machine (run it with nothing else running).

Usage:
    python benchmarks/audit_speed.py [--repeats 3] [--backends tensorflow jax torch]

Writes ``benchmarks/results/audit_speed_cpu.json``.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "audit_speed_cpu.json"
BATCH, MAX_LENGTH, MIN_LENGTH, VOCAB, EMBED_DIM = 32, 128, 8, 1000, 64


def measure(repeats):
    """In this process: build the encoder, audit it ``repeats`` times; a dict of seconds."""
    import warnings

    import keras

    from helpers.attention.stacked import build_stacked_attention_model
    from helpers.audit import audit_padding
    from helpers.audit.examples import make_ids

    warnings.simplefilter("ignore")
    model = build_stacked_attention_model(fix="carry_mask", vocab_size=VOCAB, embed_dim=EMBED_DIM, num_heads=4,
                                          num_blocks=2)
    ids = make_ids(batch=BATCH, min_length=MIN_LENGTH, max_length=MAX_LENGTH, vocab_size=VOCAB, seed=0)
    start = time.perf_counter()
    report = audit_padding(model, ids)
    first = time.perf_counter() - start
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        audit_padding(model, ids)
        seconds.append(time.perf_counter() - start)
    return {"backend": keras.backend.backend(), "first_call_s": round(first, 3),
            "seconds": [round(s, 3) for s in seconds], "median_s": round(statistics.median(seconds), 3),
            "min_s": round(min(seconds), 3), "ok": report.ok, "distinct_lengths": len(set((ids != 0).sum(1))),
            "parameters": model.count_params()}


def _child(backend, repeats):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    code = f"import json, sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import audit_speed; " \
           f"print('RESULT ' + json.dumps(audit_speed.measure({repeats})))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=1800)
    if run.returncode != 0:
        raise RuntimeError(f"the {backend} process failed:\n{run.stderr[-3000:]}")
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def _versions():
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in ("keras", "tensorflow", "jax", "torch", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    parser.add_argument("--output", default=str(RESULT))
    args = parser.parse_args(argv)
    result = {
        "benchmark": "audit_speed",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python benchmarks/audit_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"logical_cores": os.cpu_count(), "platform": platform.platform(),
                    "note": "run with nothing else running; load_average_* is os.getloadavg() (1, 5, 15 "
                            "minutes), recorded to show how quiet the machine was",
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "versions": _versions(),
        "settings": {"model": "build_stacked_attention_model(fix='carry_mask', vocab_size=1000, embed_dim=64, "
                              "num_heads=4, num_blocks=2)",
                     "batch": BATCH, "min_length": MIN_LENGTH, "max_length": MAX_LENGTH, "repeats": args.repeats,
                     "target_s": 10.0},
        "results": {},
    }
    for backend in args.backends:
        result["results"][backend] = _child(backend, args.repeats)
        result["results"][backend]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        print(backend, result["results"][backend], flush=True)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    pathlib.Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
