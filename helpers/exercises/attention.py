"""Self-checks for the exercises of chapters 10 (masked self-attention) and 11 (ragged tensors).

Chapter 10:
    check_pair_mask(pair_mask)                  ex-10-pair-mask
    check_masked_attention(masked_attention)    ex-10-masked-attention
Chapter 11:
    check_ragged_to_padded(ragged_to_padded)    ex-11-ragged-to-padded
    check_padded_to_ragged(padded_to_ragged)    ex-11-padded-to-ragged

Positions are 0-based, as in NumPy.
"""


import numpy as np

from helpers.exercises import CheckResult, call_quietly, compare_arrays, compare_masks, to_numpy

# ----- chapter 10 -------------------------------------------------------------------

#: Post-padded ids of the chapter 10 checks: lengths 3, 5 and 0 (a row of padding only).
PAIR_CASES = [
    ("three rows of lengths 3, 5 and 2", np.array([[3, 5, 13, 0, 0], [4, 5, 12, 6, 3], [9, 4, 0, 0, 0]])),
    ("a row of padding only", np.array([[7, 0, 0], [0, 0, 0]])),
    ("no padding at all", np.array([[1, 2], [3, 4]])),
]


def check_pair_mask(pair_mask):
    """ex-10-pair-mask: ``out[b, i, j]`` is True when steps i AND j of row b are real."""
    result = CheckResult("pair_mask")
    for name, ids in PAIR_CASES:
        real = ids != 0
        expected = real[:, :, None] & real[:, None, :]
        got, problem = call_quietly(pair_mask, ids.copy())
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        got = to_numpy(got)
        if got is None or got.shape != expected.shape:
            shape = None if got is None else got.shape
            result.problems.append(f"{name}: the mask has shape {shape}, expected {expected.shape} (batch, query, key)")
            continue
        if got.dtype != bool:
            result.problems.append(f"{name}: the mask has dtype {got.dtype}; an attention mask is boolean")
            continue
        key_only = np.broadcast_to(real[:, None, :], expected.shape)
        query_only = np.broadcast_to(real[:, :, None], expected.shape)
        if not np.array_equal(got, expected) and np.array_equal(got, key_only):
            result.problems.append(f"{name}: this is the key mask only; padded queries (rows) must be False too")
            continue
        if not np.array_equal(got, expected) and np.array_equal(got, query_only):
            result.problems.append(f"{name}: this is the query mask only; padded keys (columns) must be False too")
            continue
        for b, i, j in zip(*np.nonzero(got != expected)):
            why = "both steps are real" if expected[b, i, j] else (
                f"key {j} is padding" if not real[b, j] else f"query {i} is padding")
            should = "True" if expected[b, i, j] else "False"
            result.problems.append(f"{name}: row {b}, query {i}, key {j} should be {should} ({why})")
    return result


def _attention_reference(q, k, v, key_mask):
    d = q.shape[-1]
    scores = q @ np.swapaxes(k, 1, 2) / np.sqrt(d)
    allowed = np.broadcast_to(key_mask[:, None, :], scores.shape)
    scores = np.where(allowed, scores, -np.inf)
    top = np.max(np.where(allowed, scores, -1e30), axis=-1, keepdims=True)
    exps = np.where(allowed, np.exp(scores - top), 0.0)
    sums = exps.sum(axis=-1, keepdims=True)
    weights = np.where(sums > 0, exps / np.where(sums > 0, sums, 1.0), 0.0)
    return weights @ v, weights


def _attention_cases():
    rng = np.random.default_rng(9)
    q, k, v = (rng.normal(size=(2, 5, 4)).astype("float32") for _ in range(3))
    cases = [("two rows of lengths 3 and 5", q, k, v, np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool))]
    q2, k2, v2 = q[:1] * 40, k[:1] * 40, v[:1]
    cases.append(("large scores", q2, k2, v2, np.array([[1, 1, 1, 1, 0]], bool)))
    cases.append(("row 1 is padding only", q, k, v, np.array([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], bool)))
    return cases


def check_masked_attention(masked_attention):
    """ex-10-masked-attention: scaled dot-product attention with a key-padding mask."""
    result = CheckResult("masked_attention")
    for name, q, k, v, key_mask in _attention_cases():
        got, problem = call_quietly(masked_attention, q.copy(), k.copy(), v.copy(), key_mask.copy())
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            result.problems.append(f"{name}: return a pair (outputs, weights), got {type(got).__name__}")
            continue
        outputs, weights = (to_numpy(x) for x in got)
        expected_out, expected_w = _attention_reference(q.astype("float64"), k.astype("float64"),
                                                        v.astype("float64"), key_mask)
        if weights is not None and weights.shape == expected_w.shape and np.isfinite(weights).all():
            padded_keys = np.broadcast_to(~key_mask[:, None, :], weights.shape)
            real_rows = np.broadcast_to(key_mask[:, :, None], weights.shape)
            leak = weights[padded_keys & real_rows]
            if leak.size and leak.max() > 1e-6:
                query_axis_w = _query_axis_reference(q, k, key_mask)
                hint = (" The mask was applied along the query axis (mask[:, :, None]), which leaves "
                        "the softmax over keys unchanged; broadcast it along the key axis (mask[:, None, :])."
                        if np.allclose(weights, query_axis_w, atol=1e-5) else "")
                b, i, j = (int(x[0]) for x in np.nonzero((weights > 1e-6) & padded_keys & real_rows))
                result.problems.append(
                    f"{name}: row {b}, query {i} gives weight {weights[b, i, j]:.3f} to padded key {j}; "
                    f"padded keys must get exactly 0.{hint}")
                continue
            empty = ~key_mask.any(axis=-1)
            if empty.any() and not np.allclose(weights[empty], 0.0):
                result.problems.append(
                    f"{name}: a row with no real key should get weight 0 everywhere (and output 0), "
                    "not a softmax over padding")
                continue
            _, unscaled_w = _attention_reference(q.astype("float64") * np.sqrt(q.shape[-1]), k.astype("float64"),
                                                 v.astype("float64"), key_mask)
            if not np.allclose(weights, expected_w, atol=1e-4) and np.allclose(weights, unscaled_w, atol=1e-4):
                result.problems.append(f"{name}: the scores are not scaled: divide q k^T by sqrt(d) = "
                                       f"{np.sqrt(q.shape[-1]):.0f}")
                continue
        problems = compare_arrays(weights, expected_w, what="the weights", case=name, atol=1e-4)
        if weights is not None and weights.shape == expected_w.shape and np.isnan(weights.astype(float)).any():
            problems = [f"{name}: the weights contain NaN: exp overflowed or a row divided 0 by 0"]
        result.problems += problems[:3]
        if not problems:
            result.problems += compare_arrays(outputs, expected_out, what="the outputs", case=name, atol=1e-4)[:3]
    return result


def _query_axis_reference(q, k, key_mask):
    """The blog's defect: -1e9 added along the query axis."""
    d = q.shape[-1]
    scores = q.astype("float64") @ np.swapaxes(k.astype("float64"), 1, 2) / np.sqrt(d)
    scores = scores + (~key_mask[:, :, None]) * -1e9
    scores = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=-1, keepdims=True)


# ----- chapter 11 -------------------------------------------------------------------


def _ragged_cases():
    import tensorflow as tf

    return [
        ("rows of lengths 3, 5 and 1", tf.ragged.constant([[3, 5, 13], [4, 5, 12, 6, 3], [9]], dtype=tf.int32), 6),
        ("an empty row", tf.ragged.constant([[7, 8], []], dtype=tf.int32), 4),
        ("a row exactly as long as the length", tf.ragged.constant([[1, 2, 3], [4]], dtype=tf.int32), 3),
        ("a real token with id 0 (as if 0 were not padding)", tf.ragged.constant([[0, 5], [3]], dtype=tf.int32), 3),
    ]


def check_ragged_to_padded(ragged_to_padded):
    """ex-11-ragged-to-padded: ``(ids, mask)`` of shape ``(batch, length)`` from a RaggedTensor."""
    result = CheckResult("ragged_to_padded")
    for name, ragged, length in _ragged_cases():
        rows = ragged.to_list()
        expected = np.zeros((len(rows), length), dtype=np.int32)
        for b, row in enumerate(rows):
            expected[b, : len(row)] = row
        expected_mask = np.zeros_like(expected, dtype=bool)
        for b, row in enumerate(rows):
            expected_mask[b, : len(row)] = True
        got, problem = call_quietly(ragged_to_padded, ragged, length)
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            result.problems.append(f"{name}: return a pair (ids, mask), got {type(got).__name__}")
            continue
        ids, mask = to_numpy(got[0]), to_numpy(got[1])
        if ids is not None and ids.ndim == 2 and ids.shape[0] == len(rows) and ids.shape[1] != length:
            result.problems.append(
                f"{name}: the ids have {ids.shape[1]} steps, expected {length}: to_tensor() alone pads to the "
                "longest row of the batch; pass shape=[None, length]")
            continue
        result.problems += compare_arrays(ids, expected, what="the ids", case=name)[:3]
        result.problems += compare_masks(mask, expected_mask, case=f"{name}, mask")[:3]
    return result


def check_padded_to_ragged(padded_to_ragged):
    """ex-11-padded-to-ragged: a RaggedTensor of the real tokens of post-padded ids."""
    result = CheckResult("padded_to_ragged")
    cases = [
        ("rows of lengths 3, 5 and 1", np.array([[3, 5, 13, 0, 0], [4, 5, 12, 6, 3], [9, 0, 0, 0, 0]], "int32")),
        ("a row of padding only", np.array([[7, 8, 0], [0, 0, 0]], "int32")),
    ]
    for name, ids in cases:
        expected = [[int(t) for t in row if t != 0] for row in ids]
        got, problem = call_quietly(padded_to_ragged, ids.copy())
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        if not hasattr(got, "row_lengths") or not hasattr(got, "to_list"):
            result.problems.append(f"{name}: return a tf.RaggedTensor, got {type(got).__name__}")
            continue
        rows = got.to_list()
        if len(rows) != len(expected):
            result.problems.append(f"{name}: {len(rows)} rows, expected {len(expected)}")
            continue
        for b, (row, want) in enumerate(zip(rows, expected)):
            row = [int(t) for t in row] if isinstance(row, list) else row
            if row == want:
                continue
            if isinstance(row, list) and len(row) > len(want) and row[: len(want)] == want and not any(row[len(want):]):
                result.problems.append(
                    f"{name}: row {b} keeps {len(row) - len(want)} padding zero(s) at its end: "
                    "tell from_tensor which value is padding (padding=0)")
            else:
                result.problems.append(f"{name}: row {b} is {row}, expected {want}")
    return result
