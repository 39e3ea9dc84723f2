"""Self-checks for the exercises of chapters 12 (Transformer masks) and 13 (encoder-decoder).

Chapter 12:
    check_cross_mask(cross_mask)                ex-12-cross-mask
    check_decoder_masks(decoder_masks)          ex-12-decoder-bug
Chapter 13:
    check_shift_right(shift_right)              ex-13-shift-right
    check_masked_token_loss(masked_token_loss)  ex-13-masked-loss

Positions are 0-based, as in NumPy. Id 0 is padding.
"""


import numpy as np

from helpers.exercises import CheckResult, call_quietly, compare_arrays, to_numpy


def _bool_grid(got, expected, name, what):
    """Problems with a boolean (batch, T, S) mask, or [] when it is right."""
    got = to_numpy(got)
    if got is None or got.shape != expected.shape:
        shape = None if got is None else got.shape
        return [f"{name}: {what} has shape {shape}, expected {expected.shape} (batch, query, key)"]
    if got.dtype != bool:
        return [f"{name}: {what} has dtype {got.dtype}; an attention mask is boolean (True = may attend)"]
    problems = []
    for b, i, j in zip(*np.nonzero(got != expected)):
        should = "True" if expected[b, i, j] else "False"
        problems.append(f"{name}: {what}, row {b}, query {i}, key {j} should be {should}")
    return problems


# ----- chapter 12 -------------------------------------------------------------------

#: (name, decoder ids (batch, T), encoder ids (batch, S)); T != S in most cases.
CROSS_CASES = [
    ("T = 4 queries, S = 6 keys", np.array([[9, 4, 2, 0], [9, 1, 0, 0]]),
     np.array([[3, 8, 1, 5, 0, 0], [2, 2, 2, 2, 2, 7]])),
    ("T = 5 queries, S = 3 keys", np.array([[9, 4, 2, 7, 1]]), np.array([[3, 0, 0]])),
    ("T = S = 5, different paddings", np.array([[9, 6, 2, 1, 0]]), np.array([[3, 8, 0, 0, 0]])),
]


def check_cross_mask(cross_mask):
    """ex-12-cross-mask: decoder padding on the queries, encoder padding on the keys, no causal mask."""
    result = CheckResult("cross_mask")
    for name, dec, enc in CROSS_CASES:
        q, k = dec != 0, enc != 0
        expected = q[:, :, None] & k[:, None, :]
        got, problem = call_quietly(cross_mask, dec.copy(), enc.copy())
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        got_np = to_numpy(got)
        if got_np is not None and got_np.shape == expected.shape and got_np.dtype == bool \
                and not np.array_equal(got_np, expected):
            causal = np.tril(np.ones(expected.shape[1:], bool))[None]
            if np.array_equal(got_np, expected & causal) and not np.array_equal(expected, expected & causal):
                result.problems.append(f"{name}: this mask is causal; cross-attention may read the whole "
                                       "source, every key, so drop the causal triangle")
                continue
            if np.array_equal(got_np, np.broadcast_to(k[:, None, :], expected.shape)):
                result.problems.append(f"{name}: only the encoder's padding is there; padded decoder queries "
                                       "(rows) must be False too")
                continue
            if np.array_equal(got_np, np.broadcast_to(q[:, :, None], expected.shape)):
                result.problems.append(f"{name}: only the decoder's padding is there; padded encoder keys "
                                       "(columns) must be False too")
                continue
        elif got_np is not None and got_np.ndim == 3 and got_np.shape[:2] == expected.shape[:2] \
                and got_np.shape[2] == dec.shape[1] and dec.shape[1] != enc.shape[1]:
            result.problems.append(f"{name}: the mask has {got_np.shape[2]} key columns, the decoder's length; "
                                   f"the keys are the encoder's {enc.shape[1]} steps")
            continue
        if got_np is not None and got_np.shape == expected.shape and got_np.dtype == bool and dec.shape == enc.shape:
            wrong = q[:, :, None] & q[:, None, :]
            if np.array_equal(got_np, wrong):
                result.problems.append(f"{name}: the decoder's padding is on the keys; the keys are the encoder's "
                                       "steps, so their padding comes from the encoder ids")
                continue
        result.problems += _bool_grid(got, expected, name, "the mask")[:3]
    return result


DECODER_CASES = [
    ("post-padded target", np.array([[9, 4, 2, 0, 0], [9, 1, 5, 3, 6]]),
     np.array([[3, 8, 0, 0, 0], [2, 2, 2, 2, 7]])),
    ("pre-padded target", np.array([[0, 0, 9, 4, 2]]), np.array([[3, 8, 1, 0, 0]])),
    ("T = 4, S = 6", np.array([[9, 4, 0, 0]]), np.array([[3, 8, 1, 5, 6, 0]])),
]


def check_decoder_masks(decoder_masks):
    """ex-12-decoder-bug: (self_mask, cross_mask) of a decoder block."""
    result = CheckResult("decoder_masks")
    for name, tgt, src in DECODER_CASES:
        q, k = tgt != 0, src != 0
        t = tgt.shape[1]
        causal = np.tril(np.ones((t, t), bool))[None]
        expected_self = q[:, :, None] & q[:, None, :] & causal
        expected_cross = q[:, :, None] & k[:, None, :]
        got, problem = call_quietly(decoder_masks, tgt.copy(), src.copy())
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            result.problems.append(f"{name}: return a pair (self_mask, cross_mask), got {type(got).__name__}")
            continue
        self_mask, cross = (to_numpy(m) for m in got)
        if self_mask is not None and self_mask.shape == expected_self.shape and self_mask.dtype == bool:
            if np.array_equal(self_mask, q[:, :, None] & causal) and not np.array_equal(self_mask, expected_self):
                result.problems.append(f"{name}: the self-attention mask has no key padding: real queries attend "
                                       "to padded target steps (with pre-padding the causal mask does not hide them)")
                continue
            padding_only = q[:, :, None] & q[:, None, :]
            if np.array_equal(self_mask, padding_only) and not np.array_equal(self_mask, expected_self):
                result.problems.append(f"{name}: the self-attention mask is not causal: step i must not see "
                                       "steps after i")
                continue
        if cross is not None and cross.ndim == 3 and cross.shape[:2] == expected_cross.shape[:2] \
                and cross.shape[2] == t and t != src.shape[1]:
            result.problems.append(f"{name}: the cross-attention mask has {t} key columns (the target's length); "
                                   f"the keys are the source's {src.shape[1]} steps")
            continue
        if cross is not None and cross.shape == expected_cross.shape and cross.dtype == bool and t == src.shape[1]:
            if np.array_equal(cross, q[:, :, None] & q[:, None, :]) and not np.array_equal(cross, expected_cross):
                result.problems.append(f"{name}: the cross-attention mask puts the target's padding on the "
                                       "encoder's keys; use the source's padding there")
                continue
        result.problems += _bool_grid(self_mask, expected_self, name, "self_mask")[:2]
        result.problems += _bool_grid(cross, expected_cross, name, "cross_mask")[:2]
    return result


# ----- chapter 13 -------------------------------------------------------------------

SHIFT_CASES = [
    ("two targets of lengths 3 and 5", np.array([[5, 6, 7, 0, 0], [4, 4, 3, 2, 1]]), 11),
    ("a target of length 1", np.array([[8, 0, 0]]), 12),
]


def check_shift_right(shift_right):
    """ex-13-shift-right: decoder inputs = start token, then the targets without their last step."""
    result = CheckResult("shift_right")
    for name, targets, start in SHIFT_CASES:
        expected = np.concatenate([np.full((targets.shape[0], 1), start), targets[:, :-1]], axis=1)
        expected = np.where(np.concatenate([np.ones((targets.shape[0], 1), bool), targets[:, :-1] != 0], 1),
                            expected, 0)
        got, problem = call_quietly(shift_right, targets.copy(), start)
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        got_np = to_numpy(got)
        if got_np is not None and got_np.shape == (targets.shape[0], targets.shape[1] + 1):
            result.problems.append(f"{name}: the decoder inputs have {got_np.shape[1]} steps; keep the targets' "
                                   f"length {targets.shape[1]} (drop their last step)")
            continue
        if got_np is not None and got_np.shape == targets.shape:
            left = np.concatenate([targets[:, 1:], np.zeros((targets.shape[0], 1), int)], axis=1)
            if np.array_equal(got_np, left):
                result.problems.append(f"{name}: this shifts left; the decoder input at step i must be the "
                                       "target at step i - 1 (start token first)")
                continue
            if np.array_equal(got_np[:, 1:], expected[:, 1:]) and not np.array_equal(got_np[:, 0], expected[:, 0]):
                result.problems.append(f"{name}: step 0 must be the start token {start}, got {got_np[:, 0].tolist()}")
                continue
        result.problems += compare_arrays(got_np, expected, what="the decoder inputs", case=name)[:3]
    return result


def _xent(labels, logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]


def _loss_cases():
    rng = np.random.default_rng(14)
    labels = np.array([[3, 1, 2, 0, 0], [1, 1, 2, 3, 0]])
    logits = rng.normal(size=(2, 5, 4)) * 3
    cases = [("two rows of lengths 3 and 4", labels, logits)]
    cases.append(("large logits", np.array([[2, 3, 0]]), np.array([[[0, 0, 500, 0], [0, 900, 0, 0], [1, 2, 3, 4]]],
                                                                   float)))
    cases.append(("a row of padding only", np.array([[2, 1, 0], [0, 0, 0]]), rng.normal(size=(2, 3, 4))))
    return cases


def check_masked_token_loss(masked_token_loss):
    """ex-13-masked-loss: mean cross-entropy over the non-padding target tokens."""
    result = CheckResult("masked_token_loss")
    for name, labels, logits in _loss_cases():
        step = _xent(labels, logits.astype("float64"))
        keep = labels != 0
        expected = step[keep].mean()
        got, problem = call_quietly(masked_token_loss, labels.copy(), logits.astype("float32"))
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        try:
            value = float(np.asarray(got).reshape(()))
        except Exception:  # noqa: BLE001
            result.problems.append(f"{name}: return one number, got {type(got).__name__} "
                                   f"of shape {getattr(np.asarray(got, dtype=object), 'shape', None)}")
            continue
        if not np.isfinite(value):
            result.problems.append(f"{name}: the loss is {value}; subtract each row's largest logit before exp "
                                   "(log-softmax) so it cannot overflow")
            continue
        if np.isclose(value, expected, rtol=1e-4):
            continue
        if np.isclose(value, step.mean(), rtol=1e-4):
            result.problems.append(f"{name}: {value:.4f} is the mean over all steps, padding included; "
                                   f"the mean over the real tokens is {expected:.4f}")
        elif np.isclose(value, (step * keep).sum() / keep.size, rtol=1e-4):
            result.problems.append(f"{name}: {value:.4f} zeroes the padded steps but divides by all "
                                   f"{keep.size} steps; divide by the {keep.sum()} real tokens")
        elif np.isclose(value, np.mean([step[r][keep[r]].mean() for r in range(len(labels)) if keep[r].any()]),
                        rtol=1e-4):
            result.problems.append(f"{name}: {value:.4f} is a mean of per-row means; the loss is a mean over "
                                   "all real tokens of the batch (longer rows count more)")
        else:
            result.problems.append(f"{name}: the loss is {value:.4f}, expected {expected:.4f}")
    return result
