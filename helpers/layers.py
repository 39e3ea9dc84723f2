"""Custom Keras layers that make, change, pass on and consume masks.

Every layer here is written with ``keras.ops``, states its masking behaviour
explicitly (``supports_masking`` and/or ``compute_mask``), has a ``get_config``
and is registered for ``.keras`` saving under the package ``"padding_masking"``.

| layer            | what it does with the mask                              |
|------------------|---------------------------------------------------------|
| EmbeddingLSTM    | makes one inside and passes it to its LSTM by hand      |
"""

import keras
from keras import ops

PACKAGE = "padding_masking"


@keras.saving.register_keras_serializable(package=PACKAGE)
class EmbeddingLSTM(keras.layers.Layer):
    """An ``Embedding(mask_zero=True)`` and an ``LSTM`` wired by hand in one layer.

    Inside a layer there is no Functional graph to carry masks from one sublayer
    to the next, so this layer asks its embedding for the mask and hands it to
    the LSTM itself: ``lstm(x, mask=embedding.compute_mask(inputs))``.
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
        >>> layer(ids).shape
        (32, 32)
    """

    def __init__(self, input_dim, output_dim, units, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim), ("units", units)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"EmbeddingLSTM: {name} must be a positive int, got {value!r}")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.units = units
        self.embedding = keras.layers.Embedding(input_dim, output_dim, mask_zero=True, name="embedding")
        self.lstm = keras.layers.LSTM(units, name="lstm")
        # The output has no time axis: there is no mask to pass on.
        self.supports_masking = False

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"EmbeddingLSTM expects integer ids of shape (batch, time), got shape {tuple(input_shape)}"
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
