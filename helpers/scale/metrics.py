"""A metric that reports the mean over every real token of an epoch, from running sums and counts.

Taught in chapter 20 (Masks at scale), section "Epoch figures".

Keras reports a loss per batch and, for the epoch, the mean of those batch means
(weighted by rows); a batch with few real tokens counts as much as one with many.
:class:`TokenMean` keeps two running numbers instead, the sum of the per-token
values and the count of real tokens, and divides once at the end.
"""

import keras

from helpers.layers.package import PACKAGE
from helpers.masks import keras_mask_tensor


@keras.saving.register_keras_serializable(package=PACKAGE)
class TokenMean(keras.metrics.Metric):
    """The mean of a per-token function over every real token seen, from sums and counts.

    A token counts when the Keras mask attached to ``y_pred`` keeps it (a model
    whose output carries the mask), and, when a ``sample_weight`` is given (pass
    the metric in ``weighted_metrics``), when its weight is not zero. The size of
    a weight is ignored: weights that rescale micro-batches (see
    :func:`helpers.scale.accumulation_sample_weights`) do not bend the mean.

    Args:
        fn: str naming a per-token function of ``keras.losses`` (default
            ``"sparse_categorical_crossentropy"``), or a callable
            ``fn(y_true, y_pred, **kwargs)`` returning one value per ``(batch, time)``
            token (register it with ``keras.saving.register_keras_serializable`` to
            save the metric).
        name: str, the metric's name.
        dtype: the dtype of the running sums.
        **fn_kwargs: keyword arguments for ``fn``, e.g. ``from_logits=True``.

    Example:
        >>> metric = TokenMean("mean_absolute_error", name="mae")
        >>> y_true = np.zeros((2, 3, 1), "float32")
        >>> metric.update_state(y_true, np.ones((2, 3, 1), "float32"), sample_weight=np.array([[1, 1, 1], [1, 0, 0]]))
        >>> metric.update_state(y_true[:1], 4 * np.ones((1, 3, 1), "float32"), sample_weight=np.array([[1, 0, 0]]))
        >>> float(metric.result())  # (4 * 1 + 1 * 4) / 5
        1.6
    """

    def __init__(self, fn="sparse_categorical_crossentropy", name="token_mean", dtype=None, **fn_kwargs):
        super().__init__(name=name, dtype=dtype)
        if isinstance(fn, str):
            try:
                function = keras.losses.get(fn)
            except ValueError:
                function = None
            if function is None or isinstance(function, keras.losses.Loss) or not callable(function):
                raise ValueError(
                    f"TokenMean: `fn` must name a per-token function of keras.losses, such as "
                    f"'sparse_categorical_crossentropy'. Received: fn={fn!r} (of type str)"
                )
        elif callable(fn):
            function = fn
        else:
            raise TypeError(
                f"TokenMean: `fn` must be a str or a callable. Received: fn={fn!r} (of type {type(fn).__name__})"
            )
        self.fn = fn
        self._function = function
        self.fn_kwargs = dict(fn_kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        ops = keras.ops
        mask = keras_mask_tensor(y_pred)
        values = ops.cast(self._function(y_true, y_pred, **self.fn_kwargs), self.dtype)
        keep = ops.ones_like(values)
        if mask is not None:
            keep = keep * ops.cast(ops.reshape(mask, ops.shape(values)), self.dtype)
        if sample_weight is not None:
            weight = ops.convert_to_tensor(sample_weight)
            keep = keep * ops.cast(ops.not_equal(ops.reshape(weight, ops.shape(values)), 0), self.dtype)
        self.total.assign_add(ops.sum(values * keep))
        self.count.assign_add(ops.sum(keep))

    def result(self):
        return keras.ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        base_config = super().get_config()
        fn = self.fn if isinstance(self.fn, str) else keras.saving.serialize_keras_object(self.fn)
        config = {"fn": fn, **self.fn_kwargs}
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("fn"), dict):
            config["fn"] = keras.saving.deserialize_keras_object(config["fn"])
        return cls(**config)
