"""Fixtures for releases and signatures: key material made in tmp_path, a released sample.

Keys and certificates are generated with ``cryptography`` for each test; the keyless tests
start the local Sigstore instance (``sigstore_local``) on a free loopback port and stop it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from signing_helpers import DVC_YAML, POLICY_KEY, KeyPair, make_keypair
from sigstore_local import LocalSigstore

# Never let a proxy setting send loopback traffic elsewhere.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"


@pytest.fixture
def keys(tmp_path: Path) -> KeyPair:
    """The release key pair; the private half stays outside the repository."""
    return make_keypair(tmp_path / "secrets")


@pytest.fixture
def sample(dvc_repo, keys: KeyPair):  # type: ignore[no-untyped-def]
    """A repository with models/clf.pkl (named clf, tags complete), a key policy, pushed."""
    repo = dvc_repo
    repo.write("models/clf.pkl", os.urandom(64 * 1024))
    repo.dvc("add", "-q", "models/clf.pkl")
    repo.write("dvc.yaml", DVC_YAML)
    repo.write("archivist.yaml", POLICY_KEY)
    repo.write("keys/release.pub", keys.public_pem)
    repo.commit("model clf and release policy")
    repo.dvc("push", "-q")
    return repo


@pytest.fixture
def sigstore() -> Iterator[LocalSigstore]:
    instance = LocalSigstore().start()
    try:
        yield instance
    finally:
        instance.stop()
