"""Self-checks for the exercises of chapter 15 (Audit your own model).

| check                   | exercise                                                          |
|-------------------------|-------------------------------------------------------------------|
| check_fixed_conv_model  | ex-15-fix-conv: a convolution model the audit finds clean         |
| check_masked_center     | ex-15-fix-center: a CenterOverTime that averages real steps only  |

Both checks run :func:`helpers.audit.audit_padding` on the student's model, on right-
and left-padded ids, and add what the audit cannot see: that the fix kept the layer's
job (a convolution of width 3; centring over the real steps).
"""

import warnings

import numpy as np

from helpers.exercises import CheckResult, build_student_model, call_quietly, compare_arrays, to_numpy

VOCAB = 20


def _ids():
    from helpers.audit.examples import make_ids

    return {"right-padded": make_ids(batch=6, max_length=9, vocab_size=VOCAB, seed=5),
            "left-padded": make_ids(batch=6, max_length=9, vocab_size=VOCAB, seed=5, padding="pre")}


def _audit(model, result):
    """Audit ``model`` on right- and left-padded ids; problems go to ``result``."""
    from helpers.audit import audit_padding

    for case, ids in _ids().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report, problem = call_quietly(audit_padding, model, ids)
        if problem:
            result.problems.append(f"{case} ids: the audit could not run the model: {problem}")
        elif not report.ok:
            result.problems.append(f"{case} ids: the audit still finds a leak, first at {report.first_leak!r} "
                                   f"(the output changes by {report.output_change:.3g})")


def check_fixed_conv_model(make_model):
    """ex-15-fix-conv: ``make_model(vocab_size)`` -> ids -> embedding -> convolution (width 3) -> pooling, clean."""
    import keras

    result = CheckResult("make_fixed_conv_model")
    model = build_student_model(make_model, result, vocab_size=VOCAB)
    if model is None:
        return result
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)]
    if not convs:
        result.problems.append("the model has no Conv1D (or subclass): fix the convolution, do not remove it")
    elif all(tuple(layer.kernel_size) != (3,) for layer in convs):
        result.problems.append(f"the convolution must keep its width of 3; got kernel_size "
                               f"{[tuple(layer.kernel_size) for layer in convs]}")
    out, problem = call_quietly(model, _ids()["right-padded"])
    if problem:
        result.problems.append(f"calling the model on (6, 9) ids: {problem}")
        return result
    if len(tuple(out.shape)) != 2:
        result.problems.append(f"the model should pool over time and return (batch, features); got shape "
                               f"{tuple(out.shape)}")
    _audit(model, result)
    return result


def _center_model(MaskedCenter, result):
    import keras

    from helpers.audit.examples import build_mystery_model

    layer, problem = call_quietly(MaskedCenter, name="center")
    if problem:
        result.problems.append(f"MaskedCenter(name='center'): {problem}")
        return None
    if not isinstance(layer, keras.layers.Layer):
        result.problems.append(f"MaskedCenter() returned a {type(layer).__name__}; expected a keras Layer")
        return None
    mystery = build_mystery_model(vocab_size=VOCAB)

    def swap(old):
        return layer if old.name == "center" else old.__class__.from_config(old.get_config())

    model, problem = call_quietly(keras.models.clone_model, mystery, clone_function=swap)
    if problem:
        result.problems.append(f"the mystery model with MaskedCenter in place of 'center': {problem}")
        return None
    model.set_weights(mystery.get_weights())
    return model


def check_masked_center(MaskedCenter):
    """ex-15-fix-center: ``MaskedCenter`` subtracts each row's mean over its *real* steps, passes the mask on."""
    import keras

    result = CheckResult("MaskedCenter")
    model = _center_model(MaskedCenter, result)
    if model is None:
        return result
    ids = _ids()["right-padded"]
    mask = ids != 0
    rng = np.random.default_rng(0)
    values = rng.normal(size=(*ids.shape, 3)).astype("float32")
    layer = model.get_layer("center")
    out, problem = call_quietly(layer, keras.ops.convert_to_tensor(values), mask=keras.ops.convert_to_tensor(mask))
    if problem:
        result.problems.append(f"calling MaskedCenter on (6, 9, 3) values with a mask: {problem}")
        return result
    weights = mask[..., None].astype("float32")
    mean = (values * weights).sum(axis=1, keepdims=True) / np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
    got = to_numpy(out)
    if got is None or got.shape != values.shape:
        result.problems.append(f"expected an output of shape {values.shape}; got {None if got is None else got.shape}")
        return result
    result.problems += compare_arrays(got[mask], (values - mean)[mask], what="the output at real steps")
    if not getattr(layer, "supports_masking", False):
        result.problems.append("the layer must pass the mask on (supports_masking = True), so the LSTM skips padding")
    _audit(model, result)
    return result
