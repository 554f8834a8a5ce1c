"""Fixtures for the audit tests: the base repository (auditrepo.py says its history),
built once per session and copied for each test that changes it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .auditrepo import AuditRepo, build_base


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
