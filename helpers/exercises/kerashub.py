"""Self-checks for the exercises of chapter 16 (KerasHub's masks).

    check_effective_key_mask(effective_key_mask)   ex-16-effective-mask
    check_pair_inputs(pair_inputs)                 ex-16-pair-inputs
    check_pad_prompts(pad_prompts)                 ex-16-pad-prompts

The expected answers are computed from KerasHub itself (a ``TransformerEncoder``'s
attention weights, ``MultiSegmentPacker``, a tiny Llama-style causal LM), so the checks
follow the installed KerasHub. Positions are 0-based. Id 0 is padding.
"""

import functools

import numpy as np

from helpers.exercises import CheckResult, call_quietly, compare_arrays, compare_masks, to_numpy

# ----- ex-16-effective-mask -------------------------------------------------------------

#: (name, Keras mask or None, padding_mask or None); position 0 is real in every mask.
MASK_CASES = [
    ("no mask", None, None),
    ("Keras mask only", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], None),
    ("padding_mask only", None, [[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]]),
    ("both, equal", [[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], [[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]]),
    ("both, padding_mask wider", [[1, 1, 0, 0, 0], [1, 1, 1, 0, 0]], [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]),
    ("both, crossing", [[1, 1, 1, 0, 0], [1, 0, 1, 1, 0]], [[1, 0, 1, 1, 1], [1, 1, 1, 0, 0]]),
]


def _encoder_keys(keras_mask, padding_mask, seed=0):
    """The keys query 0 of a real TransformerEncoder attends to, (batch, time) bool."""
    import keras
    import keras_hub

    from helpers.keras_internals import set_keras_mask

    keras.utils.set_random_seed(seed)
    x = keras.ops.convert_to_tensor(np.random.default_rng(seed).normal(size=(2, 5, 8)).astype("float32"))
    if keras_mask is not None:
        set_keras_mask(x, keras.ops.convert_to_tensor(np.array(keras_mask, bool)))
    kwargs = {} if padding_mask is None else {"padding_mask": np.array(padding_mask, bool)}
    layer = keras_hub.layers.TransformerEncoder(intermediate_dim=8, num_heads=1)
    _, scores = layer(x, return_attention_scores=True, **kwargs)
    return keras.ops.convert_to_numpy(scores)[:, 0, 0] > 0


def _as_bool(a):
    return None if a is None else np.array(a, bool)


def check_effective_key_mask(effective_key_mask):
    """ex-16-effective-mask: the keys a TransformerEncoder attends to, given both masks."""
    result = CheckResult("effective_key_mask")
    for name, keras_mask, padding_mask in MASK_CASES:
        k, p = _as_bool(keras_mask), _as_bool(padding_mask)
        got, problem = call_quietly(effective_key_mask, *(None if m is None else m.copy() for m in (k, p)))
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        expected = _encoder_keys(keras_mask, padding_mask)
        if got is None and expected.all():
            continue  # "no mask" may be answered with None
        got_np = to_numpy(got)
        if k is not None and p is not None and got_np is not None and got_np.shape == expected.shape \
                and not np.array_equal(got_np, expected):
            if np.array_equal(got_np, p):
                result.problems.append(f"{name}: your answer keeps only padding_mask, as KerasHub's log message "
                                       "says; but the layer's MultiHeadAttention still reads the Keras mask "
                                       "attached to its query and value, so both apply")
                continue
            if np.array_equal(got_np, k):
                result.problems.append(f"{name}: your answer keeps only the attached Keras mask; the explicit "
                                       "padding_mask applies too")
                continue
            if np.array_equal(got_np, k | p):
                result.problems.append(f"{name}: your answer lets a key through when either mask keeps it (OR); "
                                       "a key is attended only when both keep it")
                continue
        result.problems += compare_masks(got, expected, name)
    return result


# ----- ex-16-pair-inputs ----------------------------------------------------------------

#: (name, first sentences, second sentences, sequence_length).
PAIR_CASES = [
    ("two short pairs", [[5, 6, 7], [8]], [[9, 9], [10, 11, 12]], 10),
    ("a pair that is truncated", [[5, 6, 7, 8, 9, 10]], [[11, 12, 13, 14]], 8),
    ("no padding", [[5, 6], [7]], [[8], [9, 10]], 6),
]


def _pair_expected(first, second, sequence_length):
    import keras
    import keras_hub

    packer = keras_hub.layers.MultiSegmentPacker(sequence_length=sequence_length, start_value=1, end_value=2,
                                                 sep_value=3)
    token_ids, segment_ids = (keras.ops.convert_to_numpy(t) for t in packer((first, second)))
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": token_ids != 0}


def check_pair_inputs(pair_inputs):
    """ex-16-pair-inputs: token_ids, segment_ids and a boolean padding_mask for BertBackbone."""
    result = CheckResult("pair_inputs")
    for name, first, second, length in PAIR_CASES:
        expected = _pair_expected(first, second, length)
        got, problem = call_quietly(pair_inputs, [list(r) for r in first], [list(r) for r in second], length)
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        if not isinstance(got, dict):
            result.problems.append(f"{name}: expected a dict with token_ids, segment_ids and padding_mask, "
                                   f"got {type(got).__name__}")
            continue
        missing = [key for key in expected if key not in got]
        if missing:
            result.problems.append(f"{name}: the dict has no {', '.join(missing)} (it has {sorted(got)})")
            continue
        for key in ("token_ids", "segment_ids"):
            result.problems += compare_arrays(got[key], expected[key], what=key, case=name)
        mask = to_numpy(got["padding_mask"])
        segments = expected["segment_ids"]
        if mask is not None and mask.shape == segments.shape and np.array_equal(mask.astype(bool), segments != 0) \
                and not np.array_equal(segments != 0, expected["padding_mask"]):
            result.problems.append(f"{name}: the padding_mask is segment_ids != 0, which drops the first sentence "
                                   "([CLS] a [SEP] have segment id 0, like the padding); take it from the ids")
            continue
        result.problems += compare_masks(got["padding_mask"], expected["padding_mask"], f"{name}: padding_mask")
    return result


# ----- ex-16-pad-prompts ----------------------------------------------------------------

#: Prompts of different lengths, each starting with [BOS] = 1; steps to generate.
PROMPTS = [[1, 4, 6, 8, 10, 4], [1, 5, 7], [1, 18, 16, 20, 19], [1, 9]]
STEPS = 4


@functools.lru_cache(maxsize=None)
def _tiny_llama(backend):
    """A 2-layer Llama-style causal LM with NumPy weights (the same on every backend)."""
    import keras_hub

    from helpers.kerashub import set_numpy_weights

    backbone = keras_hub.models.LlamaBackbone(vocabulary_size=24, num_layers=2, num_query_heads=2,
                                              num_key_value_heads=2, hidden_dim=16, intermediate_dim=32, dropout=0.0)
    return set_numpy_weights(keras_hub.models.LlamaCausalLM(backbone=backbone, preprocessor=None), seed=1)


def _padding_problems(ids, mask):
    """Problems with the shape, dtype and contents of a padded batch of PROMPTS, or []."""
    width = max(len(p) for p in PROMPTS)
    if ids is None or mask is None or ids.shape != (len(PROMPTS), width) or mask.shape != ids.shape:
        shapes = [None if a is None else a.shape for a in (ids, mask)]
        return [f"token_ids and padding_mask have shapes {shapes[0]} and {shapes[1]}, expected "
                f"{(len(PROMPTS), width)} each (prompts, longest prompt)"]
    if ids.dtype.kind not in "iu":
        return [f"token_ids has dtype {ids.dtype}; token ids are integers"]
    if mask.dtype != bool:
        return [f"padding_mask has dtype {mask.dtype}; a padding mask is boolean (True = a real token)"]
    problems = []
    for r, prompt in enumerate(PROMPTS):
        if ids[r][mask[r]].tolist() != prompt:
            problems.append(f"row {r}: the tokens where padding_mask is True are {ids[r][mask[r]].tolist()}, "
                            f"expected the prompt {prompt} in order")
    return problems


def check_pad_prompts(pad_prompts):
    """ex-16-pad-prompts: a padded batch that greedy_generate turns into each prompt's own tokens."""
    import keras

    from helpers.kerashub import greedy_generate

    result = CheckResult("pad_prompts")
    got, problem = call_quietly(pad_prompts, [list(p) for p in PROMPTS])
    if problem:
        result.problems.append(problem)
        return result
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        result.problems.append(f"expected a pair (token_ids, padding_mask), got {type(got).__name__}")
        return result
    ids, mask = (to_numpy(a) for a in got)
    result.problems += _padding_problems(ids, mask)
    if result.problems:
        return result
    lm = _tiny_llama(keras.backend.backend())
    alone = np.stack([greedy_generate(lm, np.array([p]), np.ones((1, len(p)), bool), STEPS)[0] for p in PROMPTS])
    batch = greedy_generate(lm, ids, mask, STEPS, require_left_padding=False)
    late = [r for r in range(len(PROMPTS)) if not mask[r, -1]]
    for r in np.nonzero((batch != alone).any(axis=1))[0]:
        why = (" (its last column is a pad, where the loop reads the next token: pad on the left)"
               if r in late else "")
        result.problems.append(f"prompt {r} ({PROMPTS[r]}): the batch generates {batch[r].tolist()}, alone it "
                               f"generates {alone[r].tolist()}{why}")
    return result
