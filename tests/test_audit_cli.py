"""python -m helpers.audit: the table on stdout, exit status 0 clean, 1 leak, 2 bad input."""

import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

from helpers.audit import cli
from helpers.audit import examples as ex

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit_cli")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ex.build_look_ahead_model().save(folder / "leaky.keras")
        ex.build_look_ahead_model(masked=True).save(folder / "clean.keras")
    ids = ex.make_ids(batch=5, max_length=8, seed=1)
    np.save(folder / "ids.npy", ids)
    np.save(folder / "full.npy", np.ones((3, 4), "int32"))
    np.savez(folder / "pair.npz", ids, ids)
    np.savez(folder / "named.npz", ids=ids, ids_mask=ids != 0)
    return folder


def test_clean_model_exits_0_and_prints_the_table(files, capsys):
    assert cli.main([str(files / "clean.keras"), "--inputs", str(files / "ids.npy")]) == 0
    out = capsys.readouterr().out
    assert "masked_look_ahead: clean" in out and "largest change" in out


def test_leaky_model_exits_1(files, capsys):
    assert cli.main([str(files / "leaky.keras"), "--inputs", str(files / "ids.npy")]) == 1
    assert "first leak at 'look_ahead'" in capsys.readouterr().out


def test_json_output(files, capsys):
    import json

    assert cli.main([str(files / "leaky.keras"), "--inputs", str(files / "ids.npy"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["leaks"] == ["look_ahead", "pooling"]


@pytest.mark.parametrize("argv, message", [
    (["{d}/clean.keras", "--inputs", "{d}/full.npy"], "found no padding"),
    (["{d}/missing.keras", "--inputs", "{d}/ids.npy"], "no such file"),
    (["{d}/clean.keras", "--inputs", "{d}/missing.npy"], "no such file"),
    (["{d}/clean.keras", "--inputs", "{d}/clean.keras"], "must be a .npy or .npz"),
    (["{d}/clean.keras", "--inputs", "{d}/pair.npz"], "takes 1 input"),
])
def test_bad_input_exits_2(files, capsys, argv, message):
    import re

    assert cli.main([a.format(d=files) for a in argv]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_npz_inputs_load_as_a_list_or_a_dict(files):
    assert isinstance(cli.load_inputs(files / "pair.npz"), list)
    assert sorted(cli.load_inputs(files / "named.npz")) == ["ids", "ids_mask"]


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["model.keras"])
    assert info.value.code == 2
    assert "--inputs" in capsys.readouterr().err


@pytest.mark.parametrize("model, status", [("leaky", 1), ("clean", 0)])
def test_python_dash_m_exit_status(files, model, status):
    env = dict(os.environ, PYTHONPATH=str(ROOT), KERAS_BACKEND="jax")
    run = subprocess.run([sys.executable, "-m", "helpers.audit", str(files / f"{model}.keras"), "--inputs",
                          str(files / "ids.npy")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == status, run.stderr[-2000:]
    assert "largest change" in run.stdout
    assert run.stderr == ""


def test_python_dash_m_bad_input_exit_status(files):
    env = dict(os.environ, PYTHONPATH=str(ROOT), KERAS_BACKEND="jax")
    run = subprocess.run([sys.executable, "-m", "helpers.audit", str(files / "clean.keras"), "--inputs",
                          str(files / "full.npy")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    assert "error: audit_padding: found no padding" in run.stderr
