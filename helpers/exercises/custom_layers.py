"""Self-checks for the exercises of chapters 05 (custom layers) and 06 (mask consumers).

Chapter 05:
    check_double(Double)                    ex-05-opt-in
    check_reverse_time(ReverseTime)         ex-05-reverse-time
    check_pair_pool(PairPool)               ex-05-pair-pool
Chapter 06:
    check_is_distribution(is_masked_distribution)   ex-06-validator
    check_masked_mean(MaskedMean)           ex-06-masked-mean
    check_masked_softmax(masked_softmax)    ex-06-masked-softmax

The layer checks take the student's *class*, build small models with it and
compare outputs and masks with NumPy references. Positions are 0-based.
"""

import warnings

import numpy as np

from helpers.exercises import CheckResult, call_student, compare_arrays, compare_masks, to_numpy
from helpers.masks import keras_mask
from helpers.notebook import error_message

#: Post-padded ids used by the layer checks: lengths 2, 4, 1 and 3.
IDS = np.array([[4, 7, 0, 0], [3, 1, 8, 2], [5, 0, 0, 0], [9, 6, 2, 0]])
MASK = IDS != 0


def _clean(text):
    """A message without what Keras and TensorFlow add around it (context, device names)."""
    return error_message(Exception(text))


def _message(exc):
    """An exception's own message, cleaned with :func:`_clean`."""
    return _clean(str(exc))


def _call_recording(fn, *args, **kwargs):
    """call_student, quietly: returns (value, problem, warnings raised during the call).

    Warnings (Keras's, NumPy's overflow notices) are caught, never printed: the
    checks turn the relevant ones into feedback.
    """
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        value, problem = call_student(fn, *args, **kwargs)
    if problem:
        head, _, rest = problem.partition(": ")
        problem = f"{head}: {_clean(rest)}" if rest else _clean(problem)
    return value, problem, [str(w.message) for w in caught]


def _call(fn, *args, **kwargs):
    """:func:`_call_recording` without the warnings."""
    value, problem, _ = _call_recording(fn, *args, **kwargs)
    return value, problem


def _embedded(seed=0, features=3):
    """Embedding(mask_zero=True) outputs for IDS: (values as NumPy, masked tensor)."""
    import keras

    embedding = keras.layers.Embedding(10, features, mask_zero=True,
                                       embeddings_initializer=keras.initializers.RandomNormal(seed=seed))
    x = embedding(IDS)
    return keras.ops.convert_to_numpy(x), x


def _instantiate(cls, name):
    if not isinstance(cls, type):
        return None, f"expected the class {name} itself (not an instance or a function), got {type(cls).__name__}"
    return _call(cls)


def _run_on_embedded(cls, name, result):
    """Instantiate the student's layer class and call it on the embedded test batch.

    Returns ``(layer, values, out, warnings raised)``, or None with the problem added
    to ``result.problems`` (not a class, or the constructor or the call raised).
    """
    layer, problem = _instantiate(cls, name)
    if not problem:
        values, x = _embedded()
        out, problem, caught = _call_recording(layer, x)
    if problem:
        result.problems.append(problem)
        return None
    return layer, values, out, caught


def _symbolic_mask_problems(layer_cls, features=3):
    """Problems building a Functional model Input -> Embedding(mask_zero) -> layer."""
    import keras

    def build():
        inputs = keras.Input((None,), dtype="int32")
        x = keras.layers.Embedding(10, features, mask_zero=True)(inputs)
        return layer_cls()(x)

    out, problem = _call(build)
    if problem:
        return [f"in a Functional model (time length unknown, None): {problem}"]
    return []


# ----- chapter 05 -------------------------------------------------------------------


def check_double(Double):
    """ex-05-opt-in: ``Double`` multiplies by 2 and passes the mask on unchanged."""
    result = CheckResult("Double passes the mask on")
    run = _run_on_embedded(Double, "Double", result)
    if run is None:
        return result
    layer, values, out, caught = run
    destroyed = [w for w in caught if "destroy the mask" in w]
    if destroyed:
        result.problems.append(
            "Keras warned that the layer destroys the mask: it has not opted in. "
            "Set self.supports_masking = True in __init__ (after super().__init__)"
        )
    result.problems += compare_arrays(out, 2 * values, what="the output")
    mask = keras_mask(out)
    if not destroyed:
        if mask is None:
            result.problems.append("the output carries no mask; a layer that keeps the time axis should pass it on")
        else:
            result.problems += compare_masks(mask, MASK, case="mask on the output")
    return result


def check_reverse_time(ReverseTime):
    """ex-05-reverse-time: reverse the time axis of the inputs and of their mask."""
    result = CheckResult("ReverseTime")
    run = _run_on_embedded(ReverseTime, "ReverseTime", result)
    if run is None:
        return result
    layer, values, out, _ = run
    result.problems += compare_arrays(out, values[:, ::-1], what="the output")
    mask = keras_mask(out)
    if mask is None:
        result.problems.append(
            "the output carries no mask: opt in to masking (supports_masking = True) and reverse the mask "
            "in compute_mask"
        )
    elif np.array_equal(np.asarray(mask, bool), MASK):
        result.problems.append(
            "the mask was passed on unchanged, but the steps moved: reverse the mask too "
            "(in compute_mask, along axis 1)"
        )
    else:
        result.problems += compare_masks(mask, MASK[:, ::-1], case="mask on the output")
    # No mask in: no mask out, and no error.
    plain = np.arange(12, dtype="float32").reshape(2, 3, 2)
    layer2, _ = _call(ReverseTime)
    out2, problem = _call(layer2, plain) if layer2 is not None else (None, "could not create a second layer")
    if problem:
        result.problems.append(f"on an input without a mask: {problem} (compute_mask should return None then)")
    else:
        result.problems += compare_arrays(out2, plain[:, ::-1], what="the output on an input without a mask")
        if keras_mask(out2) is not None:
            result.problems.append("an input without a mask should give an output without a mask")
    result.problems += _symbolic_mask_problems(ReverseTime)
    return result


def _pair_pool_reference(values, mask):
    b, t, f = values.shape
    v = values.reshape(b, t // 2, 2, f)
    m = mask.reshape(b, t // 2, 2, 1).astype(values.dtype)
    counts = m.sum(axis=2)
    sums = (v * m).sum(axis=2)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0), mask.reshape(b, t // 2, 2).any(axis=2)


def check_pair_pool(PairPool):
    """ex-05-pair-pool: mean of each pair of steps over kept steps; mask = any step kept."""
    result = CheckResult("PairPool")
    run = _run_on_embedded(PairPool, "PairPool", result)
    if run is None:
        return result
    layer, values, out, _ = run
    expected_values, expected_mask = _pair_pool_reference(values, MASK)
    out_np = to_numpy(out)
    if out_np is not None and out_np.shape == expected_values.shape:
        plain_mean = values.reshape(4, 2, 2, 3).mean(axis=2)
        if not np.allclose(out_np, expected_values, atol=1e-5) and np.allclose(out_np, plain_mean, atol=1e-5):
            result.problems.append(
                "the output is the plain mean of each pair: a padded step must not count "
                "(row 0, output step 1 holds two padded steps and should be 0; row 2, output step 0 "
                "should equal its one kept step)"
            )
    if not result.problems:
        result.problems += compare_arrays(out, expected_values, what="the output")
    mask = keras_mask(out)
    if mask is None:
        result.problems.append("the output carries no mask; compute_mask should return one of shape (batch, time // 2)")
    else:
        result.problems += compare_masks(mask, expected_mask, case="mask on the output")
    # An odd time length must be refused with a ValueError.
    layer3, _ = _call(PairPool)
    if layer3 is not None:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                layer3(np.ones((2, 5, 3), "float32"))
        except ValueError:
            pass
        except Exception as exc:  # noqa: BLE001
            result.problems.append(f"an odd time length (5) should raise ValueError, it raised {type(exc).__name__}: "
                                   f"{_message(exc)}")
        else:
            result.problems.append("an odd time length (5) should raise ValueError; the layer accepted it")
    # No mask in: plain mean of pairs, no mask out.
    plain = np.arange(12, dtype="float32").reshape(1, 4, 3)
    layer4, _ = _call(PairPool)
    out4, problem = _call(layer4, plain) if layer4 is not None else (None, "could not create the layer")
    if problem:
        result.problems.append(f"on an input without a mask: {problem}")
    else:
        result.problems += compare_arrays(out4, plain.reshape(1, 2, 2, 3).mean(axis=2),
                                          what="the output on an input without a mask")
        if keras_mask(out4) is not None:
            result.problems.append("an input without a mask should give an output without a mask")
    result.problems += _symbolic_mask_problems(PairPool)
    return result


# ----- chapter 06 -------------------------------------------------------------------


def _distribution_cases():
    """(weights, mask, expected verdict, description) for the validator exercise."""
    from helpers.layers import TemporalSoftmax
    from helpers.tutorial_versions import GuideTemporalSoftmax, NaiveTemporalSoftmax, RTemporalSoftmax

    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], bool)
    empty = mask.copy()
    empty[2] = False

    def run(layer, m):
        return to_numpy(layer(x, mask=m))

    good = run(TemporalSoftmax(), mask)
    leaky = good.copy()
    leaky[0, 3] = 0.25
    leaky[0, :3] *= 0.75  # still sums to 1 over all steps, but weight on a masked step
    return [
        (good, mask, True, "the output of a correct masked softmax"),
        (run(TemporalSoftmax(), empty), empty, True, "a correct softmax with row 2 masked everywhere (zeros there)"),
        (run(GuideTemporalSoftmax(), mask), mask, False, "the guide's TemporalSoftmax output (rows do not sum to 1)"),
        (run(RTemporalSoftmax(), mask), mask, False, "the R version's output (NaN at masked steps)"),
        (run(NaiveTemporalSoftmax(), empty), empty, False, "a naive softmax with a row masked everywhere (NaN)"),
        (leaky, mask, False, "weights that sum to 1 but put 0.25 on a masked step"),
        (-good, mask, False, "negative weights"),
    ]


def check_is_distribution(is_masked_distribution):
    """ex-06-validator: True for valid masked weights, False for the tutorials' wrong ones."""
    result = CheckResult("is_masked_distribution")
    for weights, mask, expected, description in _distribution_cases():
        verdict, problem = _call(is_masked_distribution, weights.copy(), mask.copy())
        if problem:
            result.problems.append(f"on {description}: {problem}")
            continue
        if not isinstance(verdict, (bool, np.bool_)):
            result.problems.append(f"it should return True or False, got {type(verdict).__name__} "
                                   f"(on {description})")
            continue
        if bool(verdict) != expected:
            result.problems.append(f"on {description} it returned {bool(verdict)}, expected {expected}")
    return result


def check_masked_mean(MaskedMean):
    """ex-06-masked-mean: mean over the kept steps, (batch, time, f) -> (batch, f); consumes the mask."""
    result = CheckResult("MaskedMean")
    run = _run_on_embedded(MaskedMean, "MaskedMean", result)
    if run is None:
        return result
    layer, values, out, caught = run
    counts = MASK.sum(axis=1, keepdims=True)
    expected = (values * MASK[..., None]).sum(axis=1) / counts
    if any("destroy the mask" in w for w in caught):
        result.problems.append("Keras warned that the layer destroys the mask: it never received it. "
                               "Take it as an argument: def call(self, inputs, mask=None)")
    out_np = to_numpy(out)
    if out_np is not None and out_np.shape == expected.shape and np.allclose(out_np, values.mean(axis=1), atol=1e-5):
        result.problems.append("the output is the mean over all steps, padding included: divide the sum of the "
                               "kept steps by the number of kept steps")
    else:
        result.problems += compare_arrays(out, expected, what="the output")
    if keras_mask(out) is not None:
        result.problems.append("the output still carries a mask of shape (batch, time), but it has no time axis: "
                               "compute_mask should return None")
    # A row masked everywhere: zeros, not NaN.
    empty = MASK.copy()
    empty[2] = False
    layer2, _ = _call(MaskedMean)
    out2, problem = _call(layer2, values, mask=empty) if layer2 is not None else (None, "could not create the layer")
    if problem:
        result.problems.append(f"with row 2 masked everywhere: {problem}")
    else:
        out2 = to_numpy(out2)
        if out2 is not None and out2.shape == expected.shape:
            if np.isnan(out2[2]).any():
                result.problems.append("row 2 is masked everywhere: its mean should be 0, got NaN (0 / 0); "
                                       "divide by max(count, 1)")
            elif not np.allclose(out2[2], 0):
                result.problems.append(f"row 2 is masked everywhere: its mean should be 0, got {np.round(out2[2], 3)}")
    # No mask: the plain mean.
    layer3, _ = _call(MaskedMean)
    out3, problem = _call(layer3, values) if layer3 is not None else (None, "could not create the layer")
    if problem:
        result.problems.append(f"on an input without a mask: {problem}")
    else:
        result.problems += compare_arrays(out3, values.mean(axis=1), what="the output on an input without a mask")
    return result


def _softmax_reference(scores, mask):
    shifted = np.where(mask, scores - np.where(mask, scores, -np.inf).max(axis=-1, keepdims=True, initial=-np.inf), 0)
    exps = np.where(mask, np.exp(np.where(mask, shifted, 0)), 0)
    total = exps.sum(axis=-1, keepdims=True)
    return exps / np.where(total > 0, total, 1)


def check_masked_softmax(masked_softmax):
    """ex-06-masked-softmax: softmax over the last axis; masked -> 0; stable; empty row -> zeros."""
    result = CheckResult("masked_softmax")
    cases = [
        ("small scores", np.array([[1.0, 2.0, 3.0, 0.5], [0.0, -1.0, 2.0, 1.0]], "float32"),
         np.array([[True, True, False, False], [True, True, True, True]])),
        ("large scores (1000 and more)", np.array([[1000.0, 1001.0, 999.0, 0.0]], "float32"),
         np.array([[True, True, True, False]])),
        ("a huge score on a masked step", np.array([[0.5, 1.5, 1e4, 2.0]], "float32"),
         np.array([[True, True, False, True]])),
        ("row 1 masked everywhere", np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], "float32"),
         np.array([[True, False, True], [False, False, False]])),
        ("3-D scores (batch, queries, keys)", np.arange(12, dtype="float32").reshape(1, 3, 4) / 4,
         np.array([[[True, True, False, False]] * 3])),
    ]
    for name, scores, mask in cases:
        out, problem = _call(masked_softmax, scores.copy(), mask.copy())
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        expected = _softmax_reference(scores.astype("float64"), mask).astype("float32")
        got = to_numpy(out)
        if got is not None and got.shape == expected.shape and np.isfinite(got).all():
            empty = ~mask.any(axis=-1)
            if empty.any() and np.allclose(got[empty], 1.0 / mask.shape[-1], atol=1e-5):
                result.problems.append(f"{name}: the fully masked row got {1 / mask.shape[-1]:.3f} at every step "
                                       "(a uniform distribution); it should be all zeros")
                continue
        problems = compare_arrays(out, expected, what="the weights", case=name)
        if got is not None and got.shape == expected.shape and np.isnan(got).any():
            where = "the fully masked row" if (~mask.any(axis=-1)).any() else "some steps"
            problems = [f"{name}: NaN in {where}: exp overflowed or 0 / 0; subtract the row's maximum over kept "
                        "steps, and divide by 1 where the sum is 0"]
        result.problems += problems
    return result
