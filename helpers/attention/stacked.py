"""Stacked self-attention blocks, the Functional model in which the mask vanishes at run time.

Taught in chapter 14 (Where masks vanish); chapter 12 (Masks in Transformers) links to it,
and chapter 15's audit runs its checks on these models.

``Embedding(mask_zero=True)`` followed by two residual blocks
``LayerNormalization(Add([x, MultiHeadAttention(x, x)]))`` and
``GlobalAveragePooling1D`` looks masked end to end: every symbolic tensor of the
Functional model carries a mask. At run time the second attention layer gets
none. The cause, in Keras 3.15.1's source:

1. ``MultiHeadAttention.call`` clears the Keras mask of the tensors it was given,
   in place (``backend.set_keras_mask(query, None)`` and the same for ``value``
   and ``key``, ``keras/src/layers/attention/multi_head_attention.py``, lines
   628-631). At run time the residual ``Add`` receives that very tensor object.
2. ``Merge.compute_mask`` returns no mask when one of its inputs has none
   (``keras/src/layers/merging/base_merge.py``, lines 272-273), so the block's
   output, and the next block's attention, have no mask: its padded keys are
   attended to.
3. Symbolically nothing is lost, because building the model runs
   ``compute_output_spec``, not ``call``: every symbolic tensor shows a mask.

In Keras 3.15.1 a layer with one input whose ``call`` takes ``mask`` (such as the final
``GlobalAveragePooling1D``) still gets the right mask at run time: ``Layer.__call__``
fills ``mask`` into the very ``kwargs`` dict it records on the graph node (steps 6 and
8), so the Functional model recomputes the mask from the graph. Keras's development
branch (3.16.0.dev2026102704) copies ``kwargs`` first and records no mask, so there the
pooling averages the padding too. The two fixes therefore pass every mask explicitly,
as an argument, which a graph node records in every version:

* ``fix="attention_mask"``: each attention layer gets an explicit
  ``attention_mask`` made from the ids (:class:`KeyPaddingMask`), and the pooling
  gets ``mask=`` the padding mask (:class:`TokenMask`).
* ``fix="carry_mask"``: each attention layer's input goes through
  :class:`CarryMask` called with ``mask=`` the padding mask, which attaches it again
  (the attention layer then builds its query and key masks itself), and the pooling
  gets ``mask=`` too.
"""

import keras
import numpy as np

from helpers import keras_internals
from helpers.attention.layers import KeyPaddingMask, _check_ids_shape, _check_integer
from helpers.layers.package import PACKAGE
from helpers.validation import non_negative_int, positive_int, received, to_array

FIXES = (None, "attention_mask", "carry_mask")


@keras.saving.register_keras_serializable(package=PACKAGE)
class TokenMask(keras.layers.Layer):
    """The padding mask of token ids as a tensor: ``ids != 0``, boolean ``(batch, time)``.

    A Functional model records a tensor passed as an argument (``mask=...``,
    ``attention_mask=...``) on the graph node of the layer it is passed to, so a
    mask made by this layer reaches that layer at run time in every Keras version,
    whatever happened to the masks attached to tensors.

    Input shape:
        integer ids ``(batch, time)``.

    Output shape:
        boolean ``(batch, time)``, True at real tokens. No Keras mask is attached.

    Example:
        >>> keras.ops.convert_to_numpy(TokenMask()(np.array([[7, 3, 0]])))
        array([[ True,  True, False]])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = False

    def build(self, input_shape):
        _check_ids_shape("TokenMask", input_shape)
        self.built = True

    def call(self, inputs):
        _check_integer("TokenMask", inputs.dtype)
        return keras.ops.not_equal(inputs, 0)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="bool")


@keras.saving.register_keras_serializable(package=PACKAGE)
class CarryMask(keras.layers.Layer):
    """Passes its input through and attaches the Keras mask it was called with.

    Call it with the mask as an argument (``CarryMask()(x, mask=padding)``): the
    Functional model records that tensor on the layer's node and hands it over at
    run time, even where a layer upstream (such as ``MultiHeadAttention``) has
    cleared the mask attached to ``x``. Put it in front of a layer that must see
    the mask.

    Input shape:
        any tensor.

    Output shape:
        the same tensor, with the mask it received (``None`` when it got none).

    Example:
        >>> ids = np.array([[4, 9, 0]])
        >>> vectors = keras.layers.Embedding(10, 2, mask_zero=True)(ids)
        >>> layer = CarryMask()
        >>> keras.ops.convert_to_numpy(layer.compute_mask(vectors, ids != 0))
        array([[ True,  True, False]])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        return inputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape


def _check_fix(fix):
    if fix not in FIXES:
        raise ValueError(
            f'`fix` must be one of None, "attention_mask" or "carry_mask". {received("fix", fix)}'
        )
    return fix


def build_stacked_attention_model(fix=None, vocab_size=20, embed_dim=16, num_heads=2, num_blocks=2,
                                  output_units=None, seed=0):
    """Embedding -> ``num_blocks`` residual self-attention blocks -> GlobalAveragePooling1D (-> Dense).

    Each block is ``LayerNormalization(Add([x, MultiHeadAttention(x, x)]))``.
    With ``fix=None`` the model is the plain one: from the second block on, the
    attention layer gets no mask at run time, so padding the same ids with more
    zeros changes the output (see the module docstring for the cause). With
    either fix it does not (to float rounding).

    Layer names are fixed (``embedding``, ``block1_attention``, ``block1_add``,
    ``block1_norm``, ..., ``pooling``, ``output``; ``token_mask``, and
    ``block1_carry_mask`` or ``attention_mask``, for the fixes), so two models built with the same
    ``seed`` have the same weights whatever ``fix`` is.

    Args:
        fix: ``None`` (the model that loses the mask), ``"attention_mask"`` (an
            explicit padding ``attention_mask`` for every attention layer) or
            ``"carry_mask"`` (a :class:`CarryMask` in front of every attention layer);
            with either fix the pooling gets the padding mask as ``mask=``.
        vocab_size: positive int, the number of ids (id 0 is padding).
        embed_dim: positive int, the size of the token vectors.
        num_heads: positive int, attention heads (``key_dim = embed_dim // num_heads``, at least 1).
        num_blocks: positive int, how many blocks to stack (the loss shows from 2).
        output_units: ``None`` (the model ends with the pooled vectors) or a
            positive int (a final ``Dense`` layer with that many units).
        seed: int >= 0, seeds the weights (``keras.utils.set_random_seed``).

    Returns:
        an uncompiled Functional ``keras.Model`` named ``"stacked_attention"``
        (with the fix's name appended), taking int32 ids ``(batch, time)``.

    Example:
        >>> ids = np.array([[3, 4, 5, 6, 7]])
        >>> plain = build_stacked_attention_model()
        >>> bool(padding_change(plain, ids, extra_steps=4) > 1e-3)
        True
        >>> fixed = build_stacked_attention_model(fix="carry_mask")
        >>> bool(padding_change(fixed, ids, extra_steps=4) < 1e-5)
        True
    """
    _check_fix(fix)
    owner = "build_stacked_attention_model"
    vocab_size = positive_int(vocab_size, "vocab_size", owner)
    embed_dim = positive_int(embed_dim, "embed_dim", owner)
    num_heads = positive_int(num_heads, "num_heads", owner)
    num_blocks = positive_int(num_blocks, "num_blocks", owner)
    if output_units is not None:
        output_units = positive_int(output_units, "output_units", owner)
    keras.utils.set_random_seed(non_negative_int(seed, "seed", owner))

    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="embedding")(ids)
    tokens = TokenMask(name="token_mask")(ids) if fix is not None else None
    pairs = KeyPaddingMask(name="attention_mask")(ids) if fix == "attention_mask" else None
    for block in range(1, num_blocks + 1):
        attention = keras.layers.MultiHeadAttention(
            num_heads, max(1, embed_dim // num_heads), name=f"block{block}_attention"
        )
        if fix == "attention_mask":
            update = attention(x, x, attention_mask=pairs)
        elif fix == "carry_mask":
            carried = CarryMask(name=f"block{block}_carry_mask")(x, mask=tokens)
            update = attention(carried, carried)
        else:
            update = attention(x, x)
        x = keras.layers.Add(name=f"block{block}_add")([x, update])
        x = keras.layers.LayerNormalization(name=f"block{block}_norm")(x)
    pooling = keras.layers.GlobalAveragePooling1D(name="pooling")
    outputs = pooling(x) if tokens is None else pooling(x, mask=tokens)
    if output_units is not None:
        outputs = keras.layers.Dense(output_units, name="output")(outputs)
    name = "stacked_attention" if fix is None else f"stacked_attention_{fix}"
    return keras.Model(ids, outputs, name=name)


def _check_ids(ids, owner):
    ids = to_array(ids, "ids", owner)
    if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            "`ids` must be integer token ids of shape (batch, time). "
            f"Received: ids with shape {ids.shape} and dtype {ids.dtype}"
        )
    return ids.astype("int32")


def attention_masks_at_run_time(model, ids):
    """Whether each ``MultiHeadAttention`` of a Functional ``model`` gets a mask when run on ``ids``.

    The model is run node by node (as ``model(ids)`` runs it) and, just before
    each attention layer is called, the mask attached to its query and the
    ``attention_mask`` argument are looked at: what the layer will use.

    Args:
        model: a Functional ``keras.Model``.
        ids: int array-like ``(batch, time)``.

    Returns:
        dict ``{layer name: bool}``, True when the layer gets a Keras mask on its
        query or an explicit ``attention_mask``, in the order the layers run.

    Example:
        >>> attention_masks_at_run_time(build_stacked_attention_model(), [[3, 4, 0]])
        {'block1_attention': True, 'block2_attention': False}
    """
    ids = _check_ids(ids, "attention_masks_at_run_time")
    seen = {}

    def operation_fn(operation):
        if not isinstance(operation, keras.layers.MultiHeadAttention):
            return operation

        def spy(query, *args, **kwargs):
            explicit = kwargs.get("attention_mask") is not None
            seen[operation.name] = explicit or keras_internals.get_keras_mask(query) is not None
            return operation(query, *args, **kwargs)

        return spy

    keras_internals.run_through_graph(model, [ids], operation_fn)
    return seen


def padding_change(model, ids, extra_steps=4):
    """The largest change in ``model``'s output when ``ids`` get ``extra_steps`` more padded steps.

    A model that masks its padding correctly gives the same output (to float
    rounding) for the same tokens, however many zeros follow them.

    Args:
        model: a Keras model taking int ids ``(batch, time)``, id 0 being padding.
        ids: int array-like ``(batch, time)``, right-padded with 0.
        extra_steps: int >= 1, how many zero steps to append.

    Returns:
        float, ``max |model(padded) - model(ids)|`` over every output value.

    Example:
        >>> model = build_stacked_attention_model(fix="attention_mask")
        >>> padding_change(model, [[3, 4, 5, 0]], extra_steps=3) < 1e-5
        True
    """
    extra_steps = positive_int(extra_steps, "extra_steps", "padding_change")
    ids = _check_ids(ids, "padding_change")
    longer = np.pad(ids, ((0, 0), (0, extra_steps)))
    short_out = keras.ops.convert_to_numpy(model(ids, training=False))
    long_out = keras.ops.convert_to_numpy(model(longer, training=False))
    if short_out.shape != long_out.shape:
        raise ValueError(
            "`model` must give one output per row whatever the time length (pool over time). "
            f"Received: outputs of shapes {short_out.shape} and {long_out.shape}"
        )
    return float(np.max(np.abs(long_out - short_out)))
