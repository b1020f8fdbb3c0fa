"""Every explorer on the website, moved by a reader's browser without a kernel.

Builds the site from the committed notebook outputs (the session fixtures of
``tests/conftest.py``, shared with ``tests/test_site.py``), visits every page
that holds a :class:`lrlib.book.explorer.FigureExplorer`, and moves every
control a reader sees: each slider from one end to the other, position by
position, and each drop-down through its options (for a chooser of explorers,
the controls of every explorer it chooses). After each move the picture must
change and its tooltip must say the values the controls show, and every
control shown must change the picture: a slider with one position or a
drop-down with one option cannot, so it should not be on the page (an explorer
keeps such a control in its live row only). A screenshot of each explorer is
saved under ``_build/screenshots/explorers``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_site import RENDERED_WIDGET, SCREENSHOTS, WIDGET_VIEW

pytestmark = pytest.mark.site

EXPLORER_PAGES = {
    "book/00_getting_started.html",
    "book/02_dropout.html",
    "book/06_schedulers.html",
}
SHOTS = SCREENSHOTS / "explorers"
CONTROLS = ".widget-dropdown, .widget-hslider, .widget-toggle-buttons"

# What a reader sees in an explorer: every visible control as
# "description = shown value", and the visible pictures.
READ = """(root) => {
  const visible = (e) => e.getClientRects().length > 0;
  const parts = [];
  for (const w of root.querySelectorAll(CONTROLS)) {
    if (!visible(w)) continue;
    const label = (w.querySelector('.widget-label') || {}).textContent || '';
    let value;
    if (w.classList.contains('widget-dropdown')) {
      const s = w.querySelector('select');
      value = s.options[s.selectedIndex].text;
    } else if (w.classList.contains('widget-hslider')) {
      value = w.querySelector('.widget-readout').textContent;
    } else {
      value = (w.querySelector('button.mod-active') || {}).textContent;
    }
    parts.push(`${label.trim()} = ${String(value).trim()}`);
  }
  const images = Array.from(root.querySelectorAll('img')).filter(visible);
  return {parts, titles: images.map((i) => i.title), srcs: images.map((i) => i.src)};
}""".replace("CONTROLS", repr(CONTROLS))


def explorer_pages(html_root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(html_root))
        for p in html_root.glob("book/*.html")
        if "lrlib-explorer" in p.read_text()
    )


class Checker:
    """Reads an explorer after each move and records what does not match."""

    def __init__(self, page, root, where: str) -> None:
        self.page, self.root, self.where = page, root, where
        self.problems: list[str] = []
        self.moves = 0
        self.changes = 0  # moves after which the picture changed
        self.last = self.read()

    def read(self) -> dict:
        return self.root.evaluate(READ)

    def check(self, what: str, *, changed: bool = True) -> None:
        # The picture switches in the browser, a moment after the control.
        try:
            self.page.wait_for_function(
                "([root, read]) => { const s = eval(read)(root);"
                " return s.titles.length === 1 && s.parts.every("
                " (p) => s.titles[0].includes(p)); }",
                arg=[self.root, READ],
                timeout=5_000,
            )
        except Exception:  # reported below, with what was seen
            pass
        now = self.read()
        self.moves += 1
        where = f"{self.where}, {what}"
        if len(now["titles"]) != 1:
            self.problems.append(f"{where}: {len(now['titles'])} pictures visible")
        else:
            title = now["titles"][0]
            missing = [p for p in now["parts"] if p not in title]
            if missing or title.count(" = ") != len(now["parts"]):
                self.problems.append(
                    f"{where}: the picture says {title!r}, the controls {now['parts']}"
                )
            if now["srcs"] != self.last["srcs"]:
                self.changes += 1
            elif changed:
                self.problems.append(f"{where}: the picture did not change")
        self.last = now


def visible_controls(root) -> list:
    return [c for c in root.query_selector_all(CONTROLS) if c.is_visible()]


def move_slider(checker: Checker, slider, name: str) -> None:
    """From the start to the end, one position at a time, then back to the start."""
    handle = slider.query_selector(".noUi-handle")
    readout = slider.query_selector(".widget-readout")
    handle.focus()
    for key, limit in (("ArrowLeft", 200), ("ArrowRight", 200), ("ArrowLeft", 200)):
        for _ in range(limit):
            before = readout.text_content()
            handle.press(key)
            if readout.text_content() == before:
                break
            checker.check(f"{name} {key} to {readout.text_content().strip()}")


def move_dropdown(checker: Checker, dropdown, name: str, then=None) -> None:
    select = dropdown.query_selector("select")
    count = select.evaluate("s => s.options.length")
    first = select.evaluate("s => s.selectedIndex")
    for index in [*range(count), first]:
        if index == select.evaluate("s => s.selectedIndex"):
            continue
        select.select_option(index=index)
        checker.check(f"{name} option {index}")
        if then is not None and index != first:
            then()


def exercise(checker: Checker, root) -> None:
    """Move every visible control of ``root`` (and of the explorers it chooses)."""
    nested = root.query_selector(".lrlib-explorer")
    if nested is not None:  # a chooser: its drop-down, then each chosen explorer
        chooser = visible_controls(root)[0]

        def inner() -> None:
            chosen = [e for e in root.query_selector_all(".lrlib-explorer")]
            chosen = [e for e in chosen if e.is_visible()]
            exercise_controls(checker, visible_controls(chosen[0]))

        exercise_controls(checker, visible_controls(chosen_first(root)))
        move_dropdown(checker, chooser, "chooser", then=inner)
        return
    exercise_controls(checker, visible_controls(root))


def chosen_first(root):
    return next(e for e in root.query_selector_all(".lrlib-explorer") if e.is_visible())


def exercise_controls(checker: Checker, controls: list) -> None:
    for n, control in enumerate(controls):
        label = control.query_selector(".widget-label")
        name = label.text_content().strip() if label else f"control {n}"
        before = checker.changes
        move_control(checker, control, name)
        if checker.changes == before:
            checker.problems.append(
                f"{checker.where}, {name}: a control that cannot change the "
                "picture (one position, or values that draw alike) is shown"
            )


def move_control(checker: Checker, control, name: str) -> None:
    """Every position of one control, and back."""
    classes = control.get_attribute("class") or ""
    if "widget-hslider" in classes:
        move_slider(checker, control, name)
    elif "widget-dropdown" in classes:
        move_dropdown(checker, control, name)
    else:
        buttons = control.query_selector_all("button")
        if len(buttons) > 1:  # one button cannot be moved away from
            for button in [*buttons[1:], buttons[0]]:
                button.click()
                checker.check(f"{name} {button.text_content().strip()}")


def test_the_explorer_pages_are_the_expected_ones(html_root):
    assert set(explorer_pages(html_root)) == EXPLORER_PAGES


@pytest.mark.parametrize("rel", sorted(EXPLORER_PAGES))
def test_every_control_switches_the_picture(html_root, server, browser, rel):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{server}/{rel}", wait_until="load")
        views = page.locator(WIDGET_VIEW).count()
        page.wait_for_function(
            "([selector, n]) => document.querySelectorAll(selector).length >= n",
            arg=[RENDERED_WIDGET, views],
            timeout=20_000,
        )
        roots = [
            r
            for r in page.query_selector_all(".lrlib-explorer")
            if not r.evaluate("r => !!r.parentElement.closest('.lrlib-explorer')")
        ]
        assert roots, f"{rel}: no explorer rendered"
        problems: list[str] = []
        for n, root in enumerate(roots):
            root.scroll_into_view_if_needed()
            checker = Checker(page, root, f"{rel} explorer {n}")
            checker.check("at the start", changed=False)
            exercise(checker, root)
            assert checker.moves > 2, f"{rel} explorer {n}: nothing to move"
            stem = re.sub(r"\W", "_", rel.removesuffix(".html"))
            root.screenshot(path=str(SHOTS / f"{stem}-{n}.png"))
            problems += checker.problems
        assert not errors, errors
        assert not problems, "\n".join(problems[:40])
    finally:
        page.close()
