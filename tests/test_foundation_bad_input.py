"""Bad input: one clear line, exit 1 or 2, no traceback, and no file changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from realrepo import Repo

POLICY = """\
version: 1
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {}
"""


@pytest.fixture
def repo(git_repo: Repo) -> Repo:
    git_repo.write("archivist.yaml", POLICY)
    git_repo.write("models/good.pkl.dvc",
                   "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 1\n  hash: md5\n"
                   "  path: good.pkl\n  meta: {owner: ana@example.com}\n")
    git_repo.commit("policy and a model")
    return git_repo


def snapshot(root: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        if ".git" in path.relative_to(root).parts or path.is_symlink() or not path.is_file():
            continue
        files[str(path.relative_to(root))] = path.read_bytes()
    return files


def assert_one_line_error(proc, code: int, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("rel", "content", "fragments"),
    [
        ("models/bad.pkl.dvc", "outs:\n- md5: abc\n  path: [x\n",
         ["models/bad.pkl.dvc:3: malformed YAML"]),
        ("dvc.yaml", "stages:\n  train:\n    cmd: x\n   outs: [a]\n",
         ["dvc.yaml:4: malformed YAML"]),
        ("archivist.yaml", "version: 1\ntags: [\n", ["archivist.yaml:2: malformed YAML"]),
        ("models/bad.pkl.dvc", b"outs:\n- path: caf\xe9.pkl\n", ["models/bad.pkl.dvc: not UTF-8"]),
        ("models/bad.pkl.dvc", "outs:\n- md5: abc\n  path: ../../../etc/passwd\n",
         ["models/bad.pkl.dvc:2: output path '../../../etc/passwd' escapes the repository"]),
        ("archivist.yaml", POLICY.replace("require:", "requires:"),
         ["archivist.yaml:4: unknown key 'requires'", "did you mean 'require'?"]),
        ("archivist.yaml", POLICY.replace("owner: {}", "owner: {pattern: '(['}"),
         ["archivist.yaml:5:", "is not a valid regular expression"]),
    ],
)
def test_bad_files(repo: Repo, rel: str, content: str | bytes, fragments: list[str]) -> None:
    repo.write(rel, content)
    before = snapshot(repo.root)
    proc = repo.archivist("check", "--all")
    assert_one_line_error(proc, 2, *fragments)
    tagged = repo.archivist("tag", "models/good.pkl", "owner=bo@example.com")
    assert tagged.returncode == 2 and "Traceback" not in tagged.stderr
    assert snapshot(repo.root) == before


def test_alias_bomb_in_a_dvc_file(repo: Repo) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines.append("outs:\n- md5: abc\n  path: bomb.pkl\n  meta: {owner: *a9}")
    repo.write("models/bomb.pkl.dvc", "\n".join(lines) + "\n")
    proc = repo.archivist("check", "--all")
    assert_one_line_error(proc, 2, "models/bomb.pkl.dvc: YAML aliases expand to more than")


def test_dvc_file_symlinked_out_of_the_repo(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.dvc"
    outside.write_text("outs:\n- md5: abc\n  path: x.pkl\n")
    os.symlink(outside, repo.root / "models" / "link.pkl.dvc")
    proc = repo.archivist("check", "--all")
    assert_one_line_error(proc, 2, "models/link.pkl.dvc: is a symlink to",
                          "outside the repository")


def test_committed_symlink_dvc_file_in_a_range(repo: Repo, tmp_path: Path) -> None:
    base = repo.head()
    os.symlink("/etc/hostname", repo.root / "models" / "link.pkl.dvc")
    repo.commit("a symlinked dvc file")
    proc = repo.archivist("check", "--from-ref", base)
    assert_one_line_error(proc, 2, "models/link.pkl.dvc: is a symlink in commit")


def test_missing_policy(git_repo: Repo) -> None:
    proc = git_repo.archivist("check")
    assert_one_line_error(proc, 2, "no policy", "archivist init")


def test_tag_refuses_what_dvc_does_not_track(repo: Repo) -> None:
    repo.write("models/loose.pkl", b"x")
    before = snapshot(repo.root)
    proc = repo.archivist("tag", "models/loose.pkl", "owner=a@b.c")
    assert_one_line_error(proc, 2, "models/loose.pkl is not tracked by DVC",
                          "dvc add models/loose.pkl")
    outside = repo.archivist("tag", "/etc/passwd", "owner=a@b.c")
    assert_one_line_error(outside, 2, "not tracked by DVC")
    bad_pair = repo.archivist("tag", "models/good.pkl", "owner")
    assert_one_line_error(bad_pair, 2, "'owner' is not KEY=VALUE")
    assert snapshot(repo.root) == before


def test_check_paths_outside_the_repository(repo: Repo, tmp_path: Path) -> None:
    proc = repo.archivist("check", str(tmp_path))
    assert_one_line_error(proc, 2, "is outside the repository")
