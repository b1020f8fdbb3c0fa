"""Small fixes to the generated pages, applied at build time.

* sphinx-thebe and sphinx-togglebutton register their inline configuration
  scripts more than once, so a page declares ``const THEBE_JS_URL`` twice and
  the browser reports a SyntaxError. Identical scripts are kept once.
* ipywidgets 8 typesets widget labels with MathJax 2's API while the site
  loads MathJax 3; ``_static/widgets-offline.js`` bridges that call.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _script_key(script: Any) -> tuple:
    # Sphinx 7 keeps scripts as _JavaScript objects (filename + attributes,
    # inline code in the `body` attribute); an inline script's filename is
    # None or "" depending on who added it.
    filename = getattr(script, "filename", script) or ""
    attributes = tuple(
        sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())
    )
    return (str(filename), attributes)


def drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    # Run after every other extension has added its per-page scripts.
    app.connect("html-page-context", drop_duplicate_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
