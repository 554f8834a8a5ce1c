"""What must be kept stays on the remotes: content that comes back, objects shared between
files and folders, backdated commits, planted caches. Real git, DVC and remotes; each
test reads the remotes after ``archivist dispose --apply``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from archivist import history, parsecache
from archivist.dvcfiles import Version
from archivist.policy import parse_policy
from archivist.retention import plan as retention_plan

if TYPE_CHECKING:  # the fixtures come from conftest; nothing is imported from it
    from retention.sample import Sample

BIN = Path(sys.executable).parent
SHORT = """\
version: 1
remotes: {active: storage, archive: archive}
retention:
  default: standard
  classes:
    standard: {active: 10d, archive: 10d}
"""
X, Y, W = b"\0x-bytes" * 300, b"\0y-bytes" * 300, b"\0w-bytes" * 300


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def dated(day: str) -> dict[str, str]:
    stamp = f"{day}T12:00:00+00:00"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def short_policy(sample: Sample, day: str = "2023-12-01") -> None:
    sample.write("archivist.yaml", SHORT)
    sample.commit("short windows", "archivist.yaml", env=dated(day))


def dispose(sample: Sample, as_of: str) -> subprocess.CompletedProcess[str]:
    """``dispose --apply`` as the scheduled job runs it on ``as_of`` (its commit dated so)."""
    proc = sample.archivist("dispose", "--apply", "--as-of", as_of, env=dated(as_of))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def plan(sample: Sample, as_of: str) -> dict[tuple[str, str], dict[str, object]]:
    proc = sample.archivist("plan", "--json", "--as-of", as_of)
    assert proc.returncode == 0, proc.stderr
    return {(i["path"], i["version"]): i for i in json.loads(proc.stdout)["items"]}


def test_content_that_comes_back_is_never_disposed(sample: Sample) -> None:
    short_policy(sample)
    sample.version("models/a.bin", X, "2024-01-01")
    sample.version("models/c.bin", X, "2024-01-01")  # the same bytes at another path
    sample.version("models/a.bin", Y, "2024-01-05")
    sample.push_all()
    dispose(sample, "2024-02-01")  # a.bin's X is disposed (c.bin keeps the object)
    assert sample.remotes["storage"].intact(md5(X))
    sample.version("models/c.bin", W, "2024-03-01", push=True)
    sample.version("models/a.bin", X, "2024-03-02", push=True)  # reverted: X is current again
    items = plan(sample, "2024-04-01")
    back = items[("models/a.bin", f"md5:{md5(X)}")]
    assert (back["state"], back["action"]) == ("current", "keep")
    assert items[("models/c.bin", f"md5:{md5(X)}")]["action"] == "dispose"
    dispose(sample, "2024-04-01")
    disposed = sample.git("log", "-1", "--format=%(trailers:key=Archivist-Version)").stdout
    assert f"md5:{md5(X)}" in disposed and f"md5:{md5(Y)}" in disposed  # c.bin's X, a.bin's Y
    # c.bin's X was disposed of, but its bytes are the head's a.bin: still there
    assert sample.remotes["storage"].intact(md5(X))
    assert not sample.remotes["storage"].has(md5(Y))  # Y went: the dispose did run


def test_archived_content_that_comes_back_keeps_its_only_copy(local_sample: Sample) -> None:
    sample = local_sample
    short_policy(sample)
    first = sample.version("models/a.bin", X, "2024-01-01")
    sample.version("models/c.bin", X, "2024-01-01")
    sample.version("models/a.bin", Y, "2024-01-05")
    sample.version("models/c.bin", W, "2024-01-06")
    sample.push_all()
    proc = sample.archivist("archive", "--apply", "--as-of", "2024-01-20",
                            env=dated("2024-01-20"))
    assert proc.returncode == 0, proc.stderr
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    assert archive.intact(md5(X)) and not storage.has(md5(X))
    # a revert of the .dvc file alone: the head's bytes live only in the archive now
    sample.git("checkout", first, "--", "models/a.bin.dvc")
    sample.commit("revert a.bin", "models/a.bin.dvc", env=dated("2024-01-25"))
    item = plan(sample, "2024-02-10")[("models/a.bin", f"md5:{md5(X)}")]
    assert (item["state"], item["location"]) == ("current", "archive")
    assert "archivist restore models/a.bin" in str(item["reason"])
    dispose(sample, "2024-02-10")  # c.bin's X is due: its bytes are the head's
    tombstone = sample.git("log", "-1", "--format=%(trailers:key=Archivist-Artifact)").stdout
    assert "models/c.bin" in tombstone
    assert archive.intact(md5(X))
    proc = sample.archivist("restore", "models/a.bin", "--as-of", "2024-02-10")
    assert proc.returncode == 0, proc.stderr
    assert storage.intact(md5(X))


def test_objects_shared_between_files_and_folders_stay(local_sample: Sample) -> None:
    sample = local_sample
    short_policy(sample)
    shared, other = b"\0shared" * 300, b"\0other" * 300
    sample.version("models/q.bin", shared, "2024-01-01")
    sample.version("data", {"one.bin": b"\0first" * 300, "two.bin": other}, "2024-01-01")
    sample.version("data", {"two.bin": other}, "2024-01-05")
    sample.push_all()
    dispose(sample, "2024-02-01")  # the first folder version goes
    # a new folder version holds bytes of the disposed folder and of the file version
    sample.version("data", {"two.bin": other, "q.bin": shared, "one.bin": b"\0first" * 300},
                   "2024-03-01", push=True)
    sample.version("models/q.bin", W, "2024-03-01", push=True)
    dispose(sample, "2024-04-01")  # due: q.bin's old version, the second folder version
    storage = sample.remotes["storage"]
    assert storage.intact(md5(shared)) and storage.intact(md5(b"\0first" * 300))
    assert storage.intact(md5(other)) and storage.intact(md5(W))
    head_dir = sample.digest("data")
    assert storage.intact(head_dir)
    log = sample.git("log", "-1", "--format=%(trailers:key=Archivist-Version)").stdout
    assert f"md5:{md5(shared)}" in log  # q.bin's version was disposed of: only by record


def test_a_backdated_commit_does_not_start_a_clock_early(local_sample: Sample) -> None:
    sample = local_sample
    short_policy(sample)
    sample.version("models/a.bin", X, "2024-05-20")
    sample.version("models/a.bin", Y, "2020-01-01", push=True)  # replaces last week's X
    sample.push_all()
    proc = sample.archivist("dispose", "--apply", "--as-of", "2024-06-01",
                            env=dated("2024-06-01"))
    assert proc.returncode == 0, proc.stderr
    assert sample.remotes["storage"].intact(md5(X))  # 2024-05-20 + 20 d: not yet due
    item = plan(sample, "2024-06-01")[("models/a.bin", f"md5:{md5(X)}")]
    # its clock started last week, not in 2020: only its active window is over
    assert (item["since"], item["action"], item["due"]) == ("2024-05-20", "archive",
                                                            "2024-05-30")
    found = retention_plan.build_plan_details(sample.root, parse_policy(SHORT), dt.date(2024, 6, 1))
    assert [(a.kind, a.commit) for a in found.date_anomalies] == [("backwards", sample.head())]
    # a commit from the future bounds nothing beyond now, and is reported as well
    sample.version("models/a.bin", W, "2099-01-01")
    found = retention_plan.build_plan_details(sample.root, parse_policy(SHORT), dt.date(2024, 6, 1))
    assert [a.kind for a in found.date_anomalies] == ["backwards", "future"]
    assert found.date_anomalies[1].used <= dt.datetime.now(dt.UTC)
    proc = sample.archivist("dispose", "--apply", "--as-of", "2024-06-02",
                            env=dated("2024-06-02"))
    assert proc.returncode == 0, proc.stderr
    assert sample.remotes["storage"].intact(md5(X)) and sample.remotes["storage"].intact(md5(Y))


def _plant(sample: Sample, how: str) -> None:
    """Forge the cache so that the head's version looks replaced on 2020-01-02."""
    root = sample.root
    head = sample.head()
    parsecache.forget()
    real = list(history.walk(root, head, use_cache=False))
    last = real[-1]
    ((_, after),) = last.changes
    assert after is not None and after.version is not None
    fake = dataclasses.replace(after, version=Version("md5", "f" * 32, size=3))
    if how == "snapshot":
        when = dt.datetime(2020, 1, 2, 12, tzinfo=dt.UTC)
        forged = [*real, dataclasses.replace(last, committer_date=when,
                                             changes=[(after, fake)])]
        parsecache.Snapshot(root, "walk").save((history._SNAPSHOT_KIND, head),
                                               (forged, [], {}, {}, {}, {}))
    else:  # the parse of the head's .dvc blob says another version
        (root / ".git" / "archivist" / "walk.pickle").unlink(missing_ok=True)
        blob = sample.git("rev-parse", "HEAD:models/a.bin.dvc").stdout.strip()
        cache = parsecache.ParseCache.open(root, "history")
        cache.get(("models/a.bin.dvc", blob, None))
        cache.put(("models/a.bin.dvc", blob, None), (fake,))
        cache.save()
    parsecache.forget()


@pytest.mark.parametrize("how", ["snapshot", "parse-cache"])
def test_a_planted_cache_never_changes_what_dispose_deletes(local_sample: Sample,
                                                            how: str) -> None:
    sample = local_sample
    old, now = b"\0old" * 300, b"\0head" * 300
    sample.version("models/a.bin", old, "2019-06-01")
    sample.version("models/a.bin", now, "2020-01-01")
    sample.push_all()
    _plant(sample, how)
    # the forgery is live: a walk that trusts the cache sees the head's version replaced
    trusting = history.read_timelines(sample.root, "HEAD", use_cache=True)
    assert md5(now) not in {s.version.digest for s in trusting.current()}
    parsecache.forget()
    dispose(sample, "2024-06-01")
    storage = sample.remotes["storage"]
    assert storage.intact(md5(now))  # the head's bytes: still on the remote
    assert not storage.has(md5(old))  # the old version was due, and went


def test_a_fifo_in_the_cache_folder_is_skipped_not_read(local_sample: Sample) -> None:
    sample = local_sample
    sample.version("models/a.bin", X, "2019-06-01")
    sample.version("models/a.bin", Y, "2020-01-01")
    folder = sample.root / ".git" / "archivist"
    folder.mkdir(exist_ok=True)
    for name in ("walk.pickle", "history.pickle", "tree.pickle", "registries.pickle"):
        (folder / name).unlink(missing_ok=True)
        os.mkfifo(folder / name)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "NO_COLOR": "1"}
    env.pop(parsecache.ENV_SWITCH, None)
    for command in (["plan", "--json", "--as-of", "2021-01-01"], ["audit", "--json"]):
        try:
            proc = subprocess.run([str(BIN / "archivist"), *command], cwd=sample.root,
                                  capture_output=True, text=True, env=env, timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail(f"archivist {command[0]} blocked on a FIFO in .git/archivist")
        assert proc.returncode in (0, 1), proc.stderr
        if command[0] == "plan":
            assert md5(X) in proc.stdout, proc.stdout[:500]
    assert (folder / "walk.pickle").is_file()  # the audit's walk replaced the FIFO
