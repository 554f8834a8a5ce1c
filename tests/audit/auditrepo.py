"""Helpers for the audit tests: a real DVC repository with dated history, and commits by date.

History of the base repository (dates are author and committer dates):

    2023-01-02  Ana    policy, dvc init, remotes storage and archive
    2023-01-10  Ana    models/clf.pkl v1, tagged (owner, retention)
    2023-02-01  Bob    models/clf.pkl v2
    2023-03-01  Bob    owner of models/clf.pkl: ana -> bob
    2023-03-15  Eve    models/untagged.pkl, no tags, committed with --no-verify
    2023-09-01  bot    archivist archive --apply: clf v1 storage -> archive
    2023-10-01  Carol  policy: standard active 180d -> 90d, hold on models/legal/** removed
    2023-11-01  Bob    models/clf.pkl v3 (v2's clock starts: archive due 2024-01-30)
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path
from typing import Any

from realrepo import Repo, archivist, run

AS_OF = "2024-06-01"

POLICY = """\
version: 1
branch: main
remotes: {active: storage, archive: archive}
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {type: email}
      retention: {enum: [experiment, standard]}
retention:
  default: standard
  classes:
    experiment: {active: 30d, archive: 1y}
    standard: {active: 180d, archive: 3y}
  holds:
    - {path: "models/legal/**", reason: "legal hold LH-114", until: 2030-12-31}
"""

PEOPLE = {
    "ana": ("Ana Lima", "ana@example.com"),
    "bob": ("Bob Stone", "bob@example.com"),
    "eve": ("Eve Park", "eve@example.com"),
    "carol": ("Carol Diaz", "carol@example.com"),
    "bot": ("archivist bot", "bot@example.com"),
}


def when(day: str, who: str = "ana") -> dict[str, str]:
    """Environment for a commit made by ``who`` on ``day`` (noon UTC)."""
    name, email = PEOPLE[who]
    stamp = f"{day}T12:00:00+00:00"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp,
            "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}


class AuditRepo(Repo):
    """A Repo with the helpers these tests share."""

    def commit_as(self, message: str, day: str, who: str, *paths: str) -> str:
        return self.commit(message, *paths, env=when(day, who))

    def audit(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return archivist("audit", "--as-of", AS_OF, *args, cwd=self.root, env=env)

    def audit_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        proc = self.audit("--json", *args)
        assert proc.returncode in (0, 1), proc.stderr
        return proc.returncode, json.loads(proc.stdout)

    def sha(self, rev: str) -> str:
        return self.git("rev-parse", rev).stdout.strip()


def build_base(top: Path) -> None:
    """The base repository in ``top``/repo, its remotes in ``top``/remotes."""
    root = top / "repo"
    root.mkdir()
    for name in ("storage", "archive"):
        (top / "remotes" / name).mkdir(parents=True)
    repo = AuditRepo(root)
    repo.git("init", "-q", "-b", "main")
    repo.git("config", "user.name", "archivist bot")
    repo.git("config", "user.email", "bot@example.com")
    repo.git("config", "commit.gpgsign", "false")
    repo.dvc("init", "-q")
    # relative URLs: a copy of the whole folder keeps working remotes of its own
    repo.dvc("remote", "add", "-d", "storage", "../remotes/storage")
    repo.dvc("remote", "add", "archive", "../remotes/archive")
    repo.write("archivist.yaml", POLICY)
    repo.commit_as("policy and DVC setup", "2023-01-02", "ana")

    repo.write("models/clf.pkl", "weights v1\n")
    repo.dvc("add", "-q", "models/clf.pkl")
    proc = repo.archivist("tag", "models/clf.pkl", "owner=ana@example.com", "retention=standard")
    assert proc.returncode == 0, proc.stderr
    repo.dvc("push", "-q")
    repo.commit_as("classifier v1", "2023-01-10", "ana")

    repo.write("models/clf.pkl", "weights v2, somewhat longer\n")
    repo.dvc("add", "-q", "models/clf.pkl")
    repo.dvc("push", "-q")
    repo.commit_as("classifier v2", "2023-02-01", "bob")

    proc = repo.archivist("tag", "models/clf.pkl", "owner=bob@example.com")
    assert proc.returncode == 0, proc.stderr
    repo.commit_as("bob owns the classifier", "2023-03-01", "bob")

    repo.write("models/untagged.pkl", "no tags here\n")
    repo.dvc("add", "-q", "models/untagged.pkl")
    repo.dvc("push", "-q")
    repo.commit_as("quick experiment", "2023-03-15", "eve")

    proc = archivist("archive", "--apply", "--as-of", "2023-09-01", cwd=root,
                     env=when("2023-09-01", "bot"))
    assert proc.returncode == 0, proc.stdout + proc.stderr

    repo.write("archivist.yaml", POLICY.replace("active: 180d", "active: 90d").replace(
        '  holds:\n    - {path: "models/legal/**", reason: "legal hold LH-114", '
        "until: 2030-12-31}\n", "  holds: []\n"))
    repo.commit_as("cheaper retention", "2023-10-01", "carol")

    repo.write("models/clf.pkl", "weights v3, the longest of them all\n")
    repo.dvc("add", "-q", "models/clf.pkl")
    repo.dvc("push", "-q")
    repo.commit_as("classifier v3", "2023-11-01", "bob")


def findings(report: dict[str, Any], *kinds: str) -> list[dict[str, Any]]:
    """The report's findings of these kinds (all when none given)."""
    return [f for f in report["findings"] if not kinds or f["kind"] in kinds]


def kinds_and_subjects(report: dict[str, Any], *kinds: str) -> set[tuple[str, str]]:
    return {(f["kind"], f["subject"]) for f in findings(report, *kinds)}


def version_at(repo: Repo, rev: str, dvc_file: str = "models/clf.pkl.dvc") -> str:
    """The version label (md5:<hex>) a .dvc file records at ``rev``, as DVC wrote it."""
    import yaml

    data = yaml.safe_load(repo.git("show", f"{rev}:{dvc_file}").stdout)
    return "md5:" + data["outs"][0]["md5"]


def remote_object(repo: Repo, remote: str, version: str) -> Path:
    """Where a local DVC remote next to the repository keeps a version's object."""
    digest = version.removeprefix("md5:")
    return repo.root.parent / "remotes" / remote / "files" / "md5" / digest[:2] / digest[2:]


def forge_event(repo: Repo, kind: str, entries: list[dict[str, Any]], day: str, who: str,
                *, extra_trailers: tuple[tuple[str, str], ...] = (), also: tuple[str, ...] = (),
                ) -> str:
    """Commit, as a person, an event file and trailers exactly as archivist writes them.

    The record agrees with itself in every way the ledger can show; ``also`` lists other
    paths (already written) that go into the same commit. Returns the commit.
    """
    from archivist.ledger import EVENTS_DIR, Event, EventEntry

    event = Event(kind=kind, subject=f"{kind}: {len(entries)} version(s)",
                  entries=tuple(EventEntry(
                      e["artifact"], e["version"], e.get("from"), e.get("to"),
                      {k: v for k, v in e.items()
                       if k not in ("artifact", "version", "from", "to")}) for e in entries),
                  extra_trailers=extra_trailers)
    name, email = PEOPLE[who]
    at = dt.datetime.fromisoformat(f"{day}T12:00:00+00:00")
    rel = f"{EVENTS_DIR}/{at.strftime('%Y%m%dT%H%M%SZ')}-{kind}-{secrets.token_hex(4)}.json"
    repo.write(rel, json.dumps(event.document(at, f"{name} <{email}>"), indent=2) + "\n")
    repo.git("add", "--", rel, *also)
    run(["git", "commit", "-q", "--no-verify", "-F", "-", "--", rel, *also], repo.root,
        env=when(day, who), input=event.message())
    return repo.git("rev-parse", "HEAD").stdout.strip()


RELEASE_POLICY = """\
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
    standard: {active: 180d, archive: 3y}
signing:
  method: key
  public_keys: [keys/release.pub]
"""

RELEASE_DVC_YAML = """\
artifacts:
  clf:
    path: models/clf.pkl
    type: model
    meta:
      owner: ana@example.com
"""


def make_key(folder: Path, name: str) -> tuple[Path, bytes]:
    """A P-256 key pair: the private key's file (outside any repository) and the public PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / f"{name}.key"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def forge_release_tag(repo: Repo, tag: str, bundle: bytes, *, artifact: str = "models/clf.pkl",
                      ) -> str:
    """A release of ``tag`` whose only fault is its bundle: the bundle committed where a
    release keeps it, in a commit with the event file and trailers archivist writes, and
    the annotated tag with archivist's message on that commit. Returns the commit."""
    from archivist.ledger import EVENTS_DIR, Event, EventEntry
    from archivist.release import names as release_names

    name, version = tag.split("@")
    rel = release_names.bundle_path(name, version)
    label = version_at(repo, "HEAD", f"{artifact}.dvc")
    record = release_names.ReleaseRecord(
        name=name, version=version, artifact=artifact, label=label,
        digest="sha256:" + "0" * 64, bundle=rel, signer="key sha256:" + "0" * 64,
        method="key")
    event = Event(kind="release", subject=f"release: {tag}",
                  entries=(EventEntry(artifact, label, details={"tag": tag, "bundle": rel}),),
                  extra_trailers=(("Archivist-Tag", tag), ("Archivist-Signer", record.signer)))
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    event_file = f"{EVENTS_DIR}/{at.strftime('%Y%m%dT%H%M%SZ')}-release-{secrets.token_hex(4)}.json"
    repo.write(event_file, json.dumps(event.document(at, "Test Author <author@example.com>")))
    repo.write(rel, bundle)
    repo.git("add", "--", rel, event_file)
    run(["git", "commit", "-q", "--no-verify", "-F", "-", "--", rel, event_file], repo.root,
        input=event.message())
    sha = repo.git("rev-parse", "HEAD").stdout.strip()
    repo.git("tag", "-a", tag, "-m", release_names.tag_message(record), sha)
    return sha
