"""Re-run chapters top to bottom in a fresh kernel each and store their outputs.

Usage:
    python tools/execute.py chapters/02_padding.ipynb [...]      execute and save
    python tools/execute.py --timings-only chapters/*.ipynb      execute, report times, save nothing

Prints one line per chapter with its wall time, then the total.

Stored outputs are what a terminal would show: stream pieces are merged and a
Keras progress bar keeps only its final line per epoch (the carriage-return
updates before it are dropped), so the website shows one line per epoch. nbval
merges the fresh outputs the same way before it compares them.

After running a chapter it names every cell that wrote to stderr: the book stores
no stderr (see tests/nbval_sanitize.cfg), so such a chapter is reported and the exit
status is 1 (the notebook is still saved, for you to look at). A chapter whose cell
raises is not saved at all (its previous outputs stay); the error is printed and the
exit status is 1.
"""

import argparse
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

# Python's string hashing is randomised per process; fixed here (and in tests/conftest.py
# for nbval) so that the order of a printed set of strings is the same on every run.
os.environ.setdefault("PYTHONHASHSEED", "0")


def execute(path, save=True, timeout=900):
    """Run the notebook at ``path`` in a fresh kernel.

    Returns:
        (seconds, problems): wall time of the run, and a list of strings naming
        cells that wrote to stderr or raised an exception.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
        record_timing=False,
        coalesce_streams=True,
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        lines = str(error).strip().splitlines()
        return time.perf_counter() - start, [f"not saved: a cell raised: {lines[-1] if lines else error}"]
    elapsed = time.perf_counter() - start
    problems = stored_output_problems(nb)
    if save:
        _drop_widget_state(nb)
        nbformat.write(nb, path)
    return elapsed, problems


def stored_output_problems(nb):
    """Cells whose outputs hold a stderr stream or an error (neither is ever stored)."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                first = out.get("text", "").strip().splitlines()[:1]
                problems.append(f"cell {index} wrote to stderr: {first[0] if first else ''!r}")
            elif out.get("output_type") == "error":
                problems.append(f"cell {index} raised {out.get('ename')}: {out.get('evalue')}")
    return problems


def _drop_widget_state(nb):
    """Store no live-widget views or widget state.

    A widget view is a random model id with no text fallback: useless without a kernel,
    and with its state stored the site would load widget JavaScript from a CDN. The
    explorers display a static view of their default state as ordinary outputs instead.
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                out for out in cell.get("outputs", [])
                if set(out.get("data", {})) - {"application/vnd.jupyter.widget-view+json", "text/plain"}
                or "application/vnd.jupyter.widget-view+json" not in out.get("data", {})
            ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--timings-only", action="store_true", help="do not write outputs back")
    args = parser.parse_args(argv)
    total = 0.0
    failed = False
    for path in args.notebooks:
        elapsed, problems = execute(path, save=not args.timings_only)
        total += elapsed
        print(f"{elapsed:7.1f} s  {path}", flush=True)
        for problem in problems:
            print(f"           {path}: {problem}", flush=True)
        failed = failed or bool(problems)
    print(f"{total:7.1f} s  total ({len(args.notebooks)} chapters)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
