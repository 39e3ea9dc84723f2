"""Self-checks for the exercises of chapter 04 (how masks propagate).

    check_find_mask_dropper(find_mask_dropper)      ex-04-find-dropper
    check_padding_proof_model(make_model)           ex-04-padding-proof
    check_lstm_by_hand(lstm_by_hand)                ex-04-lstm-by-hand

The checks build small models, follow them with :func:`helpers.tracing.trace_masks`
and compare with the expected answer.
"""

import warnings

import numpy as np

from helpers.exercises import CheckResult, build_student_model, call_quietly, to_numpy

IDS = np.array([[4, 7, 2, 0, 0], [3, 1, 8, 2, 9], [5, 0, 0, 0, 0]], dtype="int32")


def _short(exc):
    """``Type: message`` of an exception, keeping only Keras's own sentence (no call context)."""
    text = str(exc)
    if "\x1b[1m" in text:
        text = text.split("\x1b[1m", 1)[1].split("\x1b[0m", 1)[0]
    return f"{type(exc).__name__}: {text.strip().splitlines()[0] if text.strip() else ''}"


def _dropper_models():
    """(description, model, expected answer) for the find-the-dropper check."""
    import keras
    from keras import layers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns when a model drops a mask
        models = []
        models.append((
            "Embedding -> Flatten -> Dense",
            keras.Sequential([keras.Input((5,), dtype="int32"), layers.Embedding(10, 4, mask_zero=True, name="emb"),
                              layers.Flatten(name="flatten"), layers.Dense(1, name="out")], name="model_a"),
            "flatten",
        ))
        models.append((
            "Embedding -> Dense -> LSTM (nothing drops the mask; the LSTM consumes it)",
            keras.Sequential([layers.Embedding(10, 4, mask_zero=True, name="emb"), layers.Dense(3, name="dense"),
                              layers.LSTM(2, name="lstm")], name="model_b"),
            None,
        ))
        inputs = keras.Input((None,), dtype="int32")
        x = layers.Embedding(10, 4, mask_zero=True, name="emb")(inputs)
        x = layers.Dense(3, name="dense")(x)
        x = layers.Lambda(lambda t: t * 0.5, name="halve")(x)
        x = layers.LSTM(2, name="lstm")(x)
        models.append(("Functional: Embedding -> Dense -> Lambda -> LSTM", keras.Model(inputs, x, name="model_c"),
                       "halve"))
        inputs = keras.Input((None,), dtype="int32")
        x = layers.Embedding(10, 4, mask_zero=True, name="emb")(inputs)
        x = layers.LSTM(3, return_sequences=True, name="lstm_1")(x)
        x = layers.Dense(3, name="dense")(x)
        x = layers.LSTM(2, name="lstm_2")(x)
        models.append(("Functional: Embedding -> LSTM(return_sequences) -> Dense -> LSTM",
                       keras.Model(inputs, x, name="model_d"), None))
        inputs = keras.Input((None,), dtype="int32")
        x = layers.Embedding(10, 4, mask_zero=True, name="emb")(inputs)
        x = layers.Dense(3, name="dense")(x)
        x = layers.GlobalAveragePooling1D(name="pool")(x)
        x = layers.Dense(2, name="dense_2")(x)
        x = layers.Reshape((2, 1), name="reshape")(x)
        models.append(("Functional: ... -> GlobalAveragePooling1D -> Dense -> Reshape",
                       keras.Model(inputs, x, name="model_e"), None))
    return models


def check_find_mask_dropper(find_mask_dropper):
    """Check ``find_mask_dropper(model, ids) -> str or None`` (ex-04-find-dropper).

    The answer is the name of the first layer that receives a mask and drops it
    without using it (a ``destroyed`` event in :func:`helpers.trace_masks`), or
    None when no layer does. A layer that *consumes* the mask is not a dropper.
    """
    from helpers.tracing import trace_masks

    result = CheckResult("find_mask_dropper")
    for description, model, expected in _dropper_models():
        got, problem = call_quietly(find_mask_dropper, model, IDS.copy())
        if problem:
            result.problems.append(f"{description}: {problem}")
            break
        if got == expected:
            continue
        events = trace_masks(model, IDS).events
        if got is None:
            result.problems.append(f"{description}: returned None, but the layer {expected!r} drops the mask")
        elif not isinstance(got, str):
            result.problems.append(
                f"{description}: returned a {type(got).__name__}; expected a layer's name (str) or None"
            )
        elif got not in events:
            result.problems.append(f"{description}: there is no layer named {got!r}; the layers are {list(events)}")
        elif events[got] == "consumed":
            result.problems.append(
                f"{description}: {got!r} consumes the mask (its call() uses it); that is not dropping it"
                + ("" if expected is None else f". The dropper is {expected!r}")
            )
        elif events[got] == "none":
            result.problems.append(
                f"{description}: {got!r} never received a mask ({events[got]!r}); look for the layer where a "
                "mask comes in and none goes out"
            )
        else:
            result.problems.append(f"{description}: {got!r} {events[got]} the mask; expected {expected!r}")
    return result


def check_padding_proof_model(make_model):
    """Check ``make_model(vocab_size) -> keras.Model`` (ex-04-padding-proof).

    The model maps ids of shape (batch, time) to one number per sequence, shape
    (batch, 1); a mask is made from id 0, no layer destroys it, a layer consumes
    it, and so extra padding does not change the output.
    """
    from helpers.tracing import trace_masks

    result = CheckResult("make_model")
    model = build_student_model(make_model, result)
    if model is None:
        return result
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trace = trace_masks(model, IDS)
            out = to_numpy(model(IDS))
    except Exception as exc:  # noqa: BLE001 - the student's model is at fault; report it
        result.problems.append(f"the model fails on ids of shape {IDS.shape}: {_short(exc)}")
        return result
    longer = np.pad(IDS, ((0, 0), (0, 4)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out_longer = to_numpy(model(longer))
    except Exception as exc:  # noqa: BLE001
        out_longer = None
        result.problems.append(
            f"the model fails when the same batch has 4 more padding steps (shape {longer.shape}): {_short(exc)}. "
            "Accept any length: Input(shape=(None,)), and no layer that needs a fixed number of steps"
        )
    if out.shape != (IDS.shape[0], 1):
        result.problems.append(
            f"the output has shape {out.shape}, expected {(IDS.shape[0], 1)}: one number per sequence"
        )
    if not trace.where("created"):
        result.problems.append("no layer creates a mask: give the Embedding mask_zero=True")
        return result
    for record in trace.where("destroyed"):
        result.problems.append(
            f"the layer {record.layer!r} ({record.class_name}) destroys the mask: use a layer that consumes it "
            "(for example an LSTM or GlobalAveragePooling1D)"
        )
    if not trace.where("consumed") and not trace.where("destroyed"):
        last = trace[-1]
        result.problems.append(
            f"no layer consumes the mask; the output of {last.layer!r} still carries one: reduce the time axis "
            "with a layer that uses the mask"
        )
    if out_longer is not None and out.shape == out_longer.shape and not np.allclose(out, out_longer, atol=1e-5):
        rows = [i for i in range(len(out)) if not np.allclose(out[i], out_longer[i], atol=1e-5)]
        result.problems.append(
            f"four more padding steps change the output of rows {rows}: the padding is not ignored"
        )
    return result


def check_lstm_by_hand(lstm_by_hand):
    """Check ``lstm_by_hand(embedding, lstm, ids) -> array (batch, units)`` (ex-04-lstm-by-hand).

    Scale the embedded ids by ``sqrt(embedding.output_dim)`` (as Transformers do)
    and run the LSTM on the result so that it skips the padding. The scaling is an
    operation, not a layer: its result carries no mask, so the LSTM must be given
    ``mask=embedding.compute_mask(ids)`` by hand.
    """
    import keras

    result = CheckResult("lstm_by_hand")
    keras.utils.set_random_seed(1)
    embedding = keras.layers.Embedding(10, 4, mask_zero=True)
    lstm = keras.layers.LSTM(3)
    scaled = to_numpy(embedding(IDS)) * 2.0  # sqrt(4); a NumPy array carries no mask
    expected = to_numpy(lstm(scaled, mask=IDS != 0))
    unmasked = to_numpy(lstm(scaled))
    unscaled = to_numpy(lstm(embedding(IDS), mask=IDS != 0))
    got, problem = call_quietly(lstm_by_hand, embedding, lstm, IDS.copy())
    if problem:
        result.problems.append(problem)
        return result
    got_np = to_numpy(got)
    if got_np is None or got_np.shape != expected.shape:
        shape = None if got_np is None else got_np.shape
        result.problems.append(f"the result has shape {shape}, expected {expected.shape} (batch, units)")
        return result
    if np.allclose(got_np, expected, atol=1e-5):
        return result
    if np.allclose(got_np, unmasked, atol=1e-5):
        result.problems.append(
            "the LSTM did not get the mask: this is its output when it reads the padding as real steps. "
            "The scaled tensor carries no mask; pass mask=embedding.compute_mask(ids)"
        )
    elif np.allclose(got_np, unscaled, atol=1e-5):
        result.problems.append("the mask is right, but the embeddings were not scaled by sqrt(output_dim) = 2")
    else:
        rows = [r for r in range(len(expected)) if not np.allclose(got_np[r], expected[r], atol=1e-5)]
        result.problems.append(f"rows {rows} differ from lstm(embedding(ids) * 2.0, mask=ids != 0)")
    return result
