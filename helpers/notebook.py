"""Small tools every chapter uses: the first cell, TensorFlow-only guards, code and warnings.

Used by every chapter's first cell; chapter 1 (Why sequences need padding and masks) shows it.

Preparing the kernel (``prepare_notebook``), guarding TensorFlow-only cells
(``tensorflow_only``), showing code (``show_source``, ``show_error``) and capturing
warnings (``printed_warnings``), printing differences (``format_difference``).
"""

import contextlib
import inspect
import os
import random
import re
import sys
import warnings

from helpers.validation import received

#: Repository and release the first cell installs in Colab.
REPOSITORY = "https://github.com/keras-masking-book/padding-and-masking"
RELEASE = "v0.2.0"

#: The first cell of every chapter, verbatim (a test checks each chapter against it).
FIRST_CELL = f"""\
# Set up: quiet TensorFlow before it loads, install the helpers in Colab, fix seeds.
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if "google.colab" in sys.modules:  # Colab only: the book's helpers, pinned to a release
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "padding-and-masking-helpers @ git+{REPOSITORY}@{RELEASE}"], check=True)
from helpers.notebook import prepare_notebook
prepare_notebook(seed=0)"""


@contextlib.contextmanager
def _quiet_stderr_fd():
    """Send file descriptor 2 to /dev/null for the block.

    TensorFlow's C++ runtime writes start-up lines (CUDA and oneDNN notices) to fd 2
    before its log level is read; a Jupyter kernel would store them as stderr output.
    Python exceptions are unaffected: they reach the notebook through sys.stderr.
    """
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ else 2
    except (AttributeError, OSError, ValueError):
        fd = 2
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def keras_backend_name():
    """The Keras backend the next ``import keras`` will use, without importing Keras.

    Read as Keras reads it: the ``KERAS_BACKEND`` environment variable, else the
    ``"backend"`` entry of ``keras.json`` in ``$KERAS_HOME`` (default ``~/.keras``),
    else ``"tensorflow"``. Once Keras is imported, its own answer is returned.

    Returns:
        str, e.g. ``"tensorflow"``, ``"jax"`` or ``"torch"``.

    Example:
    ```python
    os.environ["KERAS_BACKEND"] = "jax"
    keras_backend_name()  # before keras is imported: 'jax'
    ```
    """
    if "keras" in sys.modules and hasattr(sys.modules["keras"], "backend"):
        return sys.modules["keras"].backend.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    import json

    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as file:
            return json.load(file).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def prepare_notebook(seed=0):
    """Quiet the backend, fix every random seed and set NumPy's print precision.

    Called by the first cell of every chapter, after it has set the TensorFlow
    environment variables. Prints nothing.

    TensorFlow is imported only when it is the Keras backend: with PyTorch installed
    beside TensorFlow 2.21, importing TensorFlow before torch can crash the process
    (segmentation fault), so on the torch backend torch is imported first and
    TensorFlow is left to the cells that need it (see :func:`tensorflow_only`).

    Args:
        seed: int, the seed for Python, NumPy and Keras (and so the backend).
    """
    if not isinstance(seed, int):
        raise TypeError(f"`seed` must be an int. {received('seed', seed)}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np

    backend = keras_backend_name()
    with _quiet_stderr_fd():
        if backend == "torch":
            import torch  # noqa: F401  (before anything that may load TensorFlow)
        elif backend == "tensorflow":
            import tensorflow  # noqa: F401  (loaded here, silently, before Keras uses it)
        import keras

        random.seed(seed)
        np.random.seed(seed)
        # On jax and torch this is where Keras loads TensorFlow, if installed, to seed it.
        keras.utils.set_random_seed(seed)
    # Three decimals survive a change of numerics path (oneDNN, thread count, GPU).
    np.set_printoptions(precision=3, suppress=True)
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    # Full float32 matmuls on every device: Ampere/Hopper GPUs default to TF32, which
    # changes results around 1e-4, enough to flip printed digits.
    if backend == "tensorflow":
        # TensorFlow's Python warnings (e.g. "triggered tf.function retracing", which
        # shows a memory address) would otherwise reach stored outputs.
        tensorflow.get_logger().setLevel("ERROR")
        tensorflow.config.experimental.enable_tensor_float_32_execution(False)
    elif backend == "torch":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    elif backend == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")


def tensorflow_only(what):
    """Whether to run a cell's TensorFlow-only code; on other backends say it is skipped.

    The one way chapters guard code that needs TensorFlow itself (``tf.data``,
    ``tf.RaggedTensor``, ``tf.function``): on the TensorFlow backend it returns True
    and prints nothing, so wrapping a cell leaves its stored outputs unchanged; on
    another backend it prints one line and returns False.

    Args:
        what: str, what the guarded code shows, e.g. ``"tf.data pipelines"``.

    Returns:
        bool, True on the TensorFlow backend.

    Example:
        >>> if tensorflow_only("tf.data pipelines"):
        ...     import tensorflow as tf
        ...     print(tf.data.Dataset.range(3).cardinality().numpy())
        3

        On the jax backend the same cell prints
        ``(TensorFlow only: tf.data pipelines; skipped on the jax backend)``.
    """
    if not isinstance(what, str):
        raise TypeError(f"`what` must be a str naming the TensorFlow-only code. {received('what', what)}")
    if not what.strip():
        raise ValueError(f"`what` must name the TensorFlow-only code, not be empty. {received('what', what)}")
    backend = keras_backend_name()
    if backend == "tensorflow":
        return True
    print(f"(TensorFlow only: {what.strip()}; skipped on the {backend} backend)")
    return False


def show_source(obj):
    """Display the source code of a class or function from ``helpers``, highlighted.

    Chapters use it to show the code they then import and run, so the book never
    holds a second copy of a layer.

    Args:
        obj: a class, function or method.

    Returns:
        An ``IPython.display.Code`` object (rendered by Jupyter and the website).
    """
    if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismethod(obj)):
        raise TypeError(f"show_source: `obj` must be a class or function. {received('obj', obj)}")
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


#: Differences below this are float rounding: how far below depends on the machine's numerics.
ROUNDING = 1e-5


def format_difference(value, width=0):
    """A difference as a chapter prints it: ``<1e-05`` below :data:`ROUNDING` (float rounding,
    exact zeros included, so the printed line is the same on every machine), otherwise two
    significant digits in e-notation; right-aligned in ``width`` characters.

    >>> format_difference(3.2e-7), format_difference(0.0), format_difference(2.345, width=8)
    ('<1e-05', '<1e-05', ' 2.3e+00')
    """
    text = f"<{ROUNDING:.0e}" if abs(value) < ROUNDING else f"{value:.1e}"
    return f"{text:>{width}}"


@contextlib.contextmanager
def printed_warnings():
    """Catch Python warnings raised in the block and print them to stdout.

    Stored notebook outputs keep no stderr (it carries TensorFlow's log noise);
    a warning the text discusses is shown this way instead, as
    ``Warning (UserWarning): ...``.

    Example:
        >>> with printed_warnings():
        ...     warnings.warn("the mask was dropped")
        Warning (UserWarning): the mask was dropped
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    for w in caught:
        print(f"Warning ({w.category.__name__}): {w.message}")


def error_message(error):
    """An exception's own message, without what Keras and TensorFlow wrap around it.

    Keras re-raises an error from inside a layer with context ("Exception encountered
    when calling ...", ANSI bold, "Arguments received ..."); TensorFlow adds op and
    device names. This keeps the first part that says what went wrong.

    Args:
        error: an exception instance.

    Returns:
        str, the cleaned message.
    """
    if not isinstance(error, BaseException):
        raise TypeError(f"error_message: `error` must be an exception. {received('error', error)}")
    text = str(error)
    inner = re.search(r"\x1b\[1m(.*?)\x1b\[0m", text, re.S)
    if inner:
        text = inner.group(1)
    text = re.sub(r"Exception encountered when calling .*?\n\n", "", text, flags=re.S)
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).split("\n\nArguments received")[0]
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\].*$", "", text, flags=re.S)
    return text.strip()


def show_error(error):
    """Print ``Type: message`` for an exception a cell caught on purpose.

    Stored outputs never hold a traceback; a chapter that demonstrates an error
    catches it and shows it this way. If Keras says which layer raised it, the
    layer's class is named: ``ValueError in TemporalSoftmax: ...``.
    """
    where = re.search(r"calling (\w+)\.call\(\)", str(error))
    layer = f" in {where.group(1)}" if where else ""
    print(f"{type(error).__name__}{layer}: {error_message(error)}")
