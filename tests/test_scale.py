"""helpers.scale: the token-mean weights (arithmetic and bad input), the pipeline, the TokenMean
metric, and, one child process per backend, the fixes equal to the full-batch token-mean update."""

import keras
import numpy as np
import pytest

from helpers.backends import available_backends
from helpers.scale import TokenMean, accumulation_batches, accumulation_sample_weights, replica_sample_weights
from helpers.scale import experiments as ex


def _mask(lengths, width):
    return np.arange(width)[None, :] < np.asarray(lengths)[:, None]


# ---------------------------------------------------------------- weights: arithmetic


@pytest.mark.parametrize("output_mask", [False, True])
def test_weights_sum_to_the_token_mean(output_mask):
    """What Keras computes with the weights, written out: (1/k) sum_i reduce_i(w_i * loss) = token mean."""
    rng = np.random.default_rng(0)
    masks = [_mask([6, 2], 6), _mask([1], 4), _mask([0, 3, 5], 5)]
    losses = [rng.random(m.shape) for m in masks]
    weights = accumulation_sample_weights(masks, output_mask=output_mask)
    per_batch = []
    for m, loss, w in zip(masks, losses, weights):
        if output_mask:  # apply_mask: total/valid at real tokens, then divide by total
            per_batch.append((loss * w * m).sum() / m.sum())
        else:
            per_batch.append((loss * w).sum() / m.size)
    token_mean = sum((loss * m).sum() for m, loss in zip(masks, losses)) / sum(m.sum() for m in masks)
    assert np.isclose(np.mean(per_batch), token_mean)
    assert all(w.dtype == np.float32 and w.shape == m.shape for w, m in zip(weights, masks))
    assert all((w[~m] == 0).all() for w, m in zip(weights, masks))


def test_equal_token_counts_with_output_mask_need_no_correction():
    masks = [_mask([3], 5), _mask([2, 1], 4)]
    weights = accumulation_sample_weights(masks, output_mask=True)
    assert all(np.allclose(w[m], 1.0) for w, m in zip(weights, masks))


def test_all_padding_micro_batch_gets_zero_weights():
    weights = accumulation_sample_weights([_mask([2], 3), np.zeros((2, 4), bool)])
    assert not weights[1].any() and weights[1].shape == (2, 4)
    assert np.allclose(weights[0][0, :2], 2 * 3 / 2)


def test_replica_weights_are_accumulation_weights_of_the_slices():
    mask = _mask([6, 5, 1, 1], 6)
    for output_mask in (False, True):
        expected = np.concatenate(accumulation_sample_weights([mask[:2], mask[2:]], output_mask=output_mask))
        assert np.allclose(replica_sample_weights(mask, 2, output_mask=output_mask), expected)
    # without an output mask the weights do not depend on the number of replicas
    assert np.allclose(replica_sample_weights(mask, 4), replica_sample_weights(mask, 1))


# ---------------------------------------------------------------- weights: bad input


@pytest.mark.parametrize("masks, error, message", [
    ([], ValueError, r"`masks` must hold at least one mask.*Received: masks=\[\]"),
    (np.ones((2, 3), bool), TypeError, r"`masks` must be a list of boolean \(batch, time\) masks"),
    ([np.array([[1, 0]])], TypeError, r"masks\[0\] must be boolean \(True = keep the step\)\. Received: masks\[0\]=.* with dtype int64"),
    ([_mask([1], 2), np.array([True, False])], ValueError, r"`masks\[1\]` must be a 2-D \(batch, time\) mask"),
    ([np.zeros((1, 3), bool), np.zeros((2, 2), bool)], ValueError, r"no micro-batch has a real token"),
    ([None], TypeError, r"masks\[0\] is None"),
])
def test_bad_masks(masks, error, message):
    with pytest.raises(error, match=message):
        accumulation_sample_weights(masks)


def test_bad_replica_arguments():
    with pytest.raises(ValueError, match=r"multiple of `num_replicas`.*num_replicas=2"):
        replica_sample_weights(_mask([1, 2, 3], 3), 2)
    with pytest.raises(ValueError, match="num_replicas must be a positive int"):
        replica_sample_weights(_mask([1, 2], 3), 0)
    with pytest.raises(ValueError, match="no micro-batch has a real token"):
        replica_sample_weights(np.zeros((2, 3), bool), 2)


# ---------------------------------------------------------------- pipeline


def test_pipeline_groups_and_weights():
    batches = [ex.next_token_batch(lengths, 5, seed=i) for i, lengths in enumerate([[5], [1], [2, 2], [3]])]
    out = list(accumulation_batches(batches, 2, output_mask=True))
    assert len(out) == 4
    for (x, y), (gx, gy, _) in zip(batches, out):
        assert np.array_equal(x, gx) and np.array_equal(y, gy)
    expected = accumulation_sample_weights([b[0] > 0 for b in batches[2:]], output_mask=True)
    assert np.allclose(out[2][2], expected[0]) and np.allclose(out[3][2], expected[1])


def test_pipeline_drops_an_incomplete_group_with_a_warning_and_zero_weights_an_empty_group():
    empty = (np.zeros((1, 3), "int32"), np.zeros((1, 3), "int32"))
    full = ex.next_token_batch([2], 3)
    with pytest.warns(UserWarning, match="the last 1 batch"):
        out = list(accumulation_batches([empty, empty, full], 2))
    assert len(out) == 2 and not out[0][2].any() and not out[1][2].any()


def test_pipeline_bad_input():
    with pytest.raises(ValueError, match="steps must be a positive int"):
        list(accumulation_batches([], 0))
    with pytest.raises(ValueError, match=r"each batch must be a pair \(x, y\)"):
        list(accumulation_batches([np.ones((1, 2))], 1))
    with pytest.raises(TypeError, match="`mask_fn` must be callable"):
        list(accumulation_batches([], 1, mask_fn="x != 0"))
    with pytest.raises(TypeError, match=r"mask_fn\(x, y\) of batch 0 must be boolean"):
        list(accumulation_batches([ex.next_token_batch([2], 3)], 1, mask_fn=lambda x, y: x))


@pytest.mark.skipif("tensorflow" not in available_backends(), reason="tf.data needs TensorFlow")
def test_dataset_yields_what_the_generator_yields():
    from helpers.scale import accumulation_dataset

    batches = [ex.next_token_batch([3], 4, seed=1), ex.next_token_batch([1, 2], 4, seed=2)]
    got = [[keras.ops.convert_to_numpy(t) for t in item] for item in accumulation_dataset(batches, 2)]
    want = list(accumulation_batches(batches, 2))
    assert all(np.array_equal(g, w) for a, b in zip(got, want) for g, w in zip(a, b))
    with pytest.raises(TypeError, match="non-empty list of"):
        accumulation_dataset(iter(batches), 2)


# ---------------------------------------------------------------- metric


def test_token_mean_metric_uses_sums_and_counts_and_the_output_mask():
    metric = TokenMean(from_logits=True)
    inputs = np.array([[1, 2, 0], [3, 0, 0]])
    targets = np.array([[2, 1, 0], [1, 0, 0]])
    logits = keras.layers.Embedding(4, 4, mask_zero=True)(inputs)  # carries the mask
    metric.update_state(targets, logits)
    values = keras.ops.convert_to_numpy(
        keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True))
    assert np.isclose(float(metric.result()), values[inputs > 0].mean(), atol=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_token_mean_metric_config_round_trip_and_bad_fn():
    metric = TokenMean("sparse_categorical_crossentropy", name="tm", from_logits=True)
    config = metric.get_config()
    assert config["fn"] == "sparse_categorical_crossentropy" and config["from_logits"] is True
    clone = keras.metrics.deserialize(keras.metrics.serialize(metric))
    assert isinstance(clone, TokenMean) and clone.name == "tm" and clone.fn_kwargs == {"from_logits": True}
    with pytest.raises(ValueError, match="must name a per-token function"):
        TokenMean("no_such_loss")
    with pytest.raises(TypeError, match="must be a str or a callable"):
        TokenMean(3)


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # never trained: not built
def test_token_mean_metric_saved_in_a_model(tmp_path):
    model = ex.tiny_model(True)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[TokenMean(from_logits=True)])
    x, y = ex.next_token_batch([3, 1], 4)
    before = model.evaluate(x, y, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert np.allclose(loaded.evaluate(x, y, verbose=0), before, atol=1e-6)


# ---------------------------------------------------------------- Keras's lines, the runner


def test_keras_source_lines_are_found_and_a_missing_one_says_so():
    lines = ex.keras_source_lines()
    assert set(lines) == set(ex.KERAS_LINES)
    assert all(path.startswith("keras/src/") and number > 0 for path, number, _ in lines.values())
    with pytest.raises(LookupError, match="has no line with"):
        ex.keras_source_lines({"gone": ("src/losses/loss.py", "no such code here")})


def test_run_measurements_refuses_bad_requests():
    with pytest.raises(ValueError, match="`backend` must be one of"):
        ex.run_measurements("numpy-ish", ["accumulation_fixes"])
    with pytest.raises(ValueError, match="`names` must be a non-empty list"):
        ex.run_measurements("jax", ["nope"])
    with pytest.raises(ValueError, match="devices must be a positive int"):
        ex.run_measurements("jax", ["accumulation_fixes"], devices=0)


# ---------------------------------------------------------------- every backend, one child process each


def _names(backend):
    return ["accumulation_fixes", "pipeline_and_metric"] + {"jax": ["data_parallel"],
                                                            "tensorflow": ["mirrored"]}.get(backend, [])


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_the_fixes_give_the_full_batch_token_mean_update(backend):
    if backend not in available_backends():
        pytest.skip(f"{backend} is not installed")
    results = ex.run_measurements(backend, _names(backend), devices=2)
    plain, *fixed = results["accumulation_fixes"].values()
    assert plain > 0.5 and max(fixed) < 1e-5, results["accumulation_fixes"]
    assert max(results["pipeline_and_metric"].values()) < 1e-5, results["pipeline_and_metric"]
    if backend == "jax":  # one program over the global batch: the token mean without weights
        errors = results["data_parallel"]
        assert errors["devices"] == 2
        assert list(errors["errors"].values())[0] < 1e-5 and list(errors["errors"].values())[2] < 1e-5
    if backend == "tensorflow":  # a mean of per-replica means, fixed by the replica weights
        errors = results["mirrored"]
        plain, *fixed = errors["errors"].values()
        assert errors["devices"] == 2 and plain > 0.5 and max(fixed) < 1e-5
