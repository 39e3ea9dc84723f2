"""Packing: several whole sequences per row, kept apart by a segment mask, no padding to speak of.

Taught in chapter 19 (Packing); the benchmark of chapter 18 times it
(``benchmarks/padding_cost``).

======================================  ===================================================
:func:`pack`                            sequences -> ``(ids, segment_ids, positions)``
:func:`unpack`                          packed rows -> the sequences
:func:`plan_rows`                       first-fit decreasing: which sequences share a row
:func:`packed_next_token_targets`       next-token targets that never cross a boundary
:func:`segment_attention_mask`          the block-diagonal (and causal) attention mask
:func:`packing_stats`                   row fill, and the attention work across segments
:class:`PackedTokenAndPosition`         position embedding with restarting positions
:class:`PackedBlock`                    an encoder/decoder block under the segment mask
:class:`SegmentMeanPool`                one mean vector per sequence of a row
:class:`PackedRNN`                      an RNN whose state is reset at each sequence start
======================================  ===================================================

Example:
    >>> ids, segment_ids, positions = pack([[5, 6], [7, 8, 9]], row_length=5)
    >>> segment_ids.tolist(), positions.tolist()
    ([[1, 1, 1, 2, 2]], [[0, 1, 2, 0, 1]])
"""

from helpers.packing.packed_layers import PackedBlock, PackedTokenAndPosition, SegmentMeanPool
from helpers.packing.recurrent import PackedRNN, SegmentResetCell
from helpers.packing.rows import Packed, pack, packed_next_token_targets, plan_rows, rows_from_plan, unpack
from helpers.packing.segments import packing_stats, segment_attention_mask

__all__ = ["Packed", "PackedBlock", "PackedRNN", "SegmentResetCell",
           "PackedTokenAndPosition", "SegmentMeanPool", "pack", "packed_next_token_targets",
           "packing_stats", "plan_rows", "rows_from_plan", "segment_attention_mask", "unpack"]
