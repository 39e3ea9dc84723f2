"""Self-checks for the mask exercises of chapters 01 and 03.

Chapter 01:
    check_mask_from_lengths(mask_from_lengths)      ex-01-mask-from-lengths
Chapter 03:
    check_masking_rule(masking_mask)                ex-03-masking-rule
    check_zeroed_embeddings(embed_with_zeros)       ex-03-zeroed-embeddings

Positions are 0-based: "row 1, step 3" is ``x[1, 3]``.
"""

import numpy as np

from helpers.exercises import CheckResult, call_student, compare_arrays, compare_masks, to_numpy


def check_mask_from_lengths(mask_from_lengths):
    """Check ``mask_from_lengths(lengths, maxlen) -> bool array (batch, maxlen)`` (ex-01-mask-from-lengths).

    Row ``i`` keeps (True) its first ``lengths[i]`` steps and masks (False) the rest:
    the mask of a post-padded batch. A length above ``maxlen`` keeps every step.
    """
    result = CheckResult("mask_from_lengths")
    cases = [([3, 5, 6], 6), ([0, 2], 3), ([1], 1), ([7, 2], 4)]
    for lengths, maxlen in cases:
        expected = np.arange(maxlen)[None, :] < np.asarray(lengths)[:, None]
        got, problem = call_student(mask_from_lengths, list(lengths), maxlen)
        case = f"lengths={lengths}, maxlen={maxlen}"
        if problem:
            result.problems.append(f"{case}: {problem}")
            break
        got_np = to_numpy(got)
        same_shape = got_np is not None and got_np.shape == expected.shape
        if same_shape and np.array_equal(got_np, ~expected):
            result.problems.append(f"{case}: the mask is inverted: True means 'keep this step' (a real token)")
            continue
        if (same_shape and not np.array_equal(expected, expected[:, ::-1])
                and np.array_equal(got_np, expected[:, ::-1])):
            result.problems.append(f"{case}: this is the mask of a pre-padded batch; the padding goes at the end")
            continue
        result.problems.extend(compare_masks(got, expected, case=case)[:4])
    return result


def _masking_reference(x, mask_value):
    return np.any(np.asarray(x) != mask_value, axis=-1)


def check_masking_rule(masking_mask):
    """Check ``masking_mask(x, mask_value=0.0) -> bool array (batch, time)`` (ex-03-masking-rule).

    The rule of ``keras.layers.Masking``: a step is masked (False) only if *every*
    feature of the step equals ``mask_value``; one different feature keeps it.
    """
    result = CheckResult("masking_mask")
    rng = np.random.default_rng(3)
    ids = np.array([[5, 2, 0, 0], [7, 0, 0, 0], [1, 4, 9, 3]])
    base = np.repeat(ids[:, :, None], 3, axis=2).astype("float32")
    one_feature = base.copy()
    one_feature[0, 3, 1] = 0.5  # a padded step with a single nonzero feature
    partly_zero = base.copy()
    partly_zero[2, 1, 0] = 0.0  # a real step with one zero feature
    other_value = np.where(base == 0, -1.0, base).astype("float32")
    random_x = rng.normal(size=(2, 5, 4)).astype("float32")
    random_x[0, 3:] = 0.0
    cases = [
        ("ids tiled to depth 3", base, 0.0),
        ("a padded step with one nonzero feature", one_feature, 0.0),
        ("a real step with one zero feature", partly_zero, 0.0),
        ("mask_value=-1.0", other_value, -1.0),
        ("random features, two padded steps", random_x, 0.0),
    ]
    for case, x, mask_value in cases:
        expected = _masking_reference(x, mask_value)
        got, problem = call_student(masking_mask, x.copy(), mask_value=mask_value)
        if problem:
            result.problems.append(f"{case}: {problem}")
            break
        got_np = to_numpy(got)
        if got_np is not None and got_np.shape == expected.shape and got_np.dtype == bool:
            if np.array_equal(got_np, np.all(x != mask_value, axis=-1)) and not np.array_equal(got_np, expected):
                result.problems.append(
                    f"{case}: a step is masked only if EVERY feature equals mask_value; your rule also masks "
                    "steps where just some features do (use any, not all)"
                )
                continue
        if got_np is not None and got_np.shape == x.shape:
            result.problems.append(
                f"{case}: the mask has shape {got_np.shape}, one value per feature; a Keras mask has one "
                f"value per step: shape {expected.shape} (reduce over the last axis)"
            )
            continue
        result.problems.extend(compare_masks(got, expected, case=case)[:4])
    return result


def check_zeroed_embeddings(embed_with_zeros):
    """Check ``embed_with_zeros(weights, ids) -> float array (batch, time, dim)`` (ex-03-zeroed-embeddings).

    Look up ``weights[ids]`` as an Embedding does, but return exactly zero vectors
    at the padded positions (id 0), instead of ``weights[0]``.
    """
    result = CheckResult("embed_with_zeros")
    rng = np.random.default_rng(7)
    weights = rng.normal(size=(10, 4)).astype("float32")
    cases = [
        ("post-padded ids", np.array([[3, 9, 0, 0], [4, 1, 2, 0]])),
        ("pre-padded ids", np.array([[0, 0, 5, 6], [0, 8, 7, 1]])),
        ("no padding", np.array([[2, 3, 4]])),
    ]
    for case, ids in cases:
        expected = weights[ids] * (ids != 0)[..., None]
        got, problem = call_student(embed_with_zeros, weights.copy(), ids.copy())
        if problem:
            result.problems.append(f"{case}: {problem}")
            break
        got_np = to_numpy(got)
        if got_np is not None and got_np.shape == expected.shape:
            got_f = got_np.astype(float)
            padded = list(zip(*np.nonzero(ids == 0)))
            for row, step in padded:
                if np.allclose(got_f[row, step], weights[0]) and not np.allclose(weights[0], 0):
                    result.problems.append(
                        f"{case}: row {row}, step {step} is padding: its vector should be all zeros, "
                        "but it is weights[0] (what Embedding returns for id 0)"
                    )
                    break
            else:
                if np.isnan(got_f).any():
                    result.problems.append(f"{case}: the result contains NaN")
                    continue
                bad = np.nonzero(~np.isclose(got_f, expected, atol=1e-5).all(axis=-1))
                for row, step in list(zip(*bad))[:3]:
                    token = int(ids[row, step])
                    what = "padding: its vector should be all zeros" if token == 0 else (
                        f"id {token}: its vector should be weights[{token}]")
                    result.problems.append(f"{case}: row {row}, step {step} is {what}")
            continue
        result.problems.extend(compare_arrays(got, expected, what="the result", case=case)[:2])
    return result
