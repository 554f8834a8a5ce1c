"""The hooks as users install them: the real pre-commit framework, and plain git hooks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from realrepo import BIN, PROJECT, Repo, run

POLICY = """\
version: 1
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {type: email}
"""


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook-environment cache for the session: installing it takes a few seconds."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def governed(dvc_repo: Repo) -> Repo:
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.commit("policy", "archivist.yaml")
    return dvc_repo


def project_head() -> str:
    return run(["git", "rev-parse", "HEAD"], PROJECT).stdout.strip()


def test_pre_commit_framework_blocks_then_accepts(governed: Repo, pre_commit_home: Path) -> None:
    env = {"PRE_COMMIT_HOME": str(pre_commit_home)}
    governed.write(".pre-commit-config.yaml",
                   f"repos:\n  - repo: {PROJECT}\n    rev: {project_head()}\n    hooks:\n"
                   "      - id: archivist-check\n      - id: archivist-require-dvc\n")
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
    if not envs:
        pytest.skip("runs after the pre-commit test has built the hook environment")
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
