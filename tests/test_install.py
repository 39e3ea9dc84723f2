"""The install works from the public package index alone, as on a reader's machine.

`make venv` installs requirements.txt, then requirements-torch.txt (PyTorch's CPU index,
named there and nowhere else). A pin that exists only on a private or local index
would pass on this project's machines, whose pip reads a local wheel folder, and fail on
a reader's: these tests ask pip to resolve each file with a clean configuration
(`PIP_CONFIG_FILE=/dev/null`, no find-links, PyPI as the index) without installing
anything. They skip with a message when PyPI cannot be reached (on CI: they fail).
"""

import re

from conftest import ROOT

TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def pins(name):
    found = re.findall(r"(?m)^([A-Za-z0-9_.-]+)==(\S+)$", (ROOT / name).read_text())
    return {package.lower().replace("_", "-"): version for package, version in found}


def test_requirements_resolve_from_the_public_index_alone(public_pip):
    resolved = {name.replace("_", "-"): version for name, version in public_pip("-r", "requirements.txt").items()}
    for package, version in pins("requirements.txt").items():
        assert resolved.get(package) == version, f"{package}=={version} resolved as {resolved.get(package)}"


def test_torch_resolves_where_only_the_public_index_is_reachable(public_pip):
    """Where PyTorch's CPU index is unreachable, pip falls back to PyPI's release of the pin."""
    resolved = public_pip("--no-deps", "-r", "requirements-torch.txt")
    assert resolved["torch"].split("+")[0] == pins("requirements-torch.txt")["torch"]


def test_pytorch_cpu_index_is_named_in_one_place():
    """requirements-torch.txt names PyTorch's index; everything that installs torch uses that file."""
    named = []
    for path in ROOT.rglob("*"):
        if {".git", "_build", "reports"} & set(path.relative_to(ROOT).parts) or path.name.startswith(".venv"):
            continue
        if path.is_file() and path.suffix in {".txt", ".yml", ".yaml", ".py", ".md", ".cfg", ".toml", ""}:
            try:
                text = path.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            if TORCH_INDEX in text and path != pathlib_self():
                named.append(str(path.relative_to(ROOT)))
    assert named == ["requirements-torch.txt"], named
    assert "-r requirements-torch.txt" in (ROOT / "Makefile").read_text()
    assert "-r ../requirements-torch.txt" in (ROOT / "binder" / "requirements.txt").read_text()
    assert "torch==" not in (ROOT / "requirements.txt").read_text()


def test_binder_reads_its_own_folder():
    """repo2docker reads binder/ when it exists (and then ignores the root): Python 3.11
    (numpy 2.4 has no wheel for 3.10), both requirement files, the helpers installed."""
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert "-r ../requirements.txt" in (ROOT / "binder" / "requirements.txt").read_text()
    assert "pip install --no-deps ." in (ROOT / "binder" / "postBuild").read_text()
    assert not (ROOT / "postBuild").exists(), "a root postBuild is ignored once binder/ exists"


def pathlib_self():
    return ROOT / "tests" / "test_install.py"
