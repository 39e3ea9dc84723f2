"""helpers.packing: whole sequences in rows, the segment mask, the way back (TF here; JAX, PyTorch in subprocesses)."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from nbtools import ROOT

from helpers import cost
from helpers.packing import (
    PackedBlock,
    PackedTokenAndPosition,
    SegmentMeanPool,
    pack,
    packed_next_token_targets,
    packing_stats,
    plan_rows,
    segment_attention_mask,
    unpack,
)


def corpus(n=60, seed=0, longest=30):
    rng = np.random.default_rng(seed)
    return [rng.integers(1, 100, size=int(k)) for k in rng.integers(1, longest + 1, size=n)]


SEQUENCES = corpus()


@pytest.mark.parametrize("shuffle", [False, True])
def test_every_token_once_in_order_no_overflow_positions_restart(shuffle):
    packed = pack(SEQUENCES, 32, shuffle=shuffle, seed=3)
    ids, segments, positions = packed
    assert ids.dtype == segments.dtype == positions.dtype == np.int32
    assert ids.shape == segments.shape == positions.shape and ids.shape[1] == 32
    assert int((ids > 0).sum()) == sum(len(s) for s in SEQUENCES)
    assert np.array_equal(ids == 0, segments == 0) and np.all(positions[segments == 0] == 0)
    seen = []
    for r in range(ids.shape[0]):
        real = segments[r] > 0
        assert not np.any(real[np.argmin(real):]) or real.all()  # padding only at the end of a row
        for k in range(1, segments[r].max() + 1):
            where = np.flatnonzero(segments[r] == k)
            assert np.array_equal(where, np.arange(where[0], where[0] + where.size))  # contiguous
            assert np.array_equal(positions[r, where], np.arange(where.size))  # restart at 0
            i = packed.sequence_index[r, k - 1]
            assert np.array_equal(ids[r, where], SEQUENCES[i])  # whole and in order
            seen.append(int(i))
    assert sorted(seen) == list(range(len(SEQUENCES)))  # each sequence exactly once


def test_pack_then_unpack_is_the_identity():
    for shuffle in (False, True):
        packed = pack(SEQUENCES, 40, shuffle=shuffle, seed=1)
        back = unpack(packed.ids, packed.segment_ids, packed.sequence_index)
        assert len(back) == len(SEQUENCES)
        assert all(np.array_equal(a, b) for a, b in zip(back, SEQUENCES))
    in_row_order = unpack(*pack(SEQUENCES, 40)[:2])
    assert sorted(map(tuple, in_row_order)) == sorted(map(tuple, SEQUENCES))


def test_first_fit_decreasing_fills_rows_and_is_seeded():
    lengths = [len(s) for s in corpus(400, seed=2, longest=64)]
    plan = plan_rows(lengths, 128)
    assert sum(lengths) / (128 * len(plan)) > 0.95
    assert plan_rows(lengths, 128, shuffle=True, seed=5) == plan_rows(lengths, 128, shuffle=True, seed=5)
    assert plan_rows(lengths, 128, shuffle=True, seed=5) != plan_rows(lengths, 128, shuffle=True, seed=6)
    mixed = plan_rows(lengths, [32, 64, 128])
    assert all(sum(lengths[i] for i in members) <= size for size, members in mixed)
    assert {size for size, _ in mixed} <= {32, 64, 128}


def test_too_long_sequence_raises_naming_index_and_length():
    with pytest.raises(ValueError, match=r"sequence 2 has 9 tokens, more than row_length=8"):
        pack([[1, 2], [3], list(range(1, 10))], 8)


@pytest.mark.parametrize("args, error, message", [
    (([[1, 2]], 0), ValueError, r"`?row_length`? must be a positive int \(>= 1\). Received: row_length=0"),
    (([[1, 2]], 2.0), TypeError, r"row_length must be a positive int"),
    (([[1, 0, 2]], 4), ValueError, r"sequence 0 contains id 0"),
    (([[1], []], 4), ValueError, r"sequence 1 is empty"),
    (([], 4), ValueError, r"at least one sequence"),
    (("abc", 4), TypeError, r"`sequences` must be a list"),
])
def test_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        pack(*args)


def test_segment_mask_is_block_diagonal_and_causal():
    segments = np.array([[1, 1, 2, 2, 2, 0], [1, 2, 3, 3, 0, 0]])
    for causal in (False, True):
        mask = keras.ops.convert_to_numpy(segment_attention_mask(segments, causal=causal))
        assert mask.shape == (2, 6, 6) and mask.dtype == bool
        same = (segments[:, :, None] == segments[:, None, :]) & (segments[:, :, None] > 0)
        expected = same & np.tril(np.ones((6, 6), bool)) if causal else same
        assert np.array_equal(mask, expected)
    with pytest.raises(ValueError, match="must be 2-D"):
        segment_attention_mask(np.zeros((2, 3, 1), int))
    with pytest.raises(TypeError, match="`causal` must be a bool"):
        segment_attention_mask(segments, causal="yes")


def test_next_token_targets_never_cross_a_boundary():
    ids, segments, _ = pack(SEQUENCES, 32)
    targets, weights = packed_next_token_targets(ids, segments)
    rows, steps = np.nonzero(weights)
    assert np.all(segments[rows, steps] == segments[rows, steps + 1])
    assert np.array_equal(targets[rows, steps], ids[rows, steps + 1])
    assert weights.sum() == sum(len(s) - 1 for s in SEQUENCES)  # one target fewer per sequence


def test_packing_stats_counts_the_attention_work():
    stats = packing_stats(np.array([[1, 1, 2, 0], [1, 1, 1, 1]]))
    assert stats["real_tokens"] == 7 and stats["sequences"] == 3 and stats["row_fill"] == 7 / 8
    assert stats["same_segment_cells"] == 4 + 1 + 16 and stats["cross_segment_cells"] == 4
    assert stats["same_segment_cells"] + stats["cross_segment_cells"] + stats["padding_cells"] == 32


def test_layers_round_trip_and_pool(tmp_path):
    ids, segments, positions = pack(SEQUENCES[:8], 40)
    inputs = [keras.Input((None,), dtype="int32") for _ in range(3)]
    x = PackedTokenAndPosition(100, 40, 8)(inputs[0], inputs[2])
    x = PackedBlock(8, 2, 16, causal=True)(x, inputs[1])
    model = keras.Model(inputs, SegmentMeanPool(8)(x, inputs[1]))
    path = tmp_path / "packed.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded([ids, segments, positions])),
                               keras.ops.convert_to_numpy(model([ids, segments, positions])), atol=1e-6)
    assert PackedBlock.from_config(PackedBlock(8, 2, 16, causal=True).get_config()).causal is True


def test_packed_batches_place_every_sequence_once_within_the_budget():
    lengths = cost.lognormal_lengths(300, max_len=200, seed=4)
    sizes = cost.packed_row_lengths(200)
    assert sizes == [64, 128, 200]
    epochs = [cost.packed_batches(lengths, sizes, max_tokens=1024, seed=1, epoch=e) for e in range(2)]
    for batches in epochs:
        placed = sorted(i for rows in batches for _, members in rows for i in members)
        assert placed == list(range(len(lengths)))
        for rows in batches:
            assert len({size for size, _ in rows}) == 1  # one row length per batch
            assert sum(size for size, _ in rows) <= max(1024, rows[0][0])
            assert all(lengths[members].sum() <= size for size, members in rows)
    assert epochs[0] != epochs[1]  # a new order every epoch
    assert epochs[0] == cost.packed_batches(lengths, sizes, max_tokens=1024, seed=1, epoch=0)


def test_packed_classifier_gives_each_sequence_its_logits_alone():
    sequences, _ = cost.synthetic_corpus(n=10, max_len=30, seed=5)
    packed = pack(sequences, 40)
    model = cost.build_packed_attention_classifier(int(packed.segment_ids.max()), vocab_size=2000, seed=3)
    plain = cost.build_attention_classifier(vocab_size=2000, seed=3)
    logits = keras.ops.convert_to_numpy(model({"ids": packed.ids, "segment_ids": packed.segment_ids}))
    for r, k in zip(*np.nonzero(packed.sequence_index >= 0)):
        alone = keras.ops.convert_to_numpy(plain(sequences[packed.sequence_index[r, k]][None]))[0]
        np.testing.assert_allclose(logits[r, k], alone, atol=1e-5)


SCRIPT = """
import numpy as np, keras
from helpers.attention.transformer import TokenAndPosition
from helpers.packing import PackedBlock, PackedTokenAndPosition, pack, segment_attention_mask, unpack
rng = np.random.default_rng(0)
seqs = [rng.integers(1, 50, size=int(n)) for n in rng.integers(2, 12, size=12)]
packed = pack(seqs, 16)
ids, seg, pos = [keras.ops.convert_to_tensor(a) for a in packed]
assert all(np.array_equal(a, b) for a, b in zip(unpack(ids, seg, packed.sequence_index), seqs))
mask = keras.ops.convert_to_numpy(segment_attention_mask(seg, causal=True))
s = packed.segment_ids
assert np.array_equal(mask, (s[:, :, None] == s[:, None, :]) & (s[:, :, None] > 0) & np.tril(np.ones((16, 16), bool)))
keras.utils.set_random_seed(0)
emb, alone = PackedTokenAndPosition(50, 16, 8), TokenAndPosition(50, 16, 8)
for causal in (False, True):
    block = PackedBlock(8, 2, 16, causal=causal)
    out = keras.ops.convert_to_numpy(block(emb(ids, pos), seg))
    alone.build((None, None)); alone.set_weights(emb.get_weights())
    worst = 0.0
    for r, k in zip(*np.nonzero(packed.sequence_index >= 0)):
        where = packed.segment_ids[r] == k + 1
        x = packed.ids[r][where][None]
        y = keras.ops.convert_to_numpy(block(alone(x), np.ones_like(x)))
        worst = max(worst, float(np.abs(y[0] - out[r][where]).max()))
    assert worst < 1e-5, worst
print(keras.backend.backend(), "ok")
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_packed_equals_alone_on_every_backend(backend):
    pytest.importorskip(backend)
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"{backend} ok"
