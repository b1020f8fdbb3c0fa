"""pyproject.toml, environment.yml and the pin file describe one environment."""

from __future__ import annotations

import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.bookconfig import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
ENVIRONMENT = yaml.safe_load((ROOT / "environment.yml").read_text())
LOCK = ROOT / "requirements" / "lock.txt"


def pyproject_requirements() -> dict[str, Requirement]:
    project = PYPROJECT["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs.extend(extra)
    reqs: dict[str, Requirement] = {}
    for spec in specs:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        if name in reqs:
            assert reqs[name].specifier == req.specifier, (
                f"{name} declared twice with different bounds"
            )
        reqs[name] = req
    return reqs


def environment_pip_requirements() -> dict[str, Requirement]:
    pip_sections = [
        d["pip"]
        for d in ENVIRONMENT["dependencies"]
        if isinstance(d, dict) and "pip" in d
    ]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip section"
    reqs = {}
    for spec in pip_sections[0]:
        if spec.startswith("-"):  # -e . installs lrlib itself
            continue
        req = Requirement(spec)
        reqs[canonicalize_name(req.name)] = req
    return reqs


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        assert version, f"{LOCK.name}: {line!r} is not an exact pin"
        pins[canonicalize_name(name)] = version
    return pins


def test_environment_yml_matches_pyproject():
    ours, theirs = pyproject_requirements(), environment_pip_requirements()
    assert sorted(theirs) == sorted(ours), (
        f"only in pyproject: {sorted(set(ours) - set(theirs))}; "
        f"only in environment.yml: {sorted(set(theirs) - set(ours))}"
    )
    for name, req in ours.items():
        assert theirs[name].specifier == req.specifier, (
            f"{name}: pyproject says {req.specifier}, environment.yml says "
            f"{theirs[name].specifier}"
        )


def test_environment_yml_python_and_editable_install():
    deps = ENVIRONMENT["dependencies"]
    assert "python=3.11" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert "-e ." in pip


def test_lock_satisfies_every_declared_requirement():
    pins = lock_pins()
    for name, req in pyproject_requirements().items():
        assert name in pins, (
            f"{name} is declared in pyproject.toml but not pinned in {LOCK.name}"
        )
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} in {LOCK.name} violates pyproject's {req.specifier}"
        )


def test_lock_pins_the_matched_torch_pair():
    # torchvision's wheels are built against one torch release; a mismatched pair
    # fails at import ("operator torchvision::nms does not exist").
    pins = lock_pins()
    pairs = {"2.15.0": "0.29.2"}
    assert pins["torch"] in pairs, (
        f"no known torchvision partner for torch {pins['torch']}"
    )
    assert pins["torchvision"] == pairs[pins["torch"]]


def test_jupyter_book_is_version_1():
    # Jupyter Book 2 is a different tool with a different configuration.
    assert lock_pins()["jupyter-book"].startswith("1.")


def test_floors_are_a_matched_torch_pair():
    # `make lowest` installs exactly the floors: torchvision's floor must be the
    # release built for torch's floor, or the lowest resolution has no solution.
    partner = {
        "2.4": "0.19",
        "2.5": "0.20",
        "2.6": "0.21",
        "2.7": "0.22",
        "2.8": "0.23",
        "2.9": "0.24",
    }
    reqs = pyproject_requirements()
    floors = {}
    for name in ("torch", "torchvision"):
        (spec,) = [s for s in reqs[name].specifier if s.operator == ">="]
        floors[name] = spec.version
    assert floors["torch"] in partner, (
        f"no known torchvision partner for a torch floor of {floors['torch']}"
    )
    assert floors["torchvision"] == partner[floors["torch"]]
