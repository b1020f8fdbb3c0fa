"""The package itself: a version, a cheap import, two namespaces, one boundary.

``lrlib`` is the reader's toolbox and ``lrlib.book`` the book's machinery
beside it. Each has a flat, lazy namespace; every public name of a toolbox
module is in ``lrlib``'s, and no toolbox module imports the book's machinery.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lrlib
import lrlib.book

PACKAGES = {"lrlib": lrlib, "lrlib.book": lrlib.book}
ROOT = Path(lrlib.__path__[0])
MAX_PUBLIC_NAMES = 90


def test_version_is_a_release_string():
    major, minor, patch = lrlib.__version__.split(".")
    assert all(part.isdigit() for part in (major, minor, patch))


EXPORTS = [
    (package, name) for package, module in PACKAGES.items() for name in module._EXPORTS
]


@pytest.mark.parametrize(("package", "name"), EXPORTS)
def test_every_export_resolves_to_its_module(package, name):
    namespace = PACKAGES[package]
    value = getattr(namespace, name)
    assert getattr(sys.modules[namespace._EXPORTS[name]], name) is value


@pytest.mark.parametrize("package", PACKAGES)
def test_all_lists_the_exports(package):
    namespace = PACKAGES[package]
    version = ["__version__"] if namespace is lrlib else []
    assert namespace.__all__ == [*version, *sorted(namespace._EXPORTS)]


def test_the_toolbox_namespace_stays_small():
    assert len(lrlib.__all__) <= MAX_PUBLIC_NAMES


@pytest.mark.parametrize("package", PACKAGES)
def test_unknown_attribute_is_an_attribute_error(package):
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        PACKAGES[package].nope  # noqa: B018 (the attribute access is the test)


@pytest.mark.parametrize("package", PACKAGES)
def test_import_has_no_side_effects_and_loads_no_heavy_modules(package):
    code = (
        f"import sys, {package}\nheavy = [m for m in ('torch', 'torchvision', "
        "'matplotlib', 'ipywidgets') if m in sys.modules]\nprint(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def _modules() -> dict[str, Path]:
    """Every module of lrlib, by dotted name (packages by their __init__)."""
    found = {"lrlib": ROOT / "__init__.py"}
    for info in pkgutil.walk_packages(lrlib.__path__, prefix="lrlib."):
        relative = Path(*info.name.split(".")[1:])
        path = (
            ROOT / relative / "__init__.py" if info.ispkg else ROOT / f"{relative}.py"
        )
        found[info.name] = path
    return found


MODULES = _modules()


def _is_teaching(name: str) -> bool:
    return name != "lrlib.book" and not name.startswith("lrlib.book.")


def _is_public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


@pytest.mark.parametrize("package", PACKAGES)
def test_no_export_is_shadowed_by_a_submodule(package):
    # Importing a submodule binds its name on the package: a module
    # lrlib/range_test.py would replace the function lrlib.range_test as soon
    # as anything imported it.
    namespace = PACKAGES[package]
    submodules = {m.name for m in pkgutil.iter_modules(namespace.__path__)}
    assert not submodules & set(namespace._EXPORTS)


def _imported(name: str) -> set[str]:
    """The lrlib modules that module ``name`` imports, anywhere in its source."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            base = node.module or ""
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        found |= {target for target in targets if target in MODULES}
    return found - {name}


def test_every_module_declares_its_public_names():
    missing = [
        name
        for name in MODULES
        if not hasattr(importlib.import_module(name), "__all__")
    ]
    assert missing == []


def test_lrlib_modules_import_each_other_without_a_cycle():
    # The packages' __init__ modules only re-export lazily; they are left out.
    graph = {
        name: _imported(name) - set(PACKAGES) - {"lrlib.data"}
        for name in MODULES
        if name not in PACKAGES and name != "lrlib.data"
    }
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


def book_imports(name: str) -> list[str]:
    """The lrlib.book modules that the module ``name`` imports."""
    return sorted(m for m in _imported(name) if not _is_teaching(m))


TEACHING = sorted(name for name in MODULES if _is_teaching(name) and name != "lrlib")


@pytest.mark.parametrize("name", TEACHING)
def test_no_teaching_module_imports_the_book_machinery(name):
    assert book_imports(name) == [], (
        f"{name} imports {book_imports(name)}: the toolbox must work without the "
        "book's machinery (lrlib.book may import lrlib, not the other way round)"
    )


def test_the_boundary_check_sees_an_import_of_the_book(tmp_path, monkeypatch):
    module = tmp_path / "lrlib_probe.py"
    module.write_text("def f():\n    from lrlib.book import glue\n    return glue\n")
    monkeypatch.setitem(MODULES, "lrlib.probe", module)
    assert book_imports("lrlib.probe") == ["lrlib.book"]


def test_importing_every_teaching_module_loads_nothing_of_the_book():
    code = (
        "import importlib, sys\n"
        f"for name in {TEACHING!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('lrlib.book')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


PUBLIC_TEACHING = [name for name in TEACHING if _is_public(name)]


def test_the_flat_namespace_is_every_public_name_of_the_toolbox():
    declared = {
        name: module
        for module in PUBLIC_TEACHING
        for name in importlib.import_module(module).__all__
    }
    exported = {name: module for name, module in lrlib._EXPORTS.items()}
    left_out = {f"{module}.{name}" for name, module in declared.items()} - {
        f"{module}.{name}" for name, module in exported.items()
    }
    assert exported.items() <= declared.items()
    assert left_out == set(lrlib.MODULE_ONLY)
    assert "MODULE_ONLY" not in lrlib.__all__


def _top_level_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


@pytest.mark.parametrize("name", PUBLIC_TEACHING)
def test_a_function_only_its_own_module_uses_is_private(name):
    module = importlib.import_module(name)
    others = "\n".join(
        path.read_text(encoding="utf-8")
        for other, path in MODULES.items()
        if other != name
    )
    unexplained = [
        function
        for function in _top_level_functions(MODULES[name])
        if not function.startswith("_")
        and function not in module.__all__
        and function != "main"  # a command-line entry point
        and not re.search(rf"\b{function}\b", others)
    ]
    assert unexplained == [], (
        f"{name}: {unexplained} are used by no other module of lrlib and are not "
        "public: give them a leading underscore, or export them"
    )
