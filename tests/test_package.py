"""The package itself: a version, cheap import, every re-export resolves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import lrlib


def test_version_is_a_release_string():
    major, minor, patch = lrlib.__version__.split(".")
    assert all(part.isdigit() for part in (major, minor, patch))


@pytest.mark.parametrize("name", sorted(lrlib._EXPORTS))
def test_every_export_resolves_to_its_module(name):
    value = getattr(lrlib, name)
    assert getattr(sys.modules[lrlib._EXPORTS[name]], name) is value


def test_all_lists_the_exports():
    assert lrlib.__all__ == ["__version__", *sorted(lrlib._EXPORTS)]


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lrlib.nope  # noqa: B018 (the attribute access is the test)


def test_import_has_no_side_effects_and_loads_no_heavy_modules():
    code = (
        "import sys, lrlib\nheavy = [m for m in ('torch', 'torchvision', 'matplotlib') "
        "if m in sys.modules]\nprint(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_no_export_is_shadowed_by_a_submodule():
    # Importing a submodule binds its name on the package: a module lrlib/glue.py
    # would replace the function lrlib.glue as soon as anything imported it.
    import pkgutil

    submodules = {m.name for m in pkgutil.iter_modules(lrlib.__path__)}
    assert not submodules & set(lrlib._EXPORTS)


def _lrlib_modules() -> dict[str, set[str]]:
    """Each lrlib module and the lrlib modules it imports (anywhere in the file)."""
    import ast
    import pkgutil

    import lrlib

    graph = {}
    for info in pkgutil.iter_modules(lrlib.__path__):
        source = Path(lrlib.__path__[0], f"{info.name}.py").read_text(encoding="utf-8")
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "lrlib."
            ):
                imported.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                imported |= {
                    a.name.split(".")[1]
                    for a in node.names
                    if a.name.startswith("lrlib.")
                }
        graph[info.name] = imported
    return graph


def test_every_module_declares_its_public_names():
    import importlib

    graph = _lrlib_modules()
    missing = [
        name
        for name in graph
        if not hasattr(importlib.import_module(f"lrlib.{name}"), "__all__")
    ]
    assert missing == []


def test_lrlib_modules_import_each_other_without_a_cycle():
    graph = _lrlib_modules()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, (*path, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())
