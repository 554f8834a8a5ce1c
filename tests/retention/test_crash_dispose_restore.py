"""dispose and restore killed at each failpoint, or their commit never pushed: a rerun from
a fresh clone without the DVC cache finishes the job, leaves no orphan, and commits once."""

from __future__ import annotations

from pathlib import Path

import pytest

from realrepo import run
from retention.remotes_helpers import (
    DISPOSE_AS_OF,
    A,
    B,
    C,
    D,
    archive_after_disposal,
    disposal_history,
    disposed_objects,
    events,
    fresh_clone,
    last_event,
    staging_dirs,
    storage_after_disposal,
)
from retention.sample import Sample, md5

KILLED = -9


@pytest.mark.parametrize("point", ["mid-delete:1", "mid-delete:4", "after-delete"])
def test_dispose_killed_then_rerun_from_a_fresh_clone_finishes(sample: Sample, point: str,
                                                               tmp_path: Path) -> None:
    v = disposal_history(sample)
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    head = sample.head()
    proc = sample.archivist("dispose", "--apply", "--as-of", DISPOSE_AS_OF,
                            env={"ARCHIVIST_FAILPOINT": point})
    assert proc.returncode == KILLED, (proc.returncode, proc.stderr)
    assert sample.head() == head  # killed before its commit
    # the versions that stay are whole, wherever the kill came
    for oid in archive_after_disposal(v):
        assert archive.intact(oid), f"{oid} of a kept version lost after {point}"
    for oid in storage_after_disposal(v):
        assert storage.intact(oid), f"{oid} of a kept version lost after {point}"

    clone = fresh_clone(sample, tmp_path / "clone")
    proc = clone.archivist("dispose", "--apply", "--as-of", DISPOSE_AS_OF)
    assert proc.returncode == 0, proc.stderr
    assert "not intact" not in proc.stderr
    # no orphan in either remote, nothing kept lost
    assert archive.oids() == archive_after_disposal(v)
    assert storage.oids() == storage_after_disposal(v)
    assert events(clone) == ["archive", "dispose"]
    event = last_event(clone)
    assert {e["version"] for e in event["entries"]} == {f"md5:{v['v1']}", f"md5:{v['m1']}"}
    # and a later run has nothing left to do
    again = clone.archivist("dispose", "--apply", "--as-of", DISPOSE_AS_OF)
    assert again.returncode == 0 and "nothing is due" in again.stdout, again.stderr


def test_dispose_whose_commit_was_rejected_is_redone_from_a_fresh_clone(
        local_sample: Sample, tmp_path: Path) -> None:
    v = disposal_history(local_sample)
    origin = tmp_path / "origin.git"
    run(["git", "clone", "-q", "--bare", str(local_sample.root), str(origin)], tmp_path)
    ci = fresh_clone(local_sample, tmp_path / "ci", origin)
    other = fresh_clone(local_sample, tmp_path / "other", origin)
    other.write("notes.md", "meanwhile\n")
    other.commit("a commit lands on main meanwhile", "notes.md")
    other.git("push", "-q", "origin", "main")

    proc = ci.archivist("dispose", "--apply", "--as-of", DISPOSE_AS_OF)
    assert proc.returncode == 0, proc.stderr
    push = ci.git("push", "origin", "main", check=False)
    assert push.returncode != 0 and "rejected" in push.stderr  # the record never lands
    # the objects are gone, the record is only in a clone the CI job throws away
    archive = local_sample.remotes["archive"]
    assert not disposed_objects(v) & archive.oids()

    rerun = fresh_clone(local_sample, tmp_path / "rerun", origin)
    proc = rerun.archivist("dispose", "--apply", "--as-of", DISPOSE_AS_OF)
    assert proc.returncode == 0, proc.stderr
    assert "already gone" in proc.stderr  # said, not hidden
    rerun.git("push", "-q", "origin", "main")
    assert events(rerun, "origin/main") == ["archive", "dispose"]
    assert archive.oids() == archive_after_disposal(v)
    assert local_sample.remotes["storage"].oids() == storage_after_disposal(v)
    entry = next(e for e in last_event(rerun)["entries"] if e["version"] == f"md5:{v['v1']}")
    assert "manifest_absent" in entry  # M1, disposed of in the same run, was not blocked


def restore_history(sample: Sample) -> dict[str, str]:
    """data/ v1 = {a, b, c} archived; v2 = {a, d} current (``a`` stays active)."""
    sample.version("data", {"a": A, "b": B, "c": C}, "2020-01-10")
    v1 = sample.digest("data")
    sample.version("data", {"a": A, "d": D}, "2021-01-10")
    sample.push_all()
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert proc.returncode == 0, proc.stderr
    return {"v1": v1, "v2": sample.digest("data")}


def restore_args(v: dict[str, str]) -> tuple[str, ...]:
    return ("restore", "data", "--version", f"md5:{v['v1']}", "--as-of", "2022-01-02",
            "--until", "2022-06-01")


@pytest.mark.parametrize("point", ["after-stage", "mid-upload:1", "after-upload"])
def test_restore_killed_then_rerun_from_a_fresh_clone_finishes(sample: Sample, point: str,
                                                               tmp_path: Path) -> None:
    v = restore_history(sample)
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    v1_objects = {v["v1"], md5(A), md5(B), md5(C)}
    head = sample.head()
    proc = sample.archivist(*restore_args(v), env={"ARCHIVIST_FAILPOINT": point})
    assert proc.returncode == KILLED, (proc.returncode, proc.stderr)
    assert sample.head() == head
    assert all(archive.intact(o) for o in v1_objects)  # restore never deletes the archive

    clone = fresh_clone(sample, tmp_path / "clone")
    proc = clone.archivist(*restore_args(v))
    assert proc.returncode == 0, proc.stderr
    assert all(storage.intact(o) for o in v1_objects)
    assert all(archive.intact(o) for o in v1_objects)
    assert events(clone) == ["archive", "restore"]
    # DVC itself finds the restored version whole in the active remote
    clone.git("checkout", "-q", "HEAD~3", "--", "data.dvc")
    clone.dvc("pull", "-q", "-r", "storage", "data.dvc")
    assert (clone.root / "data" / "b").read_bytes() == B


def test_killed_restore_leaves_no_staging_after_the_next_run(local_sample: Sample) -> None:
    v = restore_history(local_sample)
    proc = local_sample.archivist(*restore_args(v), env={"ARCHIVIST_FAILPOINT": "after-stage"})
    assert proc.returncode == KILLED
    assert staging_dirs(local_sample), "the killed run staged nothing: the test proves nothing"
    proc = local_sample.archivist(*restore_args(v))
    assert proc.returncode == 0, proc.stderr
    assert staging_dirs(local_sample) == []
    assert local_sample.remotes["storage"].intact(v["v1"])


def test_restore_copies_only_what_the_active_remote_lacks(local_sample: Sample) -> None:
    v = restore_history(local_sample)
    shared = local_sample.remotes["storage"].root / f"files/md5/{md5(A)[:2]}/{md5(A)[2:]}"
    before = shared.stat()
    proc = local_sample.archivist(*restore_args(v))
    assert proc.returncode == 0, proc.stderr
    after = shared.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert set(last_event(local_sample)["entries"][0]["copied"]) == {v["v1"], md5(B), md5(C)}
    assert "3 object(s) copied" in proc.stdout
