"""The helpers package works when installed from its wheel, as Colab installs it.

Colab gets ``helpers`` by ``pip install``-ing the repository at a release tag, not
from a checkout. This test builds the wheel from a clean copy of the sources,
installs it with ``--no-deps`` into a fresh virtual environment that sees the
project's dependencies (TensorFlow, Keras, ...) but not the project itself, and
imports every module from there. It catches a module missing from the wheel, an
import of something outside ``helpers/`` (``tests``, ``chapters``, a file next to
the repository) and a package that only works from the working tree.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "helpers")


def _run(cmd, cwd, env=None, timeout=120):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _clean_env():
    """The environment without anything that would put the repository on sys.path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INDEX"] = "1"  # never reach a package index from this test
    return env


def _modules(root):
    """``{dotted name: path relative to root}`` for every module under ``root``/helpers."""
    modules = {}
    for path in sorted((root / "helpers").rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root)
        parts = rel.with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = rel.as_posix()
    return modules


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Build the wheel from a copy of the sources (the working tree stays untouched)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", str(src), "-w", str(out)],
        cwd=src,
        env=_clean_env(),
    )
    wheels = list(out.glob("padding_and_masking_helpers-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, found {[w.name for w in wheels]}"
    # The modules of the copy the wheel was built from (the working tree may change meanwhile).
    return wheels[0], _modules(src)


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """A venv whose site-packages point at this environment's, without the project's editable hook.

    A plain path line in a .pth file adds the main site-packages to sys.path but does
    not process the .pth files inside it, so the editable install of ``helpers``
    (an import hook started from such a file) is not active there.
    """
    where = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(where)
    python = where / "bin" / "python"
    site = pathlib.Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=where, env=_clean_env()).strip()
    )
    main_site = pathlib.Path(sysconfig.get_paths()["purelib"])
    (site / "main_env.pth").write_text(f"{main_site}\n", encoding="utf-8")
    return python, site


def test_wheel_holds_every_helpers_module(wheel):
    path, modules = wheel
    assert "helpers.notebook" in modules and "helpers.exercises" in modules
    with zipfile.ZipFile(path) as zf:
        in_wheel = {n for n in zf.namelist() if n.endswith(".py")}
    expected = set(modules.values())
    missing = sorted(expected - in_wheel)
    assert not missing, f"modules missing from the wheel: {missing}"
    assert not any(n.startswith(("tests/", "chapters/", "tools/")) for n in in_wheel), "the wheel ships more than helpers/"


def test_project_is_not_visible_before_install(fresh_venv, tmp_path):
    python, _ = fresh_venv
    result = subprocess.run(
        [str(python), "-c", "import helpers"], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0, "helpers is importable in the fresh venv before the wheel is installed"
    assert "ModuleNotFoundError" in result.stderr
    # ...while the project's dependencies are.
    _run([str(python), "-c", "import numpy, keras, ipywidgets"], cwd=tmp_path, env=_clean_env())


def test_installed_wheel_imports_every_module(wheel, fresh_venv, tmp_path):
    wheel, modules = wheel
    python, site = fresh_venv
    # --ignore-installed: pip sees the editable install's metadata through the .pth line
    # and must not try to uninstall it from the main environment.
    _run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", str(wheel)],
        cwd=tmp_path,
        env=_clean_env(),
    )
    script = (
        "import importlib, json, os, sys\n"
        "import helpers\n"
        f"names = {sorted(modules)!r}\n"
        "files = {}\n"
        "for name in names:\n"
        "    files[name] = os.path.realpath(importlib.import_module(name).__file__)\n"
        "print(json.dumps(files))\n"
    )
    out = _run([str(python), "-c", script], cwd=tmp_path, env=_clean_env(), timeout=180)
    import json

    files = json.loads(out.strip().splitlines()[-1])
    site_real = os.path.realpath(site)
    outside = {name: f for name, f in files.items() if not f.startswith(site_real + os.sep)}
    assert not outside, f"modules imported from outside the fresh venv: {outside}"
    assert all(not f.startswith(str(ROOT) + os.sep) for f in files.values())
