"""The hooks as users install them: the real pre-commit framework, and plain git hooks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from realrepo import BIN, PROJECT, Repo, init_repo, run

POLICY = """\
version: 1
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {type: email}
"""


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook-environment cache for the session, built here (it takes a few seconds), so
    every test that needs it finds it whatever ran before."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    scratch = init_repo(tmp_path_factory.mktemp("hook-env") / "repo")
    scratch.write(".pre-commit-config.yaml", framework_config())
    run([BIN / "pre-commit", "install-hooks"], scratch.root, env={"PRE_COMMIT_HOME": str(home)})
    return home


@pytest.fixture
def governed(dvc_repo: Repo) -> Repo:
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.commit("policy", "archivist.yaml")
    return dvc_repo


def project_head() -> str:
    return run(["git", "rev-parse", "HEAD"], PROJECT).stdout.strip()


def framework_config() -> str:
    """A .pre-commit-config.yaml using both hooks of this checkout at its HEAD."""
    return (f"repos:\n  - repo: {PROJECT}\n    rev: {project_head()}\n    hooks:\n"
            "      - id: archivist-check\n      - id: archivist-require-dvc\n")


def test_pre_commit_framework_blocks_then_accepts(governed: Repo, pre_commit_home: Path) -> None:
    env = {"PRE_COMMIT_HOME": str(pre_commit_home)}
    governed.write(".pre-commit-config.yaml", framework_config())
    run([BIN / "pre-commit", "install"], governed.root, env=env)
    governed.commit(".pre-commit-config.yaml", ".pre-commit-config.yaml")
    before = governed.head()

    governed.write("models/clf.pkl", b"weights")
    governed.dvc("add", "-q", "models/clf.pkl")
    governed.git("add", "models/clf.pkl.dvc", "models/.gitignore")
    refused = governed.git("commit", "-m", "untagged model", env=env, check=False)
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "archivist check (DVC artifact tags)" in output and "Failed" in output
    assert "models/clf.pkl.dvc:2: artifact models/clf.pkl: missing required tag 'owner'" in output
    assert "fix: archivist tag models/clf.pkl owner=..." in output
    assert governed.head() == before

    assert governed.archivist("tag", "models/clf.pkl", "owner=ana@example.com").returncode == 0
    governed.git("add", "models/clf.pkl.dvc")
    accepted = governed.git("commit", "-m", "tagged model", env=env, check=False)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert governed.head() != before

    governed.write("models/raw.bin", b"\x00raw weights")
    governed.git("add", "-f", "models/raw.bin")
    stray = governed.git("commit", "-m", "raw model", env=env, check=False)
    assert stray.returncode != 0
    assert "models/raw.bin: committed straight to git" in stray.stdout + stray.stderr


def test_hook_environment_is_light(pre_commit_home: Path) -> None:
    """The framework installs only archivist's base dependencies for the hook."""
    envs = list(pre_commit_home.glob("repo*/py_env-*"))
    assert envs, "pre-commit install-hooks built no Python environment"
    site = next(envs[0].glob("lib/python*/site-packages"))
    names = {p.name.split("-")[0].lower() for p in site.iterdir()}
    assert "archivist" in names and "yaml" in names
    assert not names & {"dvc", "sigstore", "model_signing", "git"}


def test_plain_git_hook_reads_the_index(governed: Repo) -> None:
    hook = governed.root / ".git" / "hooks" / "pre-commit"
    shutil.copy(PROJECT / "hooks" / "pre-commit", hook)
    governed.write("models/clf.pkl", b"weights")
    governed.dvc("add", "-q", "models/clf.pkl")
    governed.git("add", "models/clf.pkl.dvc", "models/.gitignore")
    before = governed.head()
    # Tagged on disk after staging: the commit would still record the untagged file.
    governed.archivist("tag", "models/clf.pkl", "owner=ana@example.com")
    refused = governed.git("commit", "-m", "untagged in the index", check=False)
    assert refused.returncode != 0
    assert "missing required tag 'owner'" in refused.stdout + refused.stderr
    assert governed.head() == before
    governed.git("add", "models/clf.pkl.dvc")
    assert governed.git("commit", "-m", "tagged", check=False).returncode == 0


def test_plain_git_hook_refuses_a_stray_file_and_an_untagged_model(governed: Repo) -> None:
    """Both gates run: one attempt names the model file committed to git and the untagged
    artifact; the commit records nothing until both are fixed."""
    shutil.copy(PROJECT / "hooks" / "pre-commit", governed.root / ".git" / "hooks" / "pre-commit")
    governed.write("models/raw.bin", b"\x00raw weights")
    governed.git("add", "-f", "models/raw.bin")
    governed.write("models/clf.pkl", b"weights")
    governed.dvc("add", "-q", "models/clf.pkl")
    governed.git("add", "models/clf.pkl.dvc", "models/.gitignore")
    before = governed.head()
    refused = governed.git("commit", "-m", "raw model and an untagged one", check=False)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "models/raw.bin: committed straight to git" in output
    assert "git rm --cached -- models/raw.bin && dvc add models/raw.bin" in output
    assert "missing required tag 'owner'" in output
    assert governed.head() == before
    # The model tagged: the stray file alone still refuses the commit.
    governed.archivist("tag", "models/clf.pkl", "owner=ana@example.com")
    governed.git("add", "models/clf.pkl.dvc")
    again = governed.git("commit", "-m", "raw model", check=False)
    assert again.returncode != 0
    assert "committed straight to git" in again.stdout + again.stderr
    assert "missing required tag" not in again.stdout + again.stderr
    assert governed.head() == before
    # Moved to DVC as the fix line says: the commit goes in, without the raw bytes in git.
    governed.git("rm", "-q", "--cached", "--", "models/raw.bin")
    governed.dvc("add", "-q", "models/raw.bin")
    governed.archivist("tag", "models/raw.bin", "owner=ana@example.com")
    governed.git("add", "models/raw.bin.dvc", "models/.gitignore")
    done = governed.git("commit", "-m", "models through DVC", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    tracked = governed.git("ls-tree", "-r", "--name-only", "HEAD").stdout.split()
    assert "models/raw.bin.dvc" in tracked and "models/raw.bin" not in tracked


def test_plain_pre_push_hook_checks_every_pushed_commit(governed: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    run(["git", "init", "-q", "--bare", str(remote)], tmp_path)
    governed.git("remote", "add", "origin", str(remote))
    governed.git("push", "-q", "origin", "main")
    shutil.copy(PROJECT / "hooks" / "pre-push", governed.root / ".git" / "hooks" / "pre-push")
    governed.write("models/clf.pkl", b"weights")
    governed.dvc("add", "-q", "models/clf.pkl")
    governed.commit("untagged, hook skipped")
    refused = governed.git("push", "-q", "origin", "main", check=False)
    assert refused.returncode != 0
    assert "missing required tag 'owner'" in refused.stdout + refused.stderr
    governed.archivist("tag", "models/clf.pkl", "owner=ana@example.com")
    governed.commit("tag it")
    # The untagged commit is still in the pushed range: history must be fixed, not patched.
    assert governed.git("push", "-q", "origin", "main", check=False).returncode != 0
    governed.git("reset", "-q", "--soft", "HEAD~2")
    governed.commit("tagged model")
    assert governed.git("push", "-q", "origin", "main", check=False).returncode == 0
