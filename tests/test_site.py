"""The website, as a reader's browser sees it.

Builds the site from the committed notebook outputs (which nbval verifies in
the same test run), serves it on 127.0.0.1 and visits every page in headless
Chromium driven by Playwright. A screenshot of every page is saved under
``_build/screenshots``.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from tests._http import LocalServer
from tools import site
from tools.bookconfig import ROOT, repository, toc_files

pytestmark = pytest.mark.site

SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BROWSER_CANDIDATES = ["chromium", "chromium-browser", "google-chrome"]
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
# What the widget manager draws in place of each view it renders.
RENDERED_WIDGET = (
    ".jupyter-widgets.widget-container, .jupyter-widgets.widget-inline-hbox, "
    ".jupyter-widgets.widget-hbox"
)


def find_browser() -> str:
    explicit = os.environ.get("LRBOOK_CHROMIUM")
    if explicit:
        return explicit
    for name in BROWSER_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        f"no Chromium found (tried {BROWSER_CANDIDATES}); `make browser` installs one"
    )


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def html_root() -> Path:
    index = site.build(committed=True)
    return index.parent


@pytest.fixture(scope="module")
def server(html_root: Path) -> Iterator[str]:
    with LocalServer(
        functools.partial(QuietHandler, directory=str(html_root))
    ) as local:
        yield local.url("")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=find_browser(), args=CHROMIUM_FLAGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)
    colab_links: list[str] = field(default_factory=list)
    widget_views: int = 0
    rendered_widgets: int = 0


def visit(browser, url: str, screenshot: Path) -> Visit:
    result = Visit()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    origin = url.split("/", 3)[:3]

    def on_request(request) -> None:
        if request.url.split("/", 3)[:3] != origin and not request.url.startswith(
            "data:"
        ):
            result.foreign_requests.append(request.url)

    page.on(
        "console", lambda m: m.type == "error" and result.console_errors.append(m.text)
    )
    page.on("pageerror", lambda e: result.page_errors.append(str(e)))
    page.on("request", on_request)
    # A console error says only "404"; this names the resource.
    page.on(
        "response",
        lambda r: (
            r.status >= 400 and result.failed_responses.append(f"{r.status} {r.url}")
        ),
    )
    # The site must work offline: anything fetched from another host is refused.
    page.route(
        lambda u: not u.startswith(f"{origin[0]}//{origin[2]}"),
        lambda route: route.abort(),
    )
    try:
        page.goto(url, wait_until="load")
        result.widget_views = page.locator(WIDGET_VIEW).count()
        if result.widget_views:
            page.wait_for_function(
                "([selector, n]) => document.querySelectorAll(selector).length >= n",
                arg=[RENDERED_WIDGET, result.widget_views],
                timeout=20_000,
            )
            result.rendered_widgets = page.locator(RENDERED_WIDGET).count()
        page.wait_for_load_state("networkidle")
        result.broken_images = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        result.colab_links = page.evaluate(
            "Array.from(document.querySelectorAll('a[href^=\"https://colab.research.google.com/\"]')).map(a "
            "=> a.href)"
        )
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()
    return result


def pages(html_root: Path) -> list[str]:
    """Every HTML page of the site, relative to its root."""
    return sorted(
        str(p.relative_to(html_root))
        for p in html_root.rglob("*.html")
        if not {"_static", "_sources", "_images"} & set(p.relative_to(html_root).parts)
    )


def test_every_page_in_a_browser(html_root, server, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    notebooks = {f for f in toc_files() if (ROOT / f"{f}.ipynb").exists()}
    repo = repository()
    problems = []
    visited = 0
    for rel in pages(html_root):
        shot = SCREENSHOTS / (rel.replace("/", "__").removesuffix(".html") + ".png")
        result = visit(browser, f"{server}/{rel}", shot)
        visited += 1
        assert shot.stat().st_size > 0
        for kind in (
            "console_errors",
            "page_errors",
            "foreign_requests",
            "broken_images",
            "failed_responses",
        ):
            if getattr(result, kind):
                problems.append(f"{rel}: {kind}: {getattr(result, kind)}")
        docname = rel.removesuffix(".html")
        if docname in notebooks:
            expected = repo.colab_url(f"{docname}.ipynb")
            if expected not in result.colab_links:
                problems.append(
                    f"{rel}: no Colab link to {expected} (found {result.colab_links})"
                )
        if result.rendered_widgets < result.widget_views:
            problems.append(
                f"{rel}: {result.widget_views} widget views, {result.rendered_widgets} rendered"
            )
    assert visited >= len(notebooks) + 1
    assert not problems, "\n".join(problems)


def test_getting_started_shows_every_kind_of_output(html_root, server, browser):
    result = visit(
        browser,
        f"{server}/book/00_getting_started.html",
        SCREENSHOTS / "getting-started-check.png",
    )
    html = (html_root / "book" / "00_getting_started.html").read_text()
    assert "cell_output" in html and "<img" in html, "no figure"
    assert result.widget_views >= 2, (
        "the slider and the progress bar should both be widgets"
    )
    assert result.rendered_widgets >= result.widget_views
    assert any("00_getting_started.ipynb" in link for link in result.colab_links)
