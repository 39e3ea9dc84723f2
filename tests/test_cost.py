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
                 "padding_fraction": pytest.approx(3 / 7), "distinct_widths": 2, "distinct_shapes": 2,
                 "max_width": 3, "max_batch_cells": 6, "max_score_cells": 18, "sequential_steps": 4}


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
    x, y = next(cost.make_dataset(seqs, labels, "batch_max", 4).as_numpy_iterator())
    for row, seq in zip(x, seqs[:4]):
        assert np.array_equal(row[: len(seq)], seq) and not row[len(seq):].any()
    assert np.array_equal(y, labels[:4])
    gx, _ = next(iter(cost.make_dataset(seqs, labels, "global_max", 4)))
    assert gx.shape[1] == max(len(s) for s in seqs)


def test_ragged_strategy_gives_ragged_batches(corpus):
    import tensorflow as tf

    seqs, labels = corpus
    x, _ = next(iter(cost.make_dataset(seqs, labels, "ragged", 8)))
    assert isinstance(x, tf.RaggedTensor)
    assert x.row_lengths().numpy().tolist() == [len(s) for s in seqs[:8]]  # a tf.data tensor


def test_ideal_batches_have_no_padding(corpus):
    seqs, labels = corpus
    batches = cost.dataset_batches(cost.ideal_batches(seqs, labels, 32))
    assert cost.padding_fraction(batches) == 0.0
    assert sum(b.shape[0] for b in batches) == len(seqs)


def test_make_dataset_rejects_bad_input(corpus):
    seqs, labels = corpus
    with pytest.raises(ValueError, match="`strategy` must be one of .*Received: strategy='sorted'"):
        cost.make_dataset(seqs, labels, "sorted")
    with pytest.raises(ValueError, match="labels"):
        cost.make_dataset(seqs, labels[:3], "batch_max")
    with pytest.raises(ValueError, match="id 0"):
        cost.make_dataset([np.array([1, 0, 2])], np.array([0]), "batch_max")
    with pytest.raises(ValueError, match="strictly increasing"):
        cost.make_dataset(seqs, labels, "bucketed", boundaries=[10, 5])


# ---------------------------------------------------------------- shuffled strategies

LENGTHS = cost.lognormal_lengths(700, max_len=300, seed=2)


def _flat(batches):
    return np.sort(np.concatenate(batches))


@pytest.mark.parametrize("make", [
    lambda e, seed=0: cost.length_grouped_batches(LENGTHS, 16, pool_batches=5, seed=seed, epoch=e),
    lambda e, seed=0: cost.token_budget_batches(LENGTHS, 1200, seed=seed, epoch=e),
    lambda e, seed=0: cost.token_budget_batches(LENGTHS, 1200, seed=seed, epoch=e, max_batch_size=20),
], ids=["length_grouped", "token_budget", "token_budget_capped"])
def test_shuffled_strategies_every_sequence_once_new_order_each_epoch(make):
    epochs = [make(e) for e in range(3)]
    for batches in epochs:
        assert np.array_equal(_flat(batches), np.arange(LENGTHS.size)), "each sequence exactly once"
    orders = [np.concatenate(b).tolist() for b in epochs]
    assert orders[0] != orders[1] and orders[1] != orders[2] and orders[0] != orders[2]
    again = make(1)
    assert [b.tolist() for b in again] == [b.tolist() for b in epochs[1]], "same seed and epoch, same batches"
    assert np.concatenate(make(1, seed=5)).tolist() != orders[1], "another seed, another order"


def test_token_budget_respects_the_budget_and_the_cap():
    for budget in (300, 1000, 4096):
        batches = cost.token_budget_batches(LENGTHS, budget, seed=1)
        cells = [len(b) * LENGTHS[b].max() for b in batches]
        assert max(cells) <= budget
        # greedy: no batch could have taken the next sequence of its sorted run (big ones are full)
        assert min(len(b) for b in batches) >= 1
    capped = cost.token_budget_batches(LENGTHS, 4096, seed=1, max_batch_size=8)
    assert max(len(b) for b in capped) <= 8
    # short sequences travel in bigger batches than long ones
    batches = cost.token_budget_batches(LENGTHS, 2000, seed=0)
    widths = np.array([LENGTHS[b].max() for b in batches])
    sizes = np.array([len(b) for b in batches])
    assert sizes[widths == widths.min()].max() > sizes[widths == widths.max()].max()
    assert cost.token_budget_batches([2, 2, 2, 2, 8], 8)  # the docstring's case
    assert sorted(len(b) for b in cost.token_budget_batches([2, 2, 2, 2, 8], 8)) == [1, 4]


def test_length_grouped_sorts_pools_and_pads_less_than_batch_max():
    batches = cost.length_grouped_batches(LENGTHS, 16, pool_batches=10, seed=0)
    assert sum(len(b) < 16 for b in batches) <= 1, "only the last batch may be short"

    def padding(bs):
        return 1 - LENGTHS.sum() / sum(len(b) * LENGTHS[b].max() for b in bs)

    in_order = [np.arange(i, min(i + 16, LENGTHS.size)) for i in range(0, LENGTHS.size, 16)]
    assert padding(batches) < padding(in_order) / 2
    more = cost.length_grouped_batches(LENGTHS, 16, pool_batches=40, seed=0)
    assert padding(more) <= padding(batches), "bigger pools pad less"


@pytest.mark.parametrize("call, error, match", [
    (lambda: cost.token_budget_batches(LENGTHS, int(LENGTHS.max()) - 1), ValueError, "longest sequence"),
    (lambda: cost.token_budget_batches(LENGTHS, 0), ValueError, "max_tokens"),
    (lambda: cost.token_budget_batches(LENGTHS, 1000.0), TypeError, "max_tokens"),
    (lambda: cost.token_budget_batches(LENGTHS, 1000, max_batch_size=0), ValueError, "max_batch_size"),
    (lambda: cost.token_budget_batches([], 1000), ValueError, "at least one"),
    (lambda: cost.token_budget_batches(LENGTHS, 1000, seed=-1), ValueError, "seed"),
    (lambda: cost.length_grouped_batches(LENGTHS, 0), ValueError, "batch_size"),
    (lambda: cost.length_grouped_batches(LENGTHS, 8, pool_batches=0), ValueError, "pool_batches"),
    (lambda: cost.length_grouped_batches(LENGTHS, 8, epoch=1.5), TypeError, "epoch"),
    (lambda: cost.length_grouped_batches([3, 0], 8), ValueError, ">= 1"),
])
def test_shuffled_strategies_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_shuffled_datasets_pad_right_and_reshuffle_at_every_pass(corpus):
    seqs, labels = corpus
    lengths = np.array([len(s) for s in seqs])
    for strategy, kwargs in (("token_budget", {"max_tokens": 2048}), ("length_grouped", {"pool_batches": 4})):
        ds = cost.make_dataset(seqs, labels, strategy, 16, seed=3, **kwargs)
        first, second = cost.dataset_batches(ds), cost.dataset_batches(ds)  # two passes: epochs 0 and 1
        assert [b.tolist() for b in first] != [b.tolist() for b in second]
        fixed = cost.dataset_batches(cost.make_dataset(seqs, labels, strategy, 16, seed=3, epoch=1, **kwargs))
        assert [b.tolist() for b in fixed] == [b.tolist() for b in second]
        stats = cost.batch_stats(first)
        assert stats["real_tokens"] == lengths.sum() and stats["sequences"] == len(seqs)
        for b in first:
            real = (b != 0).sum(axis=1)
            assert all(not row[n:].any() and row[:n].all() for row, n in zip(b, real)), "padding on the right"
        if strategy == "token_budget":
            assert stats["max_batch_cells"] <= 2048
    x, y = next(cost.make_dataset(seqs, labels, "token_budget", max_tokens=2048, epoch=0).as_numpy_iterator())
    index = cost.token_budget_batches(lengths, 2048, seed=0, epoch=0)[0]
    assert np.array_equal(y, labels[index])
    for row, i in zip(x, index):
        assert np.array_equal(row[:lengths[i]], seqs[i])


def test_make_dataset_rejects_arguments_of_another_strategy(corpus):
    seqs, labels = corpus
    with pytest.raises(ValueError, match="`max_tokens` is for strategy 'token_budget' only; leave it None with strategy='batch_max'"):
        cost.make_dataset(seqs, labels, "batch_max", max_tokens=100)
    with pytest.raises(ValueError, match="pool_batches"):
        cost.make_dataset(seqs, labels, "token_budget", pool_batches=3)
    with pytest.raises(ValueError, match="max_batch_size"):
        cost.make_dataset(seqs, labels, "length_grouped", max_batch_size=3)
    with pytest.raises(ValueError, match="boundaries"):
        cost.make_dataset(seqs, labels, "token_budget", boundaries=[8, 16])
    with pytest.raises(ValueError, match="longest sequence"):
        cost.make_dataset(seqs, labels, "token_budget", max_tokens=10)


def test_every_public_name_is_in_the_package_and_modules_are_small():
    import pathlib

    import helpers.cost as package

    for name in package.__all__:
        assert hasattr(package, name), name
    for path in pathlib.Path(package.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 400, f"{path.name} has more than 400 lines"
        assert text.startswith('"""') and len(text.split("\n")[0]) > 10, f"{path.name} lacks its purpose line"


# ---------------------------------------------------------------- models

@pytest.mark.parametrize("build", [cost.build_lstm_classifier, cost.build_attention_classifier])
def test_models_ignore_padding(build):
    """The same sequence gives the same logits whatever its batch is padded to."""
    model = build(vocab_size=50, seed=0)
    seqs = [np.array([3, 4, 5]), np.array([7, 8, 9, 10, 11, 12])]
    short = np.array([[3, 4, 5, 0, 0, 0], [7, 8, 9, 10, 11, 12]])
    long = np.pad(short, ((0, 0), (0, 34)))
    alone = np.stack([model(s[None])[0] for s in seqs])  # eager calls: no tf.function per width
    np.testing.assert_allclose(model(short), alone, atol=1e-5)
    np.testing.assert_allclose(model(long), alone, atol=1e-5)


@pytest.mark.parametrize("build", [cost.build_lstm_classifier, cost.build_attention_classifier])
def test_models_are_seeded_and_round_trip(build, tmp_path):
    import keras

    a, b = build(vocab_size=30, seed=1), build(vocab_size=30, seed=1)
    x = np.array([[1, 2, 3, 0]], "int32")
    np.testing.assert_allclose(a(x), b(x))  # eager calls: no tf.function to trace
    a.run_eagerly = True
    a.fit(x, np.array([1]), epochs=1, verbose=0)  # trained weights and a built optimizer
    assert not np.allclose(a(x), b(x)), "fit did not change the weights"
    a.save(tmp_path / "m.keras")
    c = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(a(x), c(x), atol=1e-6)


# ---------------------------------------------------------------- stored results

def _fake_results():
    strategies = {s: {"padding_fraction": f, "real_tokens_per_s": t, "median_step_ms": 1.0, "shuffled": sh,
                      "max_batch_cells": c, "memory": {"peak_rss_mb": m, "rss_increase_mb": m / 10}}
                  for s, f, t, sh, c, m in [("global_max", 0.8, 100.0, False, 640, 500.0),
                                            ("batch_max", 0.6, 200.0, False, 640, 490.0),
                                            ("bucketed", 0.05, 500.0, False, 640, 480.0),
                                            ("length_grouped", 0.1, 450.0, True, 640, 470.0),
                                            ("token_budget", 0.04, 540.0, True, 128, 400.0)]}
    strategies["ragged"] = {"supported": False, "shuffled": False, "reason": "ValueError: no"}
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
    assert by[("lstm", "token_budget")]["ratio_to_ideal"] == pytest.approx(0.9)
    assert by[("lstm", "token_budget")]["shuffled"] is True and by[("lstm", "bucketed")]["shuffled"] is False
    assert by[("lstm", "token_budget")]["peak_rss_mb"] == 400.0
    assert len(rows) == 2 * (len(cost.STRATEGIES) + 1)


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
    with pytest.raises(ValueError, match="must be a padding-cost results file"):
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
        assert all(v["shuffled"] is cost.SHUFFLED[name] for name, v in s.items())
        assert s["token_budget"]["max_batch_cells"] <= results["settings"]["token_budget"]["max_tokens"]
        assert s["token_budget"]["epochs_differ"] and s["length_grouped"]["epochs_differ"]
        for v in list(s.values()) + [entry["ideal"]]:
            if v["supported"]:
                assert v["memory"]["peak_rss_mb"] > 0 and "ratio_to_ideal" in v
    assert results["machine"]["load_average_at_start"] and results["machine"]["load_average_at_end"]
    if results.get("schema", 2) >= 3:  # the benchmark with packing and two runs
        packed = results["models"]["attention"]["packed"]
        assert packed["supported"] and packed["traces_while_timing"] == 0 and 0 < packed["row_fill"] <= 1
        assert results["models"]["lstm"]["packed"]["supported"] is False
        assert results["reproducibility"]["runs"] == results["settings"]["runs"] >= 2
        assert len(results["machine"]["load_average_per_run"]) == len(results["models"]) * results["settings"]["runs"]

