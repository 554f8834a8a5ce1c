"""history (real git, no remote) and the pure retention core (plain values)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from archivist.dvcfiles import Artifact, Version
from archivist.history import read_clock, read_timelines, walk
from archivist.policy import parse_policy
from archivist.retention.decide import LedgerFact, VersionRecord, decide
from realrepo import run
from retention.sample import POLICY, dated

if TYPE_CHECKING:  # the fixtures come from conftest; nothing is imported from it
    from retention.sample import Sample


DVC = "outs:\n- md5: {h}\n  size: 3\n  hash: md5\n  path: clf.pkl\n{meta}"


def write_version(sample: Sample, digest: str, when: str, meta: str = "",
                  name: str = "Test Author") -> str:
    sample.write("models/clf.pkl.dvc", DVC.format(h=digest * 4, meta=meta))
    env = {**dated(when), "GIT_AUTHOR_NAME": name}
    return sample.commit(f"clf {digest}", "models/clf.pkl.dvc", env=env)


def test_walk_reports_who_changed_what_first_parent_only(local_sample: Sample) -> None:
    write_version(local_sample, "aaaaaaaa", "2020-01-01", name="Ana")
    local_sample.git("switch", "-q", "-c", "side")
    write_version(local_sample, "bbbbbbbb", "2020-02-01", name="Bob")
    write_version(local_sample, "cccccccc", "2020-03-01", name="Bob")
    local_sample.git("switch", "-q", "main")
    local_sample.git("merge", "-q", "--no-ff", "--no-edit", "side", env=dated("2020-04-01"))
    write_version(local_sample, "dddddddd", "2020-05-01", meta="  meta: {owner: x@y.z}\n",
                  name="Eve")
    commits = list(walk(local_sample.root, "HEAD"))
    assert [c.author_name for c in commits] == ["Ana", "Test Author", "Eve"]
    merge = commits[1]
    assert [(b.version.digest[:8], a.version.digest[:8]) for b, a in merge.changes] == [
        ("aaaaaaaa", "cccccccc")]  # the side branch's bbbb never was on main
    assert commits[2].author_date == dt.datetime(2020, 5, 1, 12, tzinfo=dt.UTC)
    before, after = commits[2].changes[0]
    assert before is not None and after is not None and after.tag("owner") == "x@y.z"


def test_timelines_tag_changes_deletions_and_returns(local_sample: Sample) -> None:
    write_version(local_sample, "aaaaaaaa", "2020-01-01")
    write_version(local_sample, "aaaaaaaa", "2020-02-01", meta="  meta: {retention: x}\n")
    write_version(local_sample, "bbbbbbbb", "2020-03-01")
    write_version(local_sample, "aaaaaaaa", "2020-04-01")  # rolled back
    local_sample.git("rm", "-q", "models/clf.pkl.dvc")
    local_sample.git("commit", "-q", "-m", "drop", env=dated("2020-05-01"))
    spans = read_timelines(local_sample.root, "HEAD").spans
    assert [(s.version.digest[:8], s.since.date().isoformat(), s.ended_by) for s in spans] == [
        ("aaaaaaaa", "2020-01-01", "replaced"), ("bbbbbbbb", "2020-03-01", "replaced"),
        ("aaaaaaaa", "2020-04-01", "deleted")]
    assert spans[0].artifact.tag("retention") == "x"  # tags as last seen while current


def test_a_broken_file_is_not_a_deletion(local_sample: Sample) -> None:
    write_version(local_sample, "aaaaaaaa", "2020-01-01")
    local_sample.write("models/clf.pkl.dvc", "outs: [unclosed\n")
    local_sample.commit("oops", "models/clf.pkl.dvc", env=dated("2020-02-01"))
    timelines = read_timelines(local_sample.root, "HEAD")
    assert [s.until for s in timelines.spans] == [None]
    assert any("malformed YAML" in w for w in timelines.warnings)


def test_dvc_yaml_stage_outputs_take_versions_from_the_lock(local_sample: Sample) -> None:
    local_sample.write("dvc.yaml", "stages:\n  train:\n    cmd: python train.py\n"
                       "    outs:\n      - model.pkl\n")
    for digest, when in (("1a1a1a1a", "2020-01-01"), ("2b2b2b2b", "2020-06-01")):
        local_sample.write("dvc.lock", "schema: '2.0'\nstages:\n  train:\n    cmd: x\n"
                           f"    outs:\n    - path: model.pkl\n      hash: md5\n"
                           f"      md5: {digest * 4}\n      size: 9\n")
        local_sample.commit(f"train {when}", "dvc.yaml", "dvc.lock", env=dated(when))
    spans = read_timelines(local_sample.root, "HEAD").spans
    assert [(s.path, s.version.digest[:8]) for s in spans] == [
        ("model.pkl", "1a1a1a1a"), ("model.pkl", "2b2b2b2b")]


def test_the_clock_bounds_backdated_and_future_commits(local_sample: Sample) -> None:
    write_version(local_sample, "aaaaaaaa", "2024-05-20")
    backdated = write_version(local_sample, "bbbbbbbb", "2020-01-01")
    future = write_version(local_sample, "cccccccc", "2099-01-01")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    clock = read_clock(local_sample.root, "HEAD", now)
    assert [(a.kind, a.commit) for a in clock.anomalies] == [
        ("backwards", backdated), ("future", future)]
    assert clock.dates[backdated] == dt.datetime(2024, 5, 20, 12, tzinfo=dt.UTC)
    assert clock.dates[future] == now
    spans = read_timelines(local_sample.root, "HEAD", now=now).spans
    assert [(s.version.digest[:8], s.since.date().isoformat()) for s in spans] == [
        ("aaaaaaaa", "2024-05-20"), ("bbbbbbbb", "2024-05-20"), ("cccccccc", "2026-01-01")]
    assert spans[1].since_claimed == dt.datetime(2020, 1, 1, 12, tzinfo=dt.UTC)
    assert [s.since_position for s in spans] == sorted(s.since_position or 0 for s in spans)


# ---------------------------------------------------------------- the pure core


def record(digest: str, superseded: str | None, retention: str | None = None,
           path: str = "models/clf.pkl") -> VersionRecord:
    meta = {"retention": retention} if retention else {}
    artifact = Artifact(path=path, declared_in=f"{path}.dvc", line=1, tags_in=f"{path}.dvc",
                        tags_line=1, meta=meta)
    return VersionRecord(path=path, version=Version("md5", digest, size=10), artifact=artifact,
                         current=superseded is None,
                         superseded=dt.date.fromisoformat(superseded) if superseded else None,
                         superseded_by="c0ffee" if superseded else None, ended_by="replaced")


def states(items: list) -> list[tuple[str, str, str | None]]:  # type: ignore[type-arg]
    return [(i.state, i.action, i.due.isoformat() if i.due else None) for i in items]


def test_windows_decide_by_class_and_date() -> None:
    policy = parse_policy(POLICY)
    records = [record("a" * 32, "2020-01-01", "experiment"), record("b" * 32, "2020-01-01"),
               record("c" * 32, None)]
    on = dt.date(2020, 3, 1)
    assert states(decide(records, policy, [], on)) == [
        ("active", "archive", "2020-01-31"),  # experiment: 30 d
        ("active", "keep", "2020-06-29"),  # standard: 180 d
        ("current", "keep", None)]
    later = decide(records, policy, [], dt.date(2021, 2, 1))
    assert later[0].action == "dispose" and later[0].due == dt.date(2021, 1, 30)


def test_ledger_facts_move_versions_along() -> None:
    policy = parse_policy(POLICY)
    v = "a" * 32
    facts = [LedgerFact("archive", "models/clf.pkl", f"md5:{v}", dt.date(2020, 7, 1), "e1"),
             LedgerFact("restore", "models/clf.pkl", f"md5:{v}", dt.date(2021, 1, 1), "e2",
                        until=dt.date(2021, 3, 1))]
    rec = [record(v, "2020-01-01")]
    assert states(decide(rec, policy, facts[:1], dt.date(2021, 1, 1))) == [
        ("archived", "keep", "2023-06-29")]
    assert states(decide(rec, policy, facts, dt.date(2021, 2, 1))) == [
        ("restored", "keep", "2021-03-01")]
    assert states(decide(rec, policy, facts, dt.date(2021, 3, 2))) == [
        ("restored", "archive", "2021-03-01")]
    disposed = [*facts, LedgerFact("dispose", "models/clf.pkl", f"md5:{v}",
                                   dt.date(2024, 1, 1), "e3")]
    assert states(decide(rec, policy, disposed, dt.date(2024, 2, 1))) == [
        ("disposed", "keep", None)]


def test_unknown_class_keeps_and_says_why(tmp_path: Path) -> None:
    items = decide([record("a" * 32, "2000-01-01", "platinum")], parse_policy(POLICY), [],
                   dt.date(2030, 1, 1))
    assert items[0].action == "keep" and "unknown retention class 'platinum'" in items[0].reason


def test_a_commit_from_beyond_year_9999_is_bounded_not_a_crash(local_sample: Sample) -> None:
    write_version(local_sample, "aaaaaaaa", "2020-01-01")
    local_sample.write("models/clf.pkl.dvc", DVC.format(h="bbbbbbbb" * 4, meta=""))
    local_sample.git("add", "models/clf.pkl.dvc")
    tree = local_sample.git("write-tree").stdout.strip()
    parent = local_sample.head()
    stamp = "99999999999999 +0000"  # year 3170843: git keeps it, Python cannot hold it
    body = (f"tree {tree}\nparent {parent}\nauthor A <a@example.com> {stamp}\n"
            f"committer A <a@example.com> {stamp}\n\nfrom the far future\n")
    far = run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], local_sample.root,
              input=body).stdout.strip()
    local_sample.git("update-ref", "refs/heads/main", far)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    timelines = read_timelines(local_sample.root, "HEAD", now=now)
    assert [(a.kind, a.commit) for a in timelines.anomalies] == [("future", far)]
    assert [s.until for s in timelines.spans] == [now, None]
    proc = local_sample.archivist("plan", "--json", "--as-of", "2025-01-01")
    assert proc.returncode == 0, proc.stderr
    assert "bbbbbbbb" * 4 in proc.stdout


def test_templated_stage_outputs_have_timelines(local_sample: Sample) -> None:
    local_sample.write("params.yaml", "models: [small, large]\n")
    local_sample.write("dvc.yaml", "stages:\n  train:\n    foreach: ${models}\n    do:\n"
                       "      cmd: python train.py ${item}\n      outs:\n"
                       "        - models/${item}.pkl\n")

    def lock(small: str, large: str) -> str:
        return "schema: '2.0'\nstages:\n" + "".join(
            f"  train@{name}:\n    cmd: python train.py {name}\n    outs:\n"
            f"    - path: models/{name}.pkl\n      hash: md5\n      md5: {digest * 4}\n"
            "      size: 9\n" for name, digest in (("small", small), ("large", large)))

    local_sample.write("dvc.lock", lock("1a1a1a1a", "3c3c3c3c"))
    local_sample.commit("train", "params.yaml", "dvc.yaml", "dvc.lock", env=dated("2020-01-01"))
    local_sample.write("dvc.lock", lock("2b2b2b2b", "3c3c3c3c"))
    local_sample.commit("retrain small", "dvc.lock", env=dated("2020-06-01"))
    for use_cache in (False, True, True):  # cold, then what the caches give
        timelines = read_timelines(local_sample.root, "HEAD", use_cache=use_cache)
        assert not timelines.warnings
        assert sorted((s.path, s.version.digest[:8], s.until is None)
                      for s in timelines.spans) == [
            ("models/large.pkl", "3c3c3c3c", True), ("models/small.pkl", "1a1a1a1a", False),
            ("models/small.pkl", "2b2b2b2b", True)]
