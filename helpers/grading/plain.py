"""Plain data across the grader's boundary: what a student process may hand to the judge.

A student process (:mod:`helpers.grading.runner`) turns every value its student's code
returns into *plain data* with :func:`to_plain`: JSON scalars, lists, tuples, dicts,
NumPy arrays of numbers, booleans or strings (as base64 bytes with a dtype and a
shape: never a pickle), a backend tensor as its array and its Keras mask, a symbolic
``KerasTensor`` as its shape and dtype, a ``tf.RaggedTensor`` as its rows, and a Keras
layer or model made only of Keras's and the book's registered classes as its config
and weights. Anything else (an object of the student's own class, a function) is not
data: the caller records it as an opaque *node* (:mod:`helpers.grading.boundary`).

The judge (:mod:`helpers.grading.judge`) rebuilds values with :func:`from_plain`: NumPy
arrays, tensors of the current backend with their mask, Keras objects deserialized
with ``safe_mode=True`` (no lambda, no class but Keras's and the helpers'). Nothing
the student wrote is executed there; an object with an always-true ``__eq__`` cannot
cross, since only its converted value does.

Used by the grader's student process and its judge.

Example:
    >>> import numpy as np
    >>> data = to_plain({"ids": np.array([[1, 0]], "int32"), "n": (2, 3.5)})
    >>> back = from_plain(data)
    >>> back["ids"].dtype.name, back["ids"].tolist(), back["n"]
    ('int32', [[1, 0]], (2, 3.5))
"""

import base64
import hashlib
import math

import numpy as np

MAX_ELEMENTS = 4_000_000  # per array
MAX_DEPTH = 40
MAX_ITEMS = 200_000  # per list, tuple or dict
MAX_STRING = 1_000_000
NUMERIC_KINDS = "biufcU"


#: How a Keras object gets a node for each of the student's layers in it (set by the session).
BRIDGE = {"node_of": None}


class NotPlain(Exception):
    """A value that is not plain data (it becomes an opaque node), or is too large."""


def _array(value):
    array = np.asarray(value)
    if array.dtype.kind not in NUMERIC_KINDS:
        raise NotPlain(f"an array of dtype {array.dtype}")
    if array.size > MAX_ELEMENTS:
        raise NotPlain(f"an array of {array.size} elements (at most {MAX_ELEMENTS})")
    array = np.array(array, order="C", copy=True)  # ascontiguousarray would make a scalar 1-D
    return {"t": "nd", "dtype": array.dtype.str, "shape": list(array.shape),
            "b64": base64.b64encode(array.tobytes()).decode("ascii")}


def _keras():
    import sys

    return sys.modules.get("keras")


def _is_builtin_keras(obj):
    """Whether a Keras layer or model is made only of classes of Keras and of the helpers."""
    from helpers.grading.bridge import is_answer

    layers = obj._flatten_layers(include_self=True) if hasattr(obj, "_flatten_layers") else [obj]
    return not any(is_answer(layer) for layer in layers)


def _tensor_like(value):
    module = type(value).__module__ or ""
    return module.startswith(("tensorflow", "jax", "jaxlib", "torch"))


def to_plain(value, depth=0):
    """``value`` as plain data (see the module docstring); raises :class:`NotPlain`."""
    if depth > MAX_DEPTH:
        raise NotPlain(f"nested more than {MAX_DEPTH} levels")
    if value is None or type(value) in (bool, int, float, str):
        if type(value) is str and len(value) > MAX_STRING:
            raise NotPlain(f"a string of {len(value)} characters")
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        data = _array(value)
        data["scalar"] = isinstance(value, np.generic)
        return data
    for kind, base in (("list", list), ("tuple", tuple)):
        if isinstance(value, base):
            items = list(base.__iter__(value))
            if len(items) > MAX_ITEMS:
                raise NotPlain(f"a {kind} of {len(items)} items")
            return {"t": kind, "v": [to_plain(v, depth + 1) for v in items]}
    if isinstance(value, dict):
        items = list(dict.items(value))
        if len(items) > MAX_ITEMS:
            raise NotPlain(f"a dict of {len(items)} items")
        return {"t": "dict", "v": [[to_plain(k, depth + 1), to_plain(v, depth + 1)] for k, v in items]}
    for base, convert in ((bool, bool.__bool__), (int, int.__index__), (float, float.__float__)):
        if isinstance(value, base):  # a subclass: its plain value, never its methods
            return to_plain(base(convert(value)), depth)
    if isinstance(value, str):
        return to_plain(str.__str__(value), depth)
    return _framework_plain(value, depth)


def _framework_plain(value, depth):
    keras = _keras()
    name = type(value).__name__
    if name == "RaggedTensor" and _tensor_like(value):
        return {"t": "ragged", "rows": to_plain(value.to_list(), depth + 1), "dtype": value.dtype.name}
    if keras is not None:
        if isinstance(value, keras.KerasTensor):
            from helpers.keras_internals import get_keras_mask

            mask = get_keras_mask(value)
            return {"t": "kt", "shape": list(value.shape), "dtype": str(value.dtype), "mask": mask is not None,
                    "mask_shape": None if mask is None else list(mask.shape)}
        if isinstance(value, keras.layers.Layer):
            from helpers.grading import bridge

            if BRIDGE["node_of"] is None and not _is_builtin_keras(value):
                raise NotPlain(f"a {name} of a class defined outside Keras and the helpers")
            try:
                config, layers = bridge.serialize(value, BRIDGE["node_of"])
            except NotPlain:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. the student's get_config fails
                raise NotPlain(f"a {name} whose config cannot be read ({type(exc).__name__})") from None
            weights = [[_array(w) for w in layer.get_weights()] for layer in layers]
            return {"t": "keras", "config": to_plain(config, depth + 1), "weights": weights}
        if _tensor_like(value) and hasattr(value, "shape") and hasattr(value, "dtype"):
            from helpers.keras_internals import get_keras_mask

            mask = get_keras_mask(value)
            array = keras.ops.convert_to_numpy(value)
            return {"t": "tensor", "v": _array(array),
                    "mask": None if mask is None else _array(keras.ops.convert_to_numpy(mask))}
    elif _tensor_like(value) and hasattr(value, "numpy"):
        return _array(value.numpy())
    raise NotPlain(f"a {name}")


def _from_array(data):
    dtype = np.dtype(str(data["dtype"]))
    if dtype.kind not in NUMERIC_KINDS:
        raise ValueError(f"`data` must be an array of numbers, booleans or strings. Received: dtype={dtype}")
    shape = tuple(int(n) for n in data["shape"])
    if math.prod(shape) > MAX_ELEMENTS:
        raise ValueError(f"`data` must hold at most {MAX_ELEMENTS} elements. Received: shape={shape}")
    raw = base64.b64decode(str(data["b64"]), validate=True)
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    return array[()] if data.get("scalar") else array


def from_plain(data, depth=0):
    """Rebuild a value from :func:`to_plain`'s data (arrays, tensors, Keras objects)."""
    if depth > MAX_DEPTH + 2:
        raise ValueError(f"`data` must be nested at most {MAX_DEPTH} levels. Received: depth={depth}")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is not dict or "t" not in data:
        raise ValueError(f"`data` must be plain data. Received: data of type {type(data).__name__}")
    kind = data["t"]
    if kind == "nd":
        return _from_array(data)
    if kind in ("list", "tuple"):
        items = [from_plain(v, depth + 1) for v in data["v"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {_key(from_plain(k, depth + 1)): from_plain(v, depth + 1) for k, v in data["v"]}
    return _framework_value(data, depth)


def _key(key):
    hash(key)  # a list as a key: a TypeError, which the judge reports
    return key


def _framework_value(data, depth):
    kind = data["t"]
    if kind == "ragged":
        import tensorflow as tf

        return tf.ragged.constant(from_plain(data["rows"], depth + 1), dtype=str(data["dtype"]))
    import keras

    if kind == "tensor":
        from helpers.keras_internals import set_keras_mask

        tensor = keras.ops.convert_to_tensor(_from_array(data["v"]))
        if data.get("mask") is not None:
            set_keras_mask(tensor, keras.ops.convert_to_tensor(_from_array(data["mask"])))
        return tensor
    if kind == "kt":
        tensor = keras.KerasTensor([None if n is None else int(n) for n in data["shape"]], dtype=str(data["dtype"]))
        if data.get("mask"):
            from helpers.keras_internals import set_keras_mask

            shape = [None if n is None else int(n) for n in data["mask_shape"]]
            set_keras_mask(tensor, keras.KerasTensor(shape, dtype="bool"))
        return tensor
    if kind == "keras":
        from helpers.grading.bridge import leaves

        obj = keras.saving.deserialize_keras_object(from_plain(data["config"], depth + 1), safe_mode=True)
        layers = [layer for layer in leaves(obj) if layer.weights]
        if len(layers) != len(data["weights"]):
            raise ValueError(f"`weights` must match the layers with weights. Received: "
                             f"{len(data['weights'])} lists for {len(layers)} layers")
        for layer, weights in zip(layers, data["weights"]):
            layer.set_weights([_from_array(w) for w in weights])
        return obj
    raise ValueError(f"`data` must be of a known kind. Received: kind={kind!r}")


def fingerprint(value, depth=0):
    """A short, stable description of a call's argument, to match a log to the judge's calls.

    Integers, booleans and strings count exactly; floats rounded to 3 decimals; tensors
    and arrays by shape, dtype and (rounded) values; anything else by its type name.
    """
    if depth > 8:
        return "..."
    if value is None or type(value) in (bool, int, str):
        return repr(value)[:200]
    if type(value) is float:
        return "nan" if math.isnan(value) else repr(round(value, 3))
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}[" + ",".join(fingerprint(v, depth + 1) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{fingerprint(k, depth + 1)}:{fingerprint(v, depth + 1)}"
                              for k, v in value.items()) + "}"
    array = None
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
    elif _tensor_like(value) and _keras() is not None and hasattr(value, "shape"):
        try:
            array = _keras().ops.convert_to_numpy(value)
        except Exception:  # noqa: BLE001 - a symbolic tensor: its type only
            array = None
    if array is not None and array.dtype.kind in "biufc":
        rounded = np.round(array.astype(float), 3) + 0.0 if array.dtype.kind in "fc" else array
        digest = hashlib.sha256(np.ascontiguousarray(rounded).tobytes()).hexdigest()[:12]
        return f"array{tuple(array.shape)}:{digest}"
    return type(value).__name__
