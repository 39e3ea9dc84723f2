"""The segment (block-diagonal) attention mask of packed rows, and what it costs.

Taught in chapter 19 (Packing).
"""

import numpy as np
from keras import ops

from helpers.validation import received


def segment_attention_mask(segment_ids, causal=False):
    """Boolean ``(rows, T, T)``: query ``i`` may attend to key ``j`` of the same sequence.

    True where ``segment_ids[i] == segment_ids[j] != 0`` (and ``j <= i`` when
    ``causal``): one block per sequence on the diagonal, nothing across sequences,
    nothing to or from padding. Pass it as ``MultiHeadAttention(...,
    attention_mask=...)``. A padding query's row is all False; its output is
    meaningless and must be masked out of the loss.

    Args:
        segment_ids: ``(rows, T)`` ints, 1, 2, ... per sequence, 0 for padding: a
            NumPy array or a tensor of any Keras backend.
        causal: bool, also forbid attending to later steps (a decoder).

    Returns:
        A boolean tensor of the current backend, ``(rows, T, T)``.

    Example:
        >>> mask = segment_attention_mask(np.array([[1, 1, 2, 0]]))
        >>> ops.convert_to_numpy(mask)[0].astype(int).tolist()
        [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    """
    if not isinstance(causal, (bool, np.bool_)):
        raise TypeError(f"segment_attention_mask: `causal` must be a bool. {received('causal', causal)}")
    if segment_ids is None:
        raise TypeError(f"segment_attention_mask: `segment_ids` must be a (rows, T) integer array or tensor. "
                        f"{received('segment_ids', segment_ids)}")
    segments = ops.convert_to_tensor(segment_ids)
    if len(segments.shape) != 2:
        raise ValueError(f"segment_attention_mask: `segment_ids` must be 2-D (rows, T); got shape "
                         f"{tuple(segments.shape)}. {received('segment_ids', segment_ids)}")
    segments = ops.cast(segments, "int32")
    mask = ops.logical_and(ops.equal(segments[:, :, None], segments[:, None, :]),
                           ops.not_equal(segments, 0)[:, :, None])
    if causal:
        steps = ops.arange(ops.shape(segments)[1])
        mask = ops.logical_and(mask, (steps[None, :] <= steps[:, None])[None])
    return mask


def _as_numpy_segments(segment_ids, owner):
    segments = ops.convert_to_numpy(segment_ids) if ops.is_tensor(segment_ids) else np.asarray(segment_ids)
    if segments.ndim != 2 or not np.issubdtype(segments.dtype, np.integer):
        raise ValueError(f"{owner}: `segment_ids` must be a 2-D integer array (rows, T). "
                         f"{received('segment_ids', segment_ids)}")
    return segments


def packing_stats(segment_ids):
    """How full packed rows are, and where self-attention's work goes.

    Args:
        segment_ids: ``(rows, T)`` ints, or a list of such arrays (rows of several widths).

    Returns:
        dict: ``rows``, ``sequences``, ``real_tokens``, ``cells`` (rows x T summed),
        ``row_fill`` (real tokens / cells), ``padding_fraction`` (1 - row_fill), and the
        attention score cells (one head, one layer): ``score_cells`` (sum of T x T),
        ``same_segment_cells`` (what a per-sequence run computes: the sum of squared
        lengths), ``cross_segment_cells`` (query and key real, different sequences:
        computed, then masked away), ``padding_cells`` (a padding query or key), and
        ``cross_segment_fraction`` / ``useful_fraction`` of ``score_cells``.

    Example:
        >>> stats = packing_stats(np.array([[1, 1, 2, 0]]))
        >>> stats["row_fill"], stats["same_segment_cells"], stats["cross_segment_cells"]
        (0.75, 5, 4)
    """
    arrays = segment_ids if isinstance(segment_ids, list) else [segment_ids]
    rows = sequences = real = cells = scores = same = 0
    for array in arrays:
        segments = _as_numpy_segments(array, "packing_stats")
        rows += segments.shape[0]
        cells += segments.size
        scores += segments.shape[0] * segments.shape[1] ** 2
        for row in segments:
            counts = np.bincount(row[row > 0])
            sequences += int(np.count_nonzero(counts))
            real += int(counts.sum())
            same += int((counts.astype(np.int64) ** 2).sum())
    real_squared = sum(int((np.count_nonzero(_as_numpy_segments(a, "packing_stats"), axis=1) ** 2).sum())
                       for a in arrays)
    cross = real_squared - same
    return {"rows": rows, "sequences": sequences, "real_tokens": real, "cells": cells,
            "row_fill": real / cells, "padding_fraction": 1 - real / cells, "score_cells": scores,
            "same_segment_cells": same, "cross_segment_cells": cross, "padding_cells": scores - real_squared,
            "cross_segment_fraction": cross / scores, "useful_fraction": same / scores}
