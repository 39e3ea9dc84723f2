"""Self-checks for the exercises of chapter 07 (the layer questions readers bring).

    check_merged_masks(merged_masks)        ex-07-merged-masks
    check_conv_model(make_conv_model)       ex-07-conv-model

``check_merged_masks`` compares the student's NumPy masks with the masks Keras's own
``Add`` and ``Concatenate`` layers attach, on the same inputs. ``check_conv_model``
builds the student's model and runs it on one batch padded at the end, at the
start, and with extra padding. Positions are 0-based.
"""

import warnings

import numpy as np

from helpers.exercises import CheckResult, build_student_model, call_quietly, compare_masks, to_numpy
from helpers.masks import keras_mask_tensor

#: (mask_a, mask_b) pairs the merge check runs; every pair has the same shape.
MASK_CASES = [
    (np.array([[True, True, False, False], [True, True, True, False]]),
     np.array([[True, False, False, False], [True, True, True, True]])),
    (np.array([[True, False, False], [False, False, False], [True, True, True]]),
     np.array([[True, True, False], [True, False, False], [False, False, False]])),
]

#: Sequences of ids (no zeros) the conv-model check pads in several ways.
SEQUENCES = [[3, 9, 4], [5, 1, 2, 8, 7, 6], [11], [4, 4, 2, 13]]


def keras_merged_masks(mask_a, mask_b):
    """The masks Keras 3 attaches: ``Add``, ``Concatenate(axis=1)``, ``Concatenate(axis=-1)``."""
    import keras

    def masked(mask):
        x = keras.ops.ones(mask.shape + (2,))
        return keras.layers.Masking(mask_value=0.0)(x * keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1))

    a, b = masked(mask_a), masked(mask_b)
    out = {
        "add": keras.layers.Add()([a, b]),
        "concat_time": keras.layers.Concatenate(axis=1)([a, b]),
        "concat_features": keras.layers.Concatenate(axis=-1)([a, b]),
    }
    return {key: keras.ops.convert_to_numpy(keras_mask_tensor(value)) for key, value in out.items()}


_HINTS = {
    "add": "Add keeps a step that is real in ANY of its inputs (a logical OR of the masks), not only in all of them",
    "concat_time": "Concatenate(axis=1) puts the sequences end to end, and their masks too: "
                   "shape (batch, time_a + time_b), mask_a first",
    "concat_features": "Concatenate(axis=-1) keeps the time axis; a step is kept if it is real in any input (OR)",
}


def check_merged_masks(merged_masks):
    """ex-07-merged-masks: ``merged_masks(mask_a, mask_b)`` returns the three masks Keras computes."""
    result = CheckResult("merged_masks")
    for case, (mask_a, mask_b) in enumerate(MASK_CASES):
        got, problem = call_quietly(merged_masks, mask_a.copy(), mask_b.copy())
        if problem:
            result.problems.append(f"case {case}: {problem}")
            return result
        if not isinstance(got, dict):
            result.problems.append(
                f"expected a dict with keys 'add', 'concat_time', 'concat_features', got {type(got).__name__}")
            return result
        expected = keras_merged_masks(mask_a, mask_b)
        for key, want in expected.items():
            if key not in got:
                result.problems.append(f"the dict has no key {key!r}")
                continue
            wrong = compare_masks(got[key], want, case=f"case {case}, {key!r}")
            if wrong:
                result.problems.append(f"{wrong[0]} ({len(wrong)} problem(s)). {_HINTS[key]}")
        if result.problems:
            return result
    return result


def check_conv_model(make_conv_model):
    """ex-07-conv-model: a model with a convolution over time that ignores padding, pre or post.

    ``make_conv_model(vocab_size)`` returns a model from ids ``(batch, time)`` to
    ``(batch, 1)`` with at least one ``Conv1D`` (or subclass) whose output does not
    change when the same sequences are padded at the end, at the start, or longer.
    """
    import keras

    from helpers.tracing import trace_masks

    result = CheckResult("make_conv_model")
    model = build_student_model(make_conv_model, result)
    if model is None:
        return result
    convs = [layer for layer in model._flatten_layers(include_self=False)
             if isinstance(layer, keras.layers.Conv1D)]
    if not convs:
        result.problems.append("the model has no convolution over time: the exercise asks for one (MaskedConv1D)")
    batches = {
        "post-padded": keras.utils.pad_sequences(SEQUENCES, padding="post"),
        "pre-padded": keras.utils.pad_sequences(SEQUENCES, padding="pre"),
        "post-padded to 10 steps": keras.utils.pad_sequences(SEQUENCES, padding="post", maxlen=10),
        "pre-padded to 10 steps": keras.utils.pad_sequences(SEQUENCES, padding="pre", maxlen=10),
    }
    outputs = {}
    for name, ids in batches.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outputs[name] = to_numpy(model(ids))
        except Exception as exc:  # noqa: BLE001 - the student's model is at fault; report it
            result.problems.append(f"the model fails on the {name} batch, shape {ids.shape}: {type(exc).__name__}")
            return result
    reference = outputs["post-padded"]
    if reference.shape != (len(SEQUENCES), 1):
        result.problems.append(f"the output has shape {reference.shape}, expected {(len(SEQUENCES), 1)}")
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trace = trace_masks(model, batches["post-padded"])
    if not trace.where("created"):
        result.problems.append("no layer creates a mask: give the Embedding mask_zero=True")
    for record in trace.where("destroyed"):
        hint = {"Conv1D": "use helpers.layers.MaskedConv1D", "GlobalMaxPooling1D":
                "use helpers.layers.MaskedGlobalMaxPooling1D",
                "MaxPooling1D": "pooling with a window takes no mask; pool over the whole sequence with a masked layer"}
        result.problems.append(
            f"the layer {record.layer!r} ({record.class_name}) destroys the mask: "
            f"{hint.get(record.class_name, 'replace it with a layer that supports masking')}")
    for name, out in outputs.items():
        if out.shape == reference.shape and not np.allclose(out, reference, atol=1e-5):
            rows = [i for i in range(len(out)) if not np.allclose(out[i], reference[i], atol=1e-5)]
            result.problems.append(
                f"the {name} batch gives other outputs than the post-padded one in rows {rows}: "
                "the padding reaches the result")
    return result
