"""Self-checks for the exercises of chapter 14 (Where masks vanish).

Chapter 14:
    check_attend(attend)            ex-14-same-on-both-paths
    check_stacked_model(make_model) ex-14-keep-the-mask

Positions are 0-based, as in NumPy. Id 0 is padding.
"""

import numpy as np

from helpers.exercises import CheckResult, build_student_model, call_quietly, compare_arrays, to_numpy

#: Embedded vectors (batch 2, 5 steps, 8 features) and their padding mask.
_MASK = np.array([[True, True, True, False, False], [True, True, True, True, True]])


def _layers(dim=8):
    """Two MultiHeadAttention layers with the same weights: dropout 0 (default path) and 0.1 (scores path)."""
    import keras

    keras.utils.set_random_seed(0)
    default = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, bias_initializer="random_normal")
    scores = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1)
    default.build((2, 5, dim), (2, 5, dim))
    scores.build((2, 5, dim), (2, 5, dim))
    scores.set_weights(default.get_weights())
    return default, scores


def _expected(layer, x, mask):
    """Masked self-attention by hand: real queries over real keys; padded queries 0."""
    import keras

    ops = keras.ops
    q = to_numpy(layer.query_dense(x))          # (batch, time, heads, dim)
    k = to_numpy(layer.key_dense(x))
    v = to_numpy(layer.value_dense(x))
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(q.shape[-1])
    scores = np.where(mask[:, None, None, :], scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    mixed = np.einsum("bhqk,bkhd->bqhd", weights, v).astype("float32")
    out = to_numpy(layer.output_dense(ops.convert_to_tensor(mixed)))
    return np.where(mask[..., None], out, 0.0)


def check_attend(attend):
    """ex-14-same-on-both-paths: ``attend(layer, x, mask)`` masks padding the same way on both paths.

    ``x`` is a plain array (no Keras mask attached) and ``mask`` a boolean
    ``(batch, time)`` array. The result must be the masked self-attention of
    ``x``: real queries attend to real keys only, and padded queries give 0,
    whether ``layer`` takes the default path (``dropout=0``) or the scores path
    (``dropout=0.1`` called with ``training=False``).
    """
    result = CheckResult("attend")
    x = np.random.default_rng(1).normal(size=(2, 5, 8)).astype("float32")
    default, scores = _layers()
    expected = _expected(default, x, _MASK)
    for name, layer in (("dropout=0 (default path)", default), ("dropout=0.1 (scores path)", scores)):
        got, problem = call_quietly(attend, layer, x.copy(), _MASK.copy())
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        got_np = to_numpy(got)
        if got_np is not None and got_np.shape == expected.shape and not np.isnan(got_np).any():
            padded = ~_MASK
            if np.abs(got_np[padded]).max() > 1e-5:
                result.problems.append(
                    f"{name}: the padded queries (row 0, steps 3 and 4) should give 0; on the default path "
                    "a fully masked row is a uniform average over all the values, so set them to 0 yourself")
                continue
            if not np.allclose(got_np[_MASK], expected[_MASK], atol=1e-4):
                result.problems.append(
                    f"{name}: real queries should attend to the real keys only (row 0 has 3); pass the padding "
                    "as attention_mask=, since query_mask= is overwritten and a plain array carries no mask")
                continue
        result.problems += compare_arrays(got, expected, "the output", name, atol=1e-4)
    return result


def check_stacked_model(make_model):
    """ex-14-keep-the-mask: ``make_model(vocab_size)`` stacks two attention blocks and keeps the mask.

    The model takes int ids ``(batch, time)`` (0 = padding), has at least two
    ``MultiHeadAttention`` layers, returns one vector per row, and gives the same
    output (within 1e-4) when the ids get 4 more padded steps.
    """
    import keras

    from helpers.attention.stacked import attention_masks_at_run_time, padding_change

    result = CheckResult("make_model")
    model = build_student_model(make_model, result)
    if model is None:
        return result
    attention = [layer for layer in model.layers if isinstance(layer, keras.layers.MultiHeadAttention)]
    if len(attention) < 2:
        result.problems.append(f"the model has {len(attention)} MultiHeadAttention layer(s); stack two blocks")
        return result
    ids = np.array([[3, 4, 5, 6, 7], [8, 2, 9, 0, 0]], dtype="int32")
    change, problem = call_quietly(padding_change, model, ids, 4)
    if problem:
        result.problems.append(f"running the model on ids (batch, time): {problem}")
        return result
    seen, problem = call_quietly(attention_masks_at_run_time, model, ids)
    if not problem:
        blind = [name for name, masked in seen.items() if not masked]
        if blind:
            result.problems.append(f"at run time these attention layers get no mask: {', '.join(blind)}")
    if change > 1e-4:
        result.problems.append(
            f"4 more padded steps change the output by {change:.3g}: padding reaches the result "
            "(look at what the second block's attention and the pooling receive)")
    return result
