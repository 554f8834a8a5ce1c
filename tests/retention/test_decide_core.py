"""The pure retention core on plain values: lives, holds, pins, the clock, delete sets."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from archivist.dvcfiles import Artifact, Version
from archivist.history import bound_dates
from archivist.policy import parse_policy
from archivist.retention.decide import (
    LedgerFact,
    UnknownObjects,
    VersionRecord,
    decide,
    delete_sets,
    unmatched_holds,
)
from retention.sample import POLICY

A = "a" * 32
B = "b" * 32
PATH = "models/a.bin"


def art(path: str = PATH) -> Artifact:
    return Artifact(path=path, declared_in=f"{path}.dvc", line=1, tags_in=f"{path}.dvc",
                    tags_line=1)


def rec(digest: str, superseded: str | None, *, path: str = PATH, began: int | None = None,
        ) -> VersionRecord:
    return VersionRecord(path=path, version=Version("md5", digest, size=3), artifact=art(path),
                         current=superseded is None,
                         superseded=dt.date.fromisoformat(superseded) if superseded else None,
                         superseded_by="c0ffee" if superseded else None,
                         ended_by="replaced" if superseded else None, began=began)


def fact(kind: str, digest: str, position: int | None, on: str = "2024-01-01",
         path: str = PATH) -> LedgerFact:
    return LedgerFact(kind, path, f"md5:{digest}", dt.date.fromisoformat(on), "e" * 40,
                      position=position)


def with_holds(holds: str) -> str:
    return POLICY + "  holds:\n" + holds


# ---------------------------------------------------------------- lives


def test_a_current_version_is_never_disposed_whatever_the_ledger_says() -> None:
    policy = parse_policy(POLICY)
    # disposed in an earlier life (position 3), current again since position 5
    earlier = decide([rec(A, None, began=5)], policy, [fact("dispose", A, 3)],
                     dt.date(2030, 1, 1))[0]
    assert (earlier.state, earlier.action, earlier.location) == ("current", "keep", "active")
    assert earlier.pinned and "earlier life" in earlier.reason
    # even a dispose fact of this very life cannot make the head's version "disposed"
    forged = decide([rec(A, None, began=5)], policy, [fact("dispose", A, 9)],
                    dt.date(2030, 1, 1))[0]
    assert (forged.state, forged.action, forged.location) == ("current", "keep", "active")


def test_ledger_facts_apply_only_to_the_life_they_were_recorded_in() -> None:
    policy = parse_policy(POLICY)
    on = dt.date(2025, 1, 1)
    # came back at position 5 and went again on 2024-12-01: a new life, a new clock
    old_life = decide([rec(A, "2024-12-01", began=5)], policy,
                      [fact("archive", A, 2), fact("dispose", A, 3)], on)[0]
    assert (old_life.state, old_life.action, old_life.location) == ("active", "keep", "active")
    # the same facts recorded after the life began do apply
    this_life = decide([rec(A, "2024-12-01", began=5)], policy, [fact("dispose", A, 6)], on)[0]
    assert this_life.state == "disposed"
    archived = decide([rec(A, "2020-01-01", began=5)], policy, [fact("archive", A, 6)], on)[0]
    assert (archived.state, archived.location) == ("archived", "archive")


def test_bytes_are_where_the_latest_move_of_any_life_put_them() -> None:
    policy = parse_policy(POLICY)
    on = dt.date(2025, 1, 1)
    # archived in an earlier life and never restored: the head's bytes are in the archive
    back = decide([rec(A, None, began=5)], policy, [fact("archive", A, 2)], on)[0]
    assert (back.state, back.location) == ("current", "archive")
    assert "run `archivist restore models/a.bin`" in back.reason
    # gone again since: a new clock, its bytes still in the archive until it is disposed
    again = decide([rec(A, "2024-12-01", began=5)], policy, [fact("archive", A, 2)], on)[0]
    assert (again.state, again.action, again.location) == ("archived", "keep", "archive")
    assert again.due == dt.date(2028, 5, 29)  # 2024-12-01 + 180 d + 3 y: the new life's
    restored = decide([rec(A, None, began=5)], policy,
                      [fact("archive", A, 2), fact("restore", A, 3)], on)[0]
    assert restored.location == "active"


# ---------------------------------------------------------------- holds


@pytest.mark.parametrize("spelled", ["./models/a.bin", "models/a.bin/", "models//a.bin",
                                     "models/./a.bin", "models/*.bin", "models/", "./models"])
def test_hold_paths_match_as_dvc_names_the_output(spelled: str) -> None:
    policy = parse_policy(with_holds(f"    - {{path: '{spelled}', reason: LH-1}}\n"))
    item = decide([rec(A, "2000-01-01")], policy, [], dt.date(2030, 1, 1))[0]
    assert (item.state, item.action, item.hold) == ("held", "keep", "LH-1")
    assert unmatched_holds(policy, [rec(A, "2000-01-01")]) == []


@pytest.mark.parametrize("version", [f"md5:{A}", A, f"MD5:{A.upper()}"])
def test_a_full_hash_holds_its_version_only(version: str) -> None:
    policy = parse_policy(with_holds(f"    - {{path: {PATH}, reason: LH-2, "
                                     f"version: '{version}'}}\n"))
    items = decide([rec(A, "2000-01-01"), rec(B, "2000-01-01")], policy, [],
                   dt.date(2030, 1, 1))
    assert {i.digest: (i.state, i.action) for i in items} == {
        A: ("held", "keep"), B: ("active", "dispose")}


def test_a_folder_hold_may_leave_out_the_dir_suffix() -> None:
    policy = parse_policy(with_holds(f"    - {{path: data, reason: LH-3, version: 'md5:{A}'}}\n"))
    item = decide([rec(A + ".dir", "2000-01-01", path="data")], policy, [],
                  dt.date(2030, 1, 1))[0]
    assert item.state == "held"


def test_holds_that_hold_nothing_are_named() -> None:
    loaded = parse_policy(with_holds(
        "    - {path: models/gone.bin, reason: one}\n"
        f"    - {{path: {PATH}, reason: two, version: 'md5:{A}'}}\n"
        f"    - {{path: {PATH}, reason: three, version: 'md5:{B}'}}\n"
        f"    - {{path: ./{PATH}, reason: four}}\n"))
    assert loaded.retention is not None
    holds = list(loaded.retention.holds)
    # the short form `plan` prints (the policy refuses it at load; retention must too)
    holds[1] = dataclasses.replace(holds[1], version=f"md5:{A[:12]}")
    policy = dataclasses.replace(loaded, retention=dataclasses.replace(
        loaded.retention, holds=tuple(holds)))
    records = [rec(A, "2000-01-01")]
    items = decide(records, policy, [], dt.date(2030, 1, 1))
    assert items[0].hold == "four"  # the short hash held nothing: the path-only hold did
    found = unmatched_holds(policy, records)
    assert [(u.hold.reason, u.problem) for u in found] == [
        ("one", "no-artifact"), ("two", "short-hash"), ("three", "no-version")]
    assert all(u.message.startswith("archivist.yaml:") for u in found)
    # the artifacts of a tree serve as well as the plan's records (gate's warnings)
    assert [(u.hold.reason, u.problem) for u in unmatched_holds(policy, [art()])] == [
        ("one", "no-artifact"), ("two", "short-hash"), ("three", "no-version")]


# ---------------------------------------------------------------- pins


def test_a_stage_in_use_is_never_due_and_says_why() -> None:
    policy = parse_policy(POLICY)
    reason = "stage prod via text-classification#prod#1"
    items = decide([rec(A, "2000-01-01"), rec(B, "2000-01-01")], policy,
                   [fact("archive", A, None), fact("dispose", A, None)], dt.date(2030, 1, 1),
                   stages={(PATH, A): reason})
    by = {i.digest: i for i in items}
    assert (by[A].state, by[A].action, by[A].stage) == ("in-use", "keep", reason)
    assert reason in by[A].reason and by[A].pinned
    assert by[B].action == "dispose"


def test_a_release_takes_the_release_class() -> None:
    policy = parse_policy(POLICY)
    items = decide([rec(A, "2020-01-01"), rec(B, "2020-01-01")], policy, [],
                   dt.date(2030, 1, 1), releases={(PATH, A): "clf@v1.0.0"})
    by = {i.digest: i for i in items}
    assert (by[A].retention_class, by[A].release) == ("regulated", "clf@v1.0.0")
    assert by[A].action == "archive"  # regulated: active 1 y, kept in the archive forever
    assert by[B].action == "dispose"


# ---------------------------------------------------------------- the clock


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T12:00:00+00:00")


def test_commit_dates_are_bounded_by_their_ancestors_and_by_now() -> None:
    now = at("2026-06-01")
    clock = bound_dates([("c1", at("2026-05-01")), ("c2", at("2020-01-01")),
                         ("c3", at("2026-05-20")), ("c4", at("2099-01-01")),
                         ("c5", at("2026-05-25"))], now)
    assert [clock.dates[c].date().isoformat() for c in ("c1", "c2", "c3", "c4", "c5")] == [
        "2026-05-01", "2026-05-01", "2026-05-20", "2026-06-01", "2026-06-01"]
    assert [(a.kind, a.commit, a.previous) for a in clock.anomalies] == [
        ("backwards", "c2", "c1"), ("future", "c4", None)]
    assert clock.anomalies[0].used == at("2026-05-01")
    assert "before its first-parent ancestor" in clock.anomalies[0].describe()
    assert [clock.positions[c] for c in ("c1", "c5")] == [0, 4]


# ---------------------------------------------------------------- delete sets


def test_delete_sets_spare_objects_shared_with_versions_that_stay() -> None:
    policy = parse_policy(POLICY)
    on = dt.date(2030, 1, 1)
    records = [rec(A, "2000-01-01"),  # file: due for disposal
               rec("c" * 32 + ".dir", None, path="data"),  # folder, current: holds A's bytes
               rec("d" * 32 + ".dir", "2000-01-01", path="data")]  # folder: due too
    items = decide(records, policy, [fact("archive", "d" * 32 + ".dir", None, path="data")],
                   on)
    objects = {(PATH, f"md5:{A}"): [A],
               ("data", f"md5:{'c' * 32}.dir"): ["c" * 32 + ".dir", A, "x" * 32],
               ("data", f"md5:{'d' * 32}.dir"): ["d" * 32 + ".dir", A, "y" * 32]}
    sets = {s.remote: s for s in delete_sets(items, objects, "dispose")}
    assert set(sets) == {"active", "archive"}
    for s in sets.values():
        assert s.delete == ("d" * 32 + ".dir", "y" * 32)  # manifest first, as listed
        assert s.spared == {A}
    with pytest.raises(UnknownObjects):
        delete_sets(items, {k: v for k, v in objects.items() if k[0] != "data"}, "dispose")


def test_archive_frees_the_active_copy_of_objects_only_archived_versions_use() -> None:
    on = dt.date(2021, 1, 1)
    items = decide([rec(A, "2020-01-01", path="m/one"), rec(A, "2019-01-01", path="m/two"),
                    rec(A, "2020-06-01", path="m/held")],
                   parse_policy(with_holds("    - {path: m/held, reason: LH}\n")),
                   [fact("archive", A, None, path="m/two")], on)
    assert [(i.state, i.action) for i in items] == [
        ("held", "keep"), ("active", "archive"), ("archived", "keep")]
    objects = {(i.path, i.version): [A] for i in items}
    (only,) = delete_sets(items, objects, "archive")
    assert only.remote == "active" and only.delete == () and only.spared == {A}  # held
    free = [i for i in items if i.path != "m/held"]
    (only,) = delete_sets(free, objects, "archive")
    assert only.delete == (A,)  # m/two lives in the archive: the active copy may go


def test_delete_sets_take_the_remotes_object_refs() -> None:
    from archivist.remotes import ObjectRef, VersionObjects

    policy = parse_policy(POLICY)
    items = decide([rec(A, "2000-01-01"), rec("c" * 32 + ".dir", None, path="data")], policy,
                   [], dt.date(2030, 1, 1))
    shared = ObjectRef(A)
    folder = VersionObjects(files=(("x.bin", shared), ("y.bin", ObjectRef("e" * 32))),
                            manifest=ObjectRef("c" * 32 + ".dir"))
    objects = {(PATH, f"md5:{A}"): VersionObjects(files=(("", shared),), manifest=None),
               ("data", f"md5:{'c' * 32}.dir"): folder}
    sets = delete_sets(items, {k: v.in_delete_order() for k, v in objects.items()}, "dispose")
    assert [(s.remote, s.delete, s.spared) for s in sets] == [
        ("archive", (), frozenset({shared})), ("active", (), frozenset({shared}))]
