"""Walk a batch through a Keras model layer by layer and record each layer's mask in and out.

Taught in chapter 4 (How masks propagate).
"""

import inspect
import warnings

import numpy as np

from helpers import keras_internals
from helpers.masks import keras_mask, mask_to_numpy
from helpers.tracing.events import as_list
from helpers.tracing.records import MaskRecord, MaskTrace, _describe_shape
from helpers.validation import received, to_array


def trace_masks(model, inputs):
    """Run ``inputs`` through ``model`` layer by layer and record what happens to the mask.

    Works for Sequential and Functional models, including layers with several
    inputs or outputs and operations written with operators on symbolic tensors
    (they appear in the trace under their operation's name). Input layers are
    skipped. The model runs eagerly in inference mode; its weights are not changed.

    Args:
        model: a ``keras.Sequential`` or Functional ``keras.Model``.
        inputs: the batch to follow: an array (or a list / dict of arrays for a
            model with several inputs), with a batch axis first, e.g. padded ids of
            shape ``(batch, time)``.

    Returns:
        A :class:`MaskTrace`.

    Raises:
        TypeError: ``model`` is not a Sequential or Functional Keras model.
        ValueError: ``inputs`` are ragged, empty, of the wrong rank or number, or a
            layer fails on them (the message names the layer).
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(
            f"trace_masks: `model` must be a Keras model (keras.Sequential or a Functional keras.Model). "
            f"{received('model', model)}"
        )
    if isinstance(model, keras.Sequential):
        records = _trace_sequential(model, inputs)
    elif _is_functional(model):
        records = _trace_functional(model, inputs)
    else:
        raise TypeError(
            f"trace_masks cannot follow the subclassed model {type(model).__name__}: its call() is "
            "Python code, not a graph of layers. Build it with keras.Sequential or the Functional "
            f"API, or trace the layers inside it one by one. {received('model', model)}"
        )
    return MaskTrace(records, model_name=model.name)


def _is_functional(model):
    return isinstance(model, keras_internals.functional_class())


def _check_batch(array, what):
    if array.ndim == 0:
        raise ValueError(
            f"trace_masks: `{what}` must be a batch with the batch axis first, e.g. ids of shape (batch, time), "
            f"not a scalar. {received(what, array)}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"trace_masks: `{what}` must hold at least one sequence; it is an empty batch "
                         f"(shape {array.shape}). {received(what, array)}")


def _trace_sequential(model, inputs):
    import keras

    if isinstance(inputs, (dict,)) or (isinstance(inputs, (list, tuple)) and inputs and keras.ops.is_tensor(inputs[0])):
        raise ValueError(f"trace_masks: `inputs` must be one array for a Sequential model, not several. "
                         f"{received('inputs', inputs)}")
    array = to_array(inputs, "inputs", owner="trace_masks")
    _check_batch(array, "inputs")
    try:
        expected = model.inputs
    except (AttributeError, ValueError):
        expected = None
    if expected:
        _check_rank(array, expected[0], "inputs")
        x = keras.ops.convert_to_tensor(array, dtype=expected[0].dtype)
    else:
        x = keras.ops.convert_to_tensor(array)
    records = []
    for layer in model.layers:
        x = _traced_call(layer, (x,), {}, records)
    return records


def _check_rank(array, spec, what):
    expected_shape = tuple(spec.shape)
    if array.ndim != len(expected_shape):
        raise ValueError(
            f"trace_masks: `{what}` must have rank {len(expected_shape)}: shape "
            f"{_describe_shape(expected_shape, none='None')}, as the model expects. {received(what, array)} "
            f"with rank {array.ndim} (shape {array.shape})"
        )
    for axis, (got, want) in enumerate(zip(array.shape, expected_shape)):
        if want is not None and got != want:
            raise ValueError(
                f"trace_masks: `{what}` must have shape {_describe_shape(expected_shape, none='None')}, as the "
                f"model expects (axis {axis} should be {want}). {received(what, array)} with shape {array.shape}"
            )


def _trace_functional(model, inputs):
    import keras

    specs = list(model.inputs)
    if isinstance(inputs, dict):
        names = [s.name for s in specs]
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ValueError(f"trace_masks: `inputs` must hold every model input {names}; {missing} are missing. "
                             f"{received('inputs', inputs)}")
        flat = [inputs[n] for n in names]
    elif isinstance(inputs, (list, tuple)) and len(specs) > 1:
        flat = list(inputs)
    else:
        flat = [inputs]
    if len(flat) != len(specs):
        raise ValueError(f"trace_masks: `inputs` must be {len(specs)} array(s), one per model input; "
                         f"{len(flat)} were given. {received('inputs', inputs)}")
    tensors = []
    for i, (x, spec) in enumerate(zip(flat, specs)):
        what = "inputs" if len(specs) == 1 else f"input {i} ({spec.name})"
        array = to_array(x, what, owner="trace_masks")
        _check_batch(array, what)
        _check_rank(array, spec, what)
        tensors.append(keras.ops.convert_to_tensor(array, dtype=spec.dtype))

    records = []
    hidden = _mask_only_operations(model)

    def operation_fn(operation):
        def call(*args, **kwargs):
            if id(operation) in hidden:
                return operation(*args, **kwargs)
            return _traced_call(operation, args, kwargs, records)

        return call

    keras_internals.run_through_graph(model, tensors, operation_fn)
    return records


def _mask_only_operations(model):
    """Ids of the graph's operations that only compute masks (not layers, not on the data path).

    In a Functional model Keras 3 records the mask of a layer's input as an argument
    of the next layer's node (``mask=...``), so the ``inputs != 0`` of an
    ``Embedding(mask_zero=True)`` appears in the graph as a ``NotEqual`` operation.
    The trace runs such operations but does not list them.
    """
    import keras

    data, stack = set(), list(keras.tree.flatten(model.outputs))
    while stack:
        tensor = stack.pop()
        if id(tensor) in data:
            continue
        data.add(id(tensor))
        history = keras_internals.keras_history(tensor)
        if history is None:
            continue
        node = keras_internals.inbound_node(history.operation, history.node_index)
        parts = [node.arguments.args] + [
            value for key, value in node.arguments.kwargs.items() if not (key == "mask" or key.endswith("_mask"))
        ]
        stack.extend(x for x in keras.tree.flatten(parts) if isinstance(x, keras.KerasTensor))
    hidden = set()
    for nodes in keras_internals.nodes_by_depth(model).values():
        for node in nodes:
            operation = node.operation
            if operation is None or isinstance(operation, keras.layers.Layer):
                continue
            if not any(id(x) in data for x in node.outputs):
                hidden.add(id(operation))
    return hidden


def _traced_call(operation, args, kwargs, records):
    """Call one layer (or operation), record its masks, return its outputs."""
    import keras

    mask_in = _mask_received(args, kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outputs = operation(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised with the layer named
            shapes = _describe_shape([tuple(t.shape) for t in keras.tree.flatten(args) if keras.ops.is_tensor(t)])
            raise ValueError(
                f"layer {operation.name!r} ({type(operation).__name__}) failed on an input of shape "
                f"{shapes}: {type(exc).__name__}: {exc}. Received: inputs of shape {shapes}"
            ) from exc
    flat_out = keras.tree.flatten(outputs)
    masks_out = [keras_mask(t) for t in flat_out]
    shapes = [tuple(int(d) for d in t.shape) for t in flat_out]
    record = MaskRecord(
        index=len(records),
        layer=operation.name,
        class_name=type(operation).__name__,
        event="none",
        output_shape=shapes[0] if len(shapes) == 1 else shapes,
        mask_in=mask_in,
        mask_out=masks_out[0] if len(masks_out) == 1 else masks_out,
        uses_mask=_uses_mask(operation),
        warnings=tuple(str(w.message) for w in caught),
    )
    record.event = _classify(record)
    records.append(record)
    return outputs


def _mask_received(args, kwargs):
    """The mask Keras hands the layer: an explicit ``mask=`` or the masks on its first argument."""
    import keras

    if kwargs.get("mask") is not None:
        masks = [mask_to_numpy(m) for m in keras.tree.flatten(kwargs["mask"])]
        return masks[0] if len(masks) == 1 else masks
    if not args:
        return None
    tensors = [t for t in keras.tree.flatten(args[0]) if keras.ops.is_tensor(t)]
    if not tensors:
        return None
    masks = [keras_mask(t) for t in tensors]
    return masks[0] if len(masks) == 1 else masks


def _uses_mask(operation):
    """Whether the mask reaches the operation's code: its call() takes ``mask`` (or ``*_mask``)."""
    import keras

    if isinstance(operation, keras.layers.Lambda):
        return keras_internals.lambda_expects_mask(operation)
    try:
        params = inspect.signature(operation.call).parameters
    except (TypeError, ValueError):
        return False
    return any(name == "mask" or name.endswith("_mask") for name in params)


def _same_mask(a, b):
    return a is not None and b is not None and a.shape == b.shape and bool(np.array_equal(a, b))


def _classify(record):
    ins = [m for m in as_list(record.mask_in) if m is not None]
    outs = as_list(record.mask_out)
    has_out = any(m is not None for m in outs)
    if not ins:
        return "created" if has_out else "none"
    if not has_out:
        return "consumed" if record.uses_mask else "destroyed"
    reference = ins[0]
    return "passed" if all(_same_mask(m, reference) for m in outs) else "changed"


