"""The built website in a real browser: headless Chromium driven by Playwright.

The site is built once (conftest.py `site`), served on 127.0.0.1 (`site_server`),
and every page of the table of contents is opened in Chromium with no network:
every request to another host is blocked and counted (the summary at the end of
the run lists the hosts). On each page:

- the page has a title and a heading, and its main content has text;
- every figure (img) has loaded (naturalWidth > 0) and has an alt text that says what it
  shows (not empty, not a file name);
- no line of code or printed output wraps: each <pre> is exactly as tall as its lines
  (a long line scrolls sideways instead of breaking mid-expression or splitting a table);
- no stored output shows a Python Traceback or an error output;
- the book's own scripts and styles raise no console error and none is missing;
- every internal link answers HTTP 200, and its #anchor exists on the target page;
- a chapter page has a Colab launch link to chapters/<name>.ipynb on the repository.

The search page must find results for "mask". A full-page screenshot of every
page goes to tests/screenshots/ (ignored by git).

Without Chromium these tests skip, saying what to install; on CI (CI=true) they fail.
`check_page` takes any Playwright page, so tests/test_hygiene_catch_breakage.py can
show it catching a broken page.
"""

import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml
from nbtools import ROOT
from test_notebooks import toc_entries

PAGES = toc_entries() + ["genindex"]
CHAPTER_PAGES = [entry for entry in toc_entries() if entry.startswith("chapters/")]


def repository():
    """(url, branch) of the book's repository, from _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/"), config["repository"].get("branch", "main")


def colab_url(chapter):
    url, branch = repository()
    path = urllib.parse.urlparse(url).path.strip("/")
    return f"https://colab.research.google.com/github/{path}/blob/{branch}/{chapter}.ipynb"


class PageWatcher:
    """Collects, for one Playwright page, what the checks need: console errors from the
    book's own assets, uncaught script errors, failed own requests, blocked requests."""

    def __init__(self, page, base, blocked=None):
        self.base = base
        self.console_errors = []
        self.page_errors = []
        self.failed = []
        self.blocked = blocked if blocked is not None else {}
        page.route("**/*", self._route)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("response", self._response)
        page.on("requestfailed", self._request_failed)

    def _own(self, url):
        return url.startswith(self.base)

    def _route(self, route):
        url = route.request.url
        if self._own(url) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            host = urllib.parse.urlparse(url).netloc or url.split(":")[0]
            self.blocked[host] = self.blocked.get(host, 0) + 1
            route.abort()

    def _console(self, message):
        if message.type != "error":
            return
        source = (message.location or {}).get("url", "")
        if self._own(source) and "net::ERR_FAILED" not in message.text:
            self.console_errors.append(f"{message.text} ({source.replace(self.base, '/')})")

    def _response(self, response):
        if self._own(response.url) and response.status >= 400:
            self.failed.append(f"{response.status} {response.url.replace(self.base, '/')}")

    def _request_failed(self, request):
        if self._own(request.url):
            self.failed.append(f"{request.failure} {request.url.replace(self.base, '/')}")


_IDS = {}


def _fetch(url):
    """(status, html) of an URL on the local server, cached."""
    if url not in _IDS:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (127.0.0.1 only)
                body = response.read().decode("utf-8", "replace") if url.endswith(".html") else ""
                _IDS[url] = (response.status, body)
        except urllib.error.HTTPError as error:
            _IDS[url] = (error.code, "")
    return _IDS[url]


def check_links(page, base):
    """Every internal href answers 200, and its #fragment names an element there."""
    problems = []
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    for href in sorted(set(hrefs)):
        if not href.startswith(base):
            continue
        target, _, fragment = href.partition("#")
        status, html = _fetch(target)
        if status != 200:
            problems.append(f"link to {target.replace(base, '/')} answers {status}")
        elif fragment and target.endswith(".html"):
            name = urllib.parse.unquote(fragment)
            if not re.search(rf"""\bid=["']{re.escape(name)}["']""", html):
                problems.append(f"link to {href.replace(base, '/')}: no element with id {name!r} there")
    return problems


#: [src, alt] of every figure of the page's text and outputs (alt None when the attribute is absent).
ALT_TEXTS = """() => Array.from(document.querySelectorAll('article div.cell_output img, article figure img'))
  .map(i => [i.getAttribute('src').slice(0, 80), i.getAttribute('alt')])"""
#: [kind, first line] of every visible <pre> of code or output taller than its own lines.
WRAPPED_LINES = """() => Array.from(document.querySelectorAll('div.cell div.highlight pre, div.cell_output pre'))
  .filter(p => p.offsetParent !== null && p.innerText.trim())
  .filter(p => {
    const style = getComputedStyle(p);
    const line = parseFloat(style.lineHeight) || 1.2 * parseFloat(style.fontSize);
    const lines = p.innerText.replace(/\\n$/, '').split('\\n').length;
    const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    return p.clientHeight - padding > (lines + 0.5) * line;
  })
  .map(p => [p.closest('.cell_output') ? 'an output' : 'a code cell', p.innerText.split('\\n')[0].slice(0, 60)])"""


def real_alt_text(alt):
    """An alt text that says something: not missing, not blank, not a file name or path."""
    alt = (alt or "").strip()
    return len(alt) >= 12 and not re.search(r"\.(png|jpe?g|svg|gif)$|^[./_]|/_images/", alt)


def check_page(page, watcher, base, screenshot=None):
    """Run the page checks on a loaded page; returns a list of problems."""
    problems = []
    title = page.title().strip()
    if not title:
        problems.append("the page has no <title>")
    if page.locator("h1").count() == 0:
        problems.append("the page has no <h1> heading")
    main = page.locator("main, #main-content, article")
    text = main.first.inner_text().strip() if main.count() else ""
    if len(text) < 20:
        problems.append("the page's main content is empty")
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.getAttribute('src').slice(0, 80))"
    )
    problems += [f"figure did not load: {src}" for src in broken]
    problems += [f"figure without a real alt text: {src} (alt={alt!r})" for src, alt in page.evaluate(ALT_TEXTS)
                 if not real_alt_text(alt)]
    problems += [f"a line wraps in {where}: {first!r}" for where, first in page.evaluate(WRAPPED_LINES)]
    outputs = page.locator(".cell_output, .output")
    shown = "\n".join(outputs.all_inner_texts()) if outputs.count() else ""
    # A traceback at the start of a line (a doctest inside a shown docstring is indented).
    if re.search(r"(?m)^Traceback \(most recent call last\)", shown + "\n" + text):
        problems.append("a stored output shows a Traceback")
    if page.locator(".output.traceback, .output.error").count():
        problems.append("a stored output is an error")
    problems += [f"console error: {message}" for message in watcher.console_errors]
    problems += [f"script error: {message}" for message in watcher.page_errors]
    problems += [f"failed to load: {item}" for item in watcher.failed]
    problems += check_links(page, base)
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    return problems


@pytest.fixture()
def page(browser, site_server, site_report):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    watcher = PageWatcher(tab, site_server, site_report["blocked"])
    yield tab, watcher
    context.close()


@pytest.mark.parametrize("entry", PAGES)
def test_page(entry, page, site_server, screenshots, site_report):
    tab, watcher = page
    response = tab.goto(site_server + entry + ".html", wait_until="load")
    assert response is not None and response.status == 200, f"{entry}.html answers {response and response.status}"
    shot = screenshots / (entry.replace("/", "__") + ".png")
    problems = check_page(tab, watcher, site_server, screenshot=shot)
    if entry in CHAPTER_PAGES:
        expected = colab_url(entry)
        links = tab.eval_on_selector_all("a[href*='colab.research.google.com']", "els => els.map(e => e.href)")
        if expected not in links:
            problems.append(f"no Colab launch link to {expected} (found {links})")
    site_report["pages"] += 1
    assert not problems, f"{entry}.html (screenshot: {shot.relative_to(ROOT)}):\n  " + "\n  ".join(problems)


def test_index_leads_to_the_first_page(page, site_server):
    tab, watcher = page
    tab.goto(site_server + "index.html", wait_until="load")
    tab.wait_for_url(re.compile(r".*/(?!index)[^/]+\.html.*"), timeout=30_000)
    root = toc_entries()[0]
    assert tab.url.split("#")[0].endswith(f"{root}.html"), f"index.html shows {tab.url}, not {root}.html"


def test_search_finds_mask(page, site_server, screenshots):
    tab, watcher = page
    tab.goto(site_server + "search.html?q=mask", wait_until="load")
    results = tab.locator("#search-results ul.search li")
    results.first.wait_for(state="attached", timeout=30_000)
    assert results.count() > 0, "search.html?q=mask found nothing"
    tab.screenshot(path=str(screenshots / "search.png"), full_page=True)
    links = tab.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    assert any(link.startswith(site_server) for link in links)
    assert not watcher.console_errors and not watcher.page_errors, watcher.console_errors + watcher.page_errors
