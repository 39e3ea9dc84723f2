"""helpers.layers.fast_path: the fast path equals the masked layer on every backend; its limits are refused."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from helpers.layers.fast_path import (
    FastPathRNN,
    LastRealStep,
    fast_path_difference,
    gather_last_real_step,
    lengths_from_ids,
    reverse_real_steps,
)

RIGHT = np.array([[3, 1, 4, 1, 5, 9], [2, 6, 5, 0, 0, 0], [3, 5, 8, 9, 7, 0], [9, 0, 0, 0, 0, 0]])

# In a child process per backend (Keras picks its backend once per process).
_CHILD = """
import json, keras, numpy as np
from helpers.layers.fast_path import fast_path_difference
ids = np.array(%r)
L = keras.layers
layers = {"LSTM": L.LSTM(4), "GRU": L.GRU(3), "SimpleRNN": L.SimpleRNN(5),
          "Bidirectional(LSTM)": L.Bidirectional(L.LSTM(4)),
          "Bidirectional(GRU, sum)": L.Bidirectional(L.GRU(3), merge_mode="sum"),
          "Bidirectional(SimpleRNN, ave)": L.Bidirectional(L.SimpleRNN(2), merge_mode="ave")}
empty_row = np.concatenate([ids, np.zeros((1, ids.shape[1]), ids.dtype)])
found = {name: fast_path_difference(layer, ids) for name, layer in layers.items()}
found["LSTM, a row of length 0"] = fast_path_difference(L.LSTM(4), empty_row)
left = keras.utils.pad_sequences([row[row != 0] for row in ids], padding="pre")
found["left-padded"] = fast_path_difference(L.LSTM(4), left)
print(json.dumps(found))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_fast_path_equals_the_masked_layer_on_every_backend(backend):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", _CHILD % RIGHT.tolist()], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    left = found.pop("left-padded")
    assert max(found.values()) < 1e-5, found
    assert left > 1e-3  # the limit: left padding is read first


def test_gather_and_reverse():
    seq = np.arange(24, dtype="float32").reshape(2, 4, 3)
    out = keras.ops.convert_to_numpy(gather_last_real_step(seq, np.array([2, 0])))
    np.testing.assert_array_equal(out, [seq[0, 1], np.zeros(3)])
    rev = keras.ops.convert_to_numpy(reverse_real_steps(seq, np.array([3, 4])))
    np.testing.assert_array_equal(rev[0], seq[0, [2, 1, 0, 3]])
    np.testing.assert_array_equal(rev[1], seq[1, ::-1])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(lengths_from_ids(RIGHT)), [6, 3, 5, 1])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(lengths_from_ids(RIGHT, padding_id=9)), [5, 6, 5, 5])


def test_last_real_step_layer_in_a_model_and_its_config():
    ids = keras.Input((6,), dtype="int32")
    seq = keras.layers.LSTM(3, return_sequences=True)(keras.layers.Embedding(10, 4)(ids))
    out = LastRealStep(name="last")(seq, lengths_from_ids(ids))
    model = keras.Model(ids, out)
    assert tuple(model.output.shape) == (None, 3)
    full = keras.ops.convert_to_numpy(keras.Model(ids, seq)(RIGHT))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(RIGHT)), full[np.arange(4), [5, 2, 4, 0]], atol=1e-6)
    assert LastRealStep.from_config(model.get_layer("last").get_config()).name == "last"


def test_save_and_load_round_trip(tmp_path):
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(10, 4)(inputs)
    out = FastPathRNN(keras.layers.Bidirectional(keras.layers.GRU(3)), name="fast")(x, lengths_from_ids(inputs))
    model = keras.Model(inputs, out)
    path = tmp_path / "fast.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(RIGHT)), keras.ops.convert_to_numpy(model(RIGHT)))
    config = loaded.get_layer("fast").get_config()
    assert config["layer"]["class_name"] == "Bidirectional" and config["name"] == "fast"
    assert tuple(out.shape) == (None, 6)


def test_weights_come_in_the_wrapped_layers_order():
    masked = keras.layers.Bidirectional(keras.layers.LSTM(4))
    masked.build((None, 6, 5))
    fast = FastPathRNN(keras.layers.Bidirectional(keras.layers.LSTM(4)))
    fast.build((None, 6, 5))
    assert [w.shape for w in fast.weights] == [w.shape for w in masked.weights]
    fast.set_weights(masked.get_weights())


@pytest.mark.parametrize("layer, error, words", [
    (keras.layers.Dense(3), TypeError, "must be a recurrent layer"),
    (keras.layers.LSTM(3, return_sequences=True), ValueError, "return_sequences=False"),
    (keras.layers.GRU(3, return_state=True), ValueError, "return_state=False"),
    (keras.layers.LSTM(3, go_backwards=True), ValueError, "go_backwards=False"),
    (keras.layers.LSTM(3, stateful=True), ValueError, "must not be stateful"),
    (keras.layers.Bidirectional(keras.layers.LSTM(3), merge_mode=None), ValueError, "merge with one of"),
    (keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True)), ValueError, "return_sequences"),
])
def test_refuses_what_it_cannot_stand_in_for(layer, error, words):
    with pytest.raises(error, match=words):
        FastPathRNN(layer)


def test_refuses_inputs_that_carry_a_mask():
    x = keras.layers.Embedding(10, 4, mask_zero=True)(RIGHT)
    with pytest.raises(ValueError, match="carries a Keras mask"):
        FastPathRNN(keras.layers.LSTM(3))(x, lengths_from_ids(RIGHT))


def test_bad_lengths_and_shapes():
    seq = np.zeros((2, 3, 4), "float32")
    with pytest.raises(TypeError, match="`lengths` must be integers"):
        gather_last_real_step(seq, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"`lengths` must have shape \(batch,\)"):
        gather_last_real_step(seq, np.array([[1, 2]]))
    with pytest.raises(ValueError, match="`sequences` must have shape"):
        gather_last_real_step(np.zeros((2, 3)), np.array([1, 2]))
    with pytest.raises(ValueError, match="`inputs` must have shape"):
        reverse_real_steps(np.zeros((2, 3)), np.array([1, 2]))
    with pytest.raises(ValueError, match="`ids` must have shape"):
        lengths_from_ids(np.zeros((3,), "int32"))
    with pytest.raises(TypeError, match="padding_id"):
        lengths_from_ids(RIGHT, padding_id=0.5)
    with pytest.raises(ValueError, match="`sequences` must have shape"):
        LastRealStep()(np.zeros((2, 3)), np.array([1, 2]))
    with pytest.raises(ValueError, match="`inputs` must have shape"):
        FastPathRNN(keras.layers.LSTM(3))(np.zeros((2, 3), "float32"), np.array([1, 2]))


def test_fast_path_difference_of_a_simple_rnn():
    assert fast_path_difference(keras.layers.SimpleRNN(2), RIGHT) < 1e-5
