"""Property: whatever the pipeline's history, no input of a kept version is ever in a
delete set, and lineage only ever keeps more.

Random first-parent histories of a two-stage pipeline (a ``.dvc`` dataset -> prepare ->
train) whose locks record current or older versions of their inputs (stale locks,
recurring content shared between artifacts), with ledger facts, releases, GTO stages and
a random date. The whole pure pipeline runs: the bounded clock, the spans, the version
records, ``decide``, ``lineage.build_graph`` and ``propagate``, ``delete_sets``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivist.dvcfiles import Artifact, LockedPath, LockedStage, Version
from archivist.history import CommitArtifacts, LockAt, bound_dates, fold_spans
from archivist.policy import parse_policy
from archivist.retention import lineage
from archivist.retention.decide import LedgerFact, PlanItem, decide, delete_sets
from archivist.retention.plan import version_records
from retention import sample
from retention.sample import FINITE_POLICY, NOW

RAW, PREP, MODEL = "data/raw", "data/prep", "models/m"
DIGESTS = [f"{n:x}" * 32 for n in range(7)]  # few: content recurs, across artifacts too
PIPELINE = {PREP: "prepare", MODEL: "train"}


def artifact(path: str, digest: str, retention: str | None) -> Artifact:
    return sample.artifact(path, digest, retention, stage=PIPELINE.get(path))


def locked(path: str, digest: str) -> LockedPath:
    return LockedPath(path, Version("md5", digest))


@st.composite
def scenario(draw: st.DrawFn) -> dict[str, object]:
    steps: list[CommitArtifacts] = []
    chain: list[tuple[str, dt.datetime]] = []
    locks: list[LockAt] = []
    facts: list[tuple[str, str, str, int]] = []
    state: dict[str, Artifact] = {}
    seen: dict[str, list[str]] = {RAW: [], PREP: [], MODEL: []}
    day = dt.datetime(2015, 1, 1, 12, tzinfo=dt.UTC)
    for n in range(draw(st.integers(1, 16))):
        day += dt.timedelta(days=draw(st.integers(0, 300)))
        claimed = day + dt.timedelta(days=draw(st.sampled_from([0, 0, 0, -400, 5000])))
        sha = f"{n:040x}"
        position = len(chain)
        chain.append((sha, claimed))
        move = draw(st.sampled_from(["raw", "raw", "repro", "repro", "fact"]))
        if move == "fact" and any(seen.values()):
            path = draw(st.sampled_from([p for p in seen if seen[p]]))
            facts.append((draw(st.sampled_from(["archive", "restore", "dispose"])), path,
                          f"md5:{draw(st.sampled_from(seen[path]))}", position))
            continue
        changes: list[tuple[Artifact | None, Artifact | None]] = []
        retention = draw(st.sampled_from([None, "experiment"]))
        if move == "raw" or RAW not in state:
            after = artifact(RAW, draw(st.sampled_from(DIGESTS)), retention)
            changes.append((state.get(RAW), after))
            state[RAW] = after
            seen[RAW].append(after.version.digest)  # type: ignore[union-attr]
        else:
            # a run of the pipeline: on the current dataset, or a lock that records an
            # older one (stale, or written elsewhere)
            raw = draw(st.sampled_from([state[RAW].version.digest,  # type: ignore[union-attr]
                                        *seen[RAW]]))
            prep = draw(st.sampled_from(DIGESTS))
            prep_in = draw(st.sampled_from([prep, prep, *seen[PREP]]))
            model = draw(st.sampled_from(DIGESTS))
            for path, digest in ((PREP, prep), (MODEL, model)):
                after = artifact(path, digest, retention)
                changes.append((state.get(path), after))
                state[path] = after
                seen[path].append(digest)
            locks.append(LockAt("dvc.lock", sha, position, (
                LockedStage("prepare", "python prepare.py", (locked(RAW, raw),), {},
                            (locked(PREP, prep),)),
                LockedStage("train", "python train.py",
                            (locked(PREP, prep_in), locked("train.py", "a" * 32)),
                            {"params.yaml": {"lr": 0.1}}, (locked(MODEL, model),)))))
        steps.append(CommitArtifacts(sha, "a", "a@x", claimed, claimed, "s", changes))
    known = [(p, d) for p, ds in seen.items() for d in ds]
    pinned = st.lists(st.sampled_from(known), max_size=2, unique=True) if known \
        else st.just([])
    return {"steps": steps, "chain": chain, "locks": locks, "facts": facts,
            "releases": draw(pinned), "stages": draw(pinned),
            "as_of": draw(st.dates(dt.date(2015, 6, 1), NOW.date()))}


def _closure(graph: lineage.Graph, node: lineage.Node) -> list[lineage.Node]:
    return lineage.inputs_of(graph, node)


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_no_input_of_a_kept_version_is_ever_in_a_delete_set(case: dict[str, object]) -> None:
    chain: list[tuple[str, dt.datetime]] = case["chain"]  # type: ignore[assignment]
    as_of: dt.date = case["as_of"]  # type: ignore[assignment]
    policy = parse_policy(FINITE_POLICY)
    clock = bound_dates(chain, NOW)
    dates = [clock.dates[sha] for sha, _ in chain]
    timelines = fold_spans(chain[-1][0], case["steps"], clock)  # type: ignore[arg-type]
    records = version_records(timelines.spans)
    facts = [LedgerFact(kind, path, version, dates[pos].date(), chain[pos][0],
                        until=as_of + dt.timedelta(days=10) if kind == "restore" else None,
                        position=pos)
             for kind, path, version, pos in case["facts"]]  # type: ignore[attr-defined]
    releases = {key: "m@v1.0.0" for key in case["releases"]}  # type: ignore[attr-defined]
    stages = {key: "stage prod via m#prod#1" for key in case["stages"]}  # type: ignore[attr-defined]
    before = decide(records, policy, facts, as_of, releases, stages)
    graph = lineage.build_graph(timelines.spans, case["locks"])  # type: ignore[arg-type]
    after, _ = lineage.propagate(before, graph)

    # only ever keeps more: same versions, same states; an action only ever becomes keep
    assert [(i.path, i.version, i.state) for i in after] == \
        [(i.path, i.version, i.state) for i in before]
    for old, new in zip(before, after, strict=True):
        assert new.action in (old.action, "keep"), (old, new)
        if new.action != old.action:
            assert new.kept_for is not None and "kept: input of" in new.reason

    # every lock's stage output version has its build, with the lock's own inputs
    for at in case["locks"]:  # type: ignore[attr-defined]
        for stage in at.stages:
            out = stage.outs[0]
            node = (out.path, out.version.digest)
            if node in {(s.path, s.version.digest) for s in timelines.spans}:
                assert node in graph.builds

    by_node = {(i.path, i.digest): i for i in after}
    objects = {(i.path, i.version): [i.digest] for i in after}  # content shared by digest
    sets = {kind: delete_sets(after, objects, kind)  # type: ignore[arg-type]
            for kind in ("archive", "dispose")}
    for item in after:
        level = lineage.demand(item)
        if level == 0:
            continue
        for dep in _closure(graph, (item.path, item.digest)):
            input_item = by_node.get(dep)
            if input_item is None or input_item.state == "disposed":
                continue  # nothing left to keep: propagate warns
            for found in sets["dispose"]:  # kept where it is: never disposed there
                if input_item.pinned or input_item.location == found.remote:
                    assert input_item.digest not in found.delete, (item, input_item)
            if level == 2 and input_item.location == "active":  # kept active: stays there
                for found in sets["archive"]:
                    assert input_item.digest not in found.delete, (item, input_item)


def test_lineage_off_is_the_plan_as_before() -> None:
    """Without ``propagate`` the plan is ``decide``'s: the rule adds, never replaces."""
    item = PlanItem(path=RAW, version="md5:" + DIGESTS[0], state="active", action="archive",
                    reason="r", due=None, retention_class="standard", size=1,
                    location="active")
    out, warnings = lineage.propagate([item], lineage.Graph())
    assert out == [item] and warnings == []
    assert dataclasses.replace(item, kept_for=None) == item
