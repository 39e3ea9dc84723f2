"""tools/gpu_report.py (make gpu-report): its probes, its chapter runner, the stored reports, the workflow job."""

import importlib.util
import json
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("gpu_report", ROOT / "tools" / "gpu_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gpu_report = _tool()


def test_without_a_gpu_it_says_so_and_exits_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(gpu_report, "device_info", lambda: None)
    assert gpu_report.main(["--no-chapters", "--json", str(tmp_path / "gpu.json")]) == 2
    assert "finds no GPU" in capsys.readouterr().out
    assert not (tmp_path / "gpu.json").exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(SystemExit) as exit_:
        gpu_report.main(["--jobs", "0", "--allow-cpu", "--json", str(tmp_path / "gpu.json")])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        gpu_report.main(["--allow-cpu", "--chapters", "chapters/no_such.ipynb", "--json", str(tmp_path / "g.json")])


def test_small_probes_on_the_cpu_write_a_report_with_provenance(monkeypatch, tmp_path):
    monkeypatch.setattr(gpu_report, "device_info", lambda: None)
    out = tmp_path / "gpu.json"
    status = gpu_report.main(["--small", "--allow-cpu", "--backends", "jax", "--no-chapters",
                              "--probes", "fast_path", "attention", "--json", str(out)])
    assert status == 0
    report = json.loads(out.read_text())
    assert report["device"] == "no GPU (--allow-cpu)" and report["versions"]["keras"] and report["date"]
    assert set(report["setup"]) == set(gpu_report.PROBES)
    fast = report["probes"]["fast_path"]["jax"]
    assert fast["backend"] == "jax" and fast["fast_path_max_abs_diff"] < 1e-5
    attention = report["probes"]["attention"]["jax"]
    assert len(attention["dpa_plain_out"]) == 3
    assert "dpa_flash_out" in attention or "dpa_flash_error" in attention  # JAX's flash needs cuDNN


def test_a_chapter_runs_in_its_own_process_and_failures_name_the_cell(tmp_path):
    cells = [{"cell_type": "markdown", "source": ["# t"], "metadata": {}},
             {"cell_type": "code", "source": ["import keras\n", "x = keras.backend.backend()"], "metadata": {}},
             {"cell_type": "code", "source": ["y = 1\n", "assert x == 'torch', x"], "metadata": {}},
             {"cell_type": "code", "source": ["print(open('here.txt').read())"], "metadata": {}}]
    (tmp_path / "here.txt").write_text("the chapter's folder is the working directory")
    notebook = tmp_path / "t.ipynb"
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    result = gpu_report.run_chapter("jax", str(notebook), timeout=300)
    assert result["ran"] == 3 and result["failed"] == 1
    (failure,) = result["failures"]
    assert failure["cell"] == 2 and failure["line"] == 2 and failure["error"] == "AssertionError"
    assert failure["code"] == "assert x == 'torch', x" and failure["message"] == "jax"


def test_the_stored_reports_carry_their_provenance():
    for name in ("gpu.json", "gpu-h200-2026-12-04.json"):
        report = json.loads((ROOT / "reports" / name).read_text())
        assert report["device"].startswith("NVIDIA H200") and report["date"] == "2026-12-04", name
        assert report["versions"]["keras"] == "3.15.1", name
    made = json.loads((ROOT / "reports" / "gpu.json").read_text())
    assert set(made["setup"]) == set(gpu_report.PROBES) and "how" in made
    assert set(made["probes"]["recurrent"]) == {"jax", "torch"}
    copied = json.loads((ROOT / "reports" / "gpu-h200-2026-12-04.json").read_text())
    assert "source" in copied and copied["probe_shape"]


def test_the_gpu_workflow_makes_the_report_with_cuda_builds_and_keeps_it():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "gpu.yml").read_text())
    job = workflow["jobs"]["gpu-report"]
    assert {"self-hosted", "gpu"} <= set(job["runs-on"])
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert "-r envs/notf.txt" in script and '"jax[cuda12]==' in script and '"torch==' in script
    assert "tensorflow" not in script.replace("tensorflow-text", "")
    assert "make gpu-report GPU_PYTHON=.venv-gpu/bin/python" in script
    upload = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "reports/gpu.json"
