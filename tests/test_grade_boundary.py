"""The grader's data boundary, in one process (no sandbox): plain data, record and replay.

- plain data round-trips (arrays of every numeric dtype, 0-d arrays, nested containers,
  tensors with their Keras mask) and refuses what is not data (object arrays, the
  student's own objects, arrays over the cap); the subclasses of list, float or str
  cross as their plain values, never with their methods;
- a replay answers the recorded calls in order, and a call with other arguments is a
  ReplayMismatch, which a check's ``except Exception`` does not swallow;
- a class that claims to be Keras's is still the student's (it crosses as an AnswerLayer).

tests/test_grade_book.py tries every exercise of every chapter across the boundary.
"""

import json

import numpy as np
import pytest

from helpers.grading.boundary import ReplayMismatch, Session
from helpers.grading.plain import MAX_ELEMENTS, NotPlain, from_plain, to_plain


@pytest.mark.parametrize("value", [
    np.arange(6, dtype="int8").reshape(2, 3), np.array([True, False]), np.float32(1.5), np.array(2.5),
    np.array(["a", "bc"]), {"k": [1, (2.0, None)], 3: "x"}, (), [np.zeros((0, 4), "float16")],
])
def test_plain_data_round_trips(value):
    back = from_plain(json.loads(json.dumps(to_plain(value))))
    if isinstance(value, (np.ndarray, np.generic)):
        assert type(back) is type(value) and back.dtype == value.dtype and np.array_equal(back, value)
    else:
        assert repr(back) == repr(value)


def test_what_is_not_data_is_refused():
    for value in (np.array([object()]), object(), lambda: 1, np.zeros(MAX_ELEMENTS + 1, "int8")):
        with pytest.raises(NotPlain):
            to_plain(value)


def test_subclasses_cross_as_their_plain_values():
    class Always(list):
        def __eq__(self, other):
            return True

    class Liar(float):
        def __float__(self):
            return 0.5

    back = from_plain(to_plain([Always([1]), Liar(0.75)]))
    assert type(back[0]) is list and back[0] == [1] and back[0] != [2]
    assert type(back[1]) is float and back[1] == 0.75


def test_a_tensor_crosses_with_its_mask():
    import keras

    from helpers.masks import keras_mask

    x = keras.layers.Embedding(5, 2, mask_zero=True)(np.array([[1, 0]]))
    back = from_plain(json.loads(json.dumps(to_plain(x))))
    assert np.allclose(keras.ops.convert_to_numpy(back), keras.ops.convert_to_numpy(x))
    assert keras_mask(back).tolist() == [[True, False]]


def test_a_replay_answers_in_order_and_refuses_other_arguments():
    recorder = Session(record=True)

    class Counter:
        def __init__(self, start):
            self.n = start

        def step(self, by):
            self.n += by
            return self.n

    cls = recorder.root("Counter", Counter)
    counter = cls(10)
    assert isinstance(cls, type) and counter.step(2) == 12 and counter.step(3) == 15
    with pytest.raises(AttributeError):
        counter.missing
    log = json.loads(json.dumps(recorder.data()))
    replay = Session(record=False, log=log).root("Counter")
    again = replay(10)
    assert again.step(2) == 12 and again.step(3) == 15
    with pytest.raises(AttributeError):
        again.missing
    with pytest.raises(ReplayMismatch):
        Session(record=False, log=log).root("Counter")(11)
    assert not issubclass(ReplayMismatch, Exception)


def test_a_class_that_claims_to_be_keras_is_still_the_students():
    import keras

    from helpers.grading.bridge import AnswerLayer, is_answer

    class Dense(keras.layers.Layer):
        def call(self, x):
            return x

    Dense.__module__, Dense.__qualname__ = "keras.layers", "Dense"
    assert is_answer(Dense()) and not is_answer(keras.layers.Dense(2))
    recorder = Session(record=True)
    layer = recorder.root("Dense", Dense)()
    assert type(layer) is AnswerLayer
