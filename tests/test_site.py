"""The website, as a reader's browser sees it.

Builds the site from the committed notebook outputs (which nbval verifies in
the same test run), serves it on 127.0.0.1 and visits every page in headless
Chromium driven by Playwright, on a desktop (1280 x 900) and on a phone
(390 x 844). Each page is loaded once, read on the desktop, then resized to
the phone and read again once the theme's transitions are over and every
``<picture>`` shows the source its media queries pick (:data:`SETTLED_JS`):
loading a page costs more than all the checks (MathJax, the widgets), and a
resized page reads as one loaded on a phone (when this was adopted, the text,
widths, pictures and screenshots of every page were compared: identical). A
full-page screenshot of every page at both widths is saved under
``_build/screenshots`` (``<page>-1280.png``, ``<page>-390.png``).

Besides loading cleanly and offline, every page must:

* show no line of text that looks like a Markdown table row (a table printed
  as raw pipes instead of rendered);
* at 1280 px, show every code block, listing and output without a sideways
  scroll bar (the code is formatted at 88 columns for this);
* at 390 px, be no wider than the phone, and show every picture with at least
  0.75 CSS pixels per typographic point (a 10-point label at least 7.5 px:
  as much as matplotlib's default 6.4-inch figure gets), its stacked version
  where it has one (``lrlib.book.responsive``), the drawn one on a desktop;
* give every image alt text, not a file name or hash;
* number its figures from 1 (``Fig. N.1``, ``N.2``, ... on chapter ``NN_``);
* say which Rock-Paper-Scissors images produced its results when its outputs
  name them, and the footer must credit exactly what the site used;
* once MathJax has typeset it, show no TeX source (``\\(``, ``$$``, ``\\frac``)
  outside code;
* give every table cell room on both sides (:data:`MIN_CELL_PADDING`);
* at 1280 px, pass axe-core's accessibility rules: no serious or critical
  violation (axe-core is vendored by ``make assets``; nothing is fetched).

:func:`test_the_checks_catch_faults` runs the same checks on a small page
made with each fault, so that a check that never fires is noticed.
"""

from __future__ import annotations

import base64
import functools
import io
import os
import re
import shutil
import string
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest
from PIL import Image

from tests._http import LocalServer
from tools import site
from tools.bookconfig import ROOT, repository, toc_files
from tools.reading_time import book_reading_times

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
DESKTOP = (1280, 900)
PHONE = (390, 844)
# axe-core, copied beside MathJax by `make assets` (package.json pins it).
AXE_SCRIPT = site.VENDOR / "axe-core" / "axe.min.js"
# The impacts of an axe-core violation that fail the test.
AXE_FAILING = ("serious", "critical")
# The least padding, in CSS pixels, a table cell needs on its left and right:
# without it neighbouring columns run together ("256" and "16" read "25616").
MIN_CELL_PADDING = 4

# A line of a Markdown table: "| a | b |", or a separator such as "|---|:--:|".
# Smart quotes turn "---" into an em dash when the table ends up in a paragraph.
MARKDOWN_ROW = re.compile(r"^\s*\|.*\|\s*$|\|\s*:?(-{3,}|[\u2013\u2014]+):?\s*\|")
# Alt text that is really a file name: one word with a slash or an image
# extension, or a long hexadecimal hash anywhere.
FILE_LIKE_ALT = re.compile(
    r"^\S*([/\\]|\.(png|jpe?g|gif|svg|webp)$)\S*$|[0-9a-f]{16}", re.IGNORECASE
)
STANDIN_LINE = "Using the synthetic stand-in for the Rock-Paper-Scissors images"
REAL_LINE = "Using the real Rock-Paper-Scissors images"

# Everything the layout checks need, read from the page in one go.
LAYOUT_JS = r"""async ([minPadding]) => {
  // MathJax typesets after the page has loaded: read the page once it is done.
  if (window.MathJax && MathJax.startup && MathJax.startup.promise)
    await MathJax.startup.promise;
  const kind = (e) => e.closest('.cell_output') ? 'output'
    : e.closest('.cell_input') ? 'cell' : 'listing';
  const longest = (t) => t.split('\n')
    .reduce((a, b) => b.length > a.length ? b : a, '');
  const scrolling = Array.from(document.querySelectorAll('pre'))
    .filter(p => p.scrollWidth > p.clientWidth + 1)
    .map(p => `${kind(p)} (${p.scrollWidth} > ${p.clientWidth} px): `
               + longest(p.textContent).trim().slice(0, 100));
  const outputs = Array.from(document.querySelectorAll('.cell_output'))
    .map(e => e.innerText).join('\n');
  // Widget images live at blob: URLs, which only the page can read.
  const base64 = async (url) => {
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    let text = '';
    for (let k = 0; k < bytes.length; k += 8192)
      text += String.fromCharCode(...bytes.subarray(k, k + 8192));
    return btoa(text);
  };
  const pictures = [];
  for (const i of document.images) {
    if (i.getBoundingClientRect().width === 0
        || i.closest('nav, header, .bd-sidebar-primary, .bd-sidebar-secondary'))
      continue;
    const shown = i.currentSrc || i.src;
    pictures.push({shown: shown, own: i.src,
                   data: shown.startsWith('blob:') ? await base64(shown) : null,
                   width: i.getBoundingClientRect().width,
                   responsive: !!i.closest('picture'),
                   alt: (i.getAttribute('alt') || '').slice(0, 60)});
  }
  // TeX a reader sees as source: delimiters or a control word (\frac, \eta)
  // in visible text outside code and outside what MathJax drew.
  const tex = /\\[()[\]]|\$\$|\\[A-Za-z]{2,}/;
  const texShown = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const e = n.parentElement;
    if (!e || !tex.test(n.textContent)
        || e.closest('pre, code, kbd, samp, script, style, textarea, mjx-container')
        || !e.checkVisibility({visibilityProperty: true}))
      continue;
    texShown.push(n.textContent.replace(/\s+/g, ' ').trim().slice(0, 80));
  }
  // Tables with cells too tight on the left or right, one entry per table.
  const crampedTables = [];
  document.querySelectorAll('table').forEach((table, index) => {
    const cells = Array.from(table.querySelectorAll('th, td')).filter(
      c => c.closest('table') === table && c.textContent.trim()
           && c.checkVisibility({visibilityProperty: true}));
    const tight = cells.filter(c => {
      const s = getComputedStyle(c);
      return Math.min(parseFloat(s.paddingLeft), parseFloat(s.paddingRight))
        < minPadding;
    });
    if (tight.length) {
      const s = getComputedStyle(tight[0]);
      crampedTables.push({
        table: index + 1, tight: tight.length, cells: cells.length,
        example: `${tight[0].textContent.trim().slice(0, 30)} `
          + `(${s.paddingLeft} left, ${s.paddingRight} right)`});
    }
  });
  const banner = document.querySelector('.lrbook-data-source');
  const footer = document.querySelector('.extra_footer');
  return {
    text: document.body.innerText,
    docWidth: document.documentElement.scrollWidth,
    scrollingPres: scrolling,
    images: Array.from(document.images).map(i => [i.getAttribute('alt'), i.src]),
    pictures: pictures,
    figureNumbers: Array.from(document.querySelectorAll(
      'figure .caption-number, figure .caption .caption-number'))
      .map(e => e.textContent.trim()),
    outputs: outputs,
    banner: banner ? banner.innerText : null,
    bannerVisible: banner ? banner.getBoundingClientRect().height > 0 : false,
    footer: footer ? footer.innerText : null,
    texShown: texShown,
    crampedTables: crampedTables,
  };
}"""

# axe-core on the whole page, as it stands; what the test fails on.
AXE_JS = """async (failing) => {
  const {violations} = await axe.run(document, {resultTypes: ['violations']});
  return violations.filter(v => failing.includes(v.impact)).map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' '))}));
}"""


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


def serve(root: Path) -> LocalServer:
    return LocalServer(functools.partial(QuietHandler, directory=str(root)))


# The site, its server and the browser are session fixtures of tests/conftest.py,
# shared with tests/test_site_explorers.py: one build, one browser.


@dataclass
class Reading:
    """What the checks read from a loaded page at one width."""

    broken_images: list[str] = field(default_factory=list)
    layout: dict = field(default_factory=dict)
    # axe-core's serious and critical violations (None: not audited at this width).
    violations: list[dict] | None = None


@dataclass
class Visit:
    """One load of a page, read at each width in turn."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)
    colab_links: list[str] = field(default_factory=list)
    widget_views: int = 0
    rendered_widgets: int = 0
    readings: dict[int, Reading] = field(default_factory=dict)


# After a resize the page settles: the theme's CSS transitions run (a sidebar
# takes a moment to hide), and the browser picks each <picture>'s source anew
# and fetches it. Resolves once the transitions are over and every picture
# shows the source its media queries name now (or after `ms`: a picture that
# never switches is then reported by the checks).
SETTLED_JS = """async (ms) => {
  const end = performance.now() + ms;
  const wanted = (img) => {
    const picture = img.closest('picture');
    if (!picture) return null;
    for (const s of picture.querySelectorAll('source')) {
      if (!s.media || matchMedia(s.media).matches)
        return new URL(s.srcset.trim().split(/\\s+/)[0], document.baseURI).href;
    }
    return img.src;
  };
  const settled = () => Array.from(document.images).every(i => {
    const w = wanted(i);
    return (w === null || i.currentSrc === w) && i.complete;
  });
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  await frame();
  const transitions = document.getAnimations()
    .filter(a => a instanceof CSSTransition).map(a => a.finished.catch(() => null));
  const timeout = new Promise(r => setTimeout(r, end - performance.now()));
  await Promise.race([Promise.all(transitions), timeout]);
  while (!settled() && performance.now() < end)
    await new Promise(r => setTimeout(r, 25));
  await frame();
  await frame();
}"""


def visit(
    browser,
    url: str,
    screenshots: dict[tuple[int, int], Path],
    *,
    audit: tuple[int, ...] = (),
) -> Visit:
    """Load ``url`` once, at the first viewport of ``screenshots``, and read
    what the checks need at each of its viewports in turn (the page resized in
    between, as a window is; the browser re-applies media queries and picks
    each ``<picture>``'s source again), saving a full-page screenshot of each
    to its path; axe-core audits the widths in ``audit``."""
    result = Visit()
    width, height = next(iter(screenshots))
    page = browser.new_page(viewport={"width": width, "height": height})
    origin = url.split("/", 3)[:3]

    def on_request(request) -> None:
        foreign = request.url.split("/", 3)[:3] != origin
        if foreign and not request.url.startswith("data:"):
            result.foreign_requests.append(request.url)

    def on_response(response) -> None:
        # A console error says only "404"; this names the resource.
        if response.status >= 400:
            result.failed_responses.append(f"{response.status} {response.url}")

    def on_console(message) -> None:
        if message.type == "error":
            result.console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda e: result.page_errors.append(str(e)))
    page.on("request", on_request)
    page.on("response", on_response)
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
        result.colab_links = page.evaluate(
            "Array.from(document.querySelectorAll("
            "'a[href^=\"https://colab.research.google.com/\"]')).map(a => a.href)"
        )
        for index, ((width, height), screenshot) in enumerate(screenshots.items()):
            if index:
                page.set_viewport_size({"width": width, "height": height})
                page.evaluate(SETTLED_JS, 5_000)
            reading = result.readings[width] = Reading()
            reading.broken_images = page.evaluate(
                "Array.from(document.images)"
                ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
            )
            reading.layout = page.evaluate(LAYOUT_JS, [MIN_CELL_PADDING])
            if width in audit:
                reading.violations = accessibility_violations(page)
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()
    return result


def accessibility_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on ``page`` (all its rules)."""
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: run `make assets`")
    page.add_script_tag(path=str(AXE_SCRIPT))
    return page.evaluate(AXE_JS, list(AXE_FAILING))


def pages(html_root: Path) -> list[str]:
    """Every HTML page of the site, relative to its root."""
    return sorted(
        str(p.relative_to(html_root))
        for p in html_root.rglob("*.html")
        if not {"_static", "_sources", "_images"} & set(p.relative_to(html_root).parts)
    )


def screenshot_path(rel: str, width: int) -> Path:
    return SCREENSHOTS / f"{rel.replace('/', '__').removesuffix('.html')}-{width}.png"


# --------------------------------------------------------------------------
# The checks, on what the browser read from a page
# --------------------------------------------------------------------------


def markdown_rows(text: str) -> list[str]:
    """Lines of visible text that look like a row of a Markdown table."""
    return [line.strip() for line in text.splitlines() if MARKDOWN_ROW.search(line)]


def bad_alt_texts(images: list[list[str]]) -> list[str]:
    """The images whose alt text is missing, empty or a file name."""
    return [
        f"{src.rsplit('/', 1)[-1][:40]}: alt={alt!r}"
        for alt, src in images
        if alt is None or not alt.strip() or FILE_LIKE_ALT.search(alt)
    ]


def chapter_number(rel: str) -> int | None:
    match = re.search(r"(?:^|/)(\d+)_[^/]*\.html$", rel)
    return int(match.group(1)) if match else None


def figure_number_problem(rel: str, numbers: list[str]) -> str | None:
    """Why the figure numbers of a page are not 1, 2, ... (prefixed N. on chapter N)."""
    chapter = chapter_number(rel)
    prefix = "" if chapter is None else f"{chapter}."
    expected = [f"Fig. {prefix}{i}" for i in range(1, len(numbers) + 1)]
    if numbers != expected:
        return f"figure numbers {numbers}, expected {expected}"
    return None


def sources_in(outputs: str) -> set[str]:
    """Which Rock-Paper-Scissors images a page's printed outputs say they used."""
    found = set()
    if STANDIN_LINE in outputs:
        found.add("synthetic")
    if REAL_LINE in outputs:
        found.add("real")
    return found


def banner_problem(layout: dict) -> str | None:
    """Whether the page's banner names exactly the images its outputs used."""
    used = sources_in(layout["outputs"])
    banner = layout["banner"]
    if not used:
        if banner is not None:
            return f"a data banner on a page whose outputs use no images: {banner!r}"
        return None
    if banner is None or not layout["bannerVisible"]:
        return f"outputs use the {sorted(used)} images but no banner says so"
    says = set()
    if "synthetic stand-in" in banner:
        says.add("synthetic")
    if "Moroney" in banner and "CC BY 2.0" in banner:
        says.add("real")
    if says != used:
        return f"outputs use {sorted(used)}, the banner says {banner!r}"
    return None


def footer_problem(footer: str | None, used: set[str]) -> str | None:
    """Whether the footer credits the real images exactly when the site used them."""
    footer = footer or ""
    credits_real = "Moroney" in footer and "CC BY 2.0" in footer
    names_standin = "stand-in" in footer
    if credits_real != ("real" in used) or names_standin != ("synthetic" in used):
        return f"the site used {sorted(used) or 'no'} images; the footer: {footer!r}"
    return None


# The least CSS pixels per typographic point a picture may get on a phone.
MIN_PX_PER_POINT = 0.75


def image_bytes(picture: dict, root: Path) -> bytes:
    """The bytes of the picture shown (read by the page, a data URL or a file)."""
    src = picture["shown"]
    if picture["data"] is not None:
        return base64.b64decode(picture["data"])
    if src.startswith("data:"):
        return base64.b64decode(src.split(",", 1)[1])
    path = src.split("/", 3)[3].split("?", 1)[0]  # drop scheme://host/
    return (root / path).read_bytes()


def points_per_inch_problem(picture: dict, root: Path) -> str | None:
    """How small a picture's text is drawn, from its PNG's size in inches."""
    with Image.open(io.BytesIO(image_bytes(picture, root))) as image:
        dpi = image.info.get("dpi", (0, 0))[0]
        if not dpi:
            return f"{picture['alt']!r}: the PNG does not say its dpi"
        inches = image.size[0] / dpi
    px_per_point = picture["width"] / (inches * 72)
    if px_per_point < MIN_PX_PER_POINT:
        return (
            f"{picture['alt']!r}: a {inches:.1f}-inch picture shown "
            f"{picture['width']:.0f} px wide: {px_per_point:.2f} px per point "
            f"(at least {MIN_PX_PER_POINT}; stack it with lrlib.book.responsive)"
        )
    return None


def picture_problems(rel: str, width: int, layout: dict, root: Path) -> list[str]:
    """On a phone every picture is readable, and a responsive one shows its
    narrow version; on a desktop a responsive picture shows the drawn one."""
    problems = []
    for picture in layout["pictures"]:
        narrow_shown = picture["shown"] != picture["own"]
        if picture["responsive"] and narrow_shown != (width <= PHONE[0]):
            which = "stacked" if narrow_shown else "drawn"
            problems.append(
                f"{rel} @{width}: {picture['alt']!r} shows its {which} version"
            )
        if width <= PHONE[0]:
            problem = points_per_inch_problem(picture, root)
            if problem:
                problems.append(f"{rel} @{width}: text too small on a phone: {problem}")
    return problems


def tex_problems(rel: str, width: int, layout: dict) -> list[str]:
    """TeX left as source in the page's visible text after MathJax has run."""
    return [
        f"{rel} @{width}: TeX shown as source: {text!r}"
        for text in dict.fromkeys(layout["texShown"])
    ]


def padding_problems(rel: str, width: int, layout: dict) -> list[str]:
    """Tables whose cells have too little room on the left or right."""
    return [
        f"{rel} @{width}: table {t['table']}: {t['tight']} of {t['cells']} cells "
        f"have less than {MIN_CELL_PADDING} px padding on a side, "
        f"e.g. {t['example']}"
        for t in layout["crampedTables"]
    ]


def accessibility_problems(rel: str, violations: list[dict]) -> list[str]:
    """One line per axe-core rule violated: its impact, help and first nodes."""
    return [
        f"{rel}: axe {v['id']} ({v['impact']}, {len(v['targets'])} nodes): "
        f"{v['help']}; e.g. {v['targets'][:3]}"
        for v in violations
    ]


def layout_problems(rel: str, width: int, layout: dict) -> list[str]:
    """Everything wrong with one page at one width, from :data:`LAYOUT_JS`'s reading."""
    problems = [
        f"{rel} @{width}: Markdown table row shown as text: {row!r}"
        for row in markdown_rows(layout["text"])
    ]
    if width == DESKTOP[0]:
        problems += [
            f"{rel} @{width}: scrolls sideways: {pre}"
            for pre in layout["scrollingPres"]
        ]
    if width <= PHONE[0] and layout["docWidth"] > width:
        problems.append(
            f"{rel} @{width}: the page is {layout['docWidth']} px wide on a "
            f"{width} px screen"
        )
    problems += [f"{rel}: alt text: {bad}" for bad in bad_alt_texts(layout["images"])]
    problem = figure_number_problem(rel, layout["figureNumbers"])
    if problem:
        problems.append(f"{rel}: {problem}")
    problem = banner_problem(layout)
    if problem:
        problems.append(f"{rel}: {problem}")
    problems += tex_problems(rel, width, layout)
    problems += padding_problems(rel, width, layout)
    return problems


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site_visits(html_root, server, browser) -> dict[str, Visit]:
    """Every page loaded once on a desktop, then read again resized to a phone."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return {
        rel: visit(
            browser,
            f"{server}/{rel}",
            {
                viewport: screenshot_path(rel, viewport[0])
                for viewport in (DESKTOP, PHONE)
            },
            audit=(DESKTOP[0],),
        )
        for rel in pages(html_root)
    }


def test_every_page_in_a_browser(html_root, site_visits):
    notebooks = {f for f in toc_files() if (ROOT / f"{f}.ipynb").exists()}
    repo = repository()
    problems = []
    used: set[str] = set()
    footers: dict[str, str | None] = {}
    audited = 0
    pictures_checked = 0
    assert sorted(site_visits) == pages(html_root)
    for rel, result in site_visits.items():
        # What the page did while it loaded (at desktop width).
        for kind in (
            "console_errors",
            "page_errors",
            "foreign_requests",
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
                f"{rel}: {result.widget_views} widget views, "
                f"{result.rendered_widgets} rendered"
            )
        # What a reader sees at each width.
        assert sorted(result.readings) == sorted((DESKTOP[0], PHONE[0]))
        for width, reading in result.readings.items():
            assert screenshot_path(rel, width).stat().st_size > 0
            if reading.violations is not None:
                audited += 1
                problems += accessibility_problems(rel, reading.violations)
            if reading.broken_images:
                broken = reading.broken_images
                problems.append(f"{rel} @{width}: broken images: {broken}")
            problems += layout_problems(rel, width, reading.layout)
            problems += picture_problems(rel, width, reading.layout, html_root)
            pictures_checked += width == PHONE[0] and len(reading.layout["pictures"])
            used |= sources_in(reading.layout["outputs"])
            if reading.layout["footer"] is not None:
                footers[rel] = reading.layout["footer"]
    assert len(site_visits) >= len(notebooks) + 1
    assert audited == len(site_visits)
    # Every figure of the notebooks (a PNG or a picture output, as the reading
    # time counts them) was checked at phone width, and no fewer.
    figures = sum(t.figures for t in book_reading_times().values())
    assert pictures_checked >= figures > 0, (pictures_checked, figures)
    assert used, "no page says which Rock-Paper-Scissors images it used"
    for rel in (r for r in pages(html_root) if r.startswith("book/")):
        problem = footer_problem(footers.get(rel), used)
        if problem:
            problems.append(f"{rel}: {problem}")
    assert not problems, "\n".join(dict.fromkeys(problems))


def test_getting_started_shows_every_kind_of_output(html_root, site_visits):
    result = site_visits["book/00_getting_started.html"]
    html = (html_root / "book" / "00_getting_started.html").read_text()
    assert "cell_output" in html and "<img" in html, "no figure"
    assert result.widget_views >= 2, (
        "the slider and the progress bar should both be widgets"
    )
    assert result.rendered_widgets >= result.widget_views
    assert any("00_getting_started.ipynb" in link for link in result.colab_links)


def test_a_resized_page_reads_as_one_loaded_on_a_phone(
    html_root, server, browser, site_visits, tmp_path
):
    """The phone reading of :func:`visit` (the desktop page resized) against a
    fresh load at phone width, on the smallest page with stacked pictures and
    widgets: a theme script that lays a page out only when it loads would
    show here."""
    candidates = [
        rel
        for rel in pages(html_root)
        if "<picture" in (text := (html_root / rel).read_text())
        and "application/vnd.jupyter.widget-view+json" in text
    ]
    assert candidates, "no page has both a stacked picture and a widget"
    rel = min(candidates, key=lambda r: (html_root / r).stat().st_size)
    fresh = visit(browser, f"{server}/{rel}", {PHONE: tmp_path / "phone.png"})
    resized = site_visits[rel].readings[PHONE[0]].layout
    loaded = fresh.readings[PHONE[0]].layout
    for key in ("text", "docWidth", "scrollingPres", "texShown", "crampedTables"):
        assert resized[key] == loaded[key], key

    def shown(layout):  # widget images live at a new blob: URL in every load
        return [
            ("blob:" if p["shown"].startswith("blob:") else p["shown"], p["width"])
            for p in layout["pictures"]
        ]

    assert any(p["responsive"] for p in resized["pictures"])
    assert shown(resized) == shown(loaded)


# string.Template: "$$" is one "$" of the page.
FAULTY_PAGE = r"""<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; font: 16px sans-serif; }
pre { width: 300px; overflow-x: auto; }
img { max-width: 100%; }
table.cramped :is(th, td) { padding: 0; }
table.roomy :is(th, td) { padding: 2px 6px; }
.faint { color: #c4c4c4; }
</style>
<script>window.MathJax = {options: {processHtmlClass: "math"}};</script>
<script async src="/_static/vendor/mathjax/tex-mml-chtml.js"></script>
</head><body>
<p>| epoch | loss |</p>
<p>|---|---|</p>
<p style="display: none">| hidden | row |</p>
<p>a | b is not a table</p>
<div class="cell_input"><pre>x = 1  # $long_line</pre></div>
<div class="cell_output"><pre>$standin in /tmp because it was asked for.</pre></div>
<figure><img alt="../_images/0123456789abcdef0123456789abcdef.png" src="$png">
<figcaption><span class="caption-number">Fig. 2 </span>A plot.</figcaption></figure>
<img id="no-alt" src="$png">
<img alt="The weights of an EWMA with alpha = 1/3." src="$png">
<p>Text before.</p><p>|—|—:|</p>
<p>$wide_word</p>
<img alt="A plot drawn 12 inches wide." src="$wide_png">
<picture><source media="(max-width: 700px)" srcset="$narrow_png 2x">
<img alt="A stacked plot." src="$wide_png"></picture>
<picture><source media="(max-width: 10px)" srcset="$narrow_png 2x">
<img alt="A plot that never stacks." src="$wide_png"></picture>
<div class="extra_footer"><p>The images are by Laurence Moroney, CC BY 2.0.</p></div>
<section class="tex2jax_ignore mathjax_ignore">
<p>Typeset:
<span class="math notranslate nohighlight">\(\bar\eta\,\gamma^{t}\)</span>.</p>
<p>Left as source: \(\bar\eta\,\lambda(t)\) and $$$$\frac{1}{2}$$$$.</p>
<pre>ax.set_xlabel(r"$$\eta$$")  # TeX in code is code</pre>
<p style="display: none">Hidden: \(\sigma\)</p>
</section>
<table class="cramped"><tr><th>batch</th><th>k</th></tr>
<tr><td>256</td><td>16</td></tr></table>
<table class="roomy"><tr><th>batch</th><th>k</th></tr>
<tr><td>1024</td><td>64</td></tr></table>
<input type="range" min="0" max="9">
<button aria-label="Open"><span>Search</span></button>
<p class="faint">Faint grey text on white.</p>
</body></html>
"""
PIXEL_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR4"
    "nGNgYAAAAAMAASsJTYQAAAAASUVORK5CYII="
)


def png_url(width: int, dpi: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, 20), "white").save(buffer, "png", dpi=(dpi, dpi))
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_the_checks_catch_faults(tmp_path, browser):
    """Each check fires on a small page made with its fault, and only on it."""
    page = string.Template(FAULTY_PAGE).substitute(
        long_line="y" * 120,
        standin=STANDIN_LINE,
        png=PIXEL_PNG,
        wide_word="w" * 120,
        wide_png=png_url(1200, 100),  # 12 inches
        narrow_png=png_url(1200, 200),  # 6 inches
    )
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "03_faulty.html").write_text(page)
    # The page typesets its math with the site's own MathJax.
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "vendor").symlink_to(site.VENDOR, target_is_directory=True)
    with serve(tmp_path) as local:
        readings = visit(
            browser,
            local.url("/book/03_faulty.html"),
            {v: tmp_path / f"faulty-{v[0]}.png" for v in (DESKTOP, PHONE)},
            audit=(DESKTOP[0],),
        ).readings
    layouts = {width: r.layout for width, r in readings.items()}
    desktop = "\n".join(layout_problems("book/03_faulty.html", 1280, layouts[1280]))
    phone = "\n".join(layout_problems("book/03_faulty.html", 390, layouts[390]))
    assert "Markdown table row shown as text: '| epoch | loss |'" in desktop
    assert "'|---|---|'" in desktop and "'|—|—:|'" in desktop
    assert "hidden" not in desktop and "is not a table" not in desktop
    assert "scrolls sideways: cell" in desktop and "scrolls sideways" not in phone
    assert "wide on a 390 px screen" in phone and "wide on a" not in desktop
    pictures = {
        width: "\n".join(
            picture_problems("book/03_faulty.html", width, layouts[width], tmp_path)
        )
        for width in layouts
    }
    assert (
        "'A plot drawn 12 inches wide.': a 12.0-inch picture shown 390 px wide: "
        "0.45 px per point"
    ) in pictures[390]
    assert "'A plot that never stacks.' shows its drawn version" in pictures[390]
    assert "A stacked plot" not in pictures[390]
    assert pictures[1280] == "", pictures[1280]
    assert desktop.count("alt text:") == 2
    assert "figure numbers ['Fig. 2'], expected ['Fig. 3.1']" in desktop
    assert "outputs use the ['synthetic'] images but no banner says so" in desktop
    footer = layouts[1280]["footer"]
    assert footer_problem(footer, {"synthetic"}) is not None
    assert footer_problem(footer, {"real"}) is None
    standin_footer = "Results were computed on lrlib's synthetic stand-in."
    assert footer_problem(standin_footer, {"synthetic"}) is None
    assert footer_problem(standin_footer, {"real", "synthetic"}) is not None
    # TeX: only what MathJax was told to skip shows (not the typeset formula,
    # the code or the hidden paragraph), at both widths.
    for problems in (desktop, phone):
        tex = [line for line in problems.splitlines() if "TeX shown" in line]
        assert len(tex) == 1, tex
        assert tex[0].endswith(
            r"TeX shown as source: 'Left as source: \\(\\bar\\eta\\,\\lambda(t)\\) "
            r"and $$\\frac{1}{2}$$.'"
        ), tex
    # Padding: the cramped table, not the roomy one.
    assert (
        "table 1: 4 of 4 cells have less than 4 px padding on a side, "
        "e.g. batch (0px left, 0px right)"
    ) in desktop
    assert "table 2" not in desktop + phone
    # axe-core, at 1280 px only: the unlabelled slider, the button whose name
    # leaves out its text, the faint paragraph and the image without alt text.
    assert readings[PHONE[0]].violations is None
    found = {v["id"]: v for v in readings[DESKTOP[0]].violations}
    for rule, targets in (
        ("label", ["input"]),
        ("label-content-name-mismatch", ["button"]),
        ("color-contrast", [".faint"]),
        ("image-alt", ["#no-alt"]),
    ):
        assert rule in found, sorted(found)
        assert found[rule]["targets"] == targets, (rule, found[rule]["targets"])
    reported = "\n".join(
        accessibility_problems("book/03_faulty.html", readings[DESKTOP[0]].violations)
    )
    assert "book/03_faulty.html: axe color-contrast (serious, 1 nodes)" in reported
