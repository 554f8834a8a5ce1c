"""A version whose objects are in no configured remote (never pushed there, or only ever
on a remote long gone) is reported one line each, stays recorded as it was, and every
other due version is still archived or disposed of; commands take targets; date options
are one-line refusals. Real git + DVC, local and S3 remotes looked at directly."""

from __future__ import annotations

import json

import pytest

from retention.remotes_helpers import M1, M2, A, B, C, events, last_event
from retention.sample import POLICY, Sample, md5, object_key


def history(sample: Sample) -> dict[str, str]:
    """data v1 = {a, b} (2020-01-10), v2 = {c} (2021-01-10); models/m.bin M1 (2020-02-01),
    M2 (2021-02-01). All pushed, then data v1's objects taken out of the active remote and
    of this machine's cache: they only ever lived somewhere archivist cannot see."""
    sample.version("data", {"a": A, "b": B}, "2020-01-10")
    v1 = sample.digest("data")
    sample.version("models/m.bin", M1, "2020-02-01")
    sample.version("data", {"c": C}, "2021-01-10")
    sample.version("models/m.bin", M2, "2021-02-01")
    sample.push_all()
    storage = sample.remotes["storage"]
    for oid in (f"{v1}", md5(A), md5(B)):
        storage.remove(object_key(oid))
    sample.drop_cache()
    return {"v1": v1, "m1": md5(M1)}


def _plan(sample: Sample, as_of: str, *targets: str) -> dict[str, dict]:
    proc = sample.archivist("plan", "--json", "--as-of", as_of, *targets)
    assert proc.returncode == 0, proc.stderr
    return {f"{i['path']} {i['version']}": i for i in json.loads(proc.stdout)["items"]}


def test_archive_reports_a_missing_version_and_archives_the_others(sample: Sample) -> None:
    v = history(sample)
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-06-01")
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "data" in line]
    assert len(lines) == 1 and v["v1"] in lines[0] and "missing" in lines[0]
    assert archive.oids() == {v["m1"]}  # M1 archived all the same
    assert v["m1"] not in storage.oids()
    assert [e["version"] for e in last_event(sample)["entries"]] == [f"md5:{v['m1']}"]
    plan = _plan(sample, "2022-06-01")
    assert plan[f"data md5:{v['v1']}"]["action"] == "archive"  # still recorded as it was
    assert plan[f"models/m.bin md5:{v['m1']}"]["state"] == "archived"


def test_dispose_gives_a_missing_version_no_tombstone(sample: Sample) -> None:
    v = history(sample)
    archive = sample.remotes["archive"]
    sample.archivist("archive", "--apply", "--as-of", "2022-06-01")
    assert archive.oids() == {v["m1"]}
    proc = sample.archivist("dispose", "--apply", "--as-of", "2025-06-01")
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if v["v1"] in line]
    assert len(lines) == 1 and "missing" in lines[0]
    assert archive.oids() == set()  # M1 disposed of
    assert events(sample)[-2:] == ["archive", "dispose"]
    tombstone = json.dumps(last_event(sample))
    assert v["m1"] in tombstone and v["v1"] not in tombstone
    assert _plan(sample, "2025-06-01")[f"data md5:{v['v1']}"]["state"] != "disposed"


def test_a_hold_on_a_missing_version_still_works(local_sample: Sample) -> None:
    sample = local_sample
    v = history(sample)
    sample.write("archivist.yaml", POLICY + "  holds:\n"
                 f"    - {{path: data, version: 'md5:{v['v1']}', reason: audit}}\n")
    sample.commit("hold data v1", "archivist.yaml")
    plan = _plan(sample, "2022-06-01")
    assert plan[f"data md5:{v['v1']}"]["action"] == "keep"
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-06-01")
    assert "not intact" not in proc.stderr
    assert proc.returncode == 1, proc.stderr  # still said: its objects are nowhere
    assert any(v["v1"] in line for line in proc.stderr.splitlines())
    assert sample.remotes["archive"].oids() == {v["m1"]}
    assert [e["artifact"] for e in last_event(sample)["entries"]] == ["models/m.bin"]


def test_targets_limit_the_work_to_those_artifacts(local_sample: Sample) -> None:
    sample = local_sample
    sample.version("data", {"a": A, "b": B}, "2020-01-10")
    v1 = sample.digest("data")
    sample.version("models/m.bin", M1, "2020-02-01")
    sample.version("data", {"a": A, "c": C}, "2021-01-10")
    sample.version("models/m.bin", M2, "2021-02-01")
    sample.push_all()
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]

    assert set(_plan(sample, "2022-06-01", "models/m.bin.dvc")) == {
        f"models/m.bin md5:{md5(M1)}", f"models/m.bin md5:{md5(M2)}"}
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-06-01", "models/m.bin")
    assert proc.returncode == 0, proc.stderr
    assert archive.oids() == {md5(M1)}
    assert {v1, md5(A), md5(B)} <= storage.oids()  # data v1 was due, but not a target
    assert [e["artifact"] for e in last_event(sample)["entries"]] == ["models/m.bin"]

    proc = sample.archivist("archive", "--apply", "--as-of", "2022-06-01", "data/")
    assert proc.returncode == 0, proc.stderr
    assert archive.oids() == {md5(M1), v1, md5(A), md5(B)}
    assert md5(A) in storage.oids()  # data v2 uses it

    proc = sample.archivist("dispose", "--apply", "--as-of", "2025-06-01", "models/m.bin")
    assert proc.returncode == 0, proc.stderr
    assert archive.oids() == {v1, md5(A), md5(B)}

    for command in ("plan", "archive", "dispose"):
        proc = sample.archivist(command, "models/nothing.bin")
        assert proc.returncode == 2, (command, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) <= 2, proc.stderr  # line and hint
        assert "models/nothing.bin" in proc.stderr
    proc = sample.archivist("restore", "models/nothing.bin")
    assert proc.returncode == 2, proc.stderr


@pytest.mark.parametrize("value", ["9999-12-30", "2027-02-30", "tomorrow"])
def test_as_of_beyond_the_calendar_is_one_line(local_sample: Sample, value: str) -> None:
    for command in ("plan", "archive", "dispose", "audit"):
        proc = local_sample.archivist(command, "--as-of", value)
        assert proc.returncode == 2, (command, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) <= 2, (command, proc.stderr)
        assert "--as-of" in proc.stderr
    proc = local_sample.archivist("restore", "x", "--until", value)
    assert proc.returncode == 2 and "--until" in proc.stderr, proc.stderr


def test_dry_runs_may_use_the_walk_snapshot_apply_never_does(local_sample: Sample) -> None:
    from archivist import history, parsecache

    sample = local_sample
    sample.version("models/m.bin", M1, "2020-02-01")
    sample.version("models/m.bin", M2, "2021-02-01")
    sample.push_all()
    assert f"models/m.bin md5:{md5(M1)}" in _plan(sample, "2022-06-01")
    # a stale snapshot that claims the history at HEAD has no DVC change at all
    snapshot = parsecache.Snapshot(sample.root, history._SNAPSHOT)
    kind_and_head = snapshot.header()
    assert kind_and_head[1] == sample.head()
    snapshot.save(kind_and_head, ([], [], {}, {}, {}, {}))
    assert _plan(sample, "2022-06-01") == {}  # plan trusted its cache: faster, not safer
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-06-01")
    assert proc.returncode == 0, proc.stderr
    assert sample.remotes["archive"].oids() == {md5(M1)}  # --apply walked afresh
