"""Device checks for the RNN chapter: is there a GPU, and would cuDNN accept this mask?

Taught in chapter 8 (Masks inside recurrent layers): its sections on cuDNN on a GPU and on
every backend.

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
| keras_tensorflow_mask_checks | Keras's own TensorFlow checks: right-padded, empty row |
| keras_tensorflow_mask_assertion | Keras's TensorFlow assertion before cuDNN         |
| keras_rnn_source_lines | lines of a backend's ``rnn.py`` in the installed Keras  |

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

    from helpers.validation import check_mask, received, to_array

    array = to_array(mask, "mask", hint="give one boolean per (row, time step)")
    if array.ndim != 2:
        raise ValueError(f"`mask` must have rank 2 (batch, time). Received: mask with shape {array.shape}")
    try:
        array = check_mask(array, name="mask")
    except TypeError as exc:
        raise TypeError("`mask` must be boolean (compare your ids with 0, `ids != 0`, to make one). "
                        f"{received('mask', array)}") from exc
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


def keras_tensorflow_mask_checks(mask):
    """Keras's own answer, on its TensorFlow backend: ``(right_padded, has_empty_row)`` for ``mask``.

    Runs ``_is_sequence_right_padded`` and ``_has_fully_masked_sequence`` of
    ``keras/src/backend/tensorflow/rnn.py`` (private; reached through
    :func:`helpers.keras_internals.tensorflow_rnn`). Needs TensorFlow, not a GPU.

    Args:
        mask: boolean array of shape ``(batch, time)``.

    Returns:
        tuple of two bools.

    Example:

    .. code-block:: python

        keras_tensorflow_mask_checks(np.array([[True, False], [False, False]]))  # (True, True)
    """
    import tensorflow as tf

    from helpers.keras_internals import tensorflow_rnn

    module = tensorflow_rnn()
    mask = tf.constant(np.asarray(_checked_numpy(mask), dtype=bool))
    return bool(module._is_sequence_right_padded(mask)), bool(module._has_fully_masked_sequence(mask))


def _checked_numpy(mask):
    from keras import ops

    return ops.convert_to_numpy(_as_mask(mask))


def keras_tensorflow_mask_assertion():
    """Keras's TensorFlow assertion before cuDNN, ``_assert_valid_mask(mask)``: fails unless right-padded
    with no empty row (a TensorFlow ``InvalidArgumentError``; recorded, not run, inside a ``tf.function``).

    Returns:
        the function, from :func:`helpers.keras_internals.cudnn_mask_check`.
    """
    from helpers.keras_internals import cudnn_mask_check

    return cudnn_mask_check("tensorflow")


def keras_rnn_source_lines(backend, phrase, after=0):
    """Lines of ``keras/src/backend/<backend>/rnn.py`` holding ``phrase``, with ``after`` lines below each.

    The file is read, not imported, so it works where that backend is not installed.

    Args:
        backend: ``"tensorflow"``, ``"jax"`` or ``"torch"``.
        phrase: str, the text to find.
        after: int, lines to add after each match.

    Returns:
        list of lists of ``(line_number, text)``.

    Example:
        >>> (found,) = keras_rnn_source_lines("jax", "Masking is not supported", after=3)
        >>> found[-1][1].strip()
        'raise NotImplementedError'
    """
    from helpers.keras_internals import keras_source_lines
    from helpers.validation import received

    if backend not in ("tensorflow", "jax", "torch"):
        raise ValueError(f"`backend` must be 'tensorflow', 'jax' or 'torch'. {received('backend', backend)}")
    return keras_source_lines(f"backend/{backend}/rnn.py", phrase, after=after)

