"""Reading chapters from tests: cells, exercise solutions.

Exercise solutions live once, in the chapter's hidden `{solution}` dropdown; tests
take the code from there and run it through the exercise's check.
"""

import pathlib
import re

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"


def chapter_paths():
    """Every chapter notebook, in file order."""
    return sorted(CHAPTERS.glob("*.ipynb"))


def read_chapter(name):
    """The notebook ``chapters/<name>.ipynb`` (name without extension)."""
    return nbformat.read(CHAPTERS / f"{name}.ipynb", as_version=4)


_SOLUTION = re.compile(r"^(:{3,})\{solution\}\s+(?P<label>\S+)(?P<body>.*?)^\1\s*$", re.S | re.M)
_CODE = re.compile(r"```python\n(?P<code>.*?)```", re.S)


def solution_code(name, label):
    """The Python code of the `{solution} <label>` block in chapter ``name``.

    Raises:
        LookupError: if the chapter has no such solution, or it holds no python block.
    """
    for cell in read_chapter(name).cells:
        if cell.cell_type != "markdown":
            continue
        for match in _SOLUTION.finditer(cell.source):
            if match.group("label") == label:
                code = _CODE.search(match.group("body"))
                if not code:
                    raise LookupError(f"solution {label} in {name} has no ```python block")
                return code.group("code")
    raise LookupError(f"no solution labelled {label} in chapters/{name}.ipynb")


def run_solution(name, label, function_name, namespace=None):
    """Execute the solution's code and return the function it defines."""
    namespace = dict(namespace or {})
    exec(compile(solution_code(name, label), f"<{name}:{label}>", "exec"), namespace)  # noqa: S102
    if function_name not in namespace:
        raise LookupError(f"solution {label} does not define {function_name}")
    return namespace[function_name]


def problems(result):
    """A CheckResult's problems, one per line (the message of a failing assert)."""
    return "\n".join(result.problems)


def wrong_answer_problems(result):
    """The problems of a check given a wrong answer, one per line; fails if it passed."""
    assert not result.passed, "a wrong answer passed the check"
    return problems(result)
