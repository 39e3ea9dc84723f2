"""Device checks for the RNN chapter: is there a GPU, and would cuDNN accept this mask?

On a GPU, Keras runs ``LSTM`` and ``GRU`` (with their default arguments) through
NVIDIA's cuDNN kernel. cuDNN is not given the mask itself but one length per row,
and it reads the first ``length`` steps of each row. A mask can therefore be
handed to cuDNN only if every row is *right-padded* (kept steps first, then only
masked steps) and no row is masked everywhere. The functions here answer that
question per row, with ``keras.ops``, on any device.

| function              | answers                                                  |
|-----------------------|----------------------------------------------------------|
| gpu_available         | does TensorFlow see a GPU?                               |
| right_padded_rows     | per row: kept steps first, then only masked steps?       |
| fully_masked_rows     | per row: is every step masked?                           |
| cudnn_mask_ok         | would cuDNN accept the whole mask?                       |
| cudnn_mask_problems   | which rows stop it, in words                             |

Example:
    >>> mask = np.array([[True, True, False], [False, True, True]])
    >>> right_padded_rows(mask)
    array([ True, False])
    >>> cudnn_mask_problems(mask)
    ['row 1 is not right-padded: a masked step comes before a kept one']
"""

import numpy as np


def gpu_available():
    """Whether TensorFlow sees at least one GPU.

    Returns:
        bool, ``True`` when ``tf.config.list_physical_devices("GPU")`` is not empty.

    Example:

    .. code-block:: python

        gpu_available()  # False on a machine without a GPU, True with one
    """
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def _as_mask(mask):
    """Check ``mask`` and return it as a boolean tensor of shape (batch, time)."""
    from keras import ops

    from helpers.validation import check_mask, to_array

    array = to_array(mask, "mask", hint="give one boolean per (row, time step)")
    if array.ndim != 2:
        raise ValueError(f"expected a mask of rank 2 (batch, time), got shape {array.shape}")
    try:
        array = check_mask(array, name="mask")
    except TypeError as exc:
        raise TypeError(f"{exc}; compare your ids with 0 (ids != 0) to make one") from exc
    return ops.convert_to_tensor(array)


def right_padded_rows(mask):
    """For each row, whether it is right-padded: kept steps first, then only masked steps.

    A row with no masked step, or with every step masked, counts as right-padded
    (it is a prefix of length ``time`` or ``0``); use :func:`fully_masked_rows` for
    the second case.

    Args:
        mask: boolean array or tensor of shape ``(batch, time)``; True = keep the step.

    Returns:
        NumPy boolean array of shape ``(batch,)``.

    Raises:
        TypeError: if ``mask`` is not boolean.
        ValueError: if ``mask`` is not of rank 2.

    Example:
        >>> right_padded_rows(np.array([[True, False, False], [False, False, True], [True, False, True]]))
        array([ True, False, False])
    """
    from keras import ops

    mask = _as_mask(mask)
    lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
    steps = ops.arange(ops.shape(mask)[1], dtype="int32")
    prefix = ops.less(ops.expand_dims(steps, 0), ops.expand_dims(lengths, 1))
    return np.asarray(ops.convert_to_numpy(ops.all(ops.equal(mask, prefix), axis=1)), dtype=bool)


def fully_masked_rows(mask):
    """For each row, whether every step of it is masked.

    Args:
        mask: boolean array or tensor of shape ``(batch, time)``; True = keep the step.

    Returns:
        NumPy boolean array of shape ``(batch,)``.

    Example:
        >>> fully_masked_rows(np.array([[True, False], [False, False]]))
        array([False,  True])
    """
    from keras import ops

    mask = _as_mask(mask)
    return np.asarray(ops.convert_to_numpy(ops.logical_not(ops.any(mask, axis=1))), dtype=bool)


def cudnn_mask_ok(mask):
    """Whether cuDNN can take this mask: every row right-padded, no row masked everywhere.

    This is the condition Keras 3 checks before it hands a masked batch to cuDNN
    (see ``_is_sequence_right_padded`` and ``_has_fully_masked_sequence`` in
    ``keras/src/backend/tensorflow/rnn.py``). It holds for the whole batch or not
    at all: one pre-padded row makes the batch ineligible.

    Args:
        mask: boolean array or tensor of shape ``(batch, time)``.

    Returns:
        bool.

    Example:
        >>> cudnn_mask_ok(np.array([[True, True, False], [True, False, False]]))
        True
    """
    return bool(right_padded_rows(mask).all() and not fully_masked_rows(mask).any())


def cudnn_mask_problems(mask):
    """The rows that keep a mask from cuDNN, one sentence each; empty when it is accepted.

    Args:
        mask: boolean array or tensor of shape ``(batch, time)``.

    Returns:
        list of str, e.g. ``["row 1 is masked everywhere"]``. Rows are 0-based.

    Example:
        >>> cudnn_mask_problems(np.array([[False, True], [False, False]]))
        ['row 0 is not right-padded: a masked step comes before a kept one', 'row 1 is masked everywhere']
    """
    padded = right_padded_rows(mask)
    empty = fully_masked_rows(mask)
    problems = []
    for row in range(len(padded)):
        if empty[row]:
            problems.append(f"row {row} is masked everywhere")
        elif not padded[row]:
            problems.append(f"row {row} is not right-padded: a masked step comes before a kept one")
    return problems
