"""Re-run chapters top to bottom in a fresh kernel each and store their outputs.

Usage:
    python tools/execute.py chapters/02_padding.ipynb [...]      execute and save
    python tools/execute.py --timings-only chapters/*.ipynb      execute, report times, save nothing

Prints one line per chapter with its wall time, then the total.
"""

import argparse
import os
import sys
import time

import nbformat
from nbclient import NotebookClient


def execute(path, save=True, timeout=900):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    if save:
        nb.metadata.pop("widgets", None) if not _has_widget_outputs(nb) else None
        nbformat.write(nb, path)
    return elapsed


def _has_widget_outputs(nb):
    return any(
        "application/vnd.jupyter.widget-view+json" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--timings-only", action="store_true", help="do not write outputs back")
    args = parser.parse_args(argv)
    total = 0.0
    for path in args.notebooks:
        elapsed = execute(path, save=not args.timings_only)
        total += elapsed
        print(f"{elapsed:7.1f} s  {path}", flush=True)
    print(f"{total:7.1f} s  total ({len(args.notebooks)} chapters)")


if __name__ == "__main__":
    sys.exit(main())
