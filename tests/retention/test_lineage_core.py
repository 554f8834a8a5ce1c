"""Lineage, pure parts: what a dvc.lock says, how dependencies resolve to tracked
versions, and the keep rule on plain plan items."""

from __future__ import annotations

import datetime as dt

from archivist.dvcfiles import LockedPath, LockedStage, Version, parse_lock_stages
from archivist.history import LockAt, Span
from archivist.retention import lineage
from archivist.retention.decide import PlanItem
from retention.sample import artifact

LOCK = """\
schema: '2.0'
stages:
  prepare:
    cmd:
    - python prepare.py
    - touch done
    deps:
    - path: ../data/raw.csv
      hash: md5
      md5: 2744a8a044d458da3429b9380a8d719d
      size: 5
    - path: s3://bucket/extra.csv
      etag: abc
    params:
      ../params.yaml:
        lr: 0.1
        model: {depth: 3}
    outs:
    - path: ../data/prepared
      hash: md5
      md5: 6241bd0a04866daa1620a9cd023cd262.dir
      nfiles: 1
  train@small:
    cmd: python train.py small
    deps:
    - path: data/prepared/rows.txt
      md5: 0123456789abcdef0123456789abcdef
    outs:
    - path: models/small.pkl
      md5: c27d8dbd078c3220272e660ae43146e3
"""
YAML = """\
stages:
  prepare:
    wdir: src
    cmd: python prepare.py
  train:
    foreach: [small]
    do: {cmd: "python train.py ${item}"}
"""


def test_a_lock_gives_repo_paths_commands_and_params() -> None:
    stages = {s.name: s for s in parse_lock_stages(LOCK, "pipe/dvc.lock", YAML)}
    prepare = stages["prepare"]
    # paths are relative to the stage's wdir (pipe/src), which only dvc.yaml records
    assert prepare.deps == (LockedPath("pipe/data/raw.csv", Version(
        "md5", "2744a8a044d458da3429b9380a8d719d", size=5)),)  # the URL is outside
    assert prepare.outs[0].path == "pipe/data/prepared"
    assert prepare.outs[0].version == Version("md5", "6241bd0a04866daa1620a9cd023cd262.dir",
                                              nfiles=1)
    assert prepare.cmd == "python prepare.py && touch done"
    assert prepare.params == {"pipe/params.yaml": {"lr": 0.1, "model": {"depth": 3}}}
    train = stages["train@small"]
    assert train.deps[0].path == "pipe/data/prepared/rows.txt"
    assert train.deps[0].version is not None and train.deps[0].version.algorithm == \
        "md5-dos2unix"  # DVC 2 wrote no "hash: md5"
    assert train.outs[0].path == "pipe/models/small.pkl"


def _span(path: str, digest: str, since: int, until: int | None,
          stage: str | None = None) -> Span:
    day = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    return Span(path=path, version=Version("md5", digest), artifact=artifact(path, stage=stage),
                since_commit=f"{since:040x}", since=day, since_position=since,
                until_position=until, until=None if until is None else day)


def _dep(path: str, digest: str | None) -> LockedPath:
    return LockedPath(path, Version("md5", digest) if digest else None)


D1, D2, P1, M1, M2, F1 = ("d1" * 16, "d2" * 16, "e1" * 16 + ".dir", "a1" * 16, "a2" * 16,
                          "f1" * 16 + ".dir")


def test_dependencies_resolve_to_tracked_versions_or_nothing() -> None:
    spans = [_span("data/raw", D1, 0, 2), _span("data/raw", D2, 2, None),
             _span("data/images", F1, 0, None),
             _span("models/m", M1, 1, 3, "train"), _span("models/m", M2, 3, None, "train")]
    stage = LockedStage("train", "python train.py", (
        _dep("data/raw", D1),  # an older version, by its hash
        _dep("data/raw", "0" * 32),  # a hash no version has: the one current then
        _dep("data/images/cat.png", "9" * 32),  # inside a tracked folder
        _dep("data", "8" * 32 + ".dir"),  # a folder holding tracked artifacts
        _dep("src/train.py", "7" * 32),  # git's
    ), {}, (_dep("models/m", M1),))
    locks = [LockAt("dvc.lock", f"{1:040x}", 1, (stage,)),
             LockAt("dvc.lock", f"{3:040x}", 3, (LockedStage(
                 "train", "python train.py", (_dep("data/raw", D2),), {},
                 (_dep("models/m", M2),)),))]
    graph = lineage.build_graph(spans, locks)
    (build,) = graph.builds[("models/m", M1)]
    hows = [(i.how, i.nodes) for i in build.inputs]
    assert hows == [
        ("exact", (("data/raw", D1),)),
        ("at-build", (("data/raw", D1),)),  # current at position 1
        ("inside", (("data/images", F1),)),
        ("holds", (("data/images", F1), ("data/raw", D1))),
        ("untracked", ()),
    ]
    assert graph.inputs(("models/m", M2)) == [("data/raw", D2)]
    assert lineage.inputs_of(graph, ("models/m", M1)) == [("data/raw", D1),
                                                          ("data/images", F1)]


def _item(path: str, digest: str, state: str, action: str, location: str | None = "active",
          **extra: object) -> PlanItem:
    return PlanItem(path=path, version=f"md5:{digest}", state=state, action=action,
                    reason="own", due=extra.pop("due", None),  # type: ignore[arg-type]
                    retention_class="standard", size=1, location=location,
                    current=state == "current", **extra)  # type: ignore[arg-type]


def _graph(*edges: tuple[tuple[str, str], tuple[str, str]]) -> lineage.Graph:
    graph = lineage.Graph()
    for (path, digest), (dep_path, dep_digest) in edges:
        graph.builds.setdefault((path, digest), []).append(lineage.Build(
            path=path, version=Version("md5", digest), stage="s", cmd="c", lock="dvc.lock",
            commit="0" * 40, position=0,
            inputs=(lineage.Input(dep_path, Version("md5", dep_digest),
                                  ((dep_path, dep_digest),), "exact"),)))
    return graph


def test_inputs_stay_as_available_as_what_was_built_from_them() -> None:
    model = ("models/m", M1)
    prep = ("data/prep", P1)
    raw = ("data/raw", D1)
    graph = _graph((model, prep), (prep, raw))
    due = dt.date(2021, 3, 1)
    items = [_item(*model, "active", "keep", due=due, release="m@v1.0.0"),
             _item(*prep, "active", "archive"), _item(*raw, "archived", "dispose", "archive")]
    out, warnings = lineage.propagate(items, graph)
    assert warnings == []
    assert [(i.action, i.due) for i in out] == [("keep", due), ("keep", due), ("keep", due)]
    assert out[2].kept_for == lineage.InputOf(
        chain=(("data/prep", f"md5:{P1}"), ("models/m", f"md5:{M1}")),
        why="release m@v1.0.0", needs="active", until=due)
    assert out[2].reason == (f"own; kept: input of data/prep md5:{P1[:12]}.dir, an input of "
                             f"models/m md5:{M1[:12]} (release m@v1.0.0)")


def test_an_archived_version_lets_its_inputs_be_archived_never_disposed() -> None:
    model, raw = ("models/m", M1), ("data/raw", D1)
    items = [_item(*model, "archived", "keep", "archive"), _item(*raw, "active", "archive")]
    out, _ = lineage.propagate(items, _graph((model, raw)))
    assert out[1].action == "archive"  # archive is as available as the model needs
    items[1] = _item(*raw, "archived", "dispose", "archive")
    out, _ = lineage.propagate(items, _graph((model, raw)))
    assert out[1].action == "keep" and out[1].kept_for is not None
    assert out[1].kept_for.needs == "archive"


def test_what_cannot_be_lifted_is_said() -> None:
    model, raw = ("models/m", M1), ("data/raw", D1)
    items = [_item(*model, "current", "keep"), _item(*raw, "archived", "keep", "archive")]
    out, warnings = lineage.propagate(items, _graph((model, raw)))
    assert out[1].action == "keep" and "needed active" in out[1].reason
    assert warnings and "archivist restore models/m --with-inputs" in warnings[0]
    items[1] = _item(*raw, "disposed", "keep", None)
    out, warnings = lineage.propagate(items, _graph((model, raw)))
    assert out[1] == items[1] and "cannot be reproduced" in warnings[0]


def test_a_cycle_of_versions_ends() -> None:
    a, b = ("x", M1), ("y", M2)
    items = [_item(*a, "current", "keep"), _item(*b, "active", "archive")]
    out, _ = lineage.propagate(items, _graph((a, b), (b, a)))
    assert out[1].action == "keep" and out[0] == items[0]
