"""The invariants: dedup, crash, tamper, idempotence under concurrency, faults; and the
traps in DVC's object layer (stale .dir manifests, corrupt objects at the destination,
DVC 2's root layout)."""

from __future__ import annotations

import json
import subprocess

import pytest

from realrepo import BIN, _env
from retention.sample import Sample, md5, object_key

A, B, C, D = (bytes([i]) * 5000 + b"\0" for i in range(65, 69))


def folder_history(sample: Sample) -> dict[str, str]:
    """data/ v1 = {a, b, c}, v2 = {a, d} (current): ``a`` is shared with the current one."""
    sample.version("data", {"a": A, "b": B, "c": C}, "2020-01-10")
    v1 = sample.digest("data")
    sample.version("data", {"a": A, "d": D}, "2021-01-10")
    v2 = sample.digest("data")
    sample.push_all()
    return {"v1": v1, "v2": v2}


def objects_v1(v: dict[str, str]) -> set[str]:
    return {v["v1"], md5(A), md5(B), md5(C)}


def test_shared_object_stays_active_and_stale_manifest_is_removed(sample: Sample) -> None:
    v = folder_history(sample)
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert proc.returncode == 0, proc.stderr
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    assert all(archive.intact(o) for o in objects_v1(v))
    assert storage.intact(md5(A)), "a file the current version uses was deleted"
    assert not storage.has(v["v1"]), "a .dir left behind makes DVC think v1 is complete"
    assert not storage.has(md5(B)) and not storage.has(md5(C))
    assert "1 kept" in proc.stdout
    # DVC itself agrees: the old version is no longer complete in the active remote
    sample.git("checkout", "-q", "HEAD~2", "--", "data.dvc")
    status = sample.dvc("status", "-c", "-r", "storage", "--json", check=False)
    # "new": in the local cache only, to be pushed again; an empty report would mean "ok"
    assert json.loads(status.stdout).get("data") in ("new", "deleted", "missing"), status.stdout
    sample.git("checkout", "-q", "HEAD", "--", "data.dvc")


def test_corrupt_object_at_the_destination_is_replaced(local_sample: Sample) -> None:
    v = folder_history(local_sample)
    archive = local_sample.remotes["archive"]
    archive.write(object_key(md5(B)), b"rotten bytes")  # DVC's transfer would keep this
    proc = local_sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert proc.returncode == 0, proc.stderr
    assert archive.intact(md5(B)) and archive.intact(v["v1"])


def test_tampered_copy_is_never_trusted(sample: Sample) -> None:
    v = folder_history(sample)
    storage = sample.remotes["storage"]
    storage.write(object_key(md5(C)), b"flipped bits")  # bit rot in the active remote
    before, head = storage.keys(), sample.head()
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert proc.returncode == 1
    assert md5(C) in proc.stderr and "nothing was deleted" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert storage.keys() == before and sample.head() == head
    assert storage.intact(v["v1"]) and storage.intact(md5(B))


@pytest.mark.parametrize("point", ["after-copy", "after-verify", "mid-delete:2"])
def test_sigkill_at_any_point_loses_nothing_and_a_rerun_finishes(sample: Sample,
                                                                 point: str) -> None:
    v = folder_history(sample)
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    head = sample.head()
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-01-01",
                            env={"ARCHIVIST_FAILPOINT": point})
    assert proc.returncode == -9, (proc.returncode, proc.stderr)
    assert sample.head() == head  # killed before its commit
    for oid in objects_v1(v) | {v["v2"], md5(D)}:
        assert storage.intact(oid) or archive.intact(oid), f"{oid} lost after {point}"
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert proc.returncode == 0, proc.stderr
    assert all(archive.intact(o) for o in objects_v1(v))
    assert storage.oids() == {v["v2"], md5(A), md5(D)}
    events = sample.git("log", "--format=%(trailers:key=Archivist-Event,valueonly)").stdout
    assert events.split() == ["archive"]


def test_two_runs_at_once_lose_nothing_and_commit_once(local_sample: Sample) -> None:
    v = folder_history(local_sample)
    cmd = [str(BIN / "archivist"), "archive", "--apply", "--as-of", "2022-01-01"]
    procs = [subprocess.Popen(cmd, cwd=local_sample.root, env=_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0, 0], [p.stderr.read() for p in procs if p.stderr]
    archive, storage = local_sample.remotes["archive"], local_sample.remotes["storage"]
    assert all(archive.intact(o) for o in objects_v1(v))
    assert storage.intact(md5(A)) and storage.intact(v["v2"])
    events = local_sample.git("log", "--format=%(trailers:key=Archivist-Event,valueonly)")
    assert events.stdout.split() == ["archive"]


def test_dvc2_outputs_use_the_root_layout(local_sample: Sample) -> None:
    legacy = b"\0\1legacy model bytes" * 100
    oid = md5(legacy)
    local_sample.remotes["storage"].write(object_key(oid, legacy=True), legacy)
    local_sample.write("models/old.bin.dvc",
                       f"outs:\n- md5: {oid}\n  size: {len(legacy)}\n  path: old.bin\n")
    local_sample.commit("DVC 2 era model", "models/old.bin.dvc", env={
        "GIT_AUTHOR_DATE": "2018-06-01T00:00:00Z", "GIT_COMMITTER_DATE": "2019-02-01T00:00:00Z"})
    local_sample.version("models/old.bin", b"\0\2new" * 100, "2020-01-01")
    local_sample.push_all()
    proc = local_sample.archivist("archive", "--apply", "--as-of", "2021-01-01")
    assert proc.returncode == 0, proc.stderr
    assert local_sample.remotes["archive"].intact(oid, legacy=True)
    assert not local_sample.remotes["storage"].has(oid, legacy=True)


# ---------------------------------------------------------------- faults


def assert_refused(sample: Sample, proc: subprocess.CompletedProcess[str], code: int,
                   words: str, before: set[str], head: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert words in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert sample.remotes["storage"].keys() == before and sample.head() == head


def test_unknown_remote_is_a_configuration_error(local_sample: Sample) -> None:
    folder_history(local_sample)
    local_sample.write("archivist.yaml", local_sample.read("archivist.yaml").replace(
        "archive: archive}", "archive: cold}"))
    local_sample.commit("policy names a remote that does not exist", "archivist.yaml")
    before, head = local_sample.remotes["storage"].keys(), local_sample.head()
    proc = local_sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert_refused(local_sample, proc, 2, "'cold' is not configured", before, head)


def test_unreachable_remote_is_one_line_and_no_deletion(local_sample: Sample) -> None:
    from retention.seaweed import free_ports

    folder_history(local_sample)
    port = free_ports(1)[0]  # nothing listens there
    local_sample.dvc("remote", "modify", "archive", "url", "s3://archive/x")
    local_sample.dvc("remote", "modify", "archive", "endpointurl", f"http://127.0.0.1:{port}")
    local_sample.dvc("remote", "modify", "archive", "connect_timeout", "1")
    local_sample.dvc("remote", "modify", "--local", "archive", "access_key_id", "k")
    local_sample.dvc("remote", "modify", "--local", "archive", "secret_access_key", "s3cr3t")
    local_sample.commit("archive remote moved", ".dvc/config")
    before, head = local_sample.remotes["storage"].keys(), local_sample.head()
    proc = local_sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert_refused(local_sample, proc, 2, "unreachable", before, head)
    assert "s3cr3t" not in proc.stderr + proc.stdout


def test_staged_changes_refuse_before_any_remote_is_touched(local_sample: Sample) -> None:
    folder_history(local_sample)
    local_sample.write("notes.txt", "work in progress\n")
    local_sample.git("add", "notes.txt")
    before, head = local_sample.remotes["storage"].keys(), local_sample.head()
    proc = local_sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert_refused(local_sample, proc, 2, "staged changes", before, head)


def test_wrong_branch_is_refused(local_sample: Sample) -> None:
    folder_history(local_sample)
    local_sample.write("archivist.yaml", "branch: main\n" + local_sample.read("archivist.yaml"))
    local_sample.commit("govern main", "archivist.yaml")
    local_sample.git("switch", "-q", "-c", "feature")
    before, head = local_sample.remotes["storage"].keys(), local_sample.head()
    proc = local_sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert_refused(local_sample, proc, 2, "governs 'main'", before, head)


def test_object_in_neither_remote_nor_cache_is_named(local_sample: Sample) -> None:
    v = folder_history(local_sample)
    local_sample.remotes["storage"].remove(object_key(md5(B)))
    local_sample.drop_cache()
    before, head = local_sample.remotes["storage"].keys(), local_sample.head()
    proc = local_sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert_refused(local_sample, proc, 1, md5(B), before, head)
    assert local_sample.remotes["storage"].intact(v["v1"])


def test_plan_json_of_a_policy_without_retention_is_a_clear_error(local_sample: Sample,
                                                                  ) -> None:
    """No retention section: one line on stderr, nothing a JSON reader could take for a
    plan, and the rest of archivist still works with that policy."""
    local_sample.version("data", {"a": A}, "2020-01-10", push=True)
    local_sample.write("archivist.yaml", "version: 1\n")
    proc = local_sample.archivist("plan", "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("archivist: error: ") and "no 'retention:' section" in line
    listed = json.loads(local_sample.archivist("ls", "--json").stdout)
    assert [(row["path"], row["version"]) for row in listed["artifacts"]] == [
        ("data", "md5:" + local_sample.digest("data"))]
