"""The right-padded fast path: a recurrent layer without a mask, and each row's last real step.

Taught in chapter 8 (Masks inside recurrent layers), section "Masks and cuDNN on every
backend". On a GPU, Keras's PyTorch and JAX backends send any *masked* ``LSTM`` or ``GRU``
to the generic step-by-step loop instead of cuDNN (``keras/src/backend/torch/rnn.py`` and
``keras/src/backend/jax/rnn.py``: "Masking is not supported by the cuDNN path"). For a
right-padded batch the mask is not needed to get the masked layer's result: run the layer
*without* a mask, with ``return_sequences=True``, and take each row's output at its last
real step. The steps after it only read padding and never reach that output. For
``Bidirectional``, the backward direction reads each row's real steps reversed in place
(the padding stays at the end), which is what the masked backward layer reads.

| name                   | what it is                                                   |
|------------------------|--------------------------------------------------------------|
| lengths_from_ids       | real steps per row, ``sum(ids != padding_id)``                |
| gather_last_real_step  | ``sequences[row, length - 1]``; zeros for a row of length 0   |
| reverse_real_steps     | each row's first ``length`` steps reversed, the rest in place |
| LastRealStep           | the layer of ``gather_last_real_step``                        |
| FastPathRNN            | wraps ``LSTM``/``GRU``/``SimpleRNN`` or their ``Bidirectional``: |
|                        | the masked layer's output, computed without a mask             |
| fast_path_difference   | largest difference between the masked layer and the fast path  |
|                        | on your ids, with the same weights                             |

Limits (each asserted in chapter 8): rows must be right-padded (a left-padded row reads its
padding first, and the result differs); the wrapped layer must return one vector per row
(``return_sequences=False``: at the padded steps the masked layer repeats its last output,
the fast path does not) and no states (``return_state=False``).

Example:
    >>> sequences = np.arange(12, dtype="float32").reshape(2, 3, 2)
    >>> keras.ops.convert_to_numpy(gather_last_real_step(sequences, np.array([2, 0])))
    array([[2., 3.],
           [0., 0.]], dtype=float32)
"""

import keras
from keras import ops

from helpers.keras_internals import get_keras_mask
from helpers.layers.package import PACKAGE
from helpers.validation import integer, received

_MERGES = {"concat": lambda a, b: ops.concatenate([a, b], axis=-1), "sum": ops.add, "mul": ops.multiply,
           "ave": lambda a, b: ops.divide(ops.add(a, b), 2.0)}


def lengths_from_ids(ids, padding_id=0):
    """The number of real (non-padding) steps of each row of ``ids``, as int32 of shape ``(batch,)``.

    Args:
        ids: integer ids of shape ``(batch, time)``, right-padded with ``padding_id``.
        padding_id: int, the id that marks padding. Default 0.

    Returns:
        int32 tensor of shape ``(batch,)``.

    Example:
        >>> keras.ops.convert_to_numpy(lengths_from_ids(np.array([[4, 2, 0], [7, 0, 0]])))
        array([2, 1], dtype=int32)
    """
    padding_id = integer(padding_id, "padding_id", owner="lengths_from_ids")
    if len(ids.shape) != 2:
        raise ValueError(f"lengths_from_ids: `ids` must have shape (batch, time). Received: ids.shape={ids.shape}")
    return ops.sum(ops.cast(ops.not_equal(ids, padding_id), "int32"), axis=1)


def _check_lengths(lengths, owner):
    if len(lengths.shape) != 1:
        raise ValueError(f"{owner}: `lengths` must have shape (batch,), one int per row. "
                         f"Received: lengths.shape={tuple(lengths.shape)}")
    dtype = keras.backend.standardize_dtype(lengths.dtype)
    if "int" not in dtype:
        raise TypeError(f"{owner}: `lengths` must be integers (real steps per row). Received: lengths.dtype={dtype}")
    return ops.cast(lengths, "int32")


def _along_time(values, index):
    """values[row, index[row, t]] for values (batch, time, features) and index (batch, k)."""
    shape = ops.shape(values)
    index = ops.broadcast_to(ops.expand_dims(index, -1), (shape[0], ops.shape(index)[1], shape[2]))
    return ops.take_along_axis(values, index, axis=1)


def gather_last_real_step(sequences, lengths):
    """Each row's output at its last real step, ``sequences[row, lengths[row] - 1]``.

    Args:
        sequences: tensor of shape ``(batch, time, units)``, e.g. an unmasked recurrent layer's
            ``return_sequences=True`` output on right-padded rows.
        lengths: integer tensor of shape ``(batch,)``, the real steps of each row.

    Returns:
        tensor of shape ``(batch, units)``; zeros for a row of length 0 (what a masked
        recurrent layer returns for a row masked everywhere).

    Raises:
        ValueError: if ``sequences`` is not of rank 3 or ``lengths`` not of rank 1.
        TypeError: if ``lengths`` is not integer.

    Example:
        >>> seq = np.array([[[1.0], [2.0], [9.0]]])
        >>> keras.ops.convert_to_numpy(gather_last_real_step(seq, np.array([2])))
        array([[2.]])
    """
    sequences = ops.convert_to_tensor(sequences)
    if len(sequences.shape) != 3:
        raise ValueError("gather_last_real_step: `sequences` must have shape (batch, time, units). "
                         f"Received: sequences.shape={tuple(sequences.shape)}")
    lengths = _check_lengths(ops.convert_to_tensor(lengths), "gather_last_real_step")
    last = ops.maximum(lengths - 1, 0)
    picked = ops.squeeze(_along_time(sequences, ops.expand_dims(last, 1)), axis=1)
    return ops.where(ops.expand_dims(lengths > 0, -1), picked, ops.zeros_like(picked))


def reverse_real_steps(inputs, lengths):
    """Each row's first ``length`` steps in reverse order; the padding after them stays in place.

    ``[a, b, c, pad, pad]`` with length 3 becomes ``[c, b, a, pad, pad]``: what the masked
    backward half of ``Bidirectional`` reads, still right-padded.

    Args:
        inputs: tensor of shape ``(batch, time, features)``.
        lengths: integer tensor of shape ``(batch,)``.

    Returns:
        tensor of the shape of ``inputs``.

    Example:
        >>> x = np.array([[[1.0], [2.0], [3.0], [0.0]]])
        >>> keras.ops.convert_to_numpy(reverse_real_steps(x, np.array([3])))[0, :, 0]
        array([3., 2., 1., 0.])
    """
    inputs = ops.convert_to_tensor(inputs)
    if len(inputs.shape) != 3:
        raise ValueError("reverse_real_steps: `inputs` must have shape (batch, time, features). "
                         f"Received: inputs.shape={tuple(inputs.shape)}")
    lengths = ops.expand_dims(_check_lengths(ops.convert_to_tensor(lengths), "reverse_real_steps"), 1)
    steps = ops.expand_dims(ops.arange(ops.shape(inputs)[1], dtype="int32"), 0)
    index = ops.where(steps < lengths, lengths - 1 - steps, steps)
    return _along_time(inputs, index)


@keras.saving.register_keras_serializable(package=PACKAGE)
class LastRealStep(keras.layers.Layer):
    """Each row's output at its last real step: ``sequences[row, lengths[row] - 1]``.

    Put it after an *unmasked* recurrent layer built with ``return_sequences=True`` and fed
    right-padded rows: the result equals the masked layer's ``return_sequences=False``
    output. A row of length 0 gives zeros, as the masked layer does.

    Call arguments:
        sequences: ``(batch, time, units)``.
        lengths: integer ``(batch,)``, e.g. ``lengths_from_ids(ids)``.

    Output shape:
        ``(batch, units)``; no mask (the time axis is gone).

    Example:
        >>> seq = np.array([[[1.0], [2.0], [9.0]], [[4.0], [5.0], [6.0]]])
        >>> keras.ops.convert_to_numpy(LastRealStep()(seq, np.array([2, 3])))
        array([[2.],
               [6.]], dtype=float32)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = False

    def build(self, sequences_shape, lengths_shape=None):
        if len(sequences_shape) != 3:
            raise ValueError("LastRealStep: `sequences` must have shape (batch, time, units). "
                             f"Received: sequences.shape={tuple(sequences_shape)}")
        self.built = True

    def call(self, sequences, lengths):
        return gather_last_real_step(sequences, lengths)

    def compute_mask(self, sequences, mask=None):
        return None

    def compute_output_shape(self, sequences_shape, lengths_shape=None):
        return (sequences_shape[0], sequences_shape[2])


def _describe(layer):
    return f"{type(layer).__name__}(name={layer.name!r})"


def _check_wrapped(layer):
    """The recurrent layer inside ``layer`` (itself, or a Bidirectional's forward layer), checked."""
    if not isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)):
        raise TypeError("FastPathRNN: `layer` must be a recurrent layer (LSTM, GRU, SimpleRNN, RNN) or a "
                        f"Bidirectional of one. {received('layer', layer)}")
    if layer.return_sequences:
        raise ValueError("FastPathRNN: `layer` must have return_sequences=False. The fast path gives one vector "
                         "per row; at padded steps the masked layer repeats its last output and the fast path "
                         f"does not, so a consumer of every step needs the mask. Received: layer={_describe(layer)} "
                         "with return_sequences=True")
    if layer.return_state:
        raise ValueError("FastPathRNN: `layer` must have return_state=False (the fast path returns no states). "
                         f"Received: layer={_describe(layer)} with return_state=True")
    inner = layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
    if isinstance(layer, keras.layers.Bidirectional) and layer.merge_mode not in _MERGES:
        raise ValueError(f"FastPathRNN: a Bidirectional `layer` must merge with one of {sorted(_MERGES)}. "
                         f"Received: merge_mode={layer.merge_mode!r}")
    if not isinstance(layer, keras.layers.Bidirectional) and layer.go_backwards:
        raise ValueError("FastPathRNN: `layer` must read forwards (go_backwards=False); wrap it in Bidirectional "
                         f"for both directions. Received: layer={_describe(layer)} with go_backwards=True")
    if inner.stateful:
        raise ValueError(f"FastPathRNN: `layer` must not be stateful. Received: layer={_describe(layer)}")
    return inner


@keras.saving.register_keras_serializable(package=PACKAGE)
class FastPathRNN(keras.layers.Layer):
    """A masked recurrent layer's output on right-padded rows, computed without a mask.

    Give it the layer you would use with a mask (``LSTM(64)``, ``GRU(64)``,
    ``Bidirectional(LSTM(64))``, with ``return_sequences=False``); it builds copies of it
    with ``return_sequences=True``, runs them with no mask (so Keras may use cuDNN on a GPU,
    under every backend) and gathers each row's last real step. Its weights come in the order
    of the wrapped layer's, so ``fast.set_weights(masked_layer.get_weights())`` copies them.

    Args:
        layer: a ``keras.layers.RNN`` (``LSTM``, ``GRU``, ``SimpleRNN``) or a ``Bidirectional``
            of one, with ``return_sequences=False`` and ``return_state=False``. Only its
            configuration is used.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        inputs: ``(batch, time, features)``, right-padded, and carrying no Keras mask
            (an ``Embedding`` with ``mask_zero=False``).
        lengths: integer ``(batch,)``, the real steps of each row (``lengths_from_ids``).

    Output shape:
        what ``layer`` returns: ``(batch, units)`` (``2 * units`` for a concatenating
        ``Bidirectional``); no mask.

    Raises:
        TypeError: if ``layer`` is not a recurrent layer or a Bidirectional of one.
        ValueError: if it returns sequences or states, reads backwards, is stateful, or
            (when called) ``inputs`` carries a Keras mask.

    Example:
        >>> ids = np.array([[3, 1, 2, 0], [4, 0, 0, 0]])
        >>> x = keras.layers.Embedding(5, 4)(ids)            # no mask_zero: no mask
        >>> out = FastPathRNN(keras.layers.LSTM(3))(x, lengths_from_ids(ids))
        >>> tuple(out.shape)
        (2, 3)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        inner = _check_wrapped(layer)
        self.bidirectional = isinstance(layer, keras.layers.Bidirectional)
        self.merge_mode = layer.merge_mode if self.bidirectional else None
        self._layer_config = keras.saving.serialize_keras_object(layer)
        forward = {**inner.get_config(), "return_sequences": True, "return_state": False, "go_backwards": False}
        self.forward_rnn = type(inner).from_config(forward)
        self.backward_rnn = None
        if self.bidirectional:
            back = layer.backward_layer
            backward = {**back.get_config(), "return_sequences": True, "return_state": False, "go_backwards": False}
            self.backward_rnn = type(back).from_config(backward)
        self.supports_masking = False

    def build(self, inputs_shape, lengths_shape=None):
        if len(inputs_shape) != 3:
            raise ValueError("FastPathRNN: `inputs` must have shape (batch, time, features). "
                             f"Received: inputs.shape={tuple(inputs_shape)}")
        self.forward_rnn.build(inputs_shape)
        if self.backward_rnn is not None:
            self.backward_rnn.build(inputs_shape)
        self.built = True

    def call(self, inputs, lengths, training=None):
        if get_keras_mask(inputs) is not None:
            raise ValueError("FastPathRNN: `inputs` carries a Keras mask, which would send the recurrent layer "
                             "to the slow masked loop. Build the Embedding with mask_zero=False and pass "
                             "`lengths` instead. Received: inputs with a mask")
        lengths = _check_lengths(lengths, "FastPathRNN")
        forward = gather_last_real_step(self.forward_rnn(inputs, training=training), lengths)
        if self.backward_rnn is None:
            return forward
        backward_seq = self.backward_rnn(reverse_real_steps(inputs, lengths), training=training)
        return _MERGES[self.merge_mode](forward, gather_last_real_step(backward_seq, lengths))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, inputs_shape, lengths_shape=None):
        units = self.forward_rnn.compute_output_shape(inputs_shape)[-1]
        if self.merge_mode == "concat":
            units = None if units is None else 2 * units
        return (inputs_shape[0], units)

    def get_config(self):
        base_config = super().get_config()
        config = {"layer": self._layer_config}
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)



def fast_path_difference(layer, ids, embedding_dim=8, seed=0):
    """The largest difference between ``layer`` with a mask and ``FastPathRNN(layer)``, on ``ids``.

    Builds ``Embedding(mask_zero=True) -> layer`` and ``Embedding -> FastPathRNN(layer)`` with the
    same weights (the embedding drawn with ``seed``) and compares their outputs on ``ids``.
    Near 0 (float32 rounding) for right-padded ids; not for left-padded ones.

    Args:
        layer: what :class:`FastPathRNN` accepts; it is built and used in the masked model.
        ids: integer array ``(batch, time)``, 0 = padding.
        embedding_dim: int, size of the embedding vectors. Default 8.
        seed: int, seed of the embedding's initializer. Default 0.

    Returns:
        float, the largest absolute difference.

    Example:
        >>> ids = np.array([[3, 1, 2, 0], [4, 0, 0, 0]])
        >>> fast_path_difference(keras.layers.GRU(3), ids) < 1e-5
        True
    """
    import numpy as np

    ids = np.asarray(ids)
    vocabulary = int(ids.max()) + 1
    fast = FastPathRNN(layer)
    initializer = keras.initializers.RandomNormal(seed=seed)
    masked = keras.Sequential([keras.Input(ids.shape[1:], dtype="int32"),
                               keras.layers.Embedding(vocabulary, embedding_dim, mask_zero=True,
                                                      embeddings_initializer=initializer), layer])
    inputs = keras.Input(ids.shape[1:], dtype="int32")
    x = keras.layers.Embedding(vocabulary, embedding_dim)(inputs)
    unmasked = keras.Model(inputs, fast(x, lengths_from_ids(inputs)))
    unmasked.set_weights(masked.get_weights())
    difference = ops.convert_to_numpy(masked(ids)) - ops.convert_to_numpy(unmasked(ids))
    return float(np.abs(difference).max())
