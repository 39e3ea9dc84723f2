"""Layers for packed rows: positions that restart, attention kept inside each sequence.

Taught in chapter 19 (Packing). The two Transformer layers extend those of chapter 13
(:mod:`helpers.attention.transformer`) and keep their weights, so the same weights can
run a sequence alone (padding mask) or packed with others (segment mask):

| layer                  | what it does with the segments                                |
|------------------------|---------------------------------------------------------------|
| PackedTokenAndPosition | position embedding at the given ``positions`` (restarting at  |
|                        | each sequence) instead of ``0 .. T-1`` along the row          |
| PackedBlock            | self-attention under :func:`segment_attention_mask` (causal   |
|                        | for a decoder), then the feed-forward network                 |
| SegmentMeanPool        | the mean vector of each sequence of a row: ``(rows, S, dim)`` |
"""

import keras
from keras import ops

from helpers.attention.transformer import EncoderBlock, TokenAndPosition
from helpers.packing.segments import segment_attention_mask
from helpers.validation import positive_int, received

PACKAGE = "padding_masking"


@keras.saving.register_keras_serializable(package=PACKAGE)
class PackedTokenAndPosition(TokenAndPosition):
    """:class:`TokenAndPosition` whose positions are given: they restart at every sequence.

    Args: as :class:`TokenAndPosition` (``vocabulary``, ``max_length``, ``dim``).

    Call arguments:
        ids: ``(rows, T)`` ints, 0 for padding.
        positions: ``(rows, T)`` ints, each sequence's own step numbers (from
            :func:`helpers.packing.pack`).

    Example:
        >>> import numpy as np
        >>> layer = PackedTokenAndPosition(13, 8, 4)
        >>> tuple(layer(np.array([[4, 5, 6]]), np.array([[0, 1, 0]])).shape)
        (1, 3, 4)
    """

    def build(self, ids_shape, positions_shape=None):
        super().build(ids_shape)

    def call(self, ids, positions):
        return self.tokens(ids) + self.positions(positions)

    def compute_mask(self, ids, mask=None):
        return ops.not_equal(ids, 0)

    def compute_output_shape(self, ids_shape, positions_shape=None):
        return tuple(ids_shape) + (self.dim,)


@keras.saving.register_keras_serializable(package=PACKAGE)
class PackedBlock(EncoderBlock):
    """:class:`EncoderBlock` over packed rows: attention only within each sequence.

    Args:
        dim, heads, hidden: as :class:`EncoderBlock`.
        causal: bool, a decoder's block: each step sees only earlier steps of its
            own sequence.

    Call arguments:
        inputs: ``(rows, T, dim)``.
        segment_ids: ``(rows, T)`` ints, 1, 2, ... per sequence, 0 for padding.

    A padding mask attached to ``inputs`` is passed on unchanged (it adds nothing to
    the segment mask, which already leaves padding out).

    Same weights as an ``EncoderBlock(dim, heads, hidden)``: ``set_weights`` copies them.

    Example:
        >>> import numpy as np
        >>> block = PackedBlock(8, 2, 16, causal=True)
        >>> tuple(block(np.zeros((1, 4, 8), "float32"), np.array([[1, 1, 2, 0]])).shape)
        (1, 4, 8)
    """

    def __init__(self, dim, heads, hidden, causal=False, **kwargs):
        super().__init__(dim, heads, hidden, **kwargs)
        if not isinstance(causal, bool):
            raise TypeError(f"PackedBlock: `causal` must be a bool. {received('causal', causal)}")
        self.causal = causal
        self.supports_masking = True

    def build(self, inputs_shape, segment_ids_shape=None):
        super().build(inputs_shape)

    def call(self, inputs, segment_ids, mask=None):
        # The padding mask Keras may pass (``mask``) is already in the segment mask.
        allowed = segment_attention_mask(segment_ids, causal=self.causal)
        attended = self.self_attention(inputs, inputs, attention_mask=allowed)
        x = self.norm_1(inputs + attended)
        return self.norm_2(x + self.feed_forward(x))

    def compute_output_shape(self, inputs_shape, segment_ids_shape=None):
        return tuple(inputs_shape)

    def get_config(self):
        return {**super().get_config(), "causal": self.causal}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SegmentMeanPool(keras.layers.Layer):
    """The mean vector of each sequence of a packed row (padding excluded).

    Args:
        max_segments: int, the most sequences a row can hold (the output's second axis).

    Call arguments:
        inputs: ``(rows, T, dim)``.
        segment_ids: ``(rows, T)`` ints, 1, 2, ... per sequence, 0 for padding.

    Returns:
        ``(rows, max_segments, dim)``: slot ``k`` holds the mean of segment ``k + 1``,
        zeros where a row has fewer segments.

    Example:
        >>> import numpy as np
        >>> x = np.arange(8, dtype="float32").reshape(1, 4, 2)
        >>> pooled = SegmentMeanPool(3)(x, np.array([[1, 1, 2, 0]]))
        >>> ops.convert_to_numpy(pooled)[0].tolist()
        [[1.0, 2.0], [4.0, 5.0], [0.0, 0.0]]
    """

    def __init__(self, max_segments, **kwargs):
        super().__init__(**kwargs)
        self.max_segments = positive_int(max_segments, "max_segments", owner="SegmentMeanPool")
        self.supports_masking = True

    def call(self, inputs, segment_ids, mask=None):
        # A padding mask on ``inputs`` (Keras passes it as ``mask``) is in segment_ids already.
        one_hot = ops.one_hot(ops.cast(segment_ids, "int32") - 1, self.max_segments, dtype=inputs.dtype)
        sums = ops.einsum("rts,rtd->rsd", one_hot, inputs)
        counts = ops.sum(one_hot, axis=1)[:, :, None]
        return sums / ops.maximum(counts, 1.0)

    def compute_mask(self, inputs, mask=None):
        return None  # one vector per sequence: no time axis left to mask

    def compute_output_shape(self, inputs_shape, segment_ids_shape=None):
        return (inputs_shape[0], self.max_segments, inputs_shape[-1])

    def get_config(self):
        return {**super().get_config(), "max_segments": self.max_segments}
