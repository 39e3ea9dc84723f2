"""Argument checks shared by every helper: integers, arrays and masks, with clear messages.

Used by every helper that checks its arguments (first seen in chapter 2's exercises).

Each check either returns the value in a canonical form or raises with a message in
the style of Keras's own (the argument's name, the value received and its type, what
was expected): ``TypeError`` for a value of the wrong type, ``ValueError`` for a value
of the right type that is wrong (zero, negative, ragged, of the wrong shape).

=========================  ===============================================================
:func:`positive_int`       an int >= 1; accepts NumPy integers, rejects bool and float
:func:`non_negative_int`   the same with 0 allowed (seeds, counts)
:func:`integer`            any int (a padding value)
:func:`to_array`           a NumPy array from a tensor, array or rectangular nested list;
                           rejects None, ragged batches and non-numeric data
:func:`check_mask`         a boolean NumPy mask whose shape matches what it masks
=========================  ===============================================================

Example:
    >>> positive_int(np.int64(20), "input_dim")
    20
    >>> positive_int(0, "input_dim", owner="Embed")
    Traceback (most recent call last):
        ...
    ValueError: Embed: input_dim must be a positive int (>= 1). Received: input_dim=0 (of type int)
    >>> to_array([[1, 2], [3]], "ids")
    Traceback (most recent call last):
        ...
    ValueError: ids is ragged (rows of different lengths): pad it into one rectangular array first, ...
    Received: ids=[[1, 2], [3]] (of type list)
"""

import numbers
import warnings

import numpy as np

RAGGED_HINT = "pad it into one rectangular array first, for example with keras.utils.pad_sequences"


def _prefix(owner):
    return f"{owner}: " if owner else ""


def received(name, value):
    """The end of every message: ``Received: name=value (of type T)``, the value shortened."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"Received: {name}={text} (of type {type(value).__name__})"


def _integer(value, name, owner, minimum, expected):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{_prefix(owner)}{name} must be {expected}. {received(name, value)}")
    if value < minimum:
        raise ValueError(f"{_prefix(owner)}{name} must be {expected}. {received(name, value)}")
    return int(value)


def positive_int(value, name, owner=None):
    """``value`` as a Python int >= 1.

    Args:
        value: the argument to check: a Python or NumPy integer (not a bool, not a float).
        name: str, the argument's name, as the caller's signature spells it.
        owner: optional str, the layer or function it belongs to (prefixes the message).

    Returns:
        int.

    Raises:
        TypeError: ``value`` is not an integer (a bool, a float, a str, None ...).
        ValueError: ``value`` is an integer below 1.

    Example:
        >>> positive_int(np.int32(3), "units")
        3
        >>> positive_int(2.0, "units")
        Traceback (most recent call last):
            ...
        TypeError: units must be a positive int (>= 1). Received: units=2.0 (of type float)
    """
    return _integer(value, name, owner, 1, "a positive int (>= 1)")


def integer(value, name, owner=None):
    """``value`` as a Python int of any sign (a padding value, an id); bool and float are refused.

    Example:
        >>> integer(np.int8(-1), "value")
        -1
    """
    return _integer(value, name, owner, -float("inf"), "an int")


def non_negative_int(value, name, owner=None):
    """``value`` as a Python int >= 0 (a seed, a count); otherwise as :func:`positive_int`.

    Example:
        >>> non_negative_int(0, "seed")
        0
    """
    return _integer(value, name, owner, 0, "an int >= 0")


def to_array(value, name, owner=None, hint=RAGGED_HINT):
    """A NumPy array from a Keras/backend tensor, a NumPy array or a rectangular nested list.

    Args:
        value: what to convert.
        name: str, the argument's name.
        owner: optional str, the layer or function it belongs to.
        hint: str, what to do about a ragged batch (appended to that message).

    Returns:
        a NumPy array (not of dtype object).

    Raises:
        TypeError: ``value`` is None.
        ValueError: ``value`` is ragged (rows of different lengths) or not numeric.

    Example:
        >>> to_array([[1, 2], [3, 4]], "ids").shape
        (2, 2)
    """
    if value is None:
        raise TypeError(f"{_prefix(owner)}{name} is None; expected an array. {received(name, value)}")
    import keras

    if keras.ops.is_tensor(value):
        return np.asarray(keras.ops.convert_to_numpy(value))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = np.asarray(value)
    except ValueError as exc:
        raise ValueError(
            f"{_prefix(owner)}{name} is ragged (rows of different lengths): {hint}. {received(name, value)}"
        ) from exc
    if array.dtype == object:
        raise ValueError(
            f"{_prefix(owner)}{name} is ragged or not numeric: {hint}. {received(name, value)}"
        )
    return array


def check_mask(mask, shape=None, name="mask", owner=None, accept_01=False):
    """A boolean NumPy mask, checked against the ``shape`` of what it masks.

    Args:
        mask: tensor, array or nested list.
        shape: optional tuple, the shape the mask must have (``None`` entries match any size).
        name: str, the argument's name.
        owner: optional str, the layer or function it belongs to.
        accept_01: bool, accept integers that are all 0 or 1 (converted to bool).

    Returns:
        a NumPy array of dtype bool.

    Raises:
        TypeError: the mask is None or not boolean.
        ValueError: the mask is ragged or its shape does not match ``shape``.

    Example:
        >>> check_mask([[True, False]], shape=(1, 2))
        array([[ True, False]])
        >>> check_mask([[True, False]], shape=(1, 3), owner="plot_padded")
        Traceback (most recent call last):
            ...
        ValueError: plot_padded: mask has shape (1, 2), expected (1, 3): one boolean per (row, time step).
        Received: mask=[[True, False]] (of type list)
    """
    array = to_array(mask, name, owner)
    if shape is not None:
        shape = tuple(shape)
        if array.ndim != len(shape) or any(want is not None and got != want for got, want in zip(array.shape, shape)):
            raise ValueError(
                f"{_prefix(owner)}{name} has shape {array.shape}, expected {shape}: one boolean per "
                f"(row, time step). {received(name, mask)}"
            )
    if array.dtype != bool:
        if accept_01 and array.dtype.kind in "iu" and np.isin(array, (0, 1)).all():
            return array.astype(bool)
        raise TypeError(
            f"{_prefix(owner)}{name} must be boolean (True = keep the step). {received(name, mask)} "
            f"with dtype {array.dtype}"
        )
    return array
