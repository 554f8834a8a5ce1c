"""A release pins its version through the ledger, not through a tag that anyone can
delete or move. Real git, DVC, ``archivist release`` with a key, and local remotes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from archivist.policy import parse_policy
from archivist.retention import plan as retention_plan

if TYPE_CHECKING:  # the fixtures come from conftest; nothing is imported from it
    from retention.sample import Sample

POLICY = """\
version: 1
branch: main
remotes: {active: storage, archive: archive}
retention:
  default: standard
  classes:
    standard: {active: 180d, archive: 3y}
    regulated: {active: 1y, archive: forever}
  releases: regulated
signing:
  method: key
  public_keys: [keys/release.pub]
"""
DVC_YAML = "artifacts:\n  clf:\n    path: models/clf.pkl\n    type: model\n"
OLD, NEW = b"\0released" * 400, b"\0retrained" * 400


def dated(day: str) -> dict[str, str]:
    stamp = f"{day}T12:00:00+00:00"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def release_key(folder: Path) -> tuple[Path, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / "release.key"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return private, key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_deleting_the_release_tag_does_not_drop_the_release_class(local_sample: Sample,
                                                                   tmp_path: Path) -> None:
    sample = local_sample
    private, public = release_key(tmp_path / "secrets")
    sample.write("archivist.yaml", POLICY)
    sample.write("dvc.yaml", DVC_YAML)
    sample.write("keys/release.pub", public)
    sample.commit("release policy", "archivist.yaml", "dvc.yaml", "keys/release.pub",
                  env=dated("2020-01-01"))
    sample.version("models/clf.pkl", OLD, "2020-01-10", push=True)
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", private,
                            env=dated("2020-01-11"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    release_commit = sample.git("rev-parse", "clf@v1.0.0^{commit}").stdout.strip()
    sample.version("models/clf.pkl", NEW, "2020-02-01", push=True)
    sample.git("tag", "-d", "clf@v1.0.0")

    # standard would dispose of it on 2023-07-30; regulated keeps it forever
    proc = sample.archivist("plan", "--json", "--as-of", "2024-08-01")
    item = next(i for i in json.loads(proc.stdout)["items"]
                if i["version"] == f"md5:{md5(OLD)}")
    assert (item["retention_class"], item["release"]) == ("regulated", "clf@v1.0.0")
    proc = sample.archivist("dispose", "--apply", "--as-of", "2024-08-01",
                            env=dated("2024-08-01"))
    assert proc.returncode == 0, proc.stderr
    assert sample.remotes["storage"].intact(md5(OLD))  # the signed bytes are still there

    policy = parse_policy(POLICY)
    found = retention_plan.build_plan_details(sample.root, policy, dt.date(2024, 8, 1))
    assert [(a.kind, a.tag, a.release_commit) for a in found.release_anomalies] == [
        ("missing", "clf@v1.0.0", release_commit)]
    # moved onto another commit: still the ledger's release that pins, and a finding
    sample.git("tag", "-a", "-m", "moved", "clf@v1.0.0", "HEAD")
    found = retention_plan.build_plan_details(sample.root, policy, dt.date(2024, 8, 1))
    (moved,) = found.release_anomalies
    assert (moved.kind, moved.tagged) == ("moved", sample.head())
    assert f"not to {release_commit[:10]} where the ledger's release" in moved.describe()
    pinned = {i.digest: i.retention_class for i in found.items}
    assert pinned[md5(OLD)] == "regulated"
