"""Running a model for the padding audit: every layer's output, and which masks arrive at run time.

Taught in chapter 15 (Audit your own model).

A Functional (or Sequential) model is run node by node, as Keras runs it
(``Function._run_through_graph`` in ``keras/src/ops/function.py``), through
:func:`helpers.keras_internals.graph_calls`. Before each layer is called the probe
compares the masks Keras attached to its *symbolic* inputs when the graph was built
with the masks attached to the tensors it receives *now*: a layer whose symbolic
input carries a mask but whose run-time input carries none (and that is not handed a
``mask`` argument explicitly) has lost its mask. ``Layer.__call__``
(``keras/src/layers/layer.py``) fills a layer's ``mask`` argument only from the mask
attached to the run-time tensor, so that layer computes as if there were no padding.
A subclassed model is called as a whole: only its outputs are recorded.
"""

from dataclasses import dataclass, field

import numpy as np

from helpers import keras_internals

#: On JAX, run each graph under ``jax.jit`` (one compilation per call and input shape) rather than
#: eagerly (one compilation per operation and shape, cached and shared between models and calls).
#: Off: measured on the shared 2-core CPU, jit made a repeated audit of the benchmark encoder take
#: 105 s (it compiles again on every call) against 2 to 6 s eagerly once the operations are compiled.
JIT_ON_JAX = False


@dataclass
class Call:
    """One layer call of a run: its name, class, outputs (NumPy) and the inputs whose mask was lost."""

    name: str
    class_name: str
    outputs: list
    lost: list = field(default_factory=list)
    masked: bool = False
    mask_only: bool = False


def _numpy(value):
    import keras

    if value is None or not keras.ops.is_tensor(value) and not isinstance(value, np.ndarray):
        return None
    array = keras.ops.convert_to_numpy(value)
    return array.astype(np.float64) if array.dtype == bool or array.dtype.kind in "iuf" else None


def _explicit_mask(operation, node):
    """Whether the node passes a mask argument (``mask=``, ``query_mask=``, ...) itself."""
    kwargs = node.arguments.kwargs
    return any((k == "mask" or k.endswith("_mask")) and k != "attention_mask" and v is not None
               for k, v in kwargs.items())


def _lost_inputs(node, tensors):
    """Names of the node's symbolic inputs that carry a mask whose run-time tensor carries none."""
    lost = []
    for symbolic in node.input_tensors:
        if keras_internals.get_keras_mask(symbolic) is None:
            continue
        if keras_internals.get_keras_mask(tensors[id(symbolic)]) is None:
            lost.append(getattr(symbolic, "name", "input"))
    return lost


def _with_garbage(outputs, seed):
    """A Masking layer's output with garbage at its masked steps (the mask stays attached)."""
    import keras

    mask = keras_internals.get_keras_mask(outputs)
    if mask is None:
        return outputs
    rng = np.random.default_rng(seed)
    noise = keras.ops.convert_to_tensor(rng.normal(0.0, 3.0, size=tuple(outputs.shape)).astype("float32"),
                                        dtype=outputs.dtype)
    garbled = keras.ops.where(keras.ops.expand_dims(mask, -1), outputs, noise)
    keras_internals.set_keras_mask(garbled, mask)
    return garbled


def _names(graph):
    """A unique display name per node: the layer's name, with the call number for shared layers."""
    seen = {}

    def name(operation):
        seen[id(operation)] = seen.get(id(operation), 0) + 1
        count = seen[id(operation)]
        return operation.name if count == 1 else f"{operation.name} (call {count})"

    return name


def run_graph(graph, inputs, garbage_after_masking=False, seed=0):
    """Run a Functional ``graph`` on ``inputs`` layer by layer.

    Args:
        graph: a Functional model (see :func:`helpers.keras_internals.functional_graph`).
        inputs: what the model takes (array, list or dict).
        garbage_after_masking: bool, replace the masked steps of every ``Masking`` layer's
            output with noise (a model that reads its padding then changes its outputs).
        seed: int, seed of that noise.

    Returns:
        ``(outputs, calls)``: the model's flat outputs as NumPy arrays and a list of :class:`Call`.
    """
    import keras

    calls, raw = [], []

    def call_node(node, operation, args, kwargs, tensors):
        masked = any(keras_internals.get_keras_mask(x) is not None for x in node.input_tensors)
        lost = [] if _explicit_mask(operation, node) else _lost_inputs(node, tensors)
        outputs = operation(*args, **kwargs)
        if garbage_after_masking and isinstance(operation, keras.layers.Masking):
            outputs = _with_garbage(outputs, seed + len(calls))
        flat_outputs = [y if keras.ops.is_tensor(y) else None for y in keras.tree.flatten(outputs)]
        mask_only = not isinstance(operation, keras.layers.Layer) and all(
            y is not None and keras.backend.standardize_dtype(y.dtype) == "bool" for y in flat_outputs)
        calls.append(Call(name(operation), type(operation).__name__, [], lost, masked, mask_only))
        raw.append(flat_outputs)
        return outputs

    def forward(flat):
        nonlocal name
        name = _names(graph)  # a fresh count of shared layers' calls for each trace
        calls.clear()
        raw.clear()
        tensors = keras_internals.graph_calls(graph, flat, call_node)
        return [tensors[id(x)] for x in graph.outputs], list(raw)

    name = _names(graph)
    flat = keras_internals.standardize_inputs(graph, inputs)
    if keras.backend.backend() == "jax" and JIT_ON_JAX:
        # One XLA compilation for the whole graph (the probe runs while JAX traces).
        import jax

        outputs, per_call = jax.jit(forward)(flat)
    else:
        outputs, per_call = forward(flat)
    for call, values in zip(calls, per_call):
        call.outputs = [_numpy(y) for y in values]
    return [_numpy(y) for y in outputs], calls


def run_model(model, inputs):
    """Run any model as a whole (``training=False``): its flat outputs as NumPy arrays."""
    import keras

    return [_numpy(y) for y in keras.tree.flatten(model(inputs, training=False))]


def no_grad():
    """A context in which PyTorch records no gradients (a no-op on other backends)."""
    import contextlib

    import keras

    if keras.backend.backend() == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()
