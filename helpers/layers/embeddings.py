"""Layers that make a mask from token ids: ``CustomEmbedding`` and ``EmbeddingLSTM``.

Taught in chapter 5 (Custom layers that make, change and pass on masks).
"""

import keras
from keras import ops

from helpers.layers.package import PACKAGE
from helpers.validation import positive_int, received


@keras.saving.register_keras_serializable(package=PACKAGE)
class CustomEmbedding(keras.layers.Layer):
    """A minimal embedding layer that makes its own mask.

    It looks up each id in a weight table of shape ``(input_dim, output_dim)``.
    With ``mask_zero=True``, ``compute_mask`` returns ``inputs != 0``, so later
    layers skip the padded steps; with ``mask_zero=False`` it returns None.

    Args:
        input_dim: int, size of the vocabulary (largest id + 1).
        output_dim: int, size of each embedding vector.
        mask_zero: bool, whether id 0 is padding to be masked. Default False.
        **kwargs: passed to ``keras.layers.Layer``.

    Input shape:
        integer ids of shape ``(batch, time)``.

    Output shape:
        ``(batch, time, output_dim)``; mask ``(batch, time)`` when ``mask_zero``.

    Example:
        >>> layer = CustomEmbedding(10, 32, mask_zero=True)
        >>> ids = np.array([[3, 1, 0], [0, 7, 2]])
        >>> keras.ops.convert_to_numpy(layer.compute_mask(ids))
        array([[ True,  True, False],
               [False,  True,  True]])
    """

    def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = positive_int(input_dim, "input_dim", owner="CustomEmbedding")
        self.output_dim = positive_int(output_dim, "output_dim", owner="CustomEmbedding")
        if not isinstance(mask_zero, bool):
            raise TypeError(f"CustomEmbedding: `mask_zero` must be True or False. {received('mask_zero', mask_zero)}")
        self.mask_zero = mask_zero
        # Like keras.layers.Embedding: the layer makes a mask only with mask_zero.
        self.supports_masking = mask_zero
        self.autocast = False  # ids are integers; never cast them to float

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"CustomEmbedding: `inputs` must be integer ids of shape (batch, time). "
                f"Received: inputs with shape {tuple(input_shape)}"
            )
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer="random_normal", name="embeddings"
        )
        self.built = True

    def call(self, inputs):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if "int" not in dtype:
            raise TypeError(f"CustomEmbedding: `inputs` must be integer ids. Received: inputs with dtype {dtype}")
        return ops.take(self.embeddings, ops.cast(inputs, "int32"), axis=0)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(input_dim=self.input_dim, output_dim=self.output_dim, mask_zero=self.mask_zero)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class EmbeddingLSTM(keras.layers.Layer):
    """An ``Embedding(mask_zero=True)`` and an ``LSTM`` wired by hand in one layer.

    The layer asks its embedding for the mask and hands it to the LSTM itself:
    ``lstm(x, mask=embedding.compute_mask(inputs))``. In Keras 3 the embedding's
    output tensor already carries the mask, so ``lstm(embedding(inputs))`` would
    work too; but any operation in between (``x * 2``, ``keras.ops.*``) makes a
    new tensor without it, and the explicit mask is what keeps the layer correct.
    It returns the LSTM's last output, which carries no time axis, so the layer
    emits no mask.

    Args:
        input_dim: int, size of the vocabulary (largest id + 1). Id 0 is padding.
        output_dim: int, size of each embedding vector.
        units: int, number of LSTM units (size of the output).
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Input shape:
        integer ids of shape ``(batch, time)``; 0 marks padding.

    Output shape:
        ``(batch, units)``.

    Example:
        >>> layer = EmbeddingLSTM(input_dim=5000, output_dim=16, units=32)
        >>> ids = np.random.randint(0, 5000, size=(32, 10))
        >>> tuple(layer(ids).shape)
        (32, 32)
    """

    def __init__(self, input_dim, output_dim, units, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = positive_int(input_dim, "input_dim", owner="EmbeddingLSTM")
        self.output_dim = positive_int(output_dim, "output_dim", owner="EmbeddingLSTM")
        self.units = positive_int(units, "units", owner="EmbeddingLSTM")
        self.embedding = keras.layers.Embedding(self.input_dim, self.output_dim, mask_zero=True, name="embedding")
        self.lstm = keras.layers.LSTM(self.units, name="lstm")
        # The output has no time axis: there is no mask to pass on.
        self.supports_masking = False

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"EmbeddingLSTM: `inputs` must be integer ids of shape (batch, time). "
                f"Received: inputs with shape {tuple(input_shape)}"
            )
        self.embedding.build(input_shape)
        self.lstm.build(tuple(input_shape) + (self.output_dim,))
        self.built = True

    def call(self, inputs):
        x = self.embedding(inputs)
        mask = self.embedding.compute_mask(inputs)  # ids != 0, shape (batch, time)
        return self.lstm(x, mask=mask)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(input_dim=self.input_dim, output_dim=self.output_dim, units=self.units)
        return config
