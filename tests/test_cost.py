"""Tests of helpers.cost: corpus, buckets, padding fractions, datasets, models, results, plots."""

import json

import numpy as np
import pytest

from helpers import cost


# ---------------------------------------------------------------- corpus

def test_lengths_are_seeded_long_tailed_and_clipped():
    a = cost.lognormal_lengths(5000, median=60, sigma=0.8, min_len=4, max_len=640, seed=3)
    b = cost.lognormal_lengths(5000, median=60, sigma=0.8, min_len=4, max_len=640, seed=3)
    assert np.array_equal(a, b)
    assert a.dtype == np.int64 and a.min() >= 4 and a.max() <= 640
    assert 55 <= np.median(a) <= 65
    assert (a > 500).sum() > 0, "the tail must reach past 500"
    assert a.mean() > np.median(a), "long tail: the mean exceeds the median"
    assert not np.array_equal(a, cost.lognormal_lengths(5000, seed=4))


@pytest.mark.parametrize("kwargs, error", [
    ({"n": 0}, ValueError), ({"n": 2.5}, TypeError), ({"n": 10, "min_len": 9, "max_len": 5}, ValueError),
    ({"n": 10, "sigma": 0}, ValueError), ({"n": True}, TypeError),
])
def test_lengths_reject_bad_arguments(kwargs, error):
    with pytest.raises(error):
        cost.lognormal_lengths(**kwargs)


def test_corpus_has_no_padding_id_and_matches_lengths():
    seqs, labels = cost.synthetic_corpus(n=50, vocab_size=7, seed=1)
    lengths = cost.lognormal_lengths(50, seed=1)
    assert [len(s) for s in seqs] == lengths.tolist()
    flat = np.concatenate(seqs)
    assert flat.min() >= 1 and flat.max() <= 6
    assert labels.shape == (50,) and set(labels.tolist()) <= {0, 1}
    with pytest.raises(ValueError, match="vocab_size"):
        cost.synthetic_corpus(n=5, vocab_size=1)


# ---------------------------------------------------------------- buckets

def test_geometric_boundaries_cover_every_length():
    b = cost.geometric_boundaries(8, 640, 1.15)
    assert b[0] == 8 and b[-1] == 641
    assert all(y > x for x, y in zip(b, b[1:]))
    ratios = np.array(b[1:-1]) / np.array(b[:-2])
    assert ratios.max() < 1.3
    assert cost.geometric_boundaries(8, 20, ratio=1.5) == [8, 12, 18, 21]
    with pytest.raises(ValueError, match="ratio"):
        cost.geometric_boundaries(8, 20, ratio=1.0)


def test_bucket_index_follows_tf_data_rule():
    assert cost.bucket_index([3, 8, 9, 16, 40], [8, 16, 32]).tolist() == [0, 1, 1, 2, 3]
    with pytest.raises(ValueError, match="strictly increasing"):
        cost.bucket_index([3], [8, 8])
    with pytest.raises(ValueError, match=">= 1"):
        cost.bucket_index([0, 3], [8])
    with pytest.raises(TypeError, match="integers"):
        cost.bucket_index([1.5], [8])
    with pytest.raises(ValueError, match="1-D"):
        cost.bucket_index([[1, 2]], [8])


def test_bucket_batches_emit_full_buckets_then_remainders():
    assert cost.bucket_batches([3, 30, 4, 31, 5], [10], 2) == [[0, 2], [1, 3], [4]]
    with pytest.raises(ValueError, match="batch_size"):
        cost.bucket_batches([3], [10], 0)


def test_bucket_batches_match_tf_data_bucket_by_sequence_length():
    seqs, labels = cost.synthetic_corpus(n=300, max_len=200, seed=5)
    lengths = np.array([len(s) for s in seqs])
    boundaries = cost.geometric_boundaries(8, int(lengths.max()), 1.3)
    ours = sorted(tuple(sorted(lengths[b].tolist())) for b in cost.bucket_batches(lengths, boundaries, 16))
    ds = cost.make_dataset(seqs, labels, "bucketed", 16, boundaries)
    theirs = sorted(tuple(sorted((x != 0).sum(1).tolist())) for x in cost.dataset_batches(ds))
    assert ours == theirs


# ---------------------------------------------------------------- padding fraction

def test_padding_fraction_counts_cells_over_all_batches():
    batches = [np.array([[5, 0, 0], [6, 7, 0]]), np.array([[8]])]
    assert cost.padding_fraction(batches) == pytest.approx(3 / 7)
    assert cost.padding_fraction([np.ones((2, 2), int)]) == 0.0
    with pytest.raises(ValueError, match="2-D"):
        cost.padding_fraction([np.array([1, 0])])
    with pytest.raises(ValueError, match="at least one"):
        cost.padding_fraction([])


def test_batch_stats():
    s = cost.batch_stats([np.array([[5, 0, 0], [6, 7, 0]]), np.array([[8]])])
    assert s == {"batches": 2, "sequences": 3, "real_tokens": 4, "processed_timesteps": 7,
                 "padding_fraction": pytest.approx(3 / 7), "distinct_widths": 2, "max_width": 3,
                 "sequential_steps": 4}


# ---------------------------------------------------------------- datasets

@pytest.fixture(scope="module")
def corpus():
    return cost.synthetic_corpus(n=400, seed=0)


def test_strategies_order_padding_and_keep_every_token(corpus):
    seqs, labels = corpus
    real = sum(len(s) for s in seqs)
    fractions = {}
    for strategy in ("global_max", "batch_max", "bucketed"):
        batches = cost.dataset_batches(cost.make_dataset(seqs, labels, strategy, 32))
        stats = cost.batch_stats(batches)
        assert stats["real_tokens"] == real and stats["sequences"] == len(seqs)
        fractions[strategy] = stats["padding_fraction"]
    assert fractions["global_max"] > fractions["batch_max"] > fractions["bucketed"]
    assert fractions["bucketed"] <= 0.15


def test_padding_is_on_the_right_and_rows_are_intact(corpus):
    seqs, labels = corpus
    x, y = next(iter(cost.make_dataset(seqs, labels, "batch_max", 4)))
    x = x.numpy()
    for row, seq in zip(x, seqs[:4]):
        assert np.array_equal(row[: len(seq)], seq) and not row[len(seq):].any()
    assert np.array_equal(y.numpy(), labels[:4])
    gx, _ = next(iter(cost.make_dataset(seqs, labels, "global_max", 4)))
    assert gx.shape[1] == max(len(s) for s in seqs)


def test_ragged_strategy_gives_ragged_batches(corpus):
    import tensorflow as tf

    seqs, labels = corpus
    x, _ = next(iter(cost.make_dataset(seqs, labels, "ragged", 8)))
    assert isinstance(x, tf.RaggedTensor)
    assert x.row_lengths().numpy().tolist() == [len(s) for s in seqs[:8]]


def test_ideal_batches_have_no_padding(corpus):
    seqs, labels = corpus
    batches = cost.dataset_batches(cost.ideal_batches(seqs, labels, 32))
    assert cost.padding_fraction(batches) == 0.0
    assert sum(b.shape[0] for b in batches) == len(seqs)


def test_make_dataset_rejects_bad_input(corpus):
    seqs, labels = corpus
    with pytest.raises(ValueError, match="strategy"):
        cost.make_dataset(seqs, labels, "sorted")
    with pytest.raises(ValueError, match="labels"):
        cost.make_dataset(seqs, labels[:3], "batch_max")
    with pytest.raises(ValueError, match="id 0"):
        cost.make_dataset([np.array([1, 0, 2])], np.array([0]), "batch_max")
    with pytest.raises(ValueError, match="strictly increasing"):
        cost.make_dataset(seqs, labels, "bucketed", boundaries=[10, 5])


# ---------------------------------------------------------------- models

@pytest.mark.parametrize("build", [cost.build_lstm_classifier, cost.build_attention_classifier])
def test_models_ignore_padding(build):
    """The same sequence gives the same logits whatever its batch is padded to."""
    model = build(vocab_size=50, seed=0)
    seqs = [np.array([3, 4, 5]), np.array([7, 8, 9, 10, 11, 12])]
    short = np.array([[3, 4, 5, 0, 0, 0], [7, 8, 9, 10, 11, 12]])
    long = np.pad(short, ((0, 0), (0, 34)))
    alone = np.stack([model.predict(s[None], verbose=0)[0] for s in seqs])
    np.testing.assert_allclose(model.predict(short, verbose=0), alone, atol=1e-5)
    np.testing.assert_allclose(model.predict(long, verbose=0), alone, atol=1e-5)


@pytest.mark.parametrize("build", [cost.build_lstm_classifier, cost.build_attention_classifier])
def test_models_are_seeded_and_round_trip(build, tmp_path):
    import keras

    a, b = build(vocab_size=30, seed=1), build(vocab_size=30, seed=1)
    x = np.array([[1, 2, 3, 0]])
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x, verbose=0))
    a.fit(x, np.array([1]), epochs=1, verbose=0)  # trained weights and a built optimizer
    a.save(tmp_path / "m.keras")
    c = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(a.predict(x, verbose=0), c.predict(x, verbose=0), atol=1e-6)


# ---------------------------------------------------------------- stored results

def _fake_results():
    strategies = {s: {"padding_fraction": f, "real_tokens_per_s": t, "median_step_ms": 1.0}
                  for s, f, t in [("global_max", 0.8, 100.0), ("batch_max", 0.6, 200.0), ("bucketed", 0.05, 500.0)]}
    strategies["ragged"] = {"supported": False, "reason": "ValueError: no"}
    entry = {"strategies": strategies, "ideal": {"padding_fraction": 0.0, "real_tokens_per_s": 600.0,
                                                 "median_step_ms": 1.0}}
    return {"date": "2000-01-01T00:00:00Z", "machine": {}, "versions": {}, "settings": {},
            "models": {"lstm": entry, "attention": entry}}


def test_results_rows_give_ratio_to_global_max():
    rows = cost.results_rows(_fake_results())
    by = {(r["model"], r["strategy"]): r for r in rows}
    assert by[("lstm", "bucketed")]["speedup"] == pytest.approx(5.0)
    assert by[("lstm", "ideal")]["speedup"] == pytest.approx(6.0)
    assert by[("lstm", "ragged")]["supported"] is False and by[("lstm", "ragged")]["speedup"] is None
    assert len(rows) == 10


def test_load_results_checks_the_file(tmp_path):
    good = tmp_path / "r.json"
    good.write_text(json.dumps(_fake_results()))
    assert cost.load_results(good)["date"].startswith("2000")
    bad = _fake_results()
    del bad["models"]["lstm"]["strategies"]["bucketed"]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="bucketed"):
        cost.load_results(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="not a padding-cost results file"):
        cost.load_results(tmp_path / "other.json")


def test_plot_results_draws_two_panels():
    import matplotlib

    matplotlib.use("Agg")
    fig = cost.plot_results(_fake_results())
    assert len(fig.axes) == 2
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "not\nsupported" in texts and "80%" in texts
    right = [t.get_text() for t in fig.axes[1].texts]
    assert "5.0x" in right and "not\nsupported" in right


def test_stored_results_file_is_complete():
    results = cost.load_results(cost.results_path())
    assert results["smoke"] is False
    for model, entry in results["models"].items():
        s = entry["strategies"]
        assert s["bucketed"]["padding_fraction"] <= 0.15
        assert s["bucketed"]["speedup_vs_global_max"] >= 2
        assert all(v["traces_while_timing"] == 0 for v in list(s.values()) + [entry["ideal"]]
                   if v.get("supported", True))
