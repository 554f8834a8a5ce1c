"""The git adapter against real git: listings of odd file names, and the work tree's top
found without a process where git's own answer is plain."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from archivist import gitrepo
from archivist.errors import GitError
from archivist.trees import CommitTree, IndexTree
from realrepo import Repo, init_repo, run

# Names a line-based or separator-based reading would get wrong.
ODD_NAMES = ["models/a.bin\nx.dvc", "\nlead.dvc", "rec\x1esep.dvc", ":colon.dvc",
             "tab\tname.dvc", "models/ünï.dvc", "trailing\n"]


LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}  # ":colon.dvc" is a file, not pathspec magic


def commit_literal(repo: Repo, message: str, *names: str) -> str:
    repo.git("add", "--", *names, env=LITERAL)
    repo.git("commit", "-q", "--no-verify", "-m", message)
    return repo.head()


def git_top(start: Path) -> Path:
    out = run(["git", "rev-parse", "--show-toplevel"], start).stdout.strip()
    return Path(out)


def test_changed_files_by_commit_reads_any_name(git_repo: Repo) -> None:
    base = git_repo.head()
    for name in ODD_NAMES:
        git_repo.write(name, f"content of {name!r}\n")
    first = commit_literal(git_repo, "odd names", *ODD_NAMES)
    git_repo.git("commit", "-q", "--allow-empty", "-m", "empty")
    git_repo.write("plain.dvc", "x\n")
    second = git_repo.commit("plain", "plain.dvc")
    git_repo.git("rm", "-q", "--", ODD_NAMES[0], env=LITERAL)
    git_repo.commit("a deletion lists nothing")
    found = gitrepo.changed_files_by_commit(git_repo.root, base, "HEAD")
    assert found == [(first, sorted(ODD_NAMES)), (second, ["plain.dvc"])]


def test_log_reads_fields_and_files_of_any_name_as_git_has_them(git_repo: Repo) -> None:
    base = git_repo.head()
    for name in ODD_NAMES:
        git_repo.write(name, f"content of {name!r}\n")
    first = commit_literal(git_repo, "odd names", *ODD_NAMES)
    git_repo.git("rm", "-q", "--", ODD_NAMES[0], env=LITERAL)
    git_repo.git("commit", "-q", "--no-verify", "-m", "drop one\x1e\x1f",
                 "-m", "Archivist-Event: dispose\nArchivist-To: cold")
    second = git_repo.head()
    fields = ("%H", "%s", "%(trailers:only,unfold)")

    by_status = list(gitrepo.log(git_repo.root, ["--reverse", f"{base}..HEAD"], fields,
                                 files="status"))
    assert [r.fields for r in by_status] == [
        (first, "odd names", ""),
        (second, "drop one\x1e\x1f", "Archivist-Event: dispose\nArchivist-To: cold\n")]
    assert sorted((f.status, f.path) for f in by_status[0].files) == \
        sorted(("A", n) for n in ODD_NAMES)
    assert [(f.status, f.path) for f in by_status[1].files] == [("D", ODD_NAMES[0])]

    raw = list(gitrepo.log(git_repo.root, ["--reverse", f"{base}..HEAD"], ("%H",),
                           files="raw"))
    blobs = {f.path: f.blob for f in raw[0].files}
    assert blobs == {n: gitrepo.blob_id(git_repo.root, first, n) for n in ODD_NAMES}
    assert [f.blob for f in raw[1].files] == ["0" * 40]  # deleted
    # named on stdin, in the order given; a bad revision is git's error, in one line
    assert [r.fields[0] for r in gitrepo.log(git_repo.root, ["--no-walk=unsorted"], ("%H",),
                                            stdin=[second, first])] == [second, first]
    with pytest.raises(GitError, match="git log failed: bad revision"):
        list(gitrepo.log(git_repo.root, ["no-such-rev"], ("%H",)))


def test_trees_read_blobs_of_any_name(git_repo: Repo) -> None:
    for name in ODD_NAMES:
        git_repo.write(name, f"content of {name!r}\n")
    sha = commit_literal(git_repo, "odd names", *ODD_NAMES)
    git_repo.write(ODD_NAMES[0], "staged change\n")
    git_repo.git("add", "--", ODD_NAMES[0], env=LITERAL)
    index, commit = IndexTree(git_repo.root), CommitTree(git_repo.root, sha)
    try:
        for tree in (index, commit):
            assert set(ODD_NAMES) <= set(tree.paths())
        for name in ODD_NAMES[1:]:
            assert index.read(name) == commit.read(name) == f"content of {name!r}\n".encode()
        assert index.read(ODD_NAMES[0]) == b"staged change\n"
        assert commit.read(ODD_NAMES[0]) == f"content of {ODD_NAMES[0]!r}\n".encode()
    finally:
        index.close()
        commit.close()
    with gitrepo.CatFile(git_repo.root) as cat:  # a spec holding a newline, by its id
        assert cat.read(f"{sha}:{ODD_NAMES[0]}") == f"content of {ODD_NAMES[0]!r}\n".encode()
        assert cat.read(f"{sha}:models/a.bin\nnothing") is None
    assert gitrepo.staged_files(git_repo.root) == [ODD_NAMES[0]]


def test_tracked_named_finds_every_dvc_yaml_and_only_those(git_repo: Repo) -> None:
    names = ["dvc.yaml", "a/dvc.yaml", "a/b/dvc.yaml", "xdvc.yaml", "c/my-dvc.yaml",
             "d/dvc.yaml/inner", "e\ndvc.yaml", "f/\ndvc.yaml", "g h/dvc.yaml"]
    for name in names:
        git_repo.write(name, "stages: {}\n")
    git_repo.git("add", "--", *names, env=LITERAL)
    assert sorted(gitrepo.tracked_named(git_repo.root, "dvc.yaml")) == sorted(
        ["dvc.yaml", "a/dvc.yaml", "a/b/dvc.yaml", "g h/dvc.yaml"])


def test_toplevel_agrees_with_git(git_repo: Repo, tmp_path: Path) -> None:
    sub = git_repo.root / "sub" / "deeper"
    sub.mkdir(parents=True)
    assert gitrepo.toplevel(git_repo.root) == git_top(git_repo.root)
    assert gitrepo.toplevel(sub) == git_top(sub) == git_repo.root.resolve()
    # A linked worktree: its .git is a file; git answers.
    git_repo.git("worktree", "add", "-q", str(tmp_path / "linked"))
    assert gitrepo.toplevel(tmp_path / "linked") == git_top(tmp_path / "linked")
    # Through a symlink: the physical path, as git prints it.
    link = tmp_path / "via-link"
    link.symlink_to(git_repo.root)
    assert gitrepo.toplevel(link) == git_top(link)
    # core.worktree elsewhere: the .git beside the cwd is not the top.
    other = init_repo(tmp_path / "other")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other.git("config", "core.worktree", str(elsewhere))
    assert gitrepo.toplevel(other.root) == git_top(other.root) == elsewhere.resolve()


def test_toplevel_outside_a_repository_and_in_a_bare_one(tmp_path: Path) -> None:
    assert gitrepo.toplevel(tmp_path) is None
    bare = tmp_path / "bare.git"
    run(["git", "init", "-q", "--bare", str(bare)], tmp_path)
    assert gitrepo.toplevel(bare) is None
    fake = tmp_path / "fake"
    (fake / ".git").mkdir(parents=True)  # not a repository: no HEAD, no objects
    assert gitrepo.toplevel(fake) is None


@pytest.mark.parametrize("variable", ["GIT_DIR", "GIT_WORK_TREE"])
def test_toplevel_leaves_relocated_repositories_to_git(git_repo: Repo, tmp_path: Path,
                                                       variable: str,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       ) -> None:
    # GIT_DIR pointing at this repository from another folder: git's answer is the cwd.
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    monkeypatch.setenv("GIT_DIR", str(git_repo.root / ".git"))
    if variable == "GIT_WORK_TREE":
        monkeypatch.setenv("GIT_WORK_TREE", str(elsewhere))
    assert gitrepo.toplevel(elsewhere) == Path(os.path.realpath(elsewhere))
    assert gitrepo.toplevel(elsewhere) == git_top(elsewhere)
