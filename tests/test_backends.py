"""helpers.backends: one process per backend; bad requests are refused before any process starts."""

import pytest

from helpers import backend_probes
from helpers.backends import BACKENDS, available_backends, run_probes, run_probes_on_every_backend


def test_every_backend_is_installed_with_the_book():
    assert available_backends() == BACKENDS


def test_available_backends_without_a_package(monkeypatch):
    """An install without TensorFlow (Keras + JAX only) lists the others."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else real(name, *a))
    assert available_backends() == ("jax", "torch")
    with pytest.raises(ValueError, match="`backend` must be installed here: 'tensorflow' needs the package 'tensorflow'"):
        run_probes("tensorflow", ["mask_storage"])


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_probe_runs_in_its_own_backend(backend):
    result = run_probes(backend, ["mask_storage"])["mask_storage"]
    assert result["backend"] == backend
    assert result["mask_from_compute_mask"] == [[v != 0 for v in row] for row in backend_probes.IDS]


def test_unknown_backend():
    with pytest.raises(ValueError, match="`backend` must be one of.*Received: backend='numpy-ish'"):
        run_probes("numpy-ish", ["mask_storage"])


def test_unknown_probe():
    with pytest.raises(ValueError, match=r"`probes` must be names from .*unknown probes \['nope'\]"):
        run_probes("jax", ["nope"])


def test_probes_must_be_a_list_of_names():
    with pytest.raises(TypeError, match="`probes` must be a list of probe names.*Received: probes='mask_storage'"):
        run_probes("jax", "mask_storage")


def test_a_failing_child_reports_its_error():
    with pytest.raises(RuntimeError, match="exited with status"):
        run_probes("jax", ["same_model"], kwargs={"same_model": {"weights": [[1.0]]}})


def test_every_backend_side_by_side_keeps_the_order_and_each_backend():
    results = run_probes_on_every_backend(["recurrent_paths", "tensorflow_cudnn_mask_check"],
                                          backends=("torch", "jax"))
    assert list(results) == ["torch", "jax"]
    for backend in ("torch", "jax"):
        paths = results[backend]["recurrent_paths"]
        # Both decline their fused LSTM for any mask, first thing: Keras's loop runs, no error.
        assert paths["declines_any_mask_first"] == {"lstm": True, "gru": True}
        for mask in ("right-padded", "left-padded"):
            assert paths["paths"]["LSTM"][mask] == {"eager": "loop", "predict": "loop"}, backend
        assert results[backend]["tensorflow_cudnn_mask_check"] is None
    # On a CPU, PyTorch's own LSTM runs without a mask (so the mask, not the device, declines it).
    assert results["torch"]["recurrent_paths"]["paths"]["LSTM"]["no mask"] == {"eager": "fused", "predict": "fused"}


def test_the_recurrent_paths_probe_on_tensorflow():
    result = run_probes("tensorflow", ["recurrent_paths", "tensorflow_cudnn_mask_check"])
    assert result["recurrent_paths"]["declines_any_mask_first"] == {"lstm": False, "gru": False}
    assert result["tensorflow_cudnn_mask_check"]["right-padded"] == "accepted"
    assert result["tensorflow_cudnn_mask_check"]["left-padded"].startswith("InvalidArgumentError")


def test_every_backend_side_by_side_raises_the_first_failing_childs_error():
    """Both processes fail (weights of the wrong shape); the first backend named raises."""
    with pytest.raises(RuntimeError, match="the torch process exited"):
        run_probes_on_every_backend(["same_model"], kwargs={"same_model": {"weights": [[1.0]]}},
                                    backends=("torch", "jax"))
