"""Records that outlive the bytes: a real dispose --apply, its event, and the audit's word.

recordsrepo.py tells the history. Every figure in the record is compared with what DVC
wrote (the .dvc files, the folder's object listing), what the policy says, what git holds
(the release tag, the bundle) and what the remotes hold, each read by the test itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from archivist.authority.records import TRAILER_APPROVAL
from archivist.ledger import Event, EventEntry, LedgerCommit
from realrepo import Repo, archivist

from .recordsrepo import AS_OF, BASIS, CLF, DATA, build, event_of


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    top = tmp_path_factory.mktemp("disposed")
    return top, build(top)


def _object(top: Path, remote: str, oid: str) -> Path:
    return top / "remotes" / remote / "files" / "md5" / oid[:2] / oid[2:]


def _audit(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    proc = archivist("audit", "--as-of", AS_OF, "--json", *args, cwd=root)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_the_dispose_event_records_what_went_and_why(built: tuple[Path, dict[str, Any]],
                                                     ) -> None:
    top, facts = built
    repo = Repo(top / "repo")
    _, event = event_of(repo, facts["dispose"])
    entries = {e["artifact"]: e["tombstone"] for e in event["entries"]}
    assert set(entries) == {"models/clf.pkl", "data"}
    policy = yaml.safe_load(repo.git("show", "HEAD:archivist.yaml").stdout)
    standard = policy["retention"]["classes"]["standard"]

    clf, out = entries["models/clf.pkl"], facts["clf"]
    # what it was: as DVC recorded it, and the bytes themselves
    assert (clf["path"], clf["md5"], clf["size"], clf["files"]) == (
        "models/clf.pkl", out["md5"], out["size"], 1)
    assert clf["md5"] == hashlib.md5(CLF[0]).hexdigest() and clf["size"] == len(CLF[0])
    # why it went: the class with its basis, as the policy words it
    assert clf["class"]["name"] == "standard" and clf["class"]["basis"] == standard["basis"]
    assert clf["class"]["basis"] == BASIS
    assert (clf["class"]["active_days"], clf["class"]["archive_days"]) == (180, 3 * 365)
    # 2021-01-10 + 180 d = 2021-07-09, + 1095 d = 2024-07-08
    assert (clf["superseded"], clf["archived"], clf["due"]) == (
        "2021-01-10", "2022-01-01", "2024-07-08")
    assert clf["archived_in"] == facts["archived_in"]
    # the signed release: the tag's own digest, the bundle as git holds it
    release = clf["release"]
    assert release["tag"] == "clf@v1.0.0" and release["signed"] is True
    message = repo.git("for-each-ref", "--format=%(contents)", "refs/tags/clf@v1.0.0").stdout
    assert f"Archivist-Digest: {release['digest']}" in message
    assert f"Archivist-Bundle: {release['bundle']}" in message
    bundle = repo.git("show", f"HEAD:{release['bundle']}").stdout.encode()
    assert release["bundle_sha256"] == "sha256:" + hashlib.sha256(bundle).hexdigest()

    data, out = entries["data"], facts["data"]
    # a folder: its file count and size as DVC recorded them, and its object listing
    assert data["md5"] == out["md5"] and data["md5"].endswith(".dir")
    assert data["files"] == out["nfiles"] == len(facts["listing"]) == len(DATA[0])
    assert data["size"] == out["size"] == sum(len(b) for b in DATA[0].values())
    assert data["release"] is None and data["class"]["basis"] == BASIS
    # the bytes are gone from both remotes (``a`` stays: data v2 uses it)
    for remote in ("storage", "archive"):
        assert not _object(top, remote, clf["md5"]).exists()
        assert not _object(top, remote, data["md5"]).exists()
        for entry in facts["listing"]:
            if entry["relpath"] != "a":
                assert not _object(top, remote, entry["md5"]).exists()


def test_the_audit_shows_each_disposed_version_and_why(built: tuple[Path, dict[str, Any]],
                                                       ) -> None:
    top, facts = built
    repo = Repo(top / "repo")
    name, _ = event_of(repo, facts["dispose"])
    _, report = _audit(repo.root)
    records = {r["artifact"]: r for r in report["disposed"]}
    assert set(records) == {"models/clf.pkl", "data"}
    clf = records["models/clf.pkl"]
    # the disposing commit is the one that added the event file, as git says
    added = repo.git("log", "--diff-filter=A", "--format=%H", "--", name).stdout.split()
    assert added == [facts["dispose"]] and clf["commit"] == facts["dispose"]
    assert clf["date"].startswith("2024-08-01")
    assert clf["version"] == "md5:" + facts["clf"]["md5"]
    assert clf["basis"] == BASIS and clf["release"]["tag"] == "clf@v1.0.0"
    assert "archive window ended 2024-07-08" in clf["why"] and BASIS in clf["why"]
    assert clf["checked"] is None and "not looked at" in clf["remains"]
    assert records["data"]["files"] == 3
    table = archivist("audit", "--as-of", AS_OF, cwd=repo.root).stdout
    assert "DISPOSED (2)" in table and BASIS in table
    # one artifact's audit keeps its own record only
    _, one = _audit(repo.root, "--artifact", "data")
    assert [r["artifact"] for r in one["disposed"]] == ["data"]


def test_deep_audit_finds_no_copy_then_the_copy_put_back(built: tuple[Path, dict[str, Any]],
                                                         tmp_path: Path) -> None:
    shutil.copytree(built[0], tmp_path / "copy", symlinks=True)
    top, facts = tmp_path / "copy", built[1]
    root = top / "repo"
    code, report = _audit(root, "--deep")
    records = {r["artifact"]: r for r in report["disposed"]}
    for record in records.values():
        assert record["checked"] == ["archive", "storage"] and record["copies"] == []
        assert record["remains"] == "no copy on archive, storage"
    assert not [f for f in report["findings"] if f["kind"] == "disposed-present"]
    # a copy put back by hand on the archive remote: the audit finds it
    oid = facts["clf"]["md5"]
    target = _object(top, "archive", oid)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(CLF[0])
    code, report = _audit(root, "--deep")
    assert code == 1
    present = [f for f in report["findings"] if f["kind"] == "disposed-present"]
    assert [f["subject"] for f in present] == [f"archive:{oid}"]
    records = {r["artifact"]: r for r in report["disposed"]}
    assert records["models/clf.pkl"]["copies"] == ["archive"]
    assert "copy still on archive" in records["models/clf.pkl"]["remains"]
    assert records["data"]["copies"] == []


def test_approvals_are_recorded_when_the_dispose_commit_names_them() -> None:
    from archivist.audit.judge import disposed_records
    from archivist.retention.apply import _with_approvals

    approvals = ("a" * 40, "b" * 40)
    event = Event(kind="dispose", subject="dispose: 1 version",
                  entries=(EventEntry("m.bin", "md5:" + "0" * 32, "archive"),),
                  extra_trailers=tuple((TRAILER_APPROVAL, a) for a in approvals))
    assert _with_approvals(event).details["approvals"] == list(approvals)
    assert "approvals" not in _with_approvals(Event("dispose", "s", ())).details
    commit = LedgerCommit(sha="c" * 40, author="Ana", email="ana@example.com",
                          date=dt.datetime(2024, 8, 1, tzinfo=dt.UTC), subject="dispose",
                          trailers=tuple(event.trailers()), changes=())
    doc = event.document(dt.datetime(2024, 8, 1, tzinfo=dt.UTC), "Ana <ana@example.com>")
    [record] = disposed_records(commit, (".archivist/events/x.json", doc))
    assert record.approvals == approvals and record.commit == "c" * 40
    # an event written before tombstones still says what its flat fields say
    old = {"artifact": "m.bin", "version": "md5:" + "0" * 32, "from": "archive",
           "class": "standard", "due": "2024-07-08", "bytes": 12, "superseded": "2021-01-10"}
    [record] = disposed_records(commit, ("x.json", {**doc, "entries": [old]}))
    assert (record.retention_class, record.due, record.size, record.superseded) == (
        "standard", "2024-07-08", 12, "2021-01-10")
