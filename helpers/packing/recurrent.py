"""A recurrent layer over packed rows: the state is reset where each sequence starts.

Taught in chapter 19 (Packing). A plain ``LSTM`` over a packed row carries its state
from the end of one sequence into the start of the next; :class:`SegmentResetCell`
wraps any Keras RNN cell and zeroes the state at every step whose position is 0, so
each sequence starts from the initial state as it would alone.
"""

import keras
import numpy as np  # noqa: F401 - the doctests use it
from keras import ops

from helpers.validation import received

PACKAGE = "padding_masking"


@keras.saving.register_keras_serializable(package=PACKAGE)
class SegmentResetCell(keras.layers.Layer):
    """Wraps an RNN cell: its state is set to zeros before a step that starts a sequence.

    The input of each step is the features with one more channel at the end, 1.0 where
    a sequence starts (its position is 0) and 0.0 elsewhere; :class:`PackedRNN` adds it.

    Args:
        cell: a Keras RNN cell (``keras.layers.LSTMCell``, ``GRUCell``, ...) whose
            initial state is zeros (Keras's default).

    Example:
        >>> layer = keras.layers.RNN(SegmentResetCell(keras.layers.GRUCell(3)), return_sequences=True)
        >>> tuple(layer(np.zeros((1, 4, 2 + 1), "float32")).shape)
        (1, 4, 3)
    """

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, dict):
            cell = keras.saving.deserialize_keras_object(cell)
        if not hasattr(cell, "state_size"):
            raise TypeError(f"SegmentResetCell: `cell` must be a Keras RNN cell. {received('cell', cell)}")
        self.cell = cell
        self.state_size = cell.state_size
        self.output_size = cell.output_size

    def build(self, input_shape):
        if not self.cell.built:  # a loaded .keras model hands over a cell already built
            self.cell.build(tuple(input_shape[:-1]) + (input_shape[-1] - 1,))
        self.built = True

    def call(self, inputs, states, training=False):
        keep = 1.0 - inputs[:, -1:]
        states = [state * ops.cast(keep, state.dtype) for state in states]
        return self.cell(inputs[:, :-1], states, training=training)

    def get_config(self):
        return {**super().get_config(), "cell": keras.saving.serialize_keras_object(self.cell)}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PackedRNN(keras.layers.Layer):
    """Runs a cell over packed rows, its state reset at every sequence start; returns every step.

    Args:
        cell: a Keras RNN cell, e.g. ``keras.layers.LSTMCell(32)``.

    Call arguments:
        inputs: ``(rows, T, features)``.
        positions: ``(rows, T)`` ints, 0 where a sequence starts (from
            :func:`helpers.packing.pack`).

    Returns:
        ``(rows, T, units)``: at each real step, what the cell returns for that step of
        its sequence run alone; padding steps hold values to be masked out.

    Example:
        >>> layer = PackedRNN(keras.layers.LSTMCell(4))
        >>> tuple(layer(np.zeros((1, 5, 2), "float32"), np.array([[0, 1, 2, 0, 1]])).shape)
        (1, 5, 4)
    """

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        self.rnn = keras.layers.RNN(SegmentResetCell(cell), return_sequences=True, name="rnn")
        self.supports_masking = True

    @property
    def cell(self):
        return self.rnn.cell.cell

    def build(self, inputs_shape, positions_shape=None):
        self.rnn.build(tuple(inputs_shape[:-1]) + (inputs_shape[-1] + 1,))
        self.built = True

    def call(self, inputs, positions, mask=None):
        starts = ops.cast(ops.equal(positions, 0), inputs.dtype)[:, :, None]
        return self.rnn(ops.concatenate([inputs, starts], axis=-1))

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, inputs_shape, positions_shape=None):
        return tuple(inputs_shape[:-1]) + (self.cell.output_size,)

    def get_config(self):
        return {**super().get_config(), "cell": keras.saving.serialize_keras_object(self.cell)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        return cls(**config)
