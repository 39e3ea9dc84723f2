"""helpers/ is laid out by purpose: small modules, each saying what it is for, all mapped in the package docstring."""

import ast
import pathlib

import pytest

import helpers

HELPERS = pathlib.Path(helpers.__file__).parent
MODULES = sorted(p for p in HELPERS.rglob("*.py") if "__pycache__" not in p.parts)
MAX_LINES = 400


def _name(path):
    return path.relative_to(HELPERS.parent).as_posix()


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_is_small_and_says_its_purpose(path):
    text = path.read_text()
    lines = text.count("\n")
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines (at most {MAX_LINES}): split it by purpose"
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring and docstring.strip(), f"{_name(path)} has no module docstring saying what it is for"
    first = docstring.strip().splitlines()[0]
    assert len(first) >= 20 and first.endswith((".", "?")), f"{_name(path)}: the first docstring line {first!r} is no sentence"


def test_package_docstring_maps_every_module():
    top = {p.stem if p.is_file() else p.name for p in HELPERS.iterdir()
           if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    doc = helpers.__doc__
    missing = sorted(name for name in top if f"    {name} " not in doc)
    assert not missing, f"helpers/__init__.py's docstring does not map: {missing}"
