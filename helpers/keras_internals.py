"""The one adapter for private Keras internals (``keras.src``, underscored attributes) the helpers use.

Everything here reaches into Keras's private code, which may change in any
release. Keeping it in one module means a new Keras breaks one file, and the
error says what is missing and which Keras is installed, instead of an
``AttributeError`` deep inside a helper. Chapters and helpers import these
functions, never ``keras.src`` directly.

Used by the helpers that need Keras's internals (``helpers.masks``, ``helpers.tracing``,
``helpers.gpu``, ``helpers.backend_probes``, ...); chapters go through those helpers
(chapter 3 excepted: it explains the mask attribute itself).

============================  ======================================================
:func:`get_keras_mask`        the mask Keras attached to a tensor (attribute or side table)
:func:`set_keras_mask`        attach a mask to a tensor the way Keras does
:func:`mask_attribute`        the mask in a tensor's own attribute only (where Keras keeps it)
:func:`mask_attribute_set`    whether a tensor holds a mask attribute itself
:func:`functional_class`      ``keras.src.models.functional.Functional``
:func:`run_through_graph`     ``Functional._run_through_graph``: run a graph op by op
:func:`nodes_by_depth`        ``Functional._nodes_by_depth``
:func:`keras_history`         ``KerasTensor._keras_history``: the op that made a tensor
:func:`inbound_node`          ``Operation._inbound_nodes[i]``
:func:`lambda_expects_mask`   ``Lambda._fn_expects_mask_arg``
:func:`tensorflow_rnn`        ``keras.src.backend.tensorflow.rnn`` (cuDNN conditions)
:func:`keras_mask_side_table` the side table of masks for tensors that refuse attributes
:func:`cudnn_mask_check`      a backend's mask check before its cuDNN LSTM path
:func:`backend_rnn_function`  ``keras.src.backend.<backend>.rnn.lstm`` / ``gru`` (the fused paths)
:func:`recurrent_path_recorder` which path ``LSTM``/``GRU`` take: the backend's fused one or the loop
:func:`keras_source_lines`    lines of a file of ``keras/src`` that hold a phrase (read, not imported)
============================  ======================================================

Example:
    >>> functional_class().__name__
    'Functional'
"""

import contextlib
import importlib


class KerasInternalError(ImportError):
    """A private Keras internal the helpers rely on is missing in the installed Keras."""


def _keras_version():
    import keras

    return getattr(keras, "__version__", "unknown")


def _missing(what, exc=None):
    message = (
        f"helpers need the private Keras internal {what}, which Keras {_keras_version()} does not have "
        "(the book was written for Keras 3.15.1); adapt helpers/keras_internals.py to this Keras"
    )
    if exc is not None:
        message += f" ({type(exc).__name__}: {exc})"
    return KerasInternalError(message)


def _import(module, attribute=None):
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise _missing(f"module {module}", exc) from exc
    if attribute is None:
        return loaded
    try:
        return getattr(loaded, attribute)
    except AttributeError as exc:
        raise _missing(f"{module}.{attribute}", exc) from exc


def _attribute(obj, name, what):
    try:
        return getattr(obj, name)
    except AttributeError as exc:
        raise _missing(f"{what} ({type(obj).__name__}.{name})", exc) from exc


def get_keras_mask(tensor):
    """The mask Keras attached to ``tensor``, or None.

    Keras keeps it as the attribute ``_keras_mask`` when the tensor accepts new
    attributes, and in a side table keyed by ``id(tensor)`` otherwise
    (``keras/src/backend/common/tensor_attributes.py``); Keras's own
    ``get_keras_mask`` reads both. Prefer :func:`helpers.masks.keras_mask`, which
    also converts the mask to NumPy.
    """
    return _import("keras.src.backend.common.masking", "get_keras_mask")(tensor)


def set_keras_mask(tensor, mask):
    """Attach ``mask`` to ``tensor`` as a Keras layer would (None removes it)."""
    return _import("keras.src.backend.common.masking", "set_keras_mask")(tensor, mask)


def mask_attribute(tensor):
    """The mask in ``tensor``'s own ``_keras_mask`` attribute, or None (the side table is not read).

    Use :func:`get_keras_mask` to find the mask wherever Keras keeps it; this one shows
    where it is kept (chapter 17 compares the two).
    """
    return getattr(tensor, "_keras_mask", None)


def mask_attribute_set(tensor):
    """Whether Keras stored a mask as an attribute on ``tensor`` itself (not in the side table)."""
    return "_keras_mask" in getattr(tensor, "__dict__", {})


def functional_class():
    """The class of Functional models (``keras.Model(inputs, outputs)`` and Sequential's base)."""
    return _import("keras.src.models.functional", "Functional")


def run_through_graph(model, inputs, operation_fn):
    """Run a Functional ``model`` on ``inputs``, calling each operation through ``operation_fn(op)``."""
    return _attribute(model, "_run_through_graph", "Functional._run_through_graph")(inputs, operation_fn=operation_fn)


def nodes_by_depth(model):
    """``{depth: [nodes]}`` of a Functional model's graph."""
    return _attribute(model, "_nodes_by_depth", "Functional._nodes_by_depth")


def keras_history(tensor):
    """``(operation, node_index, tensor_index)`` of the symbolic ``tensor``, or None for an input."""
    return getattr(tensor, "_keras_history", None)


def inbound_node(operation, index):
    """The ``index``-th node at which ``operation`` was called in a graph."""
    return _attribute(operation, "_inbound_nodes", "Operation._inbound_nodes")[index]


def lambda_expects_mask(layer):
    """Whether the function of a ``keras.layers.Lambda`` takes a ``mask`` argument."""
    return bool(_attribute(layer, "_fn_expects_mask_arg", "Lambda._fn_expects_mask_arg"))


def tensorflow_rnn():
    """Keras's TensorFlow RNN module: ``_is_sequence_right_padded``, ``_has_fully_masked_sequence``, ...

    These two functions decide whether a masked LSTM/GRU may run on cuDNN.
    """
    module = _import("keras.src.backend.tensorflow.rnn")
    for name in ("_is_sequence_right_padded", "_has_fully_masked_sequence"):
        if not hasattr(module, name):
            raise _missing(f"keras.src.backend.tensorflow.rnn.{name}")
    return module


def keras_mask_side_table():
    """Keras's side table of masks, ``{id(tensor): mask}``, for tensors that refuse attributes.

    ``set_keras_mask`` falls back to it when ``setattr`` fails (a JAX tracer inside
    ``jax.jit``, for instance); it is empty until then.
    """
    global_state = _import("keras.src.backend.common.global_state")
    return global_state.get_global_attribute("_keras_mask_dict") or {}


def cudnn_mask_check(backend):
    """The check the ``backend``'s LSTM applies to a mask before it takes the cuDNN path.

    TensorFlow and PyTorch: ``_assert_valid_mask`` of ``keras/src/backend/<backend>/rnn.py``
    (fails unless the mask is right-padded with no empty row). JAX: its ``lstm``, which
    raises ``NotImplementedError`` (back to Keras's generic loop) for any mask.
    """
    if backend == "jax":
        lstm = _import("keras.src.backend.jax.rnn", "lstm")

        def check(mask):
            lstm(None, None, None, mask, None, None, None, None, None)

        return check
    if backend not in ("tensorflow", "torch"):
        raise ValueError(f"backend must be 'tensorflow', 'jax' or 'torch'. Received: backend={backend!r}")
    return _import(f"keras.src.backend.{backend}.rnn", "_assert_valid_mask")


def backend_rnn_function(backend, name):
    """``keras.src.backend.<backend>.rnn.<name>``: the fused ``lstm`` or ``gru`` a backend offers.

    ``keras.layers.LSTM`` and ``GRU`` try it first (cuDNN on a GPU); when it raises
    ``NotImplementedError`` they run Keras's generic loop instead.
    """
    if backend not in ("tensorflow", "jax", "torch"):
        raise ValueError(f"`backend` must be 'tensorflow', 'jax' or 'torch'. Received: backend={backend!r}")
    if name not in ("lstm", "gru"):
        raise ValueError(f"`name` must be 'lstm' or 'gru'. Received: name={name!r}")
    return _import(f"keras.src.backend.{backend}.rnn", name)


@contextlib.contextmanager
def recurrent_path_recorder():
    """Record which path ``LSTM`` and ``GRU`` layers take inside the block.

    Wraps ``keras.src.backend.lstm``, ``gru`` and ``rnn`` (what the layers call, looked
    up at call time) and yields a list that gets, per call, ``"lstm"`` or ``"gru"``
    when the backend's fused function ran (cuDNN on a GPU), ``"lstm declined"`` when
    it raised ``NotImplementedError``, and ``"loop"`` when Keras's generic loop ran.
    Inside a compiled function the record is made while tracing.
    """
    module = _import("keras.src.backend")
    names = ("lstm", "gru", "rnn")
    originals = {name: _attribute(module, name, f"keras.src.backend.{name}") for name in names}
    seen = []

    def wrapped(name, function):
        def run(*args, **kwargs):
            try:
                result = function(*args, **kwargs)
            except NotImplementedError:
                seen.append(f"{name} declined")
                raise
            seen.append("loop" if name == "rnn" else name)
            return result

        return run

    for name, function in originals.items():
        setattr(module, name, wrapped(name, function))
    try:
        yield seen
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


def functional_graph(model):
    """The Functional graph that runs ``model``, or None for a subclassed model.

    A Functional model is its own graph; a built ``keras.Sequential`` runs through the
    Functional it keeps in ``Sequential._functional`` (``keras/src/models/sequential.py``).
    """
    functional = functional_class()
    if isinstance(model, functional):
        return model
    inner = getattr(model, "_functional", None)
    return inner if isinstance(inner, functional) else None


def standardize_inputs(graph, inputs):
    """``Functional._standardize_inputs``: ``inputs`` (array, list or dict) as the graph's flat list of tensors."""
    return _attribute(graph, "_standardize_inputs", "Functional._standardize_inputs")(inputs)


def graph_calls(graph, inputs, call_node):
    """Run a Functional ``graph`` node by node, as ``Function._run_through_graph`` does, through ``call_node``.

    ``call_node(node, operation, args, kwargs, tensors)`` is called for every node in
    run order, with the node's arguments filled in from ``tensors`` (``{id(symbolic
    tensor): run-time value}``); it returns the node's outputs. ``node.input_tensors`` and
    ``node.outputs`` are the symbolic tensors (which carry the masks Keras attached when
    the graph was built). Returns ``tensors`` after the run.
    """
    tensors = {id(x): y for x, y in zip(_attribute(graph, "inputs", "Function.inputs"), inputs)}
    by_depth = nodes_by_depth(graph)
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if not node.operation or node.is_input:
                continue
            if any(id(x) not in tensors for x in node.input_tensors):
                continue  # a node of another graph sharing this layer
            args, kwargs = node.arguments.fill_in(tensors)
            outputs = call_node(node, node.operation, args, kwargs, tensors)
            flat = _import("keras", "tree").flatten(outputs)
            for x, y in zip(node.outputs, flat):
                tensors[id(x)] = y
    return tensors


def keras_source_lines(path, phrase, after=0):
    """The lines of ``keras/src/<path>`` that contain ``phrase``, each with the ``after`` lines below it.

    The file is read as text, not imported, so a backend's source can be cited where that
    backend is not installed (``backend/torch/rnn.py`` without PyTorch).

    Args:
        path: str, a file under ``keras/src``, e.g. ``"backend/jax/rnn.py"``.
        phrase: str, the text to look for.
        after: int, how many following lines to include with each match.

    Returns:
        list of lists of ``(line_number, text)``, one list per match, numbered from 1.
    """
    import importlib.util
    import pathlib

    spec = importlib.util.find_spec("keras.src")
    file = pathlib.Path(list(spec.submodule_search_locations)[0]) / path if spec else None
    if file is None or not file.is_file():
        raise _missing(f"source file keras/src/{path}")
    lines = file.read_text().splitlines()
    return [[(n + 1, lines[n]) for n in range(i, min(i + 1 + after, len(lines)))]
            for i, line in enumerate(lines) if phrase in line]

