"""File names with a newline (``models/a.bin\\nx``, which DVC tracks) get no pass.

Every entry point of the gate reads git's listings NUL-separated and matches globs across
any character: an untagged artifact, or a model committed straight to git, whose name holds
a newline is caught like any other.
"""

from __future__ import annotations

import shutil

import pytest

from realrepo import BIN, PROJECT, Repo, run

POLICY = """\
version: 1
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {type: email}
"""

OUTPUT = "models/a.bin\nx"
DVC_FILE = OUTPUT + ".dvc"


@pytest.fixture
def governed(dvc_repo: Repo) -> Repo:
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.commit("policy", "archivist.yaml")
    return dvc_repo


def add_newline_model(repo: Repo) -> None:
    """``dvc add`` of an output whose name holds a newline; stage its .dvc file."""
    repo.write(OUTPUT, b"weights")
    repo.dvc("add", "-q", OUTPUT)
    # DVC's own answer: it tracks the output under that very name.
    assert repo.read(DVC_FILE).rstrip().endswith('path: "a.bin\\nx"')
    repo.git("add", "--", DVC_FILE)


def test_staged_catches_an_untagged_newline_name(governed: Repo) -> None:
    add_newline_model(governed)
    proc = governed.archivist("check", "--staged")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "missing required tag 'owner'" in proc.stdout
    assert "a.bin" in proc.stdout
    # Tagged and staged, the same name passes: the failure was about the tag.
    assert governed.archivist("tag", OUTPUT, "owner=ana@example.com").returncode == 0
    governed.git("add", "--", DVC_FILE)
    assert governed.archivist("check", "--staged").returncode == 0


def test_given_file_catches_an_untagged_newline_name(governed: Repo) -> None:
    add_newline_model(governed)
    proc = governed.archivist("check", DVC_FILE)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "missing required tag 'owner'" in proc.stdout


def test_range_catches_an_untagged_newline_name(governed: Repo) -> None:
    base = governed.head()
    add_newline_model(governed)
    bad = governed.commit("untagged model with a newline in its name", DVC_FILE)
    proc = governed.archivist("check", "--from-ref", base, "--to-ref", "HEAD")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"commit {bad[:10]}: ")
    assert "missing required tag 'owner'" in proc.stdout


def test_require_dvc_catches_a_newline_name_in_git(governed: Repo) -> None:
    governed.write("models/raw\n.bin", b"\x00weights")
    governed.git("add", "-f", "--", "models/raw\n.bin")
    proc = governed.archivist("require-dvc", "--staged")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "committed straight to git" in proc.stdout
    base = governed.head()
    governed.commit("raw model in git", "models/raw\n.bin")
    ranged = governed.archivist("check", "--from-ref", base)
    assert ranged.returncode == 1 and "committed straight to git" in ranged.stdout


def test_plain_hook_refuses_the_commit(governed: Repo) -> None:
    shutil.copy(PROJECT / "hooks" / "pre-commit", governed.root / ".git/hooks/pre-commit")
    add_newline_model(governed)
    before = governed.head()
    refused = governed.git("commit", "-m", "untagged", check=False)
    assert refused.returncode != 0
    assert "missing required tag 'owner'" in refused.stdout + refused.stderr
    assert governed.head() == before
    assert governed.git("ls-tree", "-r", "--name-only", "-z", "HEAD").stdout.count("a.bin") == 0


def test_pre_commit_framework_refuses_the_commit(governed: Repo, tmp_path_factory) -> None:
    home = tmp_path_factory.mktemp("pre-commit-home")
    env = {"PRE_COMMIT_HOME": str(home)}
    head = run(["git", "rev-parse", "HEAD"], PROJECT).stdout.strip()
    governed.write(".pre-commit-config.yaml",
                   f"repos:\n  - repo: {PROJECT}\n    rev: {head}\n    hooks:\n"
                   "      - id: archivist-check\n")
    run([BIN / "pre-commit", "install"], governed.root, env=env)
    governed.commit("pre-commit config", ".pre-commit-config.yaml")
    add_newline_model(governed)
    before = governed.head()
    refused = governed.git("commit", "-m", "untagged", env=env, check=False)
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "missing required tag 'owner'" in refused.stdout + refused.stderr
    assert governed.head() == before
