"""The attention mask ``keras.layers.MultiHeadAttention`` builds, as a function.

Taught in chapters 10 and 12 (Masked self-attention; MultiHeadAttention's masks in full).

``MultiHeadAttention`` (Keras 3.15.1, ``_compute_attention_mask``) turns its masks
into one boolean tensor of shape ``(batch, T, S)`` (``T`` query steps, ``S`` key
steps; True = may attend) by broadcasting and AND-ing:

* the query mask ``(B, T)`` as ``(B, T, 1)``: a padded query attends to nothing;
* the key (and value) mask ``(B, S)`` as ``(B, 1, S)``: nobody attends to a padded key;
* the causal mask ``(1, T, S)``: query ``i`` may attend to key ``j`` when ``j <= i``,
  counted from the first step of both axes, also when ``T != S``;
* the sliding window ``(1, T, S)``: ``|i - j| < sliding_window``.

:func:`attention_mask` builds that same tensor from plain masks, so that it can be
passed to ``MultiHeadAttention(..., attention_mask=...)`` explicitly, which the
layer honours whether or not its inputs carry Keras masks.
"""

import numbers

import keras
from keras import ops

from helpers.validation import positive_int, received


def _as_mask(mask, name):
    """``mask`` as a boolean tensor of rank 2, or a ValueError naming ``name``."""
    if mask is None:
        return None
    try:
        mask = ops.convert_to_tensor(mask)
    except Exception as error:  # noqa: BLE001 - reported as a TypeError below
        raise TypeError(f"attention_mask: `{name}` must be an array or tensor. {received(name, mask)}") from error
    if len(mask.shape) != 2:
        raise ValueError(
            f"attention_mask: `{name}` must be 2-D (batch, steps). Received: {name} with shape {tuple(mask.shape)}"
        )
    if keras.backend.standardize_dtype(mask.dtype) != "bool":
        mask = ops.cast(mask, "bool")
    return mask


def _length(mask, length, mask_name, length_name):
    """The number of steps: from the mask, from the length argument, which must agree."""
    if isinstance(length, numbers.Number):  # a scalar tensor (a traced shape) is taken as it is
        length = positive_int(length, length_name, owner="attention_mask")
    if mask is None:
        if length is None:
            raise ValueError(
                f"attention_mask: `{mask_name}` or `{length_name}` must be given: without either the number "
                f"of {'query' if 'query' in mask_name else 'key'} steps cannot be inferred. "
                f"Received: {mask_name}=None, {length_name}=None"
            )
        return length
    steps = mask.shape[1]
    if isinstance(length, int) and steps is not None and steps != length:
        raise ValueError(
            f"attention_mask: `{length_name}` must agree with the {steps} steps of {mask_name}. "
            f"Received: {length_name}={length} with {mask_name} of shape {tuple(mask.shape)}"
        )
    return steps if steps is not None else ops.shape(mask)[1]


def attention_mask(query_mask=None, key_mask=None, causal=False, *, query_length=None, key_length=None,
                   sliding_window=None):
    """The boolean ``(batch, T, S)`` mask that ``MultiHeadAttention`` builds from these masks.

    True means "query ``i`` may attend to key ``j``". The result equals the mask
    Keras 3.15.1's ``MultiHeadAttention`` computes when the query carries
    ``query_mask`` as its Keras mask, the key (or value) carries ``key_mask``, and
    ``use_causal_mask=causal``; passing it as ``attention_mask=`` reproduces that
    attention exactly, on plain tensors too.

    Args:
        query_mask: boolean ``(batch, T)``, True at real query steps, or None (every
            query is real; then ``query_length`` gives ``T``).
        key_mask: boolean ``(batch, S)``, True at real key steps, or None (every key
            is real; then ``key_length`` gives ``S``).
        causal: bool, also forbid query ``i`` to attend to keys ``j > i``. As in Keras,
            positions count from the first step of both axes, also when ``T != S``.
        query_length: int (or a scalar integer tensor, as ``ops.shape`` gives inside a
            traced function), ``T`` when ``query_mask`` is None; it must agree with
            ``query_mask`` when both are given.
        key_length: int, ``S`` when ``key_mask`` is None (same rule).
        sliding_window: None or a positive int ``w``: also forbid ``|i - j| >= w``,
            as ``MultiHeadAttention(sliding_window=w)`` does.

    Returns:
        A boolean tensor of shape ``(batch, T, S)``; ``batch`` is 1 when neither mask
        is given (it broadcasts against any batch).

    Raises:
        ValueError: a mask that is not 2-D, masks whose batch sizes disagree, a length
            that disagrees with its mask, no mask and no length to infer ``T`` or ``S``,
            a length or ``sliding_window`` below 1.
        TypeError: a mask that cannot be converted to a tensor, a ``causal`` that is not
            a bool, a length or ``sliding_window`` that is not an int (a float, a bool).

    Example:
        >>> from keras import ops
        >>> queries = [[True, True, False]]            # T = 3, the last query is padding
        >>> keys = [[True, True, True, False]]         # S = 4, the last key is padding
        >>> mask = attention_mask(queries, keys, causal=True)
        >>> ops.convert_to_numpy(mask).astype(int)
        array([[[1, 0, 0, 0],
                [1, 1, 0, 0],
                [0, 0, 0, 0]]])
    """
    query_mask = _as_mask(query_mask, "query_mask")
    key_mask = _as_mask(key_mask, "key_mask")
    if not isinstance(causal, bool):
        raise TypeError(f"attention_mask: `causal` must be a bool. {received('causal', causal)}")
    if sliding_window is not None:
        sliding_window = positive_int(sliding_window, "sliding_window", owner="attention_mask")
    t = _length(query_mask, query_length, "query_mask", "query_length")
    s = _length(key_mask, key_length, "key_mask", "key_length")
    if query_mask is not None and key_mask is not None:
        bq, bk = query_mask.shape[0], key_mask.shape[0]
        if bq is not None and bk is not None and bq != bk:
            raise ValueError(
                f"attention_mask: `query_mask` and `key_mask` must have the same batch size. Received: query_mask "
                f"with shape {tuple(query_mask.shape)} (batch size {bq}) and key_mask with shape "
                f"{tuple(key_mask.shape)} (batch size {bk})"
            )

    mask = ops.ones((1, t, s), dtype="bool")
    if query_mask is not None:
        mask = ops.logical_and(mask, ops.expand_dims(query_mask, -1))  # (B, T, 1)
    if key_mask is not None:
        mask = ops.logical_and(mask, ops.expand_dims(key_mask, -2))  # (B, 1, S)
    rows = ops.reshape(ops.arange(t, dtype="int32"), (1, t, 1))
    cols = ops.reshape(ops.arange(s, dtype="int32"), (1, 1, s))
    if causal:
        mask = ops.logical_and(mask, ops.greater_equal(rows, cols))  # (1, T, S)
    if sliding_window is not None:
        mask = ops.logical_and(mask, ops.less(ops.abs(rows - cols), sliding_window))
    return mask
