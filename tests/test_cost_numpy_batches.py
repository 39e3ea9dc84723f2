"""helpers.cost.strategy_batches and ideal_batch_ids: tf.data's batches, formed with NumPy alone."""

import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import cost

OPTIONS = {"global_max": {}, "batch_max": {}, "bucketed": {"boundaries": [16, 32, 64, 128]},
           "length_grouped": {"pool_batches": 4}, "token_budget": {"max_tokens": 2048, "max_batch_size": 32}}


@pytest.fixture(scope="module")
def corpus():
    return cost.synthetic_corpus(n=300, seed=1)


def _same(left, right):
    return len(left) == len(right) and all(a.shape == b.shape and (a == b).all() for a, b in zip(left, right))


@pytest.mark.parametrize("strategy", list(OPTIONS))
def test_the_same_batches_as_tf_data(corpus, strategy):
    seqs, labels = corpus
    for epoch in (0, 1):
        extra = {"seed": 3, "epoch": epoch} if cost.SHUFFLED[strategy] else {}
        expected = cost.dataset_batches(cost.make_dataset(seqs, labels, strategy, 16, **OPTIONS[strategy], **extra))
        got = cost.strategy_batches(seqs, labels, strategy, 16, **OPTIONS[strategy], **extra)
        assert _same(got, expected), (strategy, epoch)
        assert all(b.dtype == np.int32 for b in got)


def test_ideal_batch_ids_are_the_ideal_dataset(corpus):
    seqs, labels = corpus
    got = cost.ideal_batch_ids(seqs, labels, 16)
    assert _same([ids for ids, _ in got], cost.dataset_batches(cost.ideal_batches(seqs, labels, 16)))
    assert all((ids != 0).all() for ids, _ in got)


def test_bad_arguments_are_refused_as_make_dataset_refuses_them(corpus):
    seqs, labels = corpus
    with pytest.raises(ValueError, match="no NumPy form"):
        cost.strategy_batches(seqs, labels, "ragged")
    with pytest.raises(ValueError, match="`strategy` must be one of"):
        cost.strategy_batches(seqs, labels, "longest")
    with pytest.raises(ValueError, match="`max_tokens` is for strategy 'token_budget' only"):
        cost.strategy_batches(seqs, labels, "bucketed", max_tokens=100)
    with pytest.raises(ValueError, match="`boundaries` are for strategy 'bucketed' only; leave it None"):
        cost.strategy_batches(seqs, labels, "batch_max", boundaries=[4])
    with pytest.raises(ValueError, match="id 0"):
        cost.strategy_batches([np.array([1, 0])], [0], "batch_max")
    with pytest.raises(ValueError, match="`labels` must have shape"):
        cost.strategy_batches(seqs, labels[:3], "batch_max")


def test_no_tensorflow_needed():
    """With TensorFlow made unimportable, the NumPy batches still come, and make_dataset says why it cannot."""
    code = (
        "import sys; sys.modules['tensorflow'] = None\n"
        "from helpers import cost\n"
        "seqs, labels = cost.synthetic_corpus(n=50, seed=0)\n"
        "print(sum(b.shape[0] for b in cost.strategy_batches(seqs, labels, 'bucketed', 8)))\n"
        "print(len(cost.ideal_batch_ids(seqs, labels, 8)))\n"
        "try:\n    cost.make_dataset(seqs, labels, 'batch_max')\nexcept ImportError:\n    print('ImportError')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, KERAS_BACKEND="jax"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["50", "7", "ImportError"]
