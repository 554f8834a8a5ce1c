"""Property: whatever the history, nothing that must be kept is ever in a delete set.

Random first-parent histories (recurring content, folders sharing files with file
versions, deletions, skewed and future commit dates, ledger facts in and out of a
version's current life), random holds (spelled in every way a path can be), releases and
GTO stage assignments, on a random date. The whole pure pipeline runs: the bounded clock,
the spans, the version records, ``decide`` and ``delete_sets``.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivist.dvcfiles import Artifact
from archivist.history import CommitArtifacts, bound_dates, fold_spans
from archivist.policy import parse_policy
from archivist.retention.decide import LedgerFact, PlanItem, decide, delete_sets, hold_covers
from archivist.retention.plan import version_records
from retention.sample import FINITE_POLICY, NOW, artifact

FILES = ["m/a", "m/b"]
FOLDER = "d"
PATHS = [*FILES, FOLDER]
FILE_DIGESTS = [f"{n:x}" * 32 for n in range(6)]  # 000..., 111..., recurring content
DIR_DIGESTS = [f"{n:x}" * 32 + ".dir" for n in range(10, 14)]
SPELLINGS = ["{p}", "./{p}", "{p}/", "{p}//", "./{p}/"]


@st.composite
def scenario(draw: st.DrawFn) -> dict[str, object]:
    # what each folder version lists: some files that are also whole file versions
    shared = st.lists(st.sampled_from([*FILE_DIGESTS, "e" * 32, "f" * 32]), max_size=3,
                      unique=True)
    listing = {d: [d, *draw(shared)] for d in DIR_DIGESTS}
    steps: list[CommitArtifacts] = []
    chain: list[tuple[str, dt.datetime]] = []
    facts: list[tuple[str, str, str, int]] = []  # kind, path, version, chain position
    state: dict[str, Artifact] = {}
    seen: list[tuple[str, str]] = []
    day = dt.datetime(2015, 1, 1, 12, tzinfo=dt.UTC)
    for n in range(draw(st.integers(1, 14))):
        day += dt.timedelta(days=draw(st.integers(0, 400)))
        skew = draw(st.sampled_from([0, 0, 0, -2000, -30, 9000]))  # backdated, future
        claimed = day + dt.timedelta(days=skew)
        sha = f"{n:040x}"
        chain.append((sha, claimed))
        if seen and draw(st.integers(0, 3)) == 0:  # a ledger commit: no DVC file changed
            path, digest = draw(st.sampled_from(seen))
            facts.append((draw(st.sampled_from(["archive", "restore", "dispose"])), path,
                          f"md5:{digest}", len(chain) - 1))
            continue
        path = draw(st.sampled_from(PATHS))
        before = state.get(path)
        if before is not None and draw(st.integers(0, 5)) == 0:
            after = None
            del state[path]
        else:
            pool = DIR_DIGESTS if path == FOLDER else FILE_DIGESTS
            digest = draw(st.sampled_from(pool))
            after = artifact(path, digest, draw(st.sampled_from([None, "experiment"])))
            state[path] = after
            seen.append((path, digest))
        steps.append(CommitArtifacts(sha, "a", "a@x", claimed, claimed, "s", [(before, after)]))
    holds = []
    for _ in range(draw(st.integers(0, 2))):
        path = draw(st.sampled_from(PATHS))
        line = f"    - {{path: '{draw(st.sampled_from(SPELLINGS)).format(p=path)}', reason: h"
        if seen and draw(st.booleans()):
            line += f", version: 'md5:{draw(st.sampled_from(seen))[1]}'"
        if draw(st.booleans()):
            line += f", until: {draw(st.dates(dt.date(2016, 1, 1), dt.date(2030, 1, 1)))}"
        holds.append(line + "}")
    policy_text = FINITE_POLICY + ("  holds:\n" + "\n".join(holds) + "\n" if holds else "")
    pinned = st.lists(st.sampled_from(seen), max_size=2, unique=True) if seen else st.just([])
    return {
        "listing": listing, "steps": steps, "chain": chain, "facts": facts,
        "policy": policy_text, "releases": draw(pinned), "stages": draw(pinned),
        "as_of": draw(st.dates(dt.date(2015, 6, 1), NOW.date())),
    }


def objects_of(item: PlanItem, listing: dict[str, list[str]]) -> list[str]:
    return listing[item.digest] if item.is_dir else [item.digest]


# bounded for `make test`; no example database written into the checkout
@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_nothing_kept_is_ever_in_a_delete_set(case: dict[str, object]) -> None:
    listing: dict[str, list[str]] = case["listing"]  # type: ignore[assignment]
    chain: list[tuple[str, dt.datetime]] = case["chain"]  # type: ignore[assignment]
    steps: list[CommitArtifacts] = case["steps"]  # type: ignore[assignment]
    as_of: dt.date = case["as_of"]  # type: ignore[assignment]
    policy = parse_policy(str(case["policy"]))
    assert policy.retention is not None

    clock = bound_dates(chain, NOW)
    dates = [clock.dates[sha] for sha, _ in chain]
    assert dates == sorted(dates) and all(d <= NOW for d in dates)  # the bounded clock
    timelines = fold_spans(chain[-1][0], steps, clock)
    for span in timelines.spans:  # a clock never starts before the version's own commit
        assert span.until is None or span.since <= span.until <= NOW
    records = version_records(timelines.spans)
    facts = [LedgerFact(kind, path, version, dates[pos].date(), chain[pos][0],
                        until=as_of + dt.timedelta(days=10) if kind == "restore" else None,
                        position=pos)
             for kind, path, version, pos in case["facts"]]  # type: ignore[attr-defined]
    releases = {key: "clf@v1.0.0" for key in case["releases"]}  # type: ignore[attr-defined]
    stages = {key: "stage prod via clf#prod#1" for key in case["stages"]}  # type: ignore[attr-defined]
    items = decide(records, policy, facts, as_of, releases, stages)
    by_key = {(r.path, r.version.label): r for r in records}

    must_keep = set()
    for item in items:
        record = by_key[(item.path, item.version)]
        held = any(hold_covers(h, item.path, item.content)
                   and (h.until is None or as_of <= h.until) for h in policy.retention.holds)
        if record.current or (item.path, item.digest) in stages:
            assert item.action == "keep" and item.state != "disposed", item
        if record.current or (item.path, item.digest) in stages or held:
            # held after its disposal, a version stays "disposed": what is left is kept
            assert item.action == "keep" and item.pinned, item
            must_keep.add((item.path, item.version))
        if (item.path, item.digest) in releases:
            assert item.retention_class == "regulated"
        if item.action == "dispose":  # due by its own class's windows, never earlier
            cls = policy.retention.classes[item.retention_class or ""]
            assert record.superseded is not None and cls.archive_days is not None
            assert as_of >= record.superseded + dt.timedelta(
                days=cls.active_days + cls.archive_days)

    objects = {(i.path, i.version): objects_of(i, listing) for i in items}
    kept_objects = {o for key in must_keep for o in objects[key]}
    for kind in ("archive", "dispose"):
        due = {(i.path, i.version) for i in items if i.action == kind}
        for found in delete_sets(items, objects, kind):  # type: ignore[arg-type]
            assert not kept_objects & set(found.delete), (kind, found)
            for obj in found.delete:
                for item in items:
                    if obj not in objects[(item.path, item.version)]:
                        continue
                    # every user of a deleted object is due, or does not live there
                    assert (item.path, item.version) in due or item.state == "disposed" or (
                        not item.pinned and item.location not in (None, found.remote)), (
                        kind, found.remote, obj, item)
