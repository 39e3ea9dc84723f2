"""Write the student edition of the book: student/NN_name.ipynb for every chapter with exercises.

    python tools/student.py [--output DIR] [CHAPTER.ipynb ...]

The student edition is the chapter without its solutions: every ``{solution}`` block is
removed, each exercise keeps its stub (raising NotImplementedError) and its self-check,
and the outputs of the exercise cells are cleared. It reads as plain Markdown in Jupyter
and Colab: each exercise is a heading "### Exercise 7.2: Title" (chapter.exercise, as on
the site) with its label in the cell's metadata, admonitions are block quotes
(:mod:`helpers.grading.edition`). It is generated from the
chapters (``make student``) and committed; tests/test_student.py fails when it is out of
date. The grader (``python -m helpers.grade``) grades a filled-in student notebook.
"""

import argparse
import pathlib
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.grading.edition import student_edition  # noqa: E402
from helpers.grading.exercises import find_exercises  # noqa: E402


def write_student_edition(chapters, output):
    """Write the student edition of each chapter that has exercises into ``output``.

    Returns the list of paths written. Stale notebooks in ``output`` (of a chapter that
    is gone or has no exercises any more) are removed.
    """
    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for path in chapters:
        path = pathlib.Path(path)
        nb = nbformat.read(path, as_version=4)
        if not find_exercises(nb):
            continue
        student = student_edition(nb, chapter=path.stem)
        target = output / path.name
        nbformat.write(student, target)
        written.append(target)
    for old in output.glob("*.ipynb"):
        if old not in written:
            old.unlink()
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter notebooks (default: chapters/*.ipynb)")
    parser.add_argument("--output", default=str(ROOT / "student"), help="folder to write (default: student/)")
    args = parser.parse_args(argv)
    chapters = args.chapters or sorted((ROOT / "chapters").glob("*.ipynb"))
    written = write_student_edition(chapters, args.output)
    for target in written:
        print(f"student edition: {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
