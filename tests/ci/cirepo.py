"""Helpers for the CI tests: a bare origin, clones of it, a released-model sample.

Everything real: ``git init --bare`` for the origin, ``git clone`` for each runner or
person, ``dvc init/add/push`` to a local DVC remote, keys made with ``cryptography``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from realrepo import PROJECT, Repo, run

sys.path.insert(0, str(PROJECT / "tests" / "signing"))

from signing_helpers import DVC_YAML, KeyPair, make_keypair

POLICY = """\
version: 1
branch: main
remotes: {active: storage, archive: archive}
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {pattern: "^[^@ ]+@[^@ ]+$"}
retention:
  default: standard
  classes:
    standard: {active: 30d, archive: 1y}
signing:
  method: key
  public_keys: [keys/release.pub]
"""

__all__ = ["DVC_YAML", "POLICY", "KeyPair", "Sample", "clone", "make_sample"]


def clone(origin: Path, where: Path, name: str = "Test Author",
          email: str = "author@example.com") -> Repo:
    """A working clone of ``origin`` on main, with its own identity."""
    run(["git", "clone", "-q", "-b", "main", str(origin), str(where)], where.parent)
    repo = Repo(where)
    repo.git("config", "user.name", name)
    repo.git("config", "user.email", email)
    repo.git("config", "commit.gpgsign", "false")
    return repo


@dataclass
class Sample:
    """A bare origin whose main holds a DVC-tracked model (clf), its policy and public key;
    the model's bytes are in the ``storage`` DVC remote."""

    origin: Path
    keys: KeyPair
    remotes: Path

    def clone(self, where: Path, name: str = "Test Author",
              email: str = "author@example.com") -> Repo:
        return clone(self.origin, where, name, email)


def make_sample(tmp: Path, policy: str = POLICY) -> Sample:
    origin = tmp / "origin.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], tmp)
    keys = make_keypair(tmp / "secrets")
    remotes = tmp / "remotes"
    seed = Repo(tmp / "seed")
    seed.root.mkdir()
    seed.git("init", "-q", "-b", "main")
    seed.git("config", "user.name", "Ana Lima")
    seed.git("config", "user.email", "ana@example.com")
    seed.git("config", "commit.gpgsign", "false")
    seed.dvc("init", "-q")
    for name in ("storage", "archive"):
        (remotes / name).mkdir(parents=True)
        seed.dvc("remote", "add", name, str(remotes / name))
    seed.dvc("remote", "default", "storage")
    seed.write("models/clf.pkl", os.urandom(32 * 1024))
    seed.dvc("add", "-q", "models/clf.pkl")
    seed.write("dvc.yaml", DVC_YAML)
    seed.write("archivist.yaml", policy)
    seed.write("keys/release.pub", keys.public_pem)
    seed.write("README.md", "sample\n")
    seed.commit("model clf and its policy")
    seed.dvc("push", "-q")
    seed.git("push", "-q", str(origin), "main")
    return Sample(origin, keys, remotes)
