"""archive, dispose and restore on outputs with their own ``remote:`` and beside outputs
retention leaves alone, on a real DVC project with local remotes looked at directly."""

from __future__ import annotations

import json
from pathlib import Path

from retention.remotes_helpers import A, B, C, cache_oids, events, last_event
from retention.sample import LocalView, Sample, dated, md5, object_key

SIDE1, SIDE2 = b"\0side one " * 300, b"\0side two " * 300

PIPELINE = """\
stages:
  side:
    cmd: cp side.in side.bin
    deps: [side.in]
    outs:
    - side.bin:
        remote: side
"""


def side_project(sample: Sample, tmp_path: Path) -> LocalView:
    """side.bin (its own ``remote: side``): v1 of 2020, v2 of 2021; models/m.bin one
    version in storage. Everything pushed where DVC sends it."""
    folder = tmp_path / "remotes" / "side"
    folder.mkdir(parents=True)
    sample.dvc("remote", "add", "side", str(folder))
    sample.write("dvc.yaml", PIPELINE)
    sample.write("side.in", SIDE1)
    sample.write("models/m.bin", b"\0model " * 100)
    sample.dvc("add", "-q", "models/m.bin")
    sample.dvc("repro", "-q")
    sample.commit("side v1", env=dated("2020-01-10"))
    sample.write("side.in", SIDE2)
    sample.dvc("repro", "-q")
    sample.commit("side v2", env=dated("2021-01-10"))
    sample.dvc("push", "-q", "--all-commits")
    return LocalView(folder)


def test_own_remote_is_the_active_remote_of_archive_restore_and_dispose(
        local_sample: Sample, tmp_path: Path) -> None:
    sample = local_sample
    side = side_project(sample, tmp_path)
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    v1, v2 = md5(SIDE1), md5(SIDE2)
    assert {v1, v2} <= side.oids() and not {v1, v2} & storage.oids()  # DVC's own routing
    storage_before = storage.oids()

    proc = sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert proc.returncode == 0, proc.stderr
    assert archive.oids() == {v1}
    assert side.oids() == {v2}  # moved off its own remote
    assert storage.oids() == storage_before  # the policy's active remote was not touched
    entry = last_event(sample)["entries"][0]
    assert (entry["artifact"], entry["from"], entry["to"]) == (
        "side.bin", "side", "archive")

    proc = sample.archivist("restore", "side.bin", "--version", f"md5:{v1}",
                            "--as-of", "2022-01-02", "--until", "2022-06-01")
    assert proc.returncode == 0, proc.stderr
    assert side.intact(v1)  # back where `dvc pull` of side.bin looks
    assert v1 not in storage.oids()
    assert last_event(sample)["entries"][0]["to"] == "side"
    sample.drop_cache()
    sample.git("checkout", "-q", "HEAD~3", "--", "dvc.lock")
    sample.dvc("pull", "-q", "--force", "side")
    assert (sample.root / "side.bin").read_bytes() == SIDE1
    sample.git("checkout", "-q", "HEAD", "--", "dvc.lock")

    # archived again once restored, then disposed of: from the archive, never storage
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-07-01")
    assert proc.returncode == 0, proc.stderr
    assert side.oids() == {v2}
    proc = sample.archivist("dispose", "--apply", "--as-of", "2026-01-01")
    assert proc.returncode == 0, proc.stderr
    assert archive.oids() == set()
    assert side.oids() == {v2} and storage.oids() == storage_before
    assert events(sample)[-4:] == ["archive", "restore", "archive", "dispose"]


def test_own_remote_that_is_the_archive_is_refused(local_sample: Sample,
                                                   tmp_path: Path) -> None:
    sample = local_sample
    side = side_project(sample, tmp_path)
    sample.dvc("remote", "modify", "side", "url", str(tmp_path / "remotes" / "archive"))
    sample.commit("side points at the archive folder", ".dvc/config",
                  env=dated("2021-02-01"))
    before = side.oids()
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2  # one line, and its hint
    assert "'side'" in proc.stderr and "'archive'" in proc.stderr
    assert side.oids() == before  # nothing touched


IMPORTED = {"a": A}  # the import-url folder shares a with data v1


def test_files_of_a_left_alone_folder_are_never_deleted(local_sample: Sample,
                                                        tmp_path: Path) -> None:
    sample = local_sample
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    source = tmp_path / "outside" / "ext"
    source.mkdir(parents=True)
    (source / "a").write_bytes(A)
    sample.dvc("import-url", "-q", str(source), "ext")
    sample.commit("import-url ext", env=dated("2020-01-05"))
    sample.version("data", {"a": A, "b": B}, "2020-01-10")
    v1 = sample.digest("data")
    sample.version("data", {"c": C}, "2021-01-10")
    sample.dvc("push", "-q", "--all-commits")
    assert md5(A) in storage.oids()  # DVC pushed the import-url's file with data's

    proc = sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert proc.returncode == 0, proc.stderr
    assert {v1, md5(A), md5(B)} <= archive.oids()
    assert storage.intact(md5(A))  # ext/a: the left-alone folder still pulls from storage
    assert md5(B) not in storage.oids() and v1 not in storage.oids()

    proc = sample.archivist("dispose", "--apply", "--as-of", "2026-01-01")
    assert proc.returncode == 0, proc.stderr
    assert storage.intact(md5(A)) and md5(A) in cache_oids(sample)
    assert md5(B) not in archive.oids() | storage.oids()
    assert archive.oids() == set()  # the archive's copy of a was data v1's own
    sample.drop_cache()
    (sample.root / "ext" / "a").unlink()
    sample.dvc("pull", "-q", "ext.dvc")  # DVC itself still finds the import's bytes
    assert (sample.root / "ext" / "a").read_bytes() == A

    proc = sample.archivist("restore", "ext", "--as-of", "2026-01-01")
    assert proc.returncode == 2
    assert "leaves it alone" in proc.stderr and "import-url" in proc.stderr
    assert "never on the governed branch" not in proc.stderr


def test_dry_run_and_plan_show_own_remote_items(local_sample: Sample, tmp_path: Path) -> None:
    sample = local_sample
    side_project(sample, tmp_path)
    proc = sample.archivist("archive", "--json", "--as-of", "2022-01-01")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [(v["path"], v["remote"]) for v in out["versions"]] == [("side.bin", "side")]


def test_restore_looks_before_it_says_in_the_active_remote_already(sample: Sample) -> None:
    sample.version("data", {"a": A, "b": B}, "2020-01-10")
    v1 = sample.digest("data")
    sample.version("data", {"a": A, "c": C}, "2021-01-10")
    sample.push_all()
    storage = sample.remotes["storage"]
    args = ("restore", "data", "--version", f"md5:{v1}", "--until", "2022-06-01")
    assert sample.archivist("archive", "--apply", "--as-of", "2022-01-01").returncode == 0
    proc = sample.archivist(*args, "--as-of", "2022-01-02")
    assert proc.returncode == 0, proc.stderr
    assert storage.intact(md5(B))

    storage.remove(object_key(md5(B)))  # gone behind the ledger's back
    proc = sample.archivist(*args, "--as-of", "2022-01-03")
    assert proc.returncode == 0, proc.stderr
    assert "already" not in proc.stderr
    assert storage.intact(md5(B))  # copied back from the archive
    assert events(sample)[-2:] == ["restore", "restore"]

    head = sample.head()
    proc = sample.archivist(*args, "--as-of", "2022-01-04")
    assert proc.returncode == 0, proc.stderr
    assert "already" in proc.stderr and sample.head() == head  # looked, all there: no commit

    # the current version, its object gone from storage and never archived: exit 1
    storage.remove(object_key(md5(C)))
    proc = sample.archivist("restore", "data", "--as-of", "2022-01-04")
    assert proc.returncode == 1, proc.stderr
    assert "already" not in proc.stderr and md5(C) in proc.stderr
    assert sample.head() == head
