"""tools/run_elsewhere.py: environments from envs/, the worker that runs chapters cell by
cell, the failure records (cell, line, error), the reports, and pip failures as a sentence."""

import json
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT, tool

run_elsewhere = tool("run_elsewhere")


def test_every_environment_reads_requirement_files_that_exist():
    for name, spec in run_elsewhere.ENVS.items():
        for step in spec["steps"] or []:
            for arg in step:
                if isinstance(arg, str) and arg.endswith(".txt"):
                    assert (ROOT / arg).is_file(), f"{name}: {arg} is missing"
    assert "jax==" in (ROOT / "envs" / "jax.txt").read_text()
    assert ["-r", "requirements-torch.txt"] in run_elsewhere.ENVS["torch"]["steps"]  # torch is pinned there
    assert "keras==3.10" in (ROOT / "envs" / "oldest.txt").read_text()


def test_the_stamp_changes_with_a_requirement_file(monkeypatch, tmp_path):
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "x.txt").write_text("jax==0.10.2\n")
    monkeypatch.setattr(run_elsewhere, "ROOT", tmp_path)
    monkeypatch.setitem(run_elsewhere.ENVS, "x", {"what": "", "backend": "jax", "steps": [["-r", "envs/x.txt"]]})
    first = run_elsewhere._spec_digest("x")
    (tmp_path / "envs" / "x.txt").write_text("jax==0.10.1\n")
    assert run_elsewhere._spec_digest("x") != first


def test_a_package_that_cannot_be_installed_is_one_sentence(monkeypatch, tmp_path):
    monkeypatch.setattr(run_elsewhere, "ROOT", tmp_path)
    monkeypatch.setitem(run_elsewhere.ENVS, "broken", {"what": "", "backend": "jax", "steps": [["no-such-pkg"]]})
    (tmp_path / ".venv-broken" / "bin").mkdir(parents=True)
    (tmp_path / ".venv-broken" / "bin" / "python").write_text("")

    def fake_run(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found for no-such-pkg\n")

    monkeypatch.setattr(run_elsewhere.subprocess, "run", fake_run)
    result = run_elsewhere.install("broken", log=lambda m: None)
    assert result["error"].startswith("could not install the broken environment: `pip install --quiet no-such-pkg`")
    assert "No matching distribution found for no-such-pkg" in result["error"]
    assert "Traceback" not in result["error"]
    entry = {"what": "w", "install": result}
    assert run_elsewhere.failed(entry)
    assert "could not install the broken environment" in run_elsewhere.table("broken", entry)


def test_failing_line_reads_the_cell_line_from_an_ipython_traceback():
    source = "x = 1\ny = x + 1\nassert y == 3, 'y is not 3'"
    traceback = ["\x1b[0;31m---------\x1b[0m", "Cell \x1b[0;32mIn[4], line 3\x1b[0m\n      1 x = 1",
                 "\x1b[0;31mAssertionError\x1b[0m: y is not 3"]
    assert run_elsewhere.failing_line(source, traceback) == (3, "assert y == 3, 'y is not 3'")
    assert run_elsewhere.failing_line(source, ["no frame here"]) == (None, None)


def notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("text"))
    nbformat.write(nb, path)
    return path


def test_the_worker_runs_on_after_a_failure_and_names_each_cell(tmp_path):
    """A real kernel of this Python: two failing cells of four, both reported."""
    path = notebook(tmp_path / "nb.ipynb", ["a = 1", "assert a == 2, 'a is not 2'", "b = a + 1",
                                             "import no_such_module_here"])
    out = tmp_path / "out.json"
    subprocess.run([sys.executable, str(ROOT / "tools" / "run_elsewhere.py"), "--worker", "--out", str(out),
                    "--timeout", "120", str(path)], check=True, capture_output=True, timeout=300)
    result = json.loads(out.read_text())["nb.ipynb"]
    assert (result["code_cells"], result["ran"], result["failed"]) == (4, 4, 2)
    first, second = result["failures"]
    assert first == {"cell": 2, "line": 1, "code": "assert a == 2, 'a is not 2'", "error": "AssertionError",
                     "message": "a is not 2"}
    assert (second["cell"], second["error"], second["code"]) == (4, "ModuleNotFoundError", "import no_such_module_here")


def test_table_and_markdown_list_each_failure():
    failure = {"cell": 7, "line": 2, "code": "import tensorflow as tf", "error": "ModuleNotFoundError",
               "message": "No module named 'tensorflow'"}
    entry = {"what": "w", "backend": "jax", "install": {"reused": True, "seconds": 0, "size_mb": 10, "error": None},
             "versions": {"keras": "3.15.1"}, "run_seconds": 3,
             "chapters": {"02_padding.ipynb": {"ran": 9, "failed": 1, "failures": [failure]},
                          "03_making_masks.ipynb": {"ran": 5, "failed": 0, "failures": []}}}
    text = run_elsewhere.table("jax", entry)
    assert "02_padding.ipynb" in text and "cell 7, line 2: import tensorflow as tf" in text
    assert "ModuleNotFoundError: No module named 'tensorflow'" in text
    assert run_elsewhere.failed(entry)
    probe = {"keras": "3.15.1", "layers": {"LSTM": {"supports_masking": True, "mask_out": True, "evaluate": 1.0,
                                                     "masked": 1.0, "unmasked": 2.0, "mask_reaches_loss": True}}}
    md = run_elsewhere.markdown({"date": "d", "envs": {"jax": entry}, "probes": {"recurrent_mask": {"jax": probe}}})
    assert "| 02_padding.ipynb | 9 | 1 |" in md
    assert "- 02_padding.ipynb, cell 7, line 2: `import tensorflow as tf` — ModuleNotFoundError" in md
    assert "| jax | 3.15.1 | LSTM | True | True | 1.0 | 1.0 | 2.0 | True |" in md
    entry["chapters"]["02_padding.ipynb"].update(failed=0, failures=[])
    assert not run_elsewhere.failed(entry)


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        run_elsewhere.main(["backends", "--chapters", "chapters/no_such_chapter.ipynb"])
    assert info.value.code == 2
    assert "no such chapter" in capsys.readouterr().err


def test_the_stored_reports_name_their_versions_and_the_probe():
    upstream = json.loads((ROOT / "reports" / "upstream.json").read_text())
    assert upstream["envs"], "reports/upstream.json lists no environment"
    for name, entry in upstream["envs"].items():
        assert entry["install"].get("error") or entry["versions"].get("tensorflow"), name
    probes = upstream["probes"]["recurrent_mask"]
    for env, probe in probes.items():
        for layer in ("LSTM", "GRU", "Bidirectional(LSTM)", "LSTM+TimeDistributed(Dense)"):
            assert set(probe["layers"][layer]) >= {"supports_masking", "evaluate", "masked", "unmasked"}, (env, layer)


def test_error_messages_lose_keras_wrapping():
    raw = "Exception encountered when calling Functional.call().\n\nint() argument must be a string\n\nArguments received by Functional.call():\n  x"
    assert run_elsewhere._clean(raw) == "int() argument must be a string"
