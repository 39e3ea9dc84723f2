"""Run the same probes under each Keras backend, each in a process of its own.

Keras picks its backend once, when it is first imported (``KERAS_BACKEND``), so a
notebook that wants to compare TensorFlow, JAX and PyTorch starts one Python
process per backend. :func:`run_probes` does that: the child imports the backend
(PyTorch before anything that could load TensorFlow, which this machine needs),
runs the named functions of :mod:`helpers.backend_probes` and sends their results
back as JSON.

Taught in chapter 17 (The same masks on every backend).
"""

import importlib.util
import json
import os
import subprocess
import sys

from helpers.validation import received

#: The backends Keras 3 supports, in the order the book shows them.
BACKENDS = ("tensorflow", "jax", "torch")

#: The package each backend needs, importable in the current environment.
BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}

_CHILD = """\
import json, os, sys
if os.environ["KERAS_BACKEND"] == "torch":
    import torch  # noqa: F401  (before anything that could load TensorFlow)
from helpers import backend_probes
request = json.loads(sys.stdin.read())
results = {}
for name in request["probes"]:
    results[name] = getattr(backend_probes, name)(**request["kwargs"].get(name, {}))
sys.stdout.write("\\n@@RESULTS@@" + json.dumps(results))
"""


def available_backends():
    """The backends whose package can be imported here, in :data:`BACKENDS` order.

    Example:
    >>> set(available_backends()) <= set(BACKENDS)
    True
    """
    return tuple(b for b in BACKENDS if importlib.util.find_spec(BACKEND_PACKAGES[b]) is not None)


def run_probes(backend, probes, kwargs=None, timeout=300):
    """Run probes of :mod:`helpers.backend_probes` in a fresh process on ``backend``.

    Args:
        backend: one of :data:`BACKENDS`.
        probes: a list of probe function names (strings) of :mod:`helpers.backend_probes`.
        kwargs: optional dict mapping a probe name to the keyword arguments it gets
            (JSON-serialisable values only).
        timeout: seconds the child process may take.

    Returns:
        A dict mapping each probe name to what it returned (through JSON).

    Raises:
        ValueError: for an unknown backend or probe, or a backend not installed here.
        TypeError: if ``probes`` is not a list or tuple of strings.
        RuntimeError: if the child process fails; the message holds the end of its stderr.

    Example:
    ```python
    run_probes("jax", ["mask_storage"])["mask_storage"]["tensor_type"]  # 'jaxlib..._jax.ArrayImpl'
    ```
    """
    from helpers import backend_probes

    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {BACKENDS}. {received('backend', backend)}")
    if not isinstance(probes, (list, tuple)) or not all(isinstance(p, str) for p in probes):
        raise TypeError(f"`probes` must be a list of probe names (str). {received('probes', probes)}")
    unknown = [p for p in probes if p not in backend_probes.PROBES]
    if unknown:
        raise ValueError(f"`probes` must be names from {sorted(backend_probes.PROBES)}; unknown probes {unknown}. "
                         f"{received('probes', probes)}")
    if backend not in available_backends():
        raise ValueError(f"`backend` must be installed here: {backend!r} needs the package "
                         f"{BACKEND_PACKAGES[backend]!r}, which is not installed in this environment. "
                         f"{received('backend', backend)}")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    request = json.dumps({"probes": list(probes), "kwargs": kwargs or {}})
    done = subprocess.run([sys.executable, "-c", _CHILD], input=request, env=env, capture_output=True,
                          text=True, timeout=timeout)
    marker = "\n@@RESULTS@@"
    if done.returncode != 0 or marker not in done.stdout:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"the {backend} process exited with status {done.returncode}:\n{tail}")
    return json.loads(done.stdout.rsplit(marker, 1)[1])


def run_probes_on_every_backend(probes, kwargs=None, backends=BACKENDS, timeout=300):
    """:func:`run_probes` on each of ``backends``, their processes running side by side.

    Returns:
        A dict mapping each backend (in the order given) to what :func:`run_probes`
        returned for it. The first backend whose process fails raises its error.
    """
    from concurrent.futures import ThreadPoolExecutor

    backends = tuple(backends)
    with ThreadPoolExecutor(max_workers=len(backends) or 1) as pool:
        futures = [pool.submit(run_probes, b, probes, kwargs, timeout) for b in backends]
        return {b: f.result() for b, f in zip(backends, futures)}
