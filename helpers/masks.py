"""Read the Keras mask attached to a tensor, the same way on every backend.

A Keras layer that produces a mask attaches it to its output tensor. Where the
tensor accepts attributes (eager TensorFlow, JAX and PyTorch tensors,
``KerasTensor``) Keras sets an attribute on it; where it does not (a JAX
tracer inside ``jax.jit``, which is how JAX runs ``fit`` and ``predict``; chapter
17 measures it) Keras keeps it in a side table keyed by the tensor's ``id``
(``keras/src/backend/common/tensor_attributes.py``). Reading the attribute
alone therefore misses masks on some backends; this module
reads both places through :func:`helpers.keras_internals.get_keras_mask`.

Example:
    >>> x = keras.layers.Embedding(10, 4, mask_zero=True)(np.array([[5, 2, 0]]))
    >>> keras_mask(x)
    array([[ True,  True, False]])
    >>> has_keras_mask(x * 2)
    False
"""

import numpy as np

from helpers.keras_internals import get_keras_mask


def keras_mask_tensor(tensor):
    """The mask attached to ``tensor`` as a backend tensor (or ``KerasTensor``), or None."""
    if tensor is None or isinstance(tensor, (np.ndarray, list, tuple, int, float)):
        return None
    return get_keras_mask(tensor)


def keras_mask(tensor):
    """The mask attached to ``tensor`` as a boolean NumPy array, or None when it carries none.

    Args:
        tensor: a tensor (eager), or anything else (then None).

    Returns:
        a NumPy array of dtype bool, or None.
    """
    return mask_to_numpy(keras_mask_tensor(tensor))


def mask_to_numpy(mask):
    """A mask (tensor, array or None) as a boolean NumPy array, or None."""
    if mask is None:
        return None
    import keras

    return np.asarray(keras.ops.convert_to_numpy(mask)).astype(bool)


def has_keras_mask(tensor):
    """Whether Keras attached a mask to ``tensor`` (concrete or symbolic)."""
    return keras_mask_tensor(tensor) is not None
