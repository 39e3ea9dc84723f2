"""The orientation pages link every tutorial step and every erratum to the chapter that shows it."""

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"

#: Every step of the tutorials the book reproduces, and the chapter that does it.
STEP_CHAPTERS = {
    "P1": "01_why_padding",
    **{f"P{i}": "02_padding" for i in (2, 3, 4)},
    **{f"M{i}": "03_making_masks" for i in range(1, 6)},
    **{f"X{i}": "04_propagation" for i in range(1, 4)},
    **{f"C{i}": "05_custom_layers" for i in range(1, 5)},
    **{f"C{i}": "06_mask_consumers" for i in range(5, 8)},
    "L1": "08_masks_in_rnns",
    "L2": "09_masks_in_losses",
    **{f"A{i}": "10_masked_self_attention" for i in range(1, 8)},
    "A8": "11_ragged_tensors",
}

#: The errata the book must show (more may be added by chapters; all must be listed).
REQUIRED_ERRATA = {
    "erratum-softmax-sums-inputs",
    "erratum-softmax-feature-axis",
    "erratum-model-call-training",
    "erratum-fully-masked-row",
    "erratum-query-axis-mask",
}

_TARGET = re.compile(r"^\(([a-z0-9-]+)\)=\s*$", re.M)


def _markdown(path):
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def _chapter_targets():
    """{target: chapter name} over every chapter notebook."""
    found = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for target in _TARGET.findall(_markdown(path)):
            found[target] = path.stem
    return found


def _refs(text):
    """Targets of every {ref} role in text: {ref}`label` or {ref}`text <label>`."""
    return {m.group(2) or m.group(1) for m in re.finditer(r"\{ref\}`(?:([^`<]+)|[^`<]*<([^`>]+)>)`", text)}


def _table_rows(text):
    """{step id: row text} from the page's table."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^\|\s*([PMXCLA]\d)\s*\|.*$", text, re.M)}


def test_step_list_matches_the_tutorial_steps_file_when_present():
    """Cross-check with the project's copy of TUTORIAL-STEPS.md, where this checkout has one."""
    candidates = [ROOT / "shared" / "reference" / "TUTORIAL-STEPS.md", ROOT.parent / "shared" / "reference" / "TUTORIAL-STEPS.md"]
    source = next((p for p in candidates if p.exists()), None)
    if source is None:
        pytest.skip("the maintainers' list of the tutorials' steps (shared/reference/TUTORIAL-STEPS.md, kept beside "
                    "the repository, not in it) is not here; the steps are still checked against "
                    "reference/from_the_tutorials.md by the tests below")
    ids = set(re.findall(r"^\|\s*([PMXCLA]\d)\s*\|", source.read_text(encoding="utf-8"), re.M))
    assert ids == set(STEP_CHAPTERS)


@pytest.mark.parametrize("step", list(STEP_CHAPTERS))
def test_every_step_is_linked_to_its_section(step):
    rows = _table_rows((REFERENCE / "from_the_tutorials.md").read_text(encoding="utf-8"))
    assert step in rows, f"step {step} is missing from reference/from_the_tutorials.md"
    row = rows[step]
    label = f"step-{step.lower()}"
    chapter = STEP_CHAPTERS[step]
    assert f"../chapters/{chapter}>" in row, f"the row of {step} should name chapter {chapter}"
    assert label in _refs(row), f"the row of {step} has no {{ref}} to {label}"
    targets = _chapter_targets()
    assert targets.get(label) == chapter, (
        f"target ({label})= should be defined in chapters/{chapter}.ipynb, found in {targets.get(label)}"
    )


def test_step_table_has_no_extra_rows():
    rows = _table_rows((REFERENCE / "from_the_tutorials.md").read_text(encoding="utf-8"))
    assert set(rows) == set(STEP_CHAPTERS)


def test_every_erratum_of_the_chapters_is_on_the_errata_page():
    errata = _refs((REFERENCE / "errata.md").read_text(encoding="utf-8"))
    in_chapters = {t for t in _chapter_targets() if t.startswith("erratum-")}
    missing = sorted(in_chapters - errata)
    assert not missing, f"errata defined in chapters but not linked from reference/errata.md: {missing}"


def test_required_errata_are_demonstrated_and_listed():
    in_chapters = {t for t in _chapter_targets() if t.startswith("erratum-")}
    assert REQUIRED_ERRATA <= in_chapters, f"errata not yet demonstrated: {sorted(REQUIRED_ERRATA - in_chapters)}"
    assert REQUIRED_ERRATA <= _refs((REFERENCE / "errata.md").read_text(encoding="utf-8"))


def test_every_erratum_has_an_admonition_where_it_is_defined():
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        text = _markdown(path)
        for target in _TARGET.findall(text):
            if target.startswith("erratum-"):
                after = text.split(f"({target})=", 1)[1]
                assert ":::{admonition} Erratum:" in after, f"{path.name}: {target} has no Erratum admonition after it"


def test_exercise_links_use_the_exercises_own_titles():
    """A teacher's guide that names an exercise differently from the site confuses a class:
    every {ref}`Title <ex-...>` in the reference pages carries the exercise's own title
    (backticks aside, which a {ref} text cannot hold)."""
    import nbformat

    from helpers.grading.exercises import find_exercises

    titles = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        titles.update({e.label: e.title for e in find_exercises(nbformat.read(path, as_version=4))})
    wrong = []
    for page in sorted(REFERENCE.glob("*.md")):
        for text, label in re.findall(r"\{ref\}`([^`<]+)<(ex-[^`>]+)>`", page.read_text(encoding="utf-8")):
            if label not in titles:
                wrong.append(f"{page.name}: {label} is no exercise")
            elif text.strip() != titles[label].replace("`", ""):
                wrong.append(f"{page.name}: {text.strip()!r} for {label}, whose title is {titles[label]!r}")
    assert not wrong, "\n".join(wrong)
