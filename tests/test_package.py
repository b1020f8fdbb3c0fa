"""The package itself: a version, cheap import, every re-export resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lrlib


def test_version_is_a_release_string():
    major, minor, patch = lrlib.__version__.split(".")
    assert all(part.isdigit() for part in (major, minor, patch))


@pytest.mark.parametrize("name", sorted(lrlib._EXPORTS))
def test_every_export_resolves_to_its_module(name):
    value = getattr(lrlib, name)
    assert getattr(sys.modules[lrlib._EXPORTS[name]], name) is value


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lrlib.nope


def test_import_has_no_side_effects_and_loads_no_heavy_modules():
    code = (
        "import sys, lrlib\n"
        "heavy = [m for m in ('torch', 'torchvision', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_no_export_is_shadowed_by_a_submodule():
    # Importing a submodule binds its name on the package: a module lrlib/glue.py
    # would replace the function lrlib.glue as soon as anything imported it.
    import pkgutil

    submodules = {m.name for m in pkgutil.iter_modules(lrlib.__path__)}
    assert not submodules & set(lrlib._EXPORTS)
