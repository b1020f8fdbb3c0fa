"""The GitHub workflows call commands that exist, and say what they promise."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from tools.bookconfig import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
MAKEFILE = (ROOT / "Makefile").read_text()


def load(name: str) -> dict:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def make_targets() -> set[str]:
    targets = set()
    for line in MAKEFILE.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-/$() ]+?)\s*:(?!=)", line)
        if match and not line.startswith("\t"):
            targets.update(match.group(1).split())
    return targets


def run_lines(workflow: dict) -> list[str]:
    lines = []
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            lines.extend(
                line.strip()
                for line in step.get("run", "").splitlines()
                if line.strip()
            )
    return lines


def check_command(line: str) -> None:
    words = shlex.split(line)
    if words[0] == "make":
        missing = [
            w
            for w in words[1:]
            if not w.startswith("-") and "=" not in w and w not in make_targets()
        ]
        assert not missing, f"{line!r}: no such make target(s) {missing}"
    elif words[0] == "bash":
        assert (ROOT / words[1]).is_file(), f"{line!r}: {words[1]} does not exist"
    elif words[0].startswith(".venv/bin/"):
        tool = words[0].removeprefix(".venv/bin/")
        assert tool == "python" or f"$(VENV)/bin/{tool}" in MAKEFILE, (
            f"{line!r}: unexpected tool {tool}"
        )
    else:
        pytest.fail(
            f"{line!r}: the workflow test does not know how to check this command"
        )


def test_there_are_four_workflows():
    assert [p.name for p in WORKFLOWS] == [
        "ci.yml",
        "gpu.yml",
        "installs.yml",
        "pages.yml",
    ]


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_command_exists(path):
    workflow = load(path.name)
    lines = run_lines(workflow)
    assert lines, f"{path.name} runs nothing"
    for line in lines:
        check_command(line)
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


def test_ci_runs_the_readme_test_command():
    assert run_lines(load("ci.yml")) == ["bash .ci/run"]
    ci_run = (ROOT / ".ci" / "run").read_text()
    assert [
        line
        for line in ci_run.splitlines()
        if line and not line.startswith("#") and not line.startswith(("set ", "cd "))
    ] == ["make test"]
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make site" in readme


def test_gpu_workflow_is_opt_in_and_requires_cuda():
    workflow = load("gpu.yml")
    job = workflow["jobs"]["gpu"]
    assert job["if"].startswith("vars.")
    assert {"self-hosted", "gpu"} <= set(job["runs-on"])
    assert job["env"]["LRLIB_DEVICE"] == "cuda"
    assert job["env"]["LRLIB_REQUIRE_CUDA"] == "1"
    assert "make gpu-test" in run_lines(workflow)
    recipe = MAKEFILE.split("gpu-test:", 1)[1].split("\n\n", 1)[0]
    assert "--nbval-lax" in recipe and "-m gpu" in recipe


def test_pages_builds_on_main_with_real_data_and_deploys():
    workflow = load("pages.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    build = workflow["jobs"]["build"]
    assert build["env"]["LRBOOK_DATA_SOURCE"] == "real"
    assert "make site" in run_lines(workflow)
    uses = [
        s.get("uses", "") for job in workflow["jobs"].values() for s in job["steps"]
    ]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)


def recipe(target: str) -> str:
    """The commands of a Makefile target, joined (continuation lines included)."""
    match = re.search(
        rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.MULTILINE
    )
    assert match, f"the Makefile has no recipe for {target}"
    return match.group(1).replace("\\\n", " ")


def test_install_jobs_run_the_lowest_and_colab_targets():
    workflow = load("installs.yml")
    assert "pull_request" in workflow["on"]
    assert workflow["on"]["schedule"], (
        "new releases break unpinned installs without a commit: run weekly"
    )
    jobs = workflow["jobs"]
    assert {"lowest", "colab-install"} <= set(jobs)
    for name in ("lowest", "colab-install"):
        assert run_lines({"jobs": {name: jobs[name]}}) == [f"make {name}"]
        steps = jobs[name]["steps"]
        python = next(
            s for s in steps if s.get("uses", "").startswith("actions/setup-python@")
        )
        assert python["with"]["python-version"] == "3.11"
        # With `make test` (60 min) these must fit the 90 minutes a run may take.
        assert jobs[name]["timeout-minutes"] <= 45


def test_lowest_resolves_the_floors_and_runs_unit_tests_and_notebooks():
    install = recipe("$(LOWEST)/.installed")
    assert "--resolution lowest-direct" in install
    assert '-e ".[$(LOWEST_EXTRAS)]"' in install
    assert re.search(
        r"^LOWEST_EXTRAS\s*:=\s*notebooks,book,test$", MAKEFILE, re.MULTILINE
    )
    commands = recipe("lowest")
    assert '-m pytest tests -m "not site"' in commands
    assert "-m pytest book --nbval-lax --nbval-current-env" in commands
    assert "$(LOWEST_PY)" in commands and ".venv/bin" not in commands
    assert ".venv-lowest/" in (ROOT / ".gitignore").read_text()


def test_colab_install_installs_what_the_copies_install_and_runs_the_copies():
    from tools import colab

    install = colab.install_source("0" * 40)
    cell_spec = re.search(r'"(lrlib\[[^\]]*\]) @ ', install).group(1)
    assert cell_spec in colab.bootstrap_source()  # the source's cell agrees
    commands = recipe("colab-install")
    assert f'pip install --quiet "{cell_spec} @ file://$(CURDIR)"' in commands
    assert "==" not in commands and " -e " not in commands  # unpinned, and not editable
    assert "rm -rf $(COLAB)" in commands  # a fresh environment every time
    # The copies are written by the book's tooling from its own environment (so
    # myst-nb stays out of the copies' one, as in Colab), then run there against
    # the installed package; book/ is left as committed.
    assert "$(COPYTOOLS_PY) -m tools.colab_copies build" in commands
    assert "--out $(COLAB)/copies" in commands
    assert "-I tools/execute_unsaved.py --copies $(COLAB)/copies" in commands
    assert "env -u PYTHONPATH" in commands
    tools = recipe("$(COPYTOOLS)/.installed")
    assert "-c requirements/lock.txt myst-nb" in tools and "torch" not in tools
    for folder in (".venv-colab/", ".venv-copytools/"):
        assert folder in (ROOT / ".gitignore").read_text()


def test_pages_publishes_the_reader_copies_for_colab():
    workflow = load("pages.yml")
    build = workflow["jobs"]["build"]
    assert build["permissions"]["contents"] == "write"
    names = [s.get("run", "") for s in build["steps"]]
    assert names.index("make publish-copies") > names.index("make site")
    publish = next(s for s in build["steps"] if s.get("run") == "make publish-copies")
    assert publish["if"] == "github.ref == 'refs/heads/main'"
    assert "tools.colab_copies publish" in recipe("publish-copies")
    # make site writes the copies into the site, which the artifact uploads.
    assert "colab_copies.build(" in (ROOT / "tools" / "site.py").read_text()


def test_execute_unsaved_refuses_to_test_the_checkout_instead_of_an_install(
    capsys, monkeypatch
):
    # With lrlib importable from this checkout (here through PYTHONPATH; an
    # editable install does the same), the script must stop before executing
    # anything rather than pass for the wrong reason.
    from tools import execute_unsaved

    monkeypatch.setenv("PYTHONPATH", str(ROOT))

    first = ROOT / "book" / "00_getting_started.ipynb"
    before = first.read_bytes()
    assert execute_unsaved.main([str(first)]) == 2
    assert "would import lrlib from the checkout" in capsys.readouterr().err
    assert first.read_bytes() == before
