"""A repository whose history ends in a real disposal: a signed release, a folder, a hold.

History (author and committer dates; every archivist run dated as its day):

    2019-01-01  policy (class standard with its basis), dvc init, remotes, the release key
    2020-01-10  models/clf.pkl v1 and data/ v1 {a, b, c}, pushed
    2020-02-01  archivist release clf v1.0.0 --key (signed, tagged)
    2021-01-10  clf v2 and data/ v2 {a, d}, pushed        v1's clocks start: due 2024-07-08
    2022-01-01  archivist archive --apply                 clf v1, data v1 -> archive
    2022-06-01  clf v3, pushed                            v2's clock starts
    2023-03-01  hold on clf v2 (legal hold LH-114 until 2030-12-31)
    2024-08-01  archivist dispose --apply                 clf v1 and data v1 disposed of
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from realrepo import Repo, run

from .auditrepo import RELEASE_DVC_YAML, make_key, when

BASIS = "HGB 257: commercial records, 3 years"
POLICY = f"""\
version: 1
branch: main
remotes: {{active: storage, archive: archive}}
tags:
  - match: {{paths: ["models/**"]}}
    require:
      owner: {{pattern: "^[^@ ]+@[^@ ]+$"}}
signing:
  method: key
  public_keys: [keys/release.pub]
retention:
  default: standard
  classes:
    standard: {{active: 180d, archive: 3y, basis: "{BASIS}"}}
"""
HOLD = ('  holds:\n    - {{path: models/clf.pkl, version: "{version}", '
        'reason: "legal hold LH-114", until: 2030-12-31}}\n')
CLF = [b"\0weights one " * 300, b"\0weights two " * 310, b"\0weights three " * 320]
DATA = [{"a": b"\0a" * 900, "b": b"\0bb" * 700, "c": b"\0ccc" * 500},
        {"a": b"\0a" * 900, "d": b"\0dddd" * 400}]
AS_OF = "2024-09-01"


def _commit(repo: Repo, message: str, day: str, *paths: str) -> str:
    repo.git("add", "--", *paths)
    run(["git", "commit", "-q", "--no-verify", "-m", message], repo.root, env=when(day))
    return repo.head()


def _version(repo: Repo, rel: str, content: bytes | dict[str, bytes], day: str) -> str:
    path = repo.root / rel
    if isinstance(content, dict):
        if path.exists():
            for old in sorted(path.rglob("*"), reverse=True):
                old.unlink() if old.is_file() else old.rmdir()
        for name, data in content.items():
            repo.write(f"{rel}/{name}", data)
    else:
        repo.write(rel, content)
    repo.dvc("add", "-q", rel)
    parent = str(Path(rel).parent)
    return _commit(repo, f"{rel} on {day}", day, f"{rel}.dvc",
                   f"{parent}/.gitignore" if parent != "." else ".gitignore")


def dvc_out(repo: Repo, rev: str, dvc_file: str) -> dict[str, Any]:
    """The ``outs`` entry DVC wrote in ``dvc_file`` at ``rev``."""
    return yaml.safe_load(repo.git("show", f"{rev}:{dvc_file}").stdout)["outs"][0]


def build(top: Path) -> dict[str, Any]:
    """The repository in ``top``/repo, remotes in ``top``/remotes; what the tests compare
    with, read by the test's own means before the disposal."""
    root = top / "repo"
    root.mkdir(parents=True)
    repo = Repo(root)
    repo.git("init", "-q", "-b", "main")
    repo.git("config", "user.name", "archivist bot")
    repo.git("config", "user.email", "bot@example.com")
    repo.git("config", "commit.gpgsign", "false")
    repo.dvc("init", "-q")
    for name in ("storage", "archive"):
        (top / "remotes" / name).mkdir(parents=True)
    repo.dvc("remote", "add", "-d", "storage", "../remotes/storage")
    repo.dvc("remote", "add", "archive", "../remotes/archive")
    private, public = make_key(top / "secrets", "release")
    repo.write("keys/release.pub", public)
    repo.write("archivist.yaml", POLICY)
    repo.write("dvc.yaml", RELEASE_DVC_YAML)
    _commit(repo, "policy, DVC and the release key", "2019-01-01", ".")

    first = _version(repo, "models/clf.pkl", CLF[0], "2020-01-10")
    data_first = _version(repo, "data", DATA[0], "2020-01-10")
    repo.dvc("push", "-q")
    proc = repo.archivist("release", "clf", "v1.0.0", "--key", private,
                          env=when("2020-02-01"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _version(repo, "models/clf.pkl", CLF[1], "2021-01-10")
    second = _version(repo, "data", DATA[1], "2021-01-10")
    repo.dvc("push", "-q")
    proc = repo.archivist("archive", "--apply", "--as-of", "2022-01-01", env=when("2022-01-01"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    archived_in = repo.head()
    _version(repo, "models/clf.pkl", CLF[2], "2022-06-01")
    repo.dvc("push", "-q")
    clf_v2 = "md5:" + dvc_out(repo, second, "models/clf.pkl.dvc")["md5"]
    repo.write("archivist.yaml", POLICY + HOLD.format(version=clf_v2))
    _commit(repo, "legal hold on the classifier's v2", "2023-03-01", "archivist.yaml")

    clf = dvc_out(repo, first, "models/clf.pkl.dvc")
    data = dvc_out(repo, data_first, "data.dvc")
    manifest = top / "remotes" / "archive" / "files" / "md5" / data["md5"][:2] / data["md5"][2:]
    listing = json.loads(manifest.read_bytes())  # the folder's object listing, as DVC wrote it
    proc = repo.archivist("dispose", "--apply", "--as-of", "2024-08-01", env=when("2024-08-01"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"first": first, "archived_in": archived_in, "dispose": repo.head(),
            "clf": clf, "data": data, "listing": listing, "clf_v2": clf_v2}


def event_of(repo: Repo, commit: str) -> tuple[str, dict[str, Any]]:
    """The event file a ledger commit added, and its content."""
    name = repo.git("show", "--name-only", "--diff-filter=A", "--format=", commit).stdout.split()[0]
    return name, json.loads(repo.git("show", f"{commit}:{name}").stdout)
