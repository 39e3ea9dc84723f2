"""Execute a submission in a fresh kernel, in a temporary folder, with a time limit.

``run_notebook(path, timeout)`` starts ``python -m helpers.grading.execute IN OUT SECONDS``
in a session of its own: it runs every cell with nbclient (errors allowed, so that one
failing cell does not stop the rest) and writes a summary to OUT. Whatever the
notebook does (loops forever, exits, kills its kernel), the caller gets a summary
back: the process group is killed when the time limit has passed.
The grade itself does not come from this run (see :mod:`helpers.grading.checker`).
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

GRACE_S = 30  # for the kernel to start and stop, on top of the notebook's time limit


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def child_env(extra_path=None):
    """The environment of a grading process: quiet TensorFlow, the helpers importable."""
    root = str(pathlib.Path(__file__).resolve().parents[2])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, extra_path, os.environ.get("PYTHONPATH")) if p)
    return env


def run_notebook(path, timeout):
    """Execute notebook ``path``; returns {"status", "seconds", "errors"}.

    status is ``ok``, ``errors`` (some cells raised: their numbers are in errors),
    ``timeout``, ``kernel died`` or ``failed`` (nbclient could not run it).
    """
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="grade-run-") as work:
        summary = pathlib.Path(work) / ".summary.json"
        command = [sys.executable, "-m", "helpers.grading.execute", str(pathlib.Path(path).resolve()),
                   str(summary), str(timeout)]
        process = subprocess.Popen(command, cwd=work, env=child_env(), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            process.wait(timeout=timeout + GRACE_S)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return {"status": "timeout", "seconds": round(time.monotonic() - start, 1), "errors": []}
        _kill_group(process)  # the kernel, if nbclient left it behind
        try:
            result = json.loads(summary.read_text())
        except (OSError, ValueError):
            result = {"status": "failed", "errors": []}
    result["seconds"] = round(time.monotonic() - start, 1)
    return result


def _execute(source, target, timeout):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(source, as_version=4)
    deadline = time.monotonic() + timeout
    client = NotebookClient(nb, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": os.getcwd()}},
                            timeout_func=lambda cell: max(1, int(deadline - time.monotonic())))
    status = "ok"
    try:
        client.execute()
    except CellTimeoutError:
        status = "timeout"
    except DeadKernelError:
        status = "kernel died"
    except Exception as exc:  # noqa: BLE001 - any failure of nbclient is a summary, not a crash
        status = "kernel died" if "dead" in str(exc).lower() else "failed"
    errors = [index for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
              and any(o.get("output_type") == "error" for o in cell.get("outputs", []))]
    if status == "ok" and errors:
        status = "errors"
    pathlib.Path(target).write_text(json.dumps({"status": status, "errors": errors}))


if __name__ == "__main__":
    _execute(sys.argv[1], sys.argv[2], float(sys.argv[3]))
    os._exit(0)
