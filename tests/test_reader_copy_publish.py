"""Pinning and publishing the reader's copies; the settings they come from."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest

from tools.bookconfig import Repository, reader_copies
from tools.colab_copies import collapse, commit_of, form_title, main, publish


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.org")
    path = tmp_path / "repo"
    path.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=path)
    (path / "README.md").write_text("hello\n")
    git("add", "README.md", cwd=path)
    git("commit", "--quiet", "-m", "first", cwd=path)
    return path


def test_commit_of_pins_head_and_refuses_a_dirty_tree(repo):
    head = git("rev-parse", "HEAD", cwd=repo)
    assert commit_of(cwd=repo) == (head, False)
    assert commit_of(head[:7], cwd=repo) == (head, False)  # a full id, always
    (repo / "notes.txt").write_text("not committed\n")
    with pytest.raises(RuntimeError, match="uncommitted changes.*--allow-dirty"):
        commit_of(cwd=repo)
    assert commit_of(allow_dirty=True, cwd=repo) == (head, True)
    with pytest.raises(RuntimeError, match="git rev-parse"):
        commit_of("no-such-commit", allow_dirty=True, cwd=repo)


def test_publish_commits_the_folder_to_the_branch_and_keeps_history(repo, tmp_path):
    remote = tmp_path / "remote.git"
    git("init", "--quiet", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=repo)
    folder = tmp_path / "copies"
    (folder / "book").mkdir(parents=True)
    (folder / "book" / "01_x.ipynb").write_text("{}\n")
    (folder / "README.md").write_text("copies\n")
    head = git("rev-parse", "HEAD", cwd=repo)

    first = publish(folder, "colab", cwd=repo)
    assert first and git("rev-parse", "colab", cwd=remote) == first
    assert git("ls-tree", "-r", "--name-only", "colab", cwd=remote).split() == [
        "README.md",
        "book/01_x.ipynb",
    ]
    assert head in git("log", "-1", "--format=%s", "colab", cwd=remote)
    assert publish(folder, "colab", cwd=repo) is None  # nothing changed

    (folder / "book" / "01_x.ipynb").write_text('{"cells": []}\n')
    second = publish(folder, "colab", cwd=repo)
    assert git("rev-parse", f"{second}^", cwd=remote) == first
    # The checkout itself is untouched.
    assert git("rev-parse", "HEAD", cwd=repo) == head
    assert git("status", "--porcelain", cwd=repo) == ""
    assert git("branch", "--show-current", cwd=repo) == "main"


def test_publish_refuses_a_folder_without_notebooks(repo, tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebook"):
        publish(tmp_path, "colab", cwd=repo)


def test_build_refuses_a_folder_that_is_no_book(tmp_path):
    with pytest.raises(SystemExit, match="holds no _toc.yml"):
        main(["build", "--source", str(tmp_path), "--out", str(tmp_path / "out")])


def test_form_titles_and_folding():
    cell = nbformat.v4.new_code_cell("glue('x', 1)\nassert x\nclaim('y', True)")
    assert form_title(cell) == "Setup and checks: glue, assert, claim"
    cell.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    assert form_title(cell) == "Code for the output below: glue, assert, claim"
    commented = nbformat.v4.new_code_cell("# Draw the grid\nplot()")
    assert form_title(commented, "ignored") == "Draw the grid"
    assert form_title(nbformat.v4.new_code_cell("%time f()"), "Solution") == "Solution"
    collapse(cell, "A title")
    assert cell.source.startswith("# @title A title\nglue(")
    assert cell.metadata["cellView"] == "form"
    assert cell.metadata["jupyter"] == {"source_hidden": True}
    with pytest.raises(ValueError, match="one non-empty line"):
        collapse(nbformat.v4.new_code_cell("x"), "two\nlines")
    with pytest.raises(ValueError, match="only code cells fold"):
        collapse(nbformat.v4.new_markdown_cell("x"), "title")


@pytest.mark.parametrize(
    "url, site",
    [
        ("https://github.com/lrbook/lrbook", "https://lrbook.github.io/lrbook/"),
        ("https://github.com/Someone/Book/", "https://someone.github.io/Book/"),
        ("https://github.com/me/me.github.io", "https://me.github.io/"),
    ],
)
def test_site_url_from_the_repository(url, site):
    repo = Repository(url, "main", "")
    assert repo.site_url == site
    assert repo.page_url("book/03_x", "fig-a") == f"{site}book/03_x.html#fig-a"
    assert repo.colab_url("book/03_x.ipynb").endswith("/blob/main/book/03_x.ipynb")
    assert repo.colab_url("book/03_x.ipynb", "dev").endswith(
        "/blob/dev/book/03_x.ipynb"
    )
    copies = Repository(url, "main", "", "colab")
    assert copies.colab_url("book/03_x.ipynb").endswith("/blob/colab/book/03_x.ipynb")


def test_site_url_needs_a_github_repository():
    with pytest.raises(ValueError, match="must start with"):
        _ = Repository("https://gitlab.com/a/b", "main", "").site_url
    with pytest.raises(ValueError, match="OWNER/REPO"):
        _ = Repository("https://github.com/a", "main", "").site_url


def test_reader_copies_setting(tmp_path):
    copies = reader_copies()
    assert (copies.branch, copies.folder) == ("colab", "notebooks")
    bad = tmp_path / "_config.yml"
    bad.write_text("sphinx:\n  config:\n    lrbook_reader_copies:\n      branch: a b\n")
    with pytest.raises(ValueError, match="branch must be a plain name"):
        reader_copies(bad)
    bad.write_text("sphinx: {}\n")
    with pytest.raises(ValueError, match="must be a mapping"):
        reader_copies(bad)
