"""The layout rules can fail: tests/test_layout.py run on a copy of the project passes, and on
the same copy deliberately broken (one breakage per rule) each rule's test fails, naming the
file that broke it."""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT

#: Rule (a test of test_layout.py) -> (file of the copy, text appended to it) that breaks it.
BREAKAGES = {
    "test_every_file_and_function_is_small": (
        "helpers/masks.py", "\n\ndef very_long():\n" + "    x = 1\n" * 90 + "    return x\n"),
    "test_private_keras_is_reached_only_through_keras_internals": (
        "helpers/data.py", "\n\ndef peek(x):\n    return x._keras_mask\n"),
    "test_every_raise_in_helpers_speaks_keras_dialect": (
        "helpers/validation.py", "\n\ndef check_two(x):\n    raise ValueError(f'x must be 2, got {x}')\n"),
    "test_helpers_import_no_circle": (
        "helpers/validation.py", "\n\ndef _late():\n    from helpers.notebook import show_source\n"),
    "test_module_names_are_unique": ("helpers/cost/data.py", '"""Used by nothing: a second data.py."""\n'),
    "test_module_names_the_chapters_that_teach_it": ("helpers/cost/stray.py", '"""A module taught in chapter 99."""\n'),
    "test_module_is_small_and_says_its_purpose": ("helpers/cost/silent.py", "X = 1\n"),
}


def copy_project(destination):
    """The parts of the project test_layout.py reads: helpers, tools, benchmarks, its own tests, chapters."""
    for folder in ("helpers", "tools", "benchmarks", "chapters"):
        shutil.copytree(ROOT / folder, destination / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (destination / "tests").mkdir()
    shutil.copy(ROOT / "tests" / "test_layout.py", destination / "tests")


def run_layout_tests(project):
    """{test name (without parameters): [failure messages]} of tests/test_layout.py run in ``project``."""
    report = project / "report.xml"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(project),
               "-c", os.devnull, f"--junitxml={report}", "-q", "tests/test_layout.py"]
    env = dict(os.environ, PYTHONPATH=str(project))
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300, env=env)
    if not report.exists():
        raise AssertionError(f"pytest did not run:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failures = [f.get("message", "") + (f.text or "") for f in case if f.tag in ("failure", "error")]
        outcomes.setdefault(case.get("name").split("[")[0], []).extend(failures)
    return outcomes


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("layout")
    copy_project(path)
    return path


def test_the_copy_passes_every_layout_rule(project):
    outcomes = run_layout_tests(project)
    assert set(BREAKAGES) <= set(outcomes), sorted(outcomes)
    failed = {name: messages for name, messages in outcomes.items() if messages}
    assert not failed, failed


def test_each_rule_fails_on_its_breakage(project):
    for path, text in BREAKAGES.values():
        target = project / path
        target.write_text((target.read_text() if target.exists() else "") + text)
    outcomes = run_layout_tests(project)
    for rule, (path, _) in BREAKAGES.items():
        messages = "\n".join(outcomes.get(rule, []))
        assert messages, f"{rule} passed on a copy broken in {path}"
    assert "helpers/cost/data.py" in "\n".join(outcomes["test_module_names_are_unique"])
    assert "helpers.notebook" in "\n".join(outcomes["test_helpers_import_no_circle"])
    assert "helpers/data.py" in "\n".join(outcomes["test_private_keras_is_reached_only_through_keras_internals"])
