"""The chapter runner of tools/run_elsewhere.py and tools/gpu_report.py: every code cell of a
chapter, going on after a failing cell, each failure named by cell, line and error.

Two ways: in a fresh Jupyter kernel of this Python with nbclient (:func:`run_chapter`,
:func:`worker`; ``run_elsewhere.py --worker``), or in this process's IPython shell with no
kernel (:func:`run_chapter_in_process`; ``run_elsewhere.py --worker --in-process``), for a
machine without Jupyter's kernel machinery (a GPU machine's image, say). Only the standard
library, nbformat/nbclient or IPython: it runs inside the environments being tested.
"""

import argparse
import json
import os
import pathlib
import re
import sys
import tempfile
import time

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



def worker_main(argv):
    """``run_elsewhere.py --worker ...``: run chapters, write their results as JSON."""
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
