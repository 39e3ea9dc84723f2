"""The website builds with Sphinx warnings as errors and nitpicky references.

The build itself is the session fixture `site` (conftest.py): `jupyter-book build
--warningiserror --nitpick --keep-going` into a temporary folder, once per run; the
browser tests (test_site.py) open the same build.
"""

import re

from test_notebooks import toc_entries

from conftest import ROOT

STRICT = ("--warningiserror", "--nitpick")


def test_make_book_is_strict():
    """`make book` (what readers and CI run) builds with warnings as errors and nitpicky references,
    as the tests' build does (conftest.build_book; its failing on a broken reference is checked in
    test_checks_catch_breakage.py)."""
    recipe = re.search(r"^book:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert recipe, "the Makefile has no `book:` target"
    build_line = next((line for line in recipe.group(1).splitlines() if "jupyter-book" in line and " build" in line),
                      None)
    assert build_line, f"`make book` does not run jupyter-book build:\n{recipe.group(1)}"
    for flag in STRICT:
        assert flag in build_line.split(), f"`make book` builds without {flag}: {build_line.strip()}"


def test_book_builds_with_warnings_as_errors(site):
    warnings = "\n".join(site.warnings()) or site.log[-4000:]
    assert site.returncode == 0, f"jupyter-book build failed (exit {site.returncode}):\n{warnings}"
    assert not site.warnings(), f"the build printed warnings:\n{warnings}"


def test_every_toc_entry_has_a_page(site):
    missing = [entry for entry in toc_entries() if not (site.html / f"{entry}.html").exists()]
    assert not missing, f"no page was built for: {missing}"
    assert (site.html / "index.html").exists()
    assert (site.html / "search.html").exists() and (site.html / "searchindex.js").exists()


def test_chapters_are_rendered_from_stored_outputs(site):
    """The site shows the notebooks' stored outputs; nothing is executed during the build."""
    assert "Executing" not in site.log, "the build executed notebooks; _config.yml sets execute_notebooks: off"
