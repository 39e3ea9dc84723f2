"""The explorers of chapter 21, live: JupyterLab in headless Chromium.

A JupyterLab server (the pinned jupyterlab) is started on 127.0.0.1, on a free port,
with a random token, in a temporary folder holding a copy of chapters/ and helpers/
(importable by the kernel). Chromium (Playwright; Debian's package, as for the site
tests) opens chapters/21_interactive_explorers.ipynb, runs every cell, and checks:

- every control of every explorer shows its current value (a dropdown its selected
  option, e.g. the padding explorer's maxlen "longest"; toggle buttons one active
  button; text boxes and sliders their values);
- moving one control of each explorer changes the figure (the image's src) or the
  text beside it;
- no request leaves the machine: requests to any other host are blocked and listed,
  and the list must be empty; the server is told not to fetch news or updates.

A student notebook (student/07_*) opened in the same JupyterLab renders its exercise
headings as headings and shows no MyST fence, label or role.

Screenshots go to tests/screenshots/ (ignored by git). Without
Chromium the test skips; on CI (CI=true) it fails.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from nbtools import ROOT

CHAPTER = "21_interactive_explorers.ipynb"
START_S = 240  # the server's start-up on a busy machine
RUN_S = 600  # running every cell of the chapter


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base URL, token) of a JupyterLab serving a copy of chapters/ and helpers/."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "chapters", root / "chapters")
    shutil.copytree(ROOT / "student", root / "student")
    shutil.copytree(ROOT / "helpers", root / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("settings", "workspaces", "runtime", "config"):
        (root / f".{name}").mkdir()
    # no "notified about Jupyter news?" prompt (the server does not fetch news either)
    notification = root / ".settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    # every cell rendered, not only those in view (the student-notebook test reads them all)
    tracker = root / ".settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, PYTHONPATH=str(root), TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0",
               JUPYTERLAB_SETTINGS_DIR=str(root / ".settings"), JUPYTERLAB_WORKSPACES_DIR=str(root / ".workspaces"),
               JUPYTER_RUNTIME_DIR=str(root / ".runtime"), JUPYTER_CONFIG_DIR=str(root / ".config"))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True", "--LabApp.expose_app_in_browser=True",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(root / ".server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_S
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):  # noqa: S310 (127.0.0.1)
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{(root / '.server.log').read_text()[-3000:]}",
                                pytrace=False)
                time.sleep(1)
        yield base, token
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


CONTROLS_JS = """cell => Array.from(cell.querySelectorAll('.widget-inline-hbox, .widget-toggle-buttons')).map(box => {
  const label = (box.querySelector('.widget-label') || {}).textContent || '';
  const select = box.querySelector('select');
  const buttons = box.querySelectorAll('button');
  const field = box.querySelector('input, textarea');
  const readout = box.querySelector('.widget-readout');
  let shown = null;
  if (select) shown = select.selectedIndex >= 0 ? select.options[select.selectedIndex].textContent : '';
  else if (box.classList.contains('widget-toggle-buttons'))
    shown = Array.from(buttons).filter(b => b.classList.contains('mod-active')).map(b => b.textContent.trim()).join('|');
  else if (readout) shown = readout.textContent;
  else if (field) shown = field.value;
  return [label.trim(), shown];
})"""

STATE_JS = """cell => ({
  text: Array.from(cell.querySelectorAll('.jp-OutputArea-output'))
           .filter(o => !o.querySelector('.jupyter-widgets')).map(o => o.textContent).join('\\n'),
  images: Array.from(cell.querySelectorAll('.jp-OutputArea-output img')).map(i => i.src)
})"""


def _explorer_cells(tab):
    cells = tab.locator(".jp-CodeCell").filter(has=tab.locator(".jp-OutputArea-output .jupyter-widgets"))
    return [cells.nth(i) for i in range(cells.count())]


def _wait_for_change(cell, before, seconds=120):
    """The cell's outputs once both the text and the figure have changed (or, after
    ``seconds``, whatever they are then)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = cell.evaluate(STATE_JS)
        if now["text"] != before["text"] and now["images"] != before["images"] and now["images"]:
            return now
        time.sleep(0.5)
    return cell.evaluate(STATE_JS)


def open_in_lab(browser, lab, path):
    """``(context, tab, blocked)``: ``path`` opened in the JupyterLab of ``lab`` in a new browser
    context, every request to another host blocked and counted in ``blocked`` (host -> count)."""
    base, token = lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
    blocked = {}

    def route(request_route):
        url = request_route.request.url
        if url.startswith((base, "data:", "blob:", "about:")):
            request_route.continue_()
        else:
            host = urllib.parse.urlparse(url).netloc or url.split(":")[0]
            blocked[host] = blocked.get(host, 0) + 1
            request_route.abort()

    context.route("**/*", route)
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    tab.goto(f"{base}/lab/tree/{path}?token={token}", wait_until="load")
    tab.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=START_S * 1000)
    return context, tab, blocked


def test_the_explorers_work_in_jupyterlab(lab, browser, screenshots):
    context, tab, blocked = open_in_lab(browser, lab, f"chapters/{CHAPTER}")
    try:
        tab.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                              " && window.jupyterapp.shell.currentWidget.sessionContext"
                              " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                              " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                              " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                              timeout=START_S * 1000)
        tab.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        tab.wait_for_function(
            """() => { const nb = window.jupyterapp.shell.currentWidget;
                 const cells = nb.content.widgets.filter(c => c.model.type === 'code');
                 return nb.sessionContext.session.kernel.status === 'idle'
                   && cells.every(c => c.model.executionCount !== null); }""", timeout=RUN_S * 1000, polling=1000)
        errors = tab.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
        assert not tracebacks, f"a cell failed:\n{tracebacks[0][:2000]}"
        cells = _explorer_cells(tab)
        assert len(cells) == 3, f"expected the padding, tracer and attention explorers, found {len(cells)} widget cells"
        tab.screenshot(path=str(screenshots / "live_widgets_run.png"), full_page=True)

        shown = [dict(cell.evaluate(CONTROLS_JS)) for cell in cells]
        for number, controls in enumerate(shown):
            assert controls, f"explorer {number}: no control found"
            empty = [label for label, value in controls.items() if value in (None, "")]
            assert not empty, f"explorer {number}: these controls show no value: {empty} (all: {controls})"
        assert shown[0]["maxlen"] == "longest", shown[0]
        assert shown[0]["padding"] == "pre" and shown[0]["value"] == "0", shown[0]

        padding, tracer, attention = cells
        moves = [
            ("padding explorer: maxlen 4", padding, lambda: padding.locator("select").first.select_option(label="4")),
            ("tracer explorer: the second model", tracer, lambda: tracer.locator("select").first.select_option(index=1)),
            ("attention explorer: length + 1", attention,
             lambda: (attention.locator(".noUi-handle").first.focus(), attention.page.keyboard.press("ArrowRight"))),
        ]
        for number, (what, cell, move) in enumerate(moves):
            cell.scroll_into_view_if_needed()
            before = cell.evaluate(STATE_JS)
            move()
            after = _wait_for_change(cell, before)
            cell.screenshot(path=str(screenshots / f"live_widgets_{number}.png"))
            assert after != before, f"{what}: neither the figure nor the text beside it changed"
            assert after["images"] and after["text"].strip(), f"{what}: the figure or the text is gone: {after}"
        padding.scroll_into_view_if_needed()
        assert dict(padding.evaluate(CONTROLS_JS))["maxlen"] == "4"
        assert "maxlen=4" in padding.evaluate(STATE_JS)["text"]
    finally:
        tab.screenshot(path=str(screenshots / "live_widgets_end.png"), full_page=True)
        context.close()
    assert not blocked, f"requests to other hosts (blocked): {blocked}"


STUDENT_CHAPTER = "07_layers_around_masks.ipynb"
# Only the notebook in front: the workspace may keep others open (chapter 21, from the test above).
MARKDOWN_JS = """() => Array.from(window.jupyterapp.shell.currentWidget.node
  .querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')).map(m => m.innerText)"""
HEADINGS_JS = """() => Array.from(window.jupyterapp.shell.currentWidget.node
  .querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown h3')).map(h => h.innerText.trim())"""
#: What MyST leaves behind when a notebook is not written for Jupyter: fences, labels, roles.
MYST_LEFTOVERS = (":::", ":label:", "{solution", "{exercise", "```{", "{ref}", "{doc}")


def test_a_student_notebook_reads_as_a_plain_notebook_in_jupyterlab(lab, browser, screenshots):
    """The student edition opened in JupyterLab: exercise headings render as headings
    ("Exercise 7.1: ..."), and no MyST fence, label or role shows in the rendered text."""
    context, tab, blocked = open_in_lab(browser, lab, f"student/{STUDENT_CHAPTER}")
    try:
        tab.wait_for_function(f"() => ({HEADINGS_JS})().some(h => h.startsWith('Exercise 7.'))", timeout=120_000)
        rendered = tab.evaluate(MARKDOWN_JS)
        headings = tab.evaluate(HEADINGS_JS)
        tab.screenshot(path=str(screenshots / "student_notebook_jupyterlab.png"), full_page=True)
    finally:
        context.close()
    assert [h for h in headings if h.startswith("Exercise 7.")][:2] == [
        "Exercise 7.1: Predict the merged masks", "Exercise 7.2: A convolutional model that ignores padding"], headings
    leftovers = sorted({mark for text in rendered for mark in MYST_LEFTOVERS if mark in text})
    assert len(rendered) > 10 and not leftovers, f"MyST left in the rendered student notebook: {leftovers}"
    assert not blocked, f"requests to other hosts (blocked): {blocked}"


def test_the_maxlen_dropdown_selects_longest():
    """Without a browser: the dropdown's value is an option ("longest" stands for None),
    so it shows it; choosing it again gives maxlen=None."""
    from helpers.widgets import PaddingExplorer

    explorer = PaddingExplorer()
    control = explorer.controls["maxlen"]
    assert control.value == "longest" and control.label == "longest" and control.index == 0
    control.value = 4
    assert explorer.values["maxlen"] == 4
    control.value = "longest"
    assert explorer.values["maxlen"] is None and explorer.view.padded.shape == (3, 6)
    assert PaddingExplorer(maxlen=20).controls["maxlen"].label == "20"

