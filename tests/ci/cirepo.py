"""Helpers for the CI tests: a bare origin, clones of it, a team's repository with a release.

Everything real: ``git init --bare`` for the origin, ``git clone`` for each runner or
person, ``dvc init/add/push`` to a local DVC remote, keys made with ``cryptography``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from realrepo import BIN, PROJECT, Repo, run

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
    standard: {active: 30d, archive: 10y}
signing:
  method: key
  public_keys: [keys/release.pub]
"""

__all__ = ["DVC_YAML", "POLICY", "CISample", "KeyPair", "clone", "make_ci_sample",
           "s3_remotes"]


def clone(origin: Path, where: Path, name: str = "Test Author",
          email: str = "author@example.com") -> Repo:
    """A working clone of ``origin`` on main, with its own identity."""
    run(["git", "clone", "-q", "-b", "main", str(origin), str(where)], where.parent)
    repo = Repo(where)
    repo.git("config", "user.name", name)
    repo.git("config", "user.email", email)
    repo.git("config", "commit.gpgsign", "false")
    return repo


# Remotes by a path relative to .dvc/ (DVC resolves it from the config file): every clone
# two levels below a sample's folder finds the sample's own remotes, so a sample can be
# copied whole for each test.
RELATIVE_REMOTES = """\
[core]
    remote = storage
    autostage = true
['remote "storage"']
    url = ../../../remotes/storage
['remote "archive"']
    url = ../../../remotes/archive
"""


def dated(day: str, name: str, email: str) -> dict[str, str]:
    when = f"{day}T12:00:00+00:00"
    return {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email}


@dataclass
class CISample:
    """A team's repository as CI finds it, in ``root``: a bare origin whose main holds

        2023-01-02  Ana  policy, dvc init, remotes, models/clf.pkl v1 (tagged)
        2023-03-01  Bob  models/clf.pkl v2 (v1's clock starts: archive due 2023-03-31)
        (now)       bot  archivist release clf v1.0.0 (key-signed), tag clf@v1.0.0

    and both DVC remotes (v1 and v2 in storage, archive empty). Clones go in ``root/work``.
    """

    root: Path
    keys: KeyPair
    v1: str  # md5 of clf v1

    @property
    def origin(self) -> Path:
        return self.root / "origin.git"

    @property
    def remotes(self) -> Path:
        return self.root / "remotes"

    def clone(self, name: str, person: str = "Bob Stone", email: str = "bob@example.com",
              ) -> Repo:
        (self.root / "work").mkdir(exist_ok=True)
        return clone(self.origin, self.root / "work" / name, person, email)

    def copy(self, dest: Path) -> CISample:
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.origin, dest / "origin.git", symlinks=True)
        shutil.copytree(self.remotes, dest / "remotes", symlinks=True)
        return CISample(dest, self.keys, self.v1)

    def object_path(self, remote: str, md5: str) -> Path:
        return self.remotes / remote / "files" / "md5" / md5[:2] / md5[2:]


def s3_remotes(endpoint: str, prefix: str) -> str:
    """DVC remotes on an S3 server; credentials are the job's (AWS_* variables)."""
    return "".join(
        f"['remote \"{name}\"']\n    url = s3://{name}/{prefix}\n    endpointurl = {endpoint}\n"
        for name in ("storage", "archive")) + "[core]\n    remote = storage\n    autostage = true\n"


def make_ci_sample(root: Path, dvc_config: str = RELATIVE_REMOTES,
                   dvc_env: dict[str, str] | None = None) -> CISample:
    """The sample, with local DVC remotes, or those ``dvc_config`` names (pushed to with
    ``dvc_env``: an S3 server's credentials)."""
    root.mkdir(parents=True, exist_ok=True)
    run(["git", "init", "-q", "--bare", "-b", "main", str(root / "origin.git")], root)
    keys = make_keypair(root / "secrets")
    for name in ("storage", "archive"):
        (root / "remotes" / name).mkdir(parents=True)
    (root / "work").mkdir()
    seed = Repo(root / "work" / "seed")
    seed.root.mkdir()
    seed.git("init", "-q", "-b", "main")
    seed.git("config", "commit.gpgsign", "false")
    seed.dvc("init", "-q")
    seed.write(".dvc/config", dvc_config)
    v1 = os.urandom(16 * 1024)
    seed.write("models/clf.pkl", v1)
    seed.dvc("add", "-q", "models/clf.pkl")
    seed.write("dvc.yaml", DVC_YAML)
    seed.write("archivist.yaml", POLICY)
    seed.write("keys/release.pub", keys.public_pem)
    seed.write("README.md", "models\n")
    seed.commit("models: clf v1 and its policy", env=dated("2023-01-02", "Ana Lima",
                                                           "ana@example.com"))
    run([BIN / "dvc", "push", "-q"], seed.root, env=dvc_env)
    seed.write("models/clf.pkl", os.urandom(16 * 1024))
    seed.dvc("add", "-q", "models/clf.pkl")
    seed.commit("models: clf v2", env=dated("2023-03-01", "Bob Stone", "bob@example.com"))
    run([BIN / "dvc", "push", "-q"], seed.root, env=dvc_env)
    seed.git("config", "user.name", "archivist release")
    seed.git("config", "user.email", "bot@example.com")
    proc = seed.archivist("release", "clf", "v1.0.0", "--key", keys.private, env=dvc_env)
    assert proc.returncode == 0, proc.stderr
    seed.git("push", "-q", str(root / "origin.git"), "main", "--tags")
    shutil.rmtree(seed.root)
    return CISample(root, keys, hashlib.md5(v1).hexdigest())
