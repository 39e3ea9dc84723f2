"""Run every chapter's code cells in other environments: other Keras backends, other
Keras and TensorFlow releases. Outputs are not compared (they were made with the pins
in requirements.txt); what counts is that every cell runs and its asserts hold.

Usage:
    python tools/run_elsewhere.py backends                 # jax and torch (make backends)
    python tools/run_elsewhere.py backends --env jax       # one of them (make test on CI)
    python tools/run_elsewhere.py upstream                 # newest keras + TF, keras-nightly
    python tools/run_elsewhere.py upstream --oldest        # also the oldest claimed pins
    python tools/run_elsewhere.py upstream --env oldest    # only those
    python tools/run_elsewhere.py here                     # this Python as it is (Colab's image)
    python tools/run_elsewhere.py notf                     # JAX with no TensorFlow (make notf-pass)
    ... [--chapters chapters/02_padding.ipynb ...] [--timeout 600]

Each environment is a virtual environment of its own, ``.venv-<name>/`` (git-ignored;
never the book's ``.venv``), made from the requirement files in ``envs/`` (see ENVS
below) and re-used while those files are unchanged. The chapters run in that
environment's Python: this script starts itself there (``--worker``), and the worker
(``tools/chapter_runner.py``) runs each chapter with nbclient in a fresh kernel of that
same interpreter, cell by cell, going on after a failing cell so that every failure is
listed. A kernel that dies (a segmentation fault, say) ends that chapter; the cell it died
in is the failure.

For each environment it also runs ``tools/probe_recurrent_mask.py`` (whether the
recurrent layers still pass masks on, with numbers).

It prints a table per environment (chapter, cells run, cells failed; for each failure
the cell index, the failing line and the error), writes the JSON report
(``reports/backends.json`` or ``reports/upstream.json``; ``upstream`` also writes
``reports/upstream.md``) and exits 1 if any chapter failed or an environment could not
be installed (2 for bad arguments). A package that cannot be installed is reported in
one sentence with pip's last lines, not a traceback, and the other environments still run.
"""

import argparse
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from chapter_runner import (  # noqa: E402,F401  (re-exported: gpu_report and the tests use them from here)
    _clean,
    failing_line,
    run_chapter,
    run_chapter_in_process,
    worker,
    worker_main,
)

ENV_DIR = ROOT / "envs"

#: name -> what it is, its Keras backend, and the pip steps that make it. A step is a
#: list of pip-install arguments, or ("uninstall", package). Paths are relative to ROOT.
ENVS = {
    "jax": {
        "what": "the book's pins, Keras on the JAX backend",
        "backend": "jax",
        "steps": [["-r", "envs/runtime.txt", "-c", "requirements.txt", "-r", "envs/jax.txt"],
                  ["-r", "requirements-torch.txt"]],
    },
    "torch": {
        "what": "the book's pins, Keras on the PyTorch backend (CPU build of torch)",
        "backend": "torch",
        "steps": [["-r", "envs/runtime.txt", "-c", "requirements.txt", "-r", "envs/torch.txt"],
                  ["-r", "requirements-torch.txt"]],
    },
    "notf": {
        "what": "the book's pins, Keras on the JAX backend, no TensorFlow installed",
        "backend": "jax",
        # keras-hub without its tensorflow-text (which would bring TensorFlow back).
        "steps": [["-r", "envs/notf.txt", "-c", "requirements.txt"],
                  ["--no-deps", "-c", "requirements.txt", "keras-hub"]],
    },
    "latest": {
        "what": "the newest released keras and tensorflow (and everything else newest)",
        "backend": "tensorflow",
        "steps": [["--upgrade", "--upgrade-strategy", "eager", "-r", "envs/latest.txt"]],
    },
    "nightly": {
        "what": "keras-nightly with the released TensorFlow it runs on",
        "backend": "tensorflow",
        "steps": [
            ["--upgrade", "-r", "envs/runtime.txt"],
            ("uninstall", "keras"),  # keras-nightly installs the same `keras` package
            ["--upgrade", "--pre", "-r", "envs/nightly.txt"],
        ],
    },
    "oldest": {
        "what": "the oldest keras and tensorflow that pyproject.toml claims",
        "backend": "tensorflow",
        "steps": [["-r", "envs/oldest.txt"]],
    },
    "here": {
        "what": "this Python as it is, no virtual environment made (e.g. Colab's runtime image)",
        "backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "steps": None,
    },
}
SUITES = {"backends": ["jax", "torch"], "upstream": ["latest", "nightly"], "here": ["here"], "notf": ["notf"]}
VERSIONS = ["keras", "keras-nightly", "tensorflow", "jax", "jaxlib", "torch", "numpy"]


def venv_path(name):
    return ROOT / f".venv-{name}"


def _spec_digest(name):
    """A digest of the steps and of every file they read: the stamp of an installed env."""
    digest = hashlib.sha256(sys.version.encode())
    for step in ENVS[name]["steps"]:
        digest.update(json.dumps(list(step)).encode())
        for arg in step:
            if isinstance(arg, str) and arg.endswith(".txt"):
                digest.update((ROOT / arg).read_bytes())
    return digest.hexdigest()


def _last_lines(text, n=6):
    lines = [line for line in text.strip().splitlines() if not line.startswith("WARNING: Location")]
    return "\n".join(lines[-n:])


def install(name, python=sys.executable, log=print):
    """Make (or re-use) the env's venv. Returns a dict: seconds, size_mb, reused, error."""
    venv = venv_path(name)
    stamp = venv / ".installed"
    digest = _spec_digest(name)
    if stamp.exists() and stamp.read_text().strip() == digest:
        return {"reused": True, "seconds": 0, "size_mb": _size_mb(venv), "error": None}
    start = time.perf_counter()
    if stamp.exists():
        stamp.unlink()
    if not (venv / "bin" / "python").exists():
        result = subprocess.run([python, "-m", "venv", str(venv)], capture_output=True, text=True)
        if result.returncode:
            return _install_error(name, "python -m venv", result, start)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    for step in ENVS[name]["steps"]:
        if isinstance(step, tuple) and step[0] == "uninstall":
            command = [*pip, "uninstall", "--yes", "--quiet", step[1]]
        else:
            command = [*pip, "install", "--quiet", *step]
        log(f"[{name}] pip {' '.join(command[3:])}")
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
        if result.returncode:
            return _install_error(name, " ".join(command[3:]), result, start)
    stamp.write_text(digest + "\n")
    return {"reused": False, "seconds": round(time.perf_counter() - start), "size_mb": _size_mb(venv),
            "error": None}


def _install_error(name, what, result, start):
    message = (f"could not install the {name} environment: `pip {what}` exited {result.returncode}; "
               f"pip said:\n{_last_lines(result.stderr + result.stdout)}")
    return {"reused": False, "seconds": round(time.perf_counter() - start), "size_mb": None, "error": message}


def _size_mb(path):
    total = 0
    for root, _, files in os.walk(path):
        for file in files:
            try:
                total += os.lstat(os.path.join(root, file)).st_size
            except OSError:
                pass
    return round(total / 2**20)


def versions(python):
    """The installed versions of the packages that matter, for that Python."""
    code = ("import importlib.metadata as m, json, sys\n"
            f"names = {VERSIONS!r}\n"
            "found = {}\n"
            "for n in names:\n"
            "    try: found[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: pass\n"
            "found['python'] = sys.version.split()[0]\n"
            "print(json.dumps(found))")
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return json.loads(result.stdout) if result.returncode == 0 else {}


def kernel_env(backend):
    """The environment the kernels run with: the chosen backend, the helpers importable."""
    env = dict(os.environ)
    env.update(KERAS_BACKEND=backend, PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
    env.pop("VIRTUAL_ENV", None)
    return env


def run_env(name, chapters, timeout, log=print):
    """Install the env, run the chapters and the probe in it. Returns its report entry."""
    spec = ENVS[name]
    entry = {"what": spec["what"], "backend": spec["backend"], "venv": f".venv-{name}"}
    if spec["steps"] is None:
        python = sys.executable
        installed = {"reused": True, "seconds": 0, "size_mb": None, "error": None}
    else:
        python = str(venv_path(name) / "bin" / "python")
        installed = install(name, log=log)
    entry["install"] = installed
    if installed["error"]:
        log(installed["error"])
        return entry
    entry["versions"] = versions(python)
    log(f"[{name}] {_versions_line(entry['versions'])}; running {len(chapters)} chapters")
    entry["chapters"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "chapters.json"
        if not chapters:  # --probe-only
            entry["probe"] = probe(python, spec["backend"])
            return entry
        command = [python, str(pathlib.Path(__file__).resolve()), "--worker", "--out", str(out),
                   "--timeout", str(timeout), *map(str, chapters)]
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=kernel_env(spec["backend"]), capture_output=True, text=True)
        entry["run_seconds"] = round(time.perf_counter() - start)
        if result.returncode or not out.exists():
            entry["error"] = f"the worker exited {result.returncode}: {_last_lines(result.stderr + result.stdout)}"
            log(entry["error"])
            entry["chapters"] = {}
        else:
            entry["chapters"] = json.loads(out.read_text())
    entry["probe"] = probe(python, spec["backend"])
    return entry


def probe(python, backend):
    """tools/probe_recurrent_mask.py in the env's python; its JSON, or the error."""
    result = subprocess.run([python, str(ROOT / "tools" / "probe_recurrent_mask.py")], cwd=ROOT,
                            env=kernel_env(backend), capture_output=True, text=True, timeout=600)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": f"the probe exited {result.returncode}: {_last_lines(result.stderr)}"}


def _versions_line(found):
    return ", ".join(f"{k} {v}" for k, v in found.items())


# --------------------------------------------------------------------------- the worker
# tools/chapter_runner.py (it runs inside the env's venv); its names are re-exported here.

# --------------------------------------------------------------------------- reports

def table(name, entry):
    """The printed per-chapter table of one environment."""
    lines = [f"== {name}: {entry['what']}"]
    if entry["install"].get("error"):
        return "\n".join([*lines, entry["install"]["error"]])
    inst = entry["install"]
    how = "re-used" if inst["reused"] else f"installed in {inst['seconds']} s"
    size = f"venv {inst['size_mb']} MB, {how}" if inst["size_mb"] is not None else "no venv"
    lines.append(f"   {_versions_line(entry.get('versions', {}))}; {size}; "
                 f"chapters ran in {entry.get('run_seconds')} s")
    if entry.get("error"):
        lines.append("   " + entry["error"])
    lines.append(f"   {'chapter':<32} {'cells run':>9} {'failed':>6}")
    for chapter, r in entry.get("chapters", {}).items():
        lines.append(f"   {chapter:<32} {r['ran']:>9} {r['failed']:>6}")
        for f in r["failures"]:
            where = f"cell {f['cell']}" + (f", line {f['line']}" if f["line"] else "")
            code = f": {f['code']}" if f["code"] else ""
            lines.append(f"      {where}{code}")
            lines.append(f"         {f['error']}: {f['message'].splitlines()[0] if f['message'] else ''}")
    return "\n".join(lines)


def failed(entry):
    return bool(entry["install"].get("error") or entry.get("error")
                or any(r["failed"] for r in entry.get("chapters", {}).values()))


def markdown(report):
    """reports/upstream.md: the same results, readable on GitHub."""
    out = ["# Chapters against other Keras and TensorFlow releases", "",
           f"Made by `make upstream` (tools/run_elsewhere.py) on {report['date']}. Every chapter's code "
           "cells were run with their asserts, outputs not compared. A failure names the cell "
           "(its index in the notebook), the line and the error.", ""]
    for name, entry in report["envs"].items():
        out += [f"## {name}: {entry['what']}", ""]
        if entry["install"].get("error"):
            out += ["```", entry["install"]["error"], "```", ""]
            continue
        out.append("Versions: " + _versions_line(entry.get("versions", {})) + ".")
        inst = entry["install"]
        if inst.get("size_mb") is not None and not inst.get("reused"):
            out.append(f"Installed in {inst['seconds']} s, {inst['size_mb']} MB.")
        if entry.get("note"):
            out += ["", entry["note"]]
        out.append("")
        if entry.get("chapters"):
            out += ["| chapter | cells run | failed |", "| --- | ---: | ---: |"]
            for chapter, r in entry["chapters"].items():
                out.append(f"| {chapter} | {r['ran']} | {r['failed']} |")
            out.append("")
        for chapter, r in entry.get("chapters", {}).items():
            for f in r["failures"]:
                line = f", line {f['line']}" if f["line"] else ""
                code = f" `{f['code']}`" if f["code"] else ""
                msg = (f["message"] or "").splitlines()[0] if f["message"] else ""
                out.append(f"- {chapter}, cell {f['cell']}{line}:{code} — {f['error']}: {msg}")
        out.append("")
    probes = report.get("probes", {}).get("recurrent_mask", {})
    if probes:
        out += ["## Probe: do recurrent layers pass the mask on?", "",
                "`Embedding(5, 5, mask_zero=True) -> layer -> Dense(3)`, input `[[1, 2, 0, 0]]`, mse against "
                "`arange(12).reshape(1, 4, 3)`, seeded weights (tools/probe_recurrent_mask.py). `evaluate` is "
                "what Keras returned; `masked` the mean over the two real steps; `unmasked` over all four.", "",
                "| env | keras | layer | supports_masking | mask out | evaluate | masked | unmasked "
                "| mask reaches the loss |",
                "| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |"]
        for env, p in probes.items():
            if "error" in p:
                out.append(f"| {env} | | {p['error'].splitlines()[0]} | | | | | | |")
                continue
            for layer, r in p["layers"].items():
                out.append(f"| {env} | {p['keras']} | {layer} | {r['supports_masking']} | {r['mask_out']} | "
                           f"{r['evaluate']} | {r['masked']} | {r['unmasked']} | {r['mask_reaches_loss']} |")
        out.append("")
    return "\n".join(out)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--worker"]:  # inside an env's venv: run the chapters, write JSON
        return worker_main(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", nargs="?", choices=sorted(SUITES))
    parser.add_argument("--env", action="append", choices=sorted(ENVS), help="only these environments")
    parser.add_argument("--oldest", action="store_true", help="upstream: also the oldest claimed pins")
    parser.add_argument("--chapters", nargs="+", help="default: every chapters/*.ipynb")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--json", help="report file (default reports/<suite>.json)")
    parser.add_argument("--probe-only", action="store_true", help="install and probe, run no chapter")
    args = parser.parse_args(argv)
    if not args.suite:
        parser.error("say which: backends or upstream")
    names = args.env or SUITES[args.suite] + (["oldest"] if args.oldest else [])
    default = sorted((ROOT / "chapters").glob("*.ipynb"))
    chapters = [pathlib.Path(c) for c in args.chapters] if args.chapters else default
    missing = [str(c) for c in chapters if not c.exists()]
    if missing:
        parser.error(f"no such chapter: {', '.join(missing)}")
    report_path = pathlib.Path(args.json) if args.json else ROOT / "reports" / f"{args.suite}.json"
    previous = json.loads(report_path.read_text()) if report_path.exists() else {}
    report = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "suite": args.suite,
              "envs": dict(previous.get("envs", {})), "probes": dict(previous.get("probes", {}))}
    report["probes"].setdefault("recurrent_mask", {})
    status = 0
    for name in names:
        entry = run_env(name, [] if args.probe_only else chapters, args.timeout, log=lambda m: print(m, flush=True))
        report["envs"][name] = entry
        if "probe" in entry:
            report["probes"]["recurrent_mask"][name] = entry.pop("probe")
        print(table(name, entry), flush=True)
        status |= failed(entry)
    book = ROOT / ".venv" / "bin" / "python"
    if args.suite == "upstream" and book.exists() and not args.env:
        # The probe only (never the chapters) in the book's own .venv: the pinned numbers.
        report["probes"]["recurrent_mask"]["pinned"] = probe(str(book), "tensorflow")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=1, sort_keys=False) + "\n")
    print(f"wrote {report_path.relative_to(ROOT) if report_path.is_relative_to(ROOT) else report_path}")
    if args.suite == "upstream":
        md = report_path.with_suffix(".md")
        md.write_text(markdown(report) + "\n")
        print(f"wrote {md.relative_to(ROOT) if md.is_relative_to(ROOT) else md}")
    if status:
        print("Some chapters failed (or an environment could not be installed): see the table above.")
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
