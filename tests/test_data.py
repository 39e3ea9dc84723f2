"""Tests of helpers.data: vocabulary, the arithmetic generator, TFRecord round trips."""

import numpy as np
import pytest

from helpers import data


def test_vocabulary():
    assert len(data.VOCABULARY) == 20
    assert data.VOCABULARY[0] == " " and data.PAD_ID == 0
    assert data.VOCABULARY[:10] == (" ", ":", "|", "x", "y", "=", ",", "+", "-", "*")
    assert "".join(data.VOCABULARY[10:]) == "0123456789"
    assert all(data.TOKEN_TO_ID[t] == i for i, t in enumerate(data.VOCABULARY))


def test_encode_decode_round_trip():
    ids = data.encode("x=3,y=5:x*y", len_max_input=20)
    assert ids.dtype == np.int32 and ids.shape == (20,)
    assert ids.tolist()[:12] == [3, 5, 13, 6, 4, 5, 15, 1, 3, 9, 4, 0]
    assert data.decode(ids) == "x=3,y=5:x*y"
    assert data.decode(np.stack([ids, ids])) == ["x=3,y=5:x*y"] * 2
    assert data.encode("|x-y|").tolist() == [2, 3, 8, 4, 2]


def test_encode_decode_bad_input():
    with pytest.raises(ValueError, match="`text` must hold only tokens of the vocabulary .*unknown token 'z' at position 0"):
        data.encode("z=1")
    with pytest.raises(ValueError, match="padding token"):
        data.encode("x = 1")
    with pytest.raises(ValueError, match="at most len_max_input=5 tokens; it has 9"):
        data.encode("x=123,y=4", len_max_input=5)
    with pytest.raises(TypeError, match="`text` must be a str"):
        data.encode([3, 5])
    with pytest.raises(ValueError, match="id 20 at position 1 is not"):
        data.decode([3, 20])
    with pytest.raises(TypeError, match="`ids` must be integers"):
        data.decode(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="rank 1 or 2"):
        data.decode(np.zeros((1, 2, 3), dtype=int))


def test_generator_is_deterministic_and_seed_dependent():
    a_ids, a_t = data.make_arrays(50, seed=3)
    b_ids, b_t = data.make_arrays(50, seed=3)
    c_ids, _ = data.make_arrays(50, seed=4)
    np.testing.assert_array_equal(a_ids, b_ids)
    np.testing.assert_array_equal(a_t, b_t)
    assert not np.array_equal(a_ids, c_ids)


def test_generated_problems_are_correct():
    problems = data.generate_problems(300, seed=0)
    texts = data.decode(data.make_arrays(300, seed=0)[0])
    for i, text in enumerate(texts):
        definitions, operation = text.split(":")
        values = dict(d.split("=") for d in definitions.split(","))
        assert set(values) == {"x", "y"}
        x, y = int(values["x"]), int(values["y"])
        assert 0 <= x <= 999 and 0 <= y <= 999
        result = eval(operation.replace("|x-y|", "abs(x-y)"))  # noqa: S307 - our own generated text
        assert result == problems["result"][i]
        assert problems["target"][i] == str(result)[0]
    assert set(problems["operation"]) == set(data.OPERATIONS)
    assert set(problems["target"]) == set("-0123456789")


def test_shapes_padding_and_targets():
    ids, targets = data.make_arrays(500, seed=0)
    assert ids.shape == (500, 20) and ids.dtype == np.int32
    assert targets.shape == (500, 1) and targets.dtype == np.int32
    assert ids.min() >= 0 and ids.max() < 20
    lengths = (ids != 0).sum(axis=1)
    assert lengths.min() >= 11 and lengths.max() <= 17
    # padding only at the end: once a row hits 0 it stays 0
    assert np.all(np.diff((ids != 0).astype(int), axis=1) <= 0)
    assert set(np.unique(targets)) <= {data.TOKEN_TO_ID[t] for t in "-0123456789"}


def test_join_parts_is_ragged_and_pad_ragged_checks_length():
    problems = data.generate_problems(5, seed=1)
    ragged = data.join_parts(problems)
    assert ragged.shape.rank == 2 and ragged.shape[1] is None
    first = problems["first"][0] + "," + problems["second"][0] + ":" + problems["operation"][0]
    assert data.decode(ragged)[0] == first
    with pytest.raises(ValueError, match="at most len_max_input=10 tokens"):
        data.pad_ragged(ragged, 10)
    with pytest.raises(ValueError, match="is missing"):
        data.join_parts({"first": []})


def test_bad_sizes():
    with pytest.raises(ValueError, match="num_examples must be a positive int"):
        data.make_arrays(0)
    with pytest.raises(ValueError, match="len_max_input must be a positive int"):
        data.make_arrays(3, len_max_input=-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        data.generate_problems(3, seed="a")


def test_tfrecord_round_trip(tmp_path):
    ids, targets = data.make_arrays(130, seed=0)
    names = data.write_tfrecords(str(tmp_path), ids, targets, num_shards=3)
    assert names == [f"arithmetic-0000{i}-of-00003.tfrecord" for i in range(3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    dataset = data.read_tfrecords(str(tmp_path), batch_size=32)
    assert int(dataset.cardinality()) == 5
    batches = list(dataset)
    assert [tuple(x.shape) for x, _ in batches] == [(32, 20)] * 4 + [(2, 20)]
    assert all(tuple(y.shape[1:]) == (1,) for _, y in batches)
    np.testing.assert_array_equal(np.concatenate([x.numpy() for x, _ in batches]), ids)
    np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in batches]), targets)
    assert batches[0][0].dtype.name == "int32" and batches[0][1].dtype.name == "int32"


def test_make_ragged_matches_make_arrays():
    ragged, targets = data.make_ragged(30, seed=5)
    ids, targets2 = data.make_arrays(30, seed=5)
    assert ragged.shape[1] is None
    np.testing.assert_array_equal(data.pad_ragged(ragged), ids)
    np.testing.assert_array_equal(targets, targets2)
    assert targets.shape == (30, 1) and targets.dtype == np.int32


def test_tfrecord_ragged_read_and_shuffle(tmp_path):
    ids, targets = data.make_arrays(40, seed=2)
    data.write_tfrecords(str(tmp_path), data.make_ragged(40, seed=2)[0], targets, num_shards=2)
    ragged, _ = next(iter(data.read_tfrecords(str(tmp_path), batch_size=40, ragged=True)))
    assert ragged.shape[1] is None
    np.testing.assert_array_equal(ragged.to_tensor(shape=[None, 20]).numpy(), ids)
    shuffled = np.concatenate([x.numpy() for x, _ in data.read_tfrecords(str(tmp_path), 8, shuffle_seed=0)])
    assert not np.array_equal(shuffled, ids)
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, ids))


def test_tfrecord_bad_input(tmp_path):
    ids, targets = data.make_arrays(4, seed=0)
    with pytest.raises(ValueError, match="`directory` must exist"):
        data.write_tfrecords(str(tmp_path / "missing"), ids, targets)
    with pytest.raises(ValueError, match=r"`targets` must be integer ids of shape \(4, 1\)"):
        data.write_tfrecords(str(tmp_path), ids, targets[:, 0])
    with pytest.raises(ValueError, match="`num_shards` must be at most the 4 examples. Received: num_shards=5"):
        data.write_tfrecords(str(tmp_path), ids, targets, num_shards=5)
    with pytest.raises(ValueError, match="`ids` must be integer ids"):
        data.write_tfrecords(str(tmp_path), ids.astype(float), targets)
    with pytest.raises(ValueError, match="must hold arithmetic-\\*.tfrecord shards; it holds none"):
        data.read_tfrecords(str(tmp_path))
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        data.read_tfrecords(str(tmp_path), batch_size=0)
