"""The website builds with Sphinx warnings as errors and nitpicky references.

The build itself is the session fixture `site` (conftest.py): `jupyter-book build
--warningiserror --nitpick --keep-going` into a temporary folder, once per run; the
browser tests (test_site.py) open the same build.
"""

from test_notebooks import toc_entries


def test_book_builds_with_warnings_as_errors(site):
    assert "--warningiserror" in site.command and "--nitpick" in site.command
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
