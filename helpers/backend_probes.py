"""Probes that :func:`helpers.backends.run_probes` runs inside a process of one backend.

Each probe imports Keras (whose backend the process fixed with ``KERAS_BACKEND``),
measures one thing and returns plain JSON data (lists, numbers, strings), so that
the results of three processes can be set side by side and compared.

Taught in chapter 17 (The same masks on every backend).
"""

import numpy as np

from helpers import keras_internals

#: The ids every probe feeds: two rows, post-padded with 0.
IDS = [[1, 2, 3, 0, 0], [4, 1, 0, 0, 0]]

#: Sizes of the small model of :func:`same_model` (and of :func:`model_weights`).
VOCAB, EMBED, UNITS, OUT = 6, 4, 3, 2


def _error(exc):
    """``"TypeName: first line of the message"`` (Keras's and TensorFlow's wrapping
    removed), short enough for a table."""
    from helpers.notebook import error_message

    text = error_message(exc)
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first[:90]}"


def _side_table_size():
    """How many tensors Keras's mask side table holds (see tensor_attributes.py)."""
    from helpers.keras_internals import keras_mask_side_table

    return len(keras_mask_side_table())


def _inside_compiled_function(layer, ids):
    """Where the mask goes when ``layer`` runs inside the backend's compiled function.

    ``fit`` and ``predict`` compile their step with ``tf.function`` on TensorFlow and
    ``jax.jit`` on JAX; on PyTorch they run eagerly (unless ``jit_compile=True``), so
    there the eager answer is the one that counts. Returns (compiler, on_tensor, side).
    """
    import keras

    seen = {}

    def step(x):
        out = layer(x)
        seen["on_tensor"] = keras_internals.mask_attribute_set(out)
        seen["side"] = _side_table_size()
        return out

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.function(step)(ids)
        return "tf.function", seen["on_tensor"], seen["side"]
    if backend == "jax":
        import jax

        jax.jit(step)(ids)
        return "jax.jit", seen["on_tensor"], seen["side"]
    return "(eager)", None, None


def mask_storage():
    """Where the mask of an eager ``Embedding(mask_zero=True)`` output is kept.

    Returns a dict: the backend, the Keras version, the output's tensor type, whether
    the tensor itself holds Keras's mask attribute and how many entries Keras's
    side table holds (eagerly, and inside the backend's compiled function), and the
    mask read three ways: the attribute, ``compute_mask`` and Keras's own reader.
    """
    import keras

    from helpers.keras_internals import get_keras_mask as keras_mask

    layer = keras.layers.Embedding(VOCAB, EMBED, mask_zero=True)
    ids = np.array(IDS)
    out = layer(ids)
    attribute = keras_internals.mask_attribute(out)

    def as_list(m):
        return None if m is None else keras.ops.convert_to_numpy(m).tolist()

    eager_side_table = _side_table_size()
    compiled = _inside_compiled_function(layer, ids)
    return {
        "compiled_with": compiled[0],
        "compiled_attribute_on_tensor": compiled[1],
        "compiled_side_table_entries": compiled[2],
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "tensor_type": f"{type(out).__module__}.{type(out).__name__}",
        "attribute_on_tensor": keras_internals.mask_attribute_set(out) or attribute is not None,
        "side_table_entries": eager_side_table,
        "mask_from_attribute": as_list(attribute),
        "mask_from_compute_mask": as_list(layer.compute_mask(ids)),
        "mask_from_keras_mask": as_list(keras_mask(out)),
    }


def targets():
    """Targets of :func:`same_model`'s loss: at step ``t`` every feature is ``t``.

    Padded steps (3 and 4) then sit far from the model's outputs, so a loss that
    counted them would differ clearly from the masked one.
    """
    steps = len(IDS[0])
    return np.broadcast_to(np.arange(steps, dtype="float32")[None, :, None], (len(IDS), steps, OUT)).copy()


def model_weights(seed=0):
    """The weights of :func:`same_model`, drawn from NumPy with ``seed``, as lists."""
    rng = np.random.default_rng(seed)
    shapes = [(VOCAB, EMBED), (EMBED, 4 * UNITS), (UNITS, 4 * UNITS), (4 * UNITS,), (UNITS, OUT), (OUT,)]
    return [rng.normal(scale=0.5, size=s).round(6).tolist() for s in shapes]


def _build_model():
    import keras

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(VOCAB, EMBED, mask_zero=True)(inputs)
    x = keras.layers.LSTM(UNITS, return_sequences=True)(x)
    outputs = keras.layers.Dense(OUT)(x)
    return keras.Model(inputs, outputs)


def same_model(weights):
    """Embedding(mask_zero) -> LSTM -> Dense with the given weights, on :data:`IDS`.

    Returns the outputs at every step, the mask the output carries, and the masked
    mean squared error against :func:`targets` from ``evaluate`` (which sees the mask).
    """
    import keras

    from helpers.keras_internals import get_keras_mask as keras_mask

    model = _build_model()
    model.set_weights([np.asarray(w, dtype="float32") for w in weights])
    ids = np.array(IDS)
    out = model(ids)
    model.compile(loss="mse")
    loss = model.evaluate(ids, targets(), verbose=0)
    return {
        "outputs": keras.ops.convert_to_numpy(out).tolist(),
        "output_mask": keras.ops.convert_to_numpy(keras_mask(out)).tolist(),
        "evaluate_mse": float(loss),
    }


def _outcome(run):
    """``"works"`` if ``run()`` returns, else the error it raised (the finding)."""
    try:
        run()
        return "works"
    except Exception as exc:  # noqa: BLE001 - the error is the finding
        return _error(exc)


def tensorflow_only():
    """What works on this backend among the things the book uses from TensorFlow.

    Returns a dict mapping a feature to ``"works"`` or the error it raised.
    """
    import keras

    out = keras.layers.Embedding(VOCAB, EMBED)(np.array(IDS))

    def fit_on_a_dataset():
        import tensorflow as tf

        model = _build_model()
        model.compile(loss="mse")
        data = tf.data.Dataset.from_tensor_slices(
            (np.array(IDS), np.ones((len(IDS), len(IDS[0]), OUT), "float32"))).batch(2)
        model.fit(data, epochs=1, verbose=0)

    return {
        "tensor.numpy method": _outcome(lambda: out.numpy()),
        "keras.ops.convert_to_numpy": _outcome(lambda: keras.ops.convert_to_numpy(out)),
        "keras.Input(ragged=True)": _outcome(lambda: keras.Input(shape=(None,), ragged=True)),
        "fit on a tf.data.Dataset": _outcome(fit_on_a_dataset),
    }


#: The masks :func:`recurrent_paths` gives a recurrent layer (two rows, three steps).
RECURRENT_MASKS = {
    "no mask": None,
    "right-padded": [[True, True, False], [True, True, True]],
    "left-padded": [[False, True, True], [True, True, True]],
}


def _declines_any_mask_first(function):
    """Whether ``function`` starts with ``if ... mask is not None ...: raise NotImplementedError``.

    Read from its source with ``ast``: the first statement is an ``if`` whose condition
    is ``mask is not None`` (alone or one term of an ``or``) and whose body raises
    ``NotImplementedError``. Such a function gives up on any masked batch before it
    looks at anything else, the device included.
    """
    import ast
    import inspect
    import textwrap

    body = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # a docstring
    first = body[0] if body else None
    if not isinstance(first, ast.If):
        return False
    terms = first.test.values if isinstance(first.test, ast.BoolOp) and isinstance(first.test.op, ast.Or) \
        else [first.test]
    return ("mask is not None" in [ast.unparse(t) for t in terms]
            and isinstance(first.body[0], ast.Raise) and "NotImplementedError" in ast.unparse(first.body[0]))


def _path(seen):
    """``"fused"`` (the backend's own kernel ran), ``"loop"`` (Keras's generic loop) or the record."""
    if seen and seen[-1] in ("lstm", "gru"):
        return "fused"
    if seen and seen[-1] == "loop" and seen[0].endswith("declined"):
        return "loop"
    return "+".join(seen) or "nothing recorded"


def recurrent_paths():
    """Which path ``LSTM(4)`` and ``GRU(4)`` take here, with no mask and with two masks.

    Each layer is called on ``(2, 3, 2)`` float inputs inside ``predict`` (compiled on
    TensorFlow and JAX) behind a ``Masking`` layer, and the LSTM eagerly with ``mask=`` too, while
    :func:`helpers.keras_internals.recurrent_path_recorder` records whether the backend's
    fused ``lstm``/``gru`` ran (``"fused"``: cuDNN on a GPU; on a CPU only PyTorch has one)
    or declined, so that Keras's generic loop ran (``"loop"``); an error is recorded as
    such. Also read from the source: whether the backend's ``lstm``/``gru`` declines any
    mask as its first statement, before looking at the device.

    Returns a dict: ``"device"`` (where the inputs lived), ``"paths"``
    (``{layer: {mask: {"predict": path}}}``, with ``"eager"`` as well for the LSTM) and
    ``"declines_any_mask_first"`` (``{"lstm": bool, "gru": bool}``).
    """
    import keras

    from helpers.keras_internals import backend_rnn_function, recurrent_path_recorder

    backend = keras.backend.backend()
    x = np.random.default_rng(0).normal(size=(2, 3, 2)).astype("float32") + 3.0  # no exact zeros
    paths = {}
    for layer_name in ("LSTM", "GRU"):
        paths[layer_name] = {}
        for case, mask in RECURRENT_MASKS.items():
            keras.utils.set_random_seed(0)
            found = {}
            if layer_name == "LSTM":  # eagerly too (JAX compiles every eager call: the LSTM only)
                layer = keras.layers.LSTM(4)
                with recurrent_path_recorder() as seen:
                    eager = _outcome(lambda layer=layer, mask=mask: layer(
                        x, mask=None if mask is None else np.array(mask)))
                found["eager"] = _path(seen) if eager == "works" else eager
            padded = x if mask is None else np.where(np.array(mask)[..., None], x, 0.0).astype("float32")
            masking = [] if mask is None else [keras.layers.Masking(0.0)]  # it makes the mask from the zeros
            model = keras.Sequential([keras.Input((3, 2)), *masking, getattr(keras.layers, layer_name)(4)])
            with recurrent_path_recorder() as seen:
                compiled = _outcome(lambda model=model, padded=padded: model.predict(padded, verbose=0))
            found["predict"] = _path(seen) if compiled == "works" else compiled
            paths[layer_name][case] = found
    device = keras.ops.convert_to_tensor(x)
    device = str(getattr(device, "device", "cpu"))
    return {
        "device": device,
        "paths": paths,
        "declines_any_mask_first": {name: _declines_any_mask_first(backend_rnn_function(backend, name))
                                    for name in ("lstm", "gru")},
    }


def tensorflow_cudnn_mask_check():
    """TensorFlow's check of a mask on its cuDNN path, run on its own (it needs no GPU).

    On a GPU, TensorFlow's ``lstm``/``gru`` hand the mask to ``_assert_valid_mask``
    (``keras/src/backend/tensorflow/rnn.py``), which fails unless the mask is
    right-padded with no empty row. Returns, for a right-padded and a left-padded mask,
    ``"accepted"`` or the error; on another backend, None.
    """
    import keras

    from helpers.keras_internals import cudnn_mask_check

    if keras.backend.backend() != "tensorflow":
        return None
    check = cudnn_mask_check("tensorflow")
    out = {}
    for name in ("right-padded", "left-padded"):
        mask = np.array(RECURRENT_MASKS[name])
        outcome = _outcome(lambda mask=mask: check(keras.ops.convert_to_tensor(mask)))
        out[name] = "accepted" if outcome == "works" else outcome
    return out


def keras_bugs():
    """Three places where Keras 3.15 behaves differently off TensorFlow.

    - ``failed predict``: a ``predict`` that raises (here ``Softmax(axis=1)`` given a
      mask that does not broadcast, chapter 06); then a model sharing its layers is
      called. On JAX, ``predict`` takes the variables' values out before it runs
      (``_purge_model_variables`` in ``keras/src/backend/jax/trainer.py``) and puts
      them back only when it finishes.
    - ``BatchNormalization(mask)``: a training call with a mask on inputs of one
      feature (``_moments`` squeezes the statistics to a scalar), then of two.
    - ``sample_weight (batch,)``, ``(batch, 1)``, ``(batch, time)``: a loss on a
      masked ``(2, 4, 3)`` output (``apply_mask`` in ``keras/src/losses/loss.py``
      multiplies the weights by the mask in place).

    Returns a dict mapping each case to ``"works"`` or the error it raised.
    """
    import keras

    ids = np.array([[1, 2, 0, 0], [3, 1, 4, 0]])
    inputs = keras.Input((None,), dtype="int32")
    scores = keras.layers.Dense(1)(keras.layers.Embedding(5, 2, mask_zero=True)(inputs))
    failing = keras.Model(inputs, keras.layers.Softmax(axis=1)(scores))
    sharing = keras.Model(inputs, scores)
    out = {}
    if _outcome(lambda: failing.predict(ids, verbose=0)) == "works":
        raise AssertionError("the Softmax(axis=1) model was expected to fail")
    out["failed predict, then a model sharing its layers"] = _outcome(lambda: sharing(ids))

    bn_x = np.random.default_rng(0).normal(size=(2, 4, 2)).astype("float32")
    for name, x in [("one feature", bn_x[..., :1]), ("two features", bn_x)]:
        out[f"BatchNormalization(mask), {name}"] = _outcome(
            lambda x=x: keras.layers.BatchNormalization()(x, mask=ids != 0, training=True))

    y_true = np.ones((2, 4, 3), "float32")
    y_pred = keras.layers.Embedding(5, 3, mask_zero=True)(ids)  # carries the mask (2, 4)
    loss = keras.losses.MeanSquaredError()
    weights = np.array([1.0, 3.0], "float32")
    for name, w in [("(batch,)", weights), ("(batch, 1)", weights[:, None]),
                    ("(batch, time)", np.repeat(weights[:, None], 4, axis=1))]:
        out[f"sample_weight {name}"] = _outcome(lambda w=w: loss(y_true, y_pred, sample_weight=w))
    return out


#: Every probe, by name.
PROBES = {f.__name__: f for f in (mask_storage, same_model, tensorflow_only, recurrent_paths,
                                  tensorflow_cudnn_mask_check, keras_bugs)}
