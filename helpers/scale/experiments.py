"""Measurements of chapter 20: how far an update is from the full-batch token-mean update.

Taught in chapter 20 (Masks at scale). A tiny next-token model (``Embedding`` and
``Dense``; the embedding's ``mask_zero`` decides whether the output carries the
Keras mask), batches of padded rows, and SGD with learning rate 1, so an update is
the gradient itself. Each measurement returns the relative error
``max |update - reference| / max |reference|`` against one plain step on all the
rows together with the token-mean loss.

Multi-device measurements need the device count fixed before the backend starts,
so :func:`run_measurements` runs them in a child process
(``python -m helpers.scale.experiments``): JAX gets simulated CPU devices from
``XLA_FLAGS=--xla_force_host_platform_device_count=N``, TensorFlow logical CPU
devices from ``tf.config.set_logical_device_configuration``.
"""

import json
import os
import subprocess
import sys

import numpy as np

from helpers.scale.weights import accumulation_sample_weights, replica_sample_weights

VOCAB = 7
#: The micro-batches of :func:`accumulation_fixes`: (row lengths, time steps) each.
MICRO_BATCHES = (((6, 2), 6), ((1,), 4))
#: The global batch of the data-parallel measurements: its halves hold 11 and 2 tokens.
GLOBAL_LENGTHS = (6, 5, 1, 1)


def tiny_model(output_mask, seed=0):
    """``Embedding(VOCAB, 4, mask_zero=output_mask)`` then ``Dense(VOCAB)``: the same weights either way."""
    import keras

    # Seeded initialisers, not keras.utils.set_random_seed: that imports TensorFlow
    # (seconds of start-up) in a JAX or PyTorch process.
    inputs = keras.Input((None,), dtype="int32")
    embedding = keras.layers.Embedding(VOCAB, 4, mask_zero=output_mask,
                                       embeddings_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=seed))
    dense = keras.layers.Dense(VOCAB, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))
    return keras.Model(inputs, dense(embedding(inputs)))


def next_token_batch(lengths, time_steps, seed=0):
    """Rows of random ids ``1..VOCAB-1`` padded with 0 to ``time_steps``; targets are the next id.

    Example:
        >>> x, y = next_token_batch([3, 1], 4)
        >>> (x > 0).sum(axis=1).tolist(), (y[x > 0] > 0).tolist()
        ([3, 1], [True, True, False, False])
    """
    rng = np.random.default_rng(seed)
    x = np.zeros((len(lengths), time_steps), "int32")
    for row, length in enumerate(lengths):
        x[row, :length] = rng.integers(1, VOCAB, length)
    return x, np.roll(x, -1, axis=1) * (x > 0)


def compiled(model, steps=1):
    """``model`` compiled with ``SGD(1.0)``, accumulating ``steps`` micro-batches when ``steps > 1``."""
    import keras

    optimizer = keras.optimizers.SGD(1.0, gradient_accumulation_steps=steps if steps > 1 else None)
    # XLA compilation (TensorFlow's jit_compile="auto") costs more than these tiny steps.
    jit_compile = False if keras.backend.backend() == "tensorflow" else "auto"
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
    return model


def _weights(model):
    import keras

    return [keras.ops.convert_to_numpy(w).copy() for w in model.weights]


def update(model, batches, sample_weights=None):
    """The change of ``model``'s weights after training on ``batches`` in order (compile it first).

    One batch goes through ``fit`` (so a distribution strategy splits it); several go
    through ``train_on_batch``, one call each.
    """
    before = _weights(model)
    sample_weights = sample_weights or [None] * len(batches)
    if len(batches) == 1:
        (x, y), weight = batches[0], sample_weights[0]
        model.fit(x, y, sample_weight=weight, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    else:
        for (x, y), weight in zip(batches, sample_weights):
            model.train_on_batch(x, y, sample_weight=weight)
    return [after - b for after, b in zip(_weights(model), before)]


def relative_error(got, reference):
    """``max |got - reference| / max |reference|`` over every weight."""
    top = max(float(np.abs(g - r).max()) for g, r in zip(got, reference))
    return top / max(float(np.abs(r).max()) for r in reference)


def concatenated(batches):
    """The micro-batches as one batch, padded (with 0) to the longest."""
    width = max(x.shape[1] for x, _ in batches)
    pad = [np.pad(a, ((0, 0), (0, width - a.shape[1]))) for x, y in batches for a in (x, y)]
    return np.concatenate(pad[0::2]), np.concatenate(pad[1::2])


def reference_update(batches, seed=0):
    """One plain step on all ``batches`` together, the output carrying the mask: the token mean."""
    return update(compiled(tiny_model(True, seed)), [concatenated(batches)])


def uniform_row(token, target, length, time_steps):
    """One row of ``length`` copies of ``token`` (targets all ``target``) padded to ``time_steps``.

    Every real token of the row has the same loss gradient, so an update error comes
    from how the rows are weighted, not from what they hold.
    """
    x = np.zeros((1, time_steps), "int32")
    x[0, :length] = token
    return x, np.where(x > 0, target, 0).astype("int32")


def accumulation_errors(splits, time_steps=8, seed=0, fixed=False):
    """Relative error of two accumulated one-row micro-batches, for each ``(n_a, n_b)`` in ``splits``.

    The first row repeats token 2 (target 3), the second token 4 (target 5); the
    output carries the mask. One model per setting is compiled once and its weights
    reset before each split, so the curve costs two compilations. ``fixed=True``
    passes :func:`accumulation_sample_weights` (``output_mask=True``).
    """
    reference, model = compiled(tiny_model(True, seed)), compiled(tiny_model(True, seed), steps=2)
    start = reference.get_weights()
    errors = []
    for first, second in splits:
        batches = [uniform_row(2, 3, first, time_steps), uniform_row(4, 5, second, time_steps)]
        reference.set_weights(start)
        model.set_weights(start)
        weights = accumulation_sample_weights([x > 0 for x, _ in batches], output_mask=True) if fixed else None
        errors.append(relative_error(update(model, batches, weights), update(reference, [concatenated(batches)])))
    return errors


def accumulation_fixes(seed=0):
    """Errors of two micro-batches of different shapes (8 and 1 tokens), accumulated, with and without weights."""
    batches = [next_token_batch(lengths, steps, seed + i) for i, (lengths, steps) in enumerate(MICRO_BATCHES)]
    masks = [x > 0 for x, _ in batches]
    reference = reference_update(batches, seed)
    k = len(batches)
    runs = {
        "output carries the mask, no weights": (True, None),
        "output carries the mask, weights(output_mask=True)": (True, accumulation_sample_weights(masks,
                                                                                                 output_mask=True)),
        "output without mask, weights(output_mask=False)": (False, accumulation_sample_weights(masks)),
    }
    return {name: relative_error(update(compiled(tiny_model(output_mask, seed), k), batches, weights), reference)
            for name, (output_mask, weights) in runs.items()}


def _data_parallel_runs(num_replicas, seed):
    x, y = next_token_batch(GLOBAL_LENGTHS, 6, seed)
    mask = x > 0
    return [(x, y)], {
        "output carries the mask, no weights": (True, None),
        "output carries the mask, replica weights(output_mask=True)": (
            True, replica_sample_weights(mask, num_replicas, output_mask=True)),
        "output without mask, replica weights(output_mask=False)": (
            False, replica_sample_weights(mask, num_replicas)),
    }


def data_parallel(seed=0):
    """``keras.distribution.DataParallel`` over every (simulated) device of a JAX process."""
    import keras

    devices = keras.distribution.list_devices()
    batches, runs = _data_parallel_runs(len(devices), seed)
    reference = reference_update(batches, seed)
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    try:
        errors = {name: relative_error(update(compiled(tiny_model(output_mask, seed)), batches, [weights]), reference)
                  for name, (output_mask, weights) in runs.items()}
    finally:
        keras.distribution.set_distribution(None)
    return {"devices": len(devices), "errors": errors}


def mirrored(seed=0):
    """``tf.distribute.MirroredStrategy`` over every logical CPU device of a TensorFlow process."""
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(devices)
    batches, runs = _data_parallel_runs(strategy.num_replicas_in_sync, seed)
    reference = reference_update(batches, seed)
    errors = {}
    for name, (output_mask, weights) in runs.items():
        with strategy.scope():
            model = compiled(tiny_model(output_mask, seed))
        errors[name] = relative_error(update(model, batches, [weights]), reference)
    return {"devices": strategy.num_replicas_in_sync, "errors": errors}


def pipeline_and_metric(seed=0):
    """``fit`` on :func:`accumulation_batches` (2 updates of 2 micro-batches) against two plain steps,
    and :class:`TokenMean` in ``fit`` against the token mean computed by hand.

    Returns:
        dict: the relative errors of the two ``fit`` runs (``output_mask`` True and False)
        and the absolute error of the metric.
    """
    import keras

    from helpers.scale.metrics import TokenMean
    from helpers.scale.pipeline import accumulation_batches

    micro = [next_token_batch(lengths, steps, seed + i)
             for i, (lengths, steps) in enumerate([([5, 1], 6), ([1], 3), ([2, 2, 2], 4), ([6], 6)])]
    reference = compiled(tiny_model(True, seed))
    start = reference.get_weights()
    for group in (micro[:2], micro[2:]):
        reference.train_on_batch(*concatenated(group))
    moved = [a - s for a, s in zip(reference.get_weights(), start)]
    errors = {}
    for output_mask in (True, False):
        model = compiled(tiny_model(output_mask, seed), steps=2)
        model.fit(accumulation_batches(micro, 2, output_mask=output_mask), steps_per_epoch=4, shuffle=False,
                  verbose=0)
        errors[f"fit, output_mask={output_mask}"] = relative_error(
            [a - s for a, s in zip(model.get_weights(), start)], moved)
    model = tiny_model(False, seed)
    model.compile(optimizer=keras.optimizers.SGD(0.0), weighted_metrics=[TokenMean(from_logits=True)],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(accumulation_batches(micro, 2), steps_per_epoch=4, shuffle=False, verbose=0).history
    x, y = concatenated(micro)
    logits = keras.ops.convert_to_numpy(model.predict(x, verbose=0)).astype("float64")
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    token_loss = -np.take_along_axis(log_softmax, y[..., None], -1)[..., 0]
    errors["TokenMean"] = abs(history["token_mean"][0] - float(token_loss[x > 0].mean()))
    return errors


#: The lines of Keras behind the arithmetic: file under keras/ -> a fragment of the line's code.
KERAS_LINES = {
    "loss: mask weight total / valid": ("src/losses/loss.py", "mask_weight = ops.divide_no_nan(total, valid)"),
    "loss: divide by batch x time": ("src/losses/loss.py", "loss = ops.divide_no_nan(loss, divisor)"),
    "loss: 1 / replicas (tf.distribute)": ("src/losses/loss.py", "value, ops.cast(1.0 / num_replicas"),
    "optimizer: mean of k gradients": ("src/optimizers/base_optimizer.py", "(g + acc_g) / steps"),
    "optimizer (JAX): mean of k gradients": ("src/backend/jax/optimizer.py", "(g + acc_g.value) / steps"),
    "optimizer (TF): sum over replicas": ("src/backend/tensorflow/optimizer.py", "tf.distribute.ReduceOp.SUM, grads"),
    "epoch loss: weight = rows": ("src/trainers/compile_utils.py", "sample_weight=tree.flatten(y_p)[0].shape[0]"),
}


def keras_source_lines(lines=None):
    """Where each fragment of :data:`KERAS_LINES` is in the installed Keras: ``{name: (path, line, code)}``.

    Raises:
        LookupError: a fragment is not found (Keras changed: re-read the source).
    """
    import pathlib

    import keras

    root = pathlib.Path(keras.__file__).parent
    found = {}
    for name, (path, fragment) in (lines or KERAS_LINES).items():
        text = (root / path).read_text().splitlines()
        numbers = [i for i, line in enumerate(text, 1) if fragment in line]
        if not numbers:
            raise LookupError(f"keras/{path} has no line with {fragment!r} in Keras {keras.__version__}")
        found[name] = (f"keras/{path}", numbers[0], text[numbers[0] - 1].strip())
    return found


MEASUREMENTS = {"accumulation_fixes": accumulation_fixes, "data_parallel": data_parallel, "mirrored": mirrored,
                "pipeline_and_metric": pipeline_and_metric}


def run_measurements(backend, names, devices=1, timeout=600):
    """Run :data:`MEASUREMENTS` ``names`` in a child process on ``backend`` with ``devices`` CPU devices.

    Returns:
        dict mapping each name to what the measurement returned (through JSON).

    Raises:
        ValueError: an unknown backend or measurement, or ``devices`` not a positive int.
        RuntimeError: the child failed; the message holds the end of its stderr.
    """
    from helpers.backends import BACKENDS
    from helpers.validation import positive_int

    devices = positive_int(devices, "devices", owner="run_measurements")
    if backend not in BACKENDS:
        raise ValueError(f"run_measurements: `backend` must be one of {BACKENDS}. Received: backend={backend!r}")
    unknown = [n for n in names if n not in MEASUREMENTS]
    if unknown or not names:
        raise ValueError(f"run_measurements: `names` must be a non-empty list of {sorted(MEASUREMENTS)}. "
                         f"Received: names={names!r}")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    if backend == "jax":  # read once, when XLA's CPU client starts: set before the child imports JAX
        flags = env.get("XLA_FLAGS", "").split()
        flags = [f for f in flags if not f.startswith("--xla_force_host_platform_device_count")]
        env["XLA_FLAGS"] = " ".join(flags + [f"--xla_force_host_platform_device_count={devices}"])
    request = json.dumps({"names": list(names), "devices": devices})
    done = subprocess.run([sys.executable, "-m", "helpers.scale.experiments"], input=request, env=env,
                          capture_output=True, text=True, timeout=timeout)
    marker = "\n@@RESULTS@@"
    if done.returncode != 0 or marker not in done.stdout:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"run_measurements: the {backend} process exited with status {done.returncode}:\n{tail}")
    return json.loads(done.stdout.rsplit(marker, 1)[1])


def _child():
    request = json.loads(sys.stdin.read())
    backend = os.environ["KERAS_BACKEND"]
    if backend == "torch":
        import torch  # noqa: F401  (before anything that could load TensorFlow)
    elif backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * request["devices"])
    results = {name: MEASUREMENTS[name]() for name in request["names"]}
    sys.stdout.write("\n@@RESULTS@@" + json.dumps(results))


if __name__ == "__main__":
    _child()
