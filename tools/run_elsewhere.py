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
runs each chapter with nbclient in a fresh kernel of that same interpreter, cell by
cell, going on after a failing cell so that every failure is listed. A kernel that dies
(a segmentation fault, say) ends that chapter; the cell it died in is the failure.

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
import re
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
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
# Runs inside the env's venv: only the standard library, nbformat and nbclient.

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def failing_line(cell_source, traceback):
    """(line number, text) of the cell's line that raised, from an IPython traceback."""
    text = _ANSI.sub("", "\n".join(traceback))
    match = re.search(r"(?:Cell In\s*\[\d*\]|<ipython-input-[^>]*>),\s*line (\d+)", text)
    if not match:
        return None, None
    number = int(match.group(1))
    lines = cell_source.splitlines()
    return number, (lines[number - 1].strip() if 0 < number <= len(lines) else None)


def _clean(message):
    """An error's own words: Keras's "Exception encountered when calling ..." wrapper and
    its "Arguments received" tail dropped, colours removed, 500 characters at most."""
    text = _ANSI.sub("", str(message))
    text = re.sub(r"^Exception encountered when calling [^\n]*\n\n", "", text.strip())
    return text.split("\n\nArguments received")[0].strip()[:500]


def run_chapter(path, timeout):
    """Every code cell of the chapter in a fresh kernel; returns cells run and failures."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=os.environ["RUN_ELSEWHERE_KERNEL"],
                            allow_errors=True, interrupt_on_timeout=True, record_timing=False,
                            resources={"metadata": {"path": str(pathlib.Path(path).resolve().parent)}})
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    failures, ran = [], 0
    start = time.perf_counter()
    with client.setup_kernel():
        for index in code:
            cell = nb.cells[index]
            ran += 1
            try:
                client.execute_cell(cell, index)
            except DeadKernelError as error:
                failures.append({"cell": index, "line": None, "code": None, "error": "DeadKernelError",
                                 "message": f"the kernel died in this cell ({error})"})
                break
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    number, text = failing_line(cell.source, out.get("traceback", []))
                    failures.append({"cell": index, "line": number, "code": text, "error": out.get("ename"),
                                     "message": _clean(out.get("evalue", ""))})
                    break
    return {"code_cells": len(code), "ran": ran, "failed": len(failures), "failures": failures,
            "seconds": round(time.perf_counter() - start)}


def run_chapter_in_process(path):
    """Every code cell of the chapter in this process's IPython shell (no kernel, no nbclient).

    For machines that have IPython but not Jupyter's kernel machinery (a GPU machine whose
    image lacks nbclient and ipykernel, say): run it in a fresh process per chapter, with the
    chapter's folder as the working directory. Returns what :func:`run_chapter` returns.
    """
    import contextlib
    import io
    import traceback as tb

    from IPython.core.interactiveshell import InteractiveShell

    cells = json.loads(pathlib.Path(path).read_text())["cells"]
    code = [(i, "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "code"]
    shell = InteractiveShell.instance()
    failures, ran = [], 0
    start = time.perf_counter()
    for index, source in code:
        ran += 1
        with contextlib.redirect_stdout(io.StringIO()):
            result = shell.run_cell(source, store_history=True, silent=False)
        error = result.error_before_exec or result.error_in_exec
        if error is None:
            continue
        cell_file = ("<ipython-input", "/tmp/ipykernel")  # where IPython says a cell's code lives
        frames = [f for f in tb.extract_tb(error.__traceback__) if f.filename.startswith(cell_file)]
        number = frames[-1].lineno if frames else None
        lines = source.splitlines()
        text = lines[number - 1].strip() if number and 0 < number <= len(lines) else None
        failures.append({"cell": index, "line": number, "code": text, "error": type(error).__name__,
                         "message": _clean(error)})
    return {"code_cells": len(code), "ran": ran, "failed": len(failures), "failures": failures,
            "seconds": round(time.perf_counter() - start)}


def worker(chapters, out, timeout):
    with tempfile.TemporaryDirectory() as tmp:
        spec = pathlib.Path(tmp) / "kernels" / "run-elsewhere"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "run_elsewhere", "language": "python"}))
        os.environ["JUPYTER_PATH"] = tmp  # so this kernel, of this venv's python, is found
        os.environ["RUN_ELSEWHERE_KERNEL"] = "run-elsewhere"
        results = {}
        for path in chapters:
            name = pathlib.Path(path).name
            try:
                results[name] = run_chapter(path, timeout)
            except Exception as error:  # a kernel that would not start, say
                results[name] = {"code_cells": None, "ran": 0, "failed": 1, "seconds": 0, "failures": [
                    {"cell": None, "line": None, "code": None, "error": type(error).__name__,
                     "message": str(error)[:500]}]}
            r = results[name]
            print(f"{name}: {r['ran']} cells run, {r['failed']} failed", file=sys.stderr, flush=True)
            # Written after every chapter, so that a run cut short still leaves its results.
            pathlib.Path(out).write_text(json.dumps(results, indent=1))


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
        inner = argparse.ArgumentParser(prog="run_elsewhere.py --worker")
        inner.add_argument("--worker", action="store_true")
        inner.add_argument("--out", required=True)
        inner.add_argument("--timeout", type=int, default=600)
        inner.add_argument("paths", nargs="+")
        inner.add_argument("--in-process", action="store_true", help="one chapter, in this process's IPython")
        args = inner.parse_args(argv)
        if args.in_process:  # tools/gpu_report.py: one chapter per process, no kernel
            if len(args.paths) != 1:
                inner.error("--in-process runs exactly one chapter")
            chapter, out = pathlib.Path(args.paths[0]).resolve(), pathlib.Path(args.out).resolve()
            os.chdir(chapter.parent)  # the chapters read ../reports and write next to themselves
            out.write_text(json.dumps({chapter.name: run_chapter_in_process(chapter)}, indent=1))
            return 0
        worker(args.paths, args.out, args.timeout)
        return 0
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
