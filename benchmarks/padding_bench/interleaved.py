"""The parent's side: a worker per (model, strategy), repeats interleaved, the whole thing twice.

A *run* starts fresh workers for one model's strategies (all at once: their warm-up
is not timed), waits until every one is warm, then does ``repeats`` rounds; in each
round every worker trains its epoch(s) once, in an order rotated from round to round,
one worker at a time. The benchmark makes ``runs`` such runs per model, each with
new processes, so that the results file shows two independent measurements side by side.
"""

import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile

from padding_bench.corpus_batches import load_average

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "padding_cost.py"
#: One thread per worker: its CPU seconds are one core's work.
SINGLE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
                 "TF_CPP_MIN_LOG_LEVEL": "3"}


class WorkerProcess:
    def __init__(self, args, model_name, strategy, batches_path, calibrate):
        command = [sys.executable, str(SCRIPT), "--worker", model_name, strategy, "--batches", str(batches_path),
                   "--seed", str(args.seed), "--memory", args.memory]
        if not calibrate:
            command.append("--no-calibrate")
        self.name = f"{model_name}/{strategy}"
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                        text=True, env=dict(os.environ, **SINGLE_THREAD))

    def receive(self):
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            self.log.seek(0)
            raise RuntimeError(f"worker {self.name} ended (exit status {self.process.returncode}):\n"
                               f"{self.log.read()[-3000:]}")
        return json.loads(line)

    def ask(self, message):
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        return self.receive()

    def stop(self):
        try:
            self.process.stdin.write(json.dumps({"stop": True}) + "\n")
            self.process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        self.process.wait(timeout=120)
        self.log.close()


def passes_for(estimate_cpu_s, min_repeat_s):
    """Epochs per timed repeat so that a repeat lasts at least ``min_repeat_s`` CPU seconds."""
    return max(1, math.ceil(min_repeat_s / max(estimate_cpu_s, 1e-3)))


def one_run(args, model_name, paths, run, plan, progress):
    """One run of one model: fresh workers, warm-up, ``args.repeats`` interleaved rounds.

    ``plan`` maps strategy -> {"passes", "slow"}; empty on the first run, which fills it
    from the workers' calibration epochs (later runs reuse it, and skip calibration).
    """
    first = not plan
    workers = {s: WorkerProcess(args, model_name, s, path, calibrate=first) for s, path in paths.items()}
    try:
        ready = {s: w.receive() for s, w in workers.items()}
        if first:
            for s, r in ready.items():
                plan[s] = {"passes": passes_for(r["estimate_cpu_s"], args.min_repeat_s),
                           "slow": r["estimate_cpu_s"] > args.slow_epoch_s,
                           "estimate_cpu_s": r["estimate_cpu_s"]}
        timings = {s: {"epoch_s": [], "cpu_s": [], "fit_s": [], "repeat": []} for s in workers}
        load = {"model": model_name, "run": run + 1, "load_average_before_timing": load_average()}
        jobs = list(workers)
        for repeat in range(args.repeats):
            shift = repeat % len(jobs)
            for s in jobs[shift:] + jobs[:shift]:
                if plan[s]["slow"] and repeat > 0:
                    continue  # a slow strategy is timed once per run (see --slow-epoch-s)
                progress(f"run {run + 1}/{args.runs} repeat {repeat + 1}/{args.repeats} {model_name} {s}")
                reply = workers[s].ask({"repeat": repeat, "passes": plan[s]["passes"]})
                for key in ("epoch_s", "cpu_s", "fit_s"):
                    timings[s][key].append(round(reply[key], 4))
                timings[s]["repeat"].append(repeat)
                timings[s]["traces"] = reply["traces"]
        load["load_average_after_timing"] = load_average()
        return ready, timings, load
    finally:
        for w in workers.values():
            w.stop()


def time_all(args, model_name, paths, progress):
    """Every run of one model: ``(plan, [(ready, timings) per run], [load averages per run])``."""
    plan, runs, loads = {}, [], []
    for run in range(args.runs):
        ready, timings, load = one_run(args, model_name, paths, run, plan, progress)
        runs.append((ready, timings))
        loads.append(load)
    return plan, runs, loads
