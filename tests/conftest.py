"""Fixtures shared by every test: real git repositories, real DVC.

Area-specific fixtures (the S3 server, the local Sigstore instance...) live in the
conftest.py of each test folder; helpers live in realrepo.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from realrepo import PROJECT, Repo, init_repo


@pytest.fixture
def git_repo(tmp_path: Path) -> Repo:
    """An empty git repository on branch main with one initial commit."""
    repo = init_repo(tmp_path / "repo")
    repo.commit("initial commit")
    return repo


@pytest.fixture
def dvc_repo(git_repo: Repo, tmp_path: Path) -> Repo:
    """``git_repo`` after ``dvc init`` with two local remotes: storage (default), archive."""
    git_repo.dvc("init", "-q")
    for name in ("storage", "archive"):
        (tmp_path / "remotes" / name).mkdir(parents=True)
        git_repo.dvc("remote", "add", name, str(tmp_path / "remotes" / name))
    git_repo.dvc("remote", "default", "storage")
    git_repo.dvc("config", "core.autostage", "true")
    git_repo.commit("dvc init")
    return git_repo


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT
