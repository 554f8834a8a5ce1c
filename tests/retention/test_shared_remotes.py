"""remotes.shared_with: two real repositories on one real set of DVC remotes (local
folders, then SeaweedFS buckets). An object that repository B still keeps never leaves a
remote when A archives or disposes of its own version of it; a shared repository that
cannot be read stops deletion (and only deletion); B is never changed."""

from __future__ import annotations

import json
from pathlib import Path

from retention.remotes_helpers import events, last_event
from retention.sample import Sample, md5
from retention.shared_helpers import refs, share_with, shared_repo

SHARED = b"\0the same bytes in two repositories " * 200  # A's x v1, B's current y
X2 = b"\0x two " * 300
Z1, Z2 = b"\0z one, only in A " * 200, b"\0z two " * 300
ARCHIVE_AS_OF = "2021-01-01"  # x v1 and z v1: active windows over
DISPOSE_AS_OF = "2024-06-01"  # ... and their archive windows too


def two_repositories(sample: Sample, template: Path, tmp_path: Path, **kwargs: object,
                     ) -> Sample:
    """A: x v1 (= B's y) and z v1 replaced in 2020, all pushed; B: y current, pushed,
    a release tag."""
    sample.version("data/x.bin", SHARED, "2019-02-01")
    sample.version("data/z.bin", Z1, "2019-02-01")
    sample.version("data/x.bin", X2, "2020-01-01")
    sample.version("data/z.bin", Z2, "2020-01-01")
    sample.push_all()
    other = shared_repo(sample, template, tmp_path / "b", **kwargs)  # type: ignore[arg-type]
    other.version("data/y.bin", SHARED, "2019-03-01")
    other.dvc("push", "-q")
    other.git("tag", "y@v1.0.0")
    return other


def test_object_b_keeps_stays_through_a_archive_and_dispose(
        sample: Sample, template_repo: Path, tmp_path: Path) -> None:
    b = two_repositories(sample, template_repo, tmp_path)
    share_with(sample, "../b")
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    shared, z1 = md5(SHARED), md5(Z1)
    assert {shared, z1} <= storage.oids()
    b_refs = refs(b)

    proc = sample.archivist("plan", "--as-of", ARCHIVE_AS_OF, "--json")
    assert proc.returncode == 0, proc.stderr
    items = {(i["path"], i["version"]): i for i in json.loads(proc.stdout)["items"]}
    x1 = items[("data/x.bin", f"md5:{shared}")]
    assert x1["action"] == "archive"
    assert x1["kept_by"] == [{"repository": "../b", "path": "data/y.bin",
                              "version": f"md5:{shared}", "state": "current"}]
    assert "kept_by" not in items[("data/z.bin", f"md5:{z1}")]
    table = sample.archivist("plan", "--as-of", ARCHIVE_AS_OF, "--due").stdout
    assert "kept by ../b (data/y.bin" in table

    proc = sample.archivist("archive", "--apply", "--as-of", ARCHIVE_AS_OF)
    assert proc.returncode == 0, proc.stderr
    assert {shared, z1} <= archive.oids()  # both copied
    assert z1 not in storage.oids()  # A's own object left the active remote ...
    assert shared in storage.oids() and storage.intact(shared)  # ... B's stayed
    assert last_event(sample)["details"]["shared_with"]["kept_for"] == {"../b": 1}

    proc = sample.archivist("dispose", "--apply", "--as-of", DISPOSE_AS_OF)
    assert proc.returncode == 0, proc.stderr
    assert events(sample)[-2:] == ["archive", "dispose"]
    assert z1 not in archive.oids()
    # B's current version is pinned: its objects stay wherever they are (as a current
    # version of A's own keeps them), the archive copy too
    assert archive.intact(shared)
    assert shared in storage.oids() and storage.intact(shared)  # still B's current y
    # B can still fetch its current version from the remote, as DVC reads it
    b.drop_cache()
    (b.root / "data" / "y.bin").unlink()
    b.dvc("pull", "-q")
    assert (b.root / "data" / "y.bin").read_bytes() == SHARED

    assert refs(b) == b_refs  # B's branches and tags untouched
    assert sample.git("tag", "--list").stdout == ""  # no tag of B's landed in A's tags
    fetched = sample.git("for-each-ref", "--format=%(refname)", "refs/archivist/shared/")
    assert fetched.stdout.strip().endswith("/tags/y@v1.0.0")


def test_dispose_of_a_never_archived_version_spares_what_b_keeps(
        local_sample: Sample, template_repo: Path, tmp_path: Path) -> None:
    sample = local_sample
    two_repositories(sample, template_repo, tmp_path)
    share_with(sample, "../b")
    storage = sample.remotes["storage"]
    proc = sample.archivist("dispose", "--apply", "--as-of", DISPOSE_AS_OF, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["refused"] == []
    assert md5(Z1) not in storage.oids()
    assert md5(SHARED) in storage.oids()


def test_unreachable_shared_repository_stops_deletion_but_not_the_copy(
        local_sample: Sample, template_repo: Path, tmp_path: Path) -> None:
    sample = local_sample
    two_repositories(sample, template_repo, tmp_path)
    share_with(sample, "../nowhere")
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    before = storage.oids()

    proc = sample.archivist("archive", "--apply", "--as-of", ARCHIVE_AS_OF)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if "../nowhere" in ln]
    assert len(lines) == 1 and "nothing deleted from any remote" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert {md5(SHARED), md5(Z1)} <= archive.oids()  # the copy still happened
    assert storage.oids() == before  # nothing left the active remote
    assert last_event(sample)["details"]["shared_with"]["refused"] == [lines[0].split(
        "warning: ", 1)[1]]

    archive_before, head = archive.oids(), sample.head()
    proc = sample.archivist("dispose", "--apply", "--as-of", DISPOSE_AS_OF)
    assert proc.returncode == 1
    assert sum("../nowhere" in ln for ln in proc.stderr.splitlines()) == 1, proc.stderr
    assert archive.oids() == archive_before and storage.oids() == before
    assert sample.head() == head  # no tombstone claims anything went


def test_shared_repository_without_policy_stops_deletion_from_its_remote(
        local_sample: Sample, template_repo: Path, tmp_path: Path) -> None:
    sample = local_sample
    # B uses only A's active remote, and has no archivist.yaml
    b = two_repositories(sample, template_repo, tmp_path, policy=False,
                         remotes=("storage",))
    share_with(sample, "../b")
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    before = storage.oids()
    proc = sample.archivist("dispose", "--apply", "--as-of", DISPOSE_AS_OF)
    assert proc.returncode == 1
    line = [ln for ln in proc.stderr.splitlines() if "../b" in ln]
    assert len(line) == 1 and "has no archivist.yaml" in line[0], proc.stderr
    assert storage.oids() == before and archive.oids() == set()
    assert "dispose" not in events(sample)

    # the archive remote is not B's: the copy proceeds, the active copies stay
    proc = sample.archivist("archive", "--apply", "--as-of", ARCHIVE_AS_OF)
    assert proc.returncode == 1
    assert {md5(SHARED), md5(Z1)} <= archive.oids()
    assert storage.oids() == before
    assert b.git("status", "--porcelain").stdout == ""


def test_b_plan_decides_through_both_lifecycles(
        local_sample: Sample, template_repo: Path, tmp_path: Path) -> None:
    """B's own plan, at its branch head, decides what B keeps: a version due for archive
    in B heads for the archive both share (A's verified copy serves it); an archived one
    stays there while B keeps it; what B disposes of is B's to delete."""
    sample = local_sample
    b = two_repositories(sample, template_repo, tmp_path)
    share_with(sample, "../b")
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    shared = md5(SHARED)
    b.version("data/y.bin", b"\0y two " * 300, "2020-06-01")  # y v1 superseded in B
    b.dvc("push", "-q")

    # both repositories have their version of the object due for archive
    proc = sample.archivist("archive", "--apply", "--as-of", ARCHIVE_AS_OF)
    assert proc.returncode == 0, proc.stderr
    assert shared not in storage.oids() and archive.intact(shared)
    proc = b.archivist("archive", "--apply", "--as-of", ARCHIVE_AS_OF)
    assert proc.returncode == 0, proc.stderr  # B finds A's verified copy in place
    assert [e["artifact"] for e in last_event(b)["entries"]] == ["data/y.bin"]

    # A's archive window is over, B's is not: the object stays in the archive
    proc = sample.archivist("dispose", "--apply", "--as-of", "2023-09-01")
    assert proc.returncode == 0, proc.stderr
    assert events(sample)[-1] == "dispose" and archive.intact(shared)
    # B's window is over too: B's dispose deletes it, as its own
    proc = b.archivist("dispose", "--apply", "--as-of", DISPOSE_AS_OF)
    assert proc.returncode == 0, proc.stderr
    assert shared not in archive.oids()
