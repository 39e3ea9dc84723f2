"""Turn a percent-format script into a chapter notebook (an authoring aid).

    python tools/percent_to_ipynb.py draft.py chapters/NN_name.ipynb

Cells are separated by lines starting with `# %%`; `# %% [markdown]` starts a
markdown cell whose lines drop their leading `# `. The book's standard first
cell (helpers.notebook.FIRST_CELL) is put first. The notebook is written
without outputs: run `python tools/execute.py` on it next. The .ipynb is the
source of truth; the draft script is not kept.
"""

import sys

import nbformat

from helpers.notebook import FIRST_CELL


def convert(text):
    # The set-up cell is collapsed on the website ("hide-input"); readers can open it.
    cells = [nbformat.v4.new_code_cell(FIRST_CELL, metadata={"tags": ["hide-input"]})]
    kind, lines = None, []

    def flush():
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.split("\n"))
            cells.append(nbformat.v4.new_markdown_cell(body))
        elif kind == "code" and body.strip():
            cells.append(nbformat.v4.new_code_cell(body))

    for line in text.split("\n"):
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        nbformat.write(convert(f.read()), sys.argv[2])
