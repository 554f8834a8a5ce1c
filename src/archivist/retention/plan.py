"""The retention plan of a repository: history + ledger + tags -> ``retention``.

``build_plan`` is the one entry point: the plan command, archive, dispose and the audit
all see versions through it. Reads git only (no DVC, no remote).

What pins a version, beyond its own dates:

- a release: the ledger's release event on the governed branch (committed, reviewed:
  deleting or moving a tag does not undo it), a GTO registration ``NAME@vX.Y.Z`` that is
  not deregistered nor deprecated, or a lightweight tag of that form;
- a GTO stage that holds it now (``gto_tags``): in use, never archived or disposed;
- lineage (``retention.lineage``, on by default): a version built from it that is kept
  (``lineage.propagate``: as available, transitively, as the most demanding one).

Outputs whose bytes no remote of the policy holds (``cache: false``, ``push: false``,
``dvc import``/``import-url``) get no item: ``Plan.left_alone`` lists them with why.

By default the history is walked fresh (no walk snapshot, no parse cache): a cache can
make a command faster, never change what it deletes. Callers that only read (the audit)
may hand in timelines they walked with the caches.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from archivist import gitrepo, gto_tags, history, ledger
from archivist.dvcfiles import DVC_LOCK, DVC_YAML, Artifact, parse_lock_stages
from archivist.errors import ArchivistError
from archivist.inventory import find_artifact, load_artifacts
from archivist.policy import Policy
from archivist.release import names as release_names
from archivist.retention import lineage
from archivist.retention.decide import (
    LedgerFact,
    LeftAlone,
    PlanItem,
    VersionRecord,
    decide,
    left_alone_records,
)
from archivist.trees import CommitTree

if TYPE_CHECKING:
    from archivist.retention.forecast import Forecast

UNTIL_TRAILER = ledger.UNTIL_TRAILER
TAG_TRAILER = release_names.TRAILER_TAG
ADOPTED_TRAILER = release_names.TRAILER_ADOPTED


@dataclass(frozen=True)
class ReleaseAnomaly:
    """A release the ledger records whose tag is gone, or points elsewhere."""

    kind: Literal["missing", "moved"]
    tag: str
    artifact: str
    version: str  # "md5:<hex>"
    release_commit: str  # where the ledger says the tag belongs (its release commit)
    tagged: str | None = None  # moved: the commit the tag points to now

    def describe(self) -> str:
        if self.kind == "missing":
            return (f"release tag {self.tag} ({self.artifact} {self.version[:16]}) is "
                    f"missing; the ledger's release puts it on {self.release_commit[:10]}")
        return (f"release tag {self.tag} points to {str(self.tagged)[:10]}, not to "
                f"{self.release_commit[:10]} where the ledger's release puts it")


@dataclass
class Pins:
    """What tags and release events pin, keyed by (artifact path, digest)."""

    releases: dict[tuple[str, str], str] = field(default_factory=dict)  # -> tag or label
    stages: dict[tuple[str, str], str] = field(default_factory=dict)  # -> "stage prod via .."
    uses: list[tuple[gto_tags.StageUse, str, str]] = field(default_factory=list)  # +path, digest
    anomalies: list[ReleaseAnomaly] = field(default_factory=list)


@dataclass
class Plan:
    """A plan and what it was read from."""

    items: list[PlanItem]
    head: str  # the governed branch's commit
    branch: str
    as_of: dt.date
    warnings: list[str] = field(default_factory=list)
    # findings for the audit: commit dates bounded by their parents or by now ...
    date_anomalies: list[history.DateAnomaly] = field(default_factory=list)
    # ... and ledger releases whose tag is missing or moved
    release_anomalies: list[ReleaseAnomaly] = field(default_factory=list)
    stage_uses: list[gto_tags.StageUse] = field(default_factory=list)
    # what the items were decided from (``retention.unmatched_holds(policy, records)``)
    records: list[VersionRecord] = field(default_factory=list)
    facts: list[LedgerFact] = field(default_factory=list)  # the ledger's, oldest first
    # versions no item stands for: cache: false, push: false, imports (with why)
    left_alone: list[LeftAlone] = field(default_factory=list)
    # what each stage output version was built from (None: lineage is off)
    lineage: lineage.Graph | None = None
    # each first-parent commit of the branch -> its position (0: the oldest)
    positions: Mapping[str, int] = field(default_factory=dict)


def _utc_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


def version_records(spans: list[history.Span]) -> list[VersionRecord]:
    """One record per (artifact, version): current if any span is open, else its clock
    starts at the latest replacement (a version can come back and go again). ``began`` is
    where its latest life began: ledger facts from before then were about another life."""
    grouped: dict[tuple[str, str], list[history.Span]] = {}
    for span in spans:
        grouped.setdefault((span.path, span.version.digest), []).append(span)
    records = []
    for group in grouped.values():
        last = group[-1]  # spans come in history order: the latest life
        current = any(s.until is None for s in group)
        ended = None if current else max(group, key=lambda s: s.until)  # type: ignore[arg-type,return-value]
        records.append(VersionRecord(
            path=last.path, version=last.version, artifact=last.artifact, current=current,
            superseded=_utc_date(ended.until) if ended and ended.until else None,
            superseded_by=ended.until_commit if ended else None,
            ended_by=ended.ended_by if ended else None,
            began=last.since_position, began_in=last.since_commit, lives=len(group),
        ))
    return records


def facts_from(commits: Iterable[ledger.LedgerCommit],
               positions: dict[str, int] | None = None) -> list[LedgerFact]:
    """archive / restore / dispose entries of ledger commits (oldest first), each with
    its first-parent position when ``positions`` knows it."""
    facts = []
    positions = positions or {}
    for commit in commits:
        event = ledger.read_event(commit)
        kind = event.kind
        if kind not in ("archive", "restore", "dispose"):
            continue
        until = None
        if event.until:
            try:
                until = dt.date.fromisoformat(event.until)
            except ValueError:
                until = None
        for entry in event.entries:
            facts.append(LedgerFact(kind=kind, path=entry.artifact, version=entry.version,
                                    on=_utc_date(commit.date), commit=commit.sha, until=until,
                                    position=positions.get(commit.sha)))
    return facts


def ledger_facts(root: Path, rev: str) -> list[LedgerFact]:
    """archive / restore / dispose entries from the ledger on the branch, oldest first."""
    head = gitrepo.resolve_commit(root, rev)
    clock = history.read_clock(root, head)
    return facts_from(ledger.read_ledger(root, head), dict(clock.positions))


class _UncachedTree(CommitTree):
    """A commit's files parsed afresh: what pins a version is never read from a cache."""

    def cache_root(self) -> Path | None:
        return None


@dataclass(frozen=True)
class _TagRef:
    tag: str
    annotated: bool
    commit: str
    created: dt.datetime | None
    tagger: str | None = None


def _list_tags(root: Path, prefix: str = "refs/tags") -> list[_TagRef]:
    strip = len(prefix.strip("/").split("/"))  # the tag's own name, under any namespace
    out = gitrepo.git(["for-each-ref", f"--format=%(refname:strip={strip})%00%(objecttype)"
                       "%00%(objectname)%00%(*objecttype)%00%(*objectname)%00"
                       "%(taggerdate:iso-strict)%00%(taggername) %(taggeremail)",
                       prefix], root, check=False)
    refs = []
    for line in out.splitlines():
        parts = line.split("\0")
        if len(parts) != 7:
            continue
        tag, kind, obj, peeled_kind, peeled, when, tagger = parts
        if kind == "commit":
            refs.append(_TagRef(tag, False, obj, None))
        elif kind == "tag" and peeled_kind == "commit":
            try:
                created = dt.datetime.fromisoformat(when) if when else None
            except ValueError:
                created = None
            refs.append(_TagRef(tag, True, peeled, created, tagger.strip() or None))
    return refs


def read_registry(root: Path) -> gto_tags.Registry:
    """The GTO registry the repository's annotated tags describe (``gto show``'s view):
    registrations, assignments, deprecations, each event with its tagger and date."""
    return gto_tags.fold(gto_tags.TagRecord(r.tag, r.commit, r.created, r.tagger)
                         for r in _list_tags(root) if r.annotated and r.created is not None)


def _from_timelines(timelines: history.Timelines, commit: str, name: str,
                    ) -> Artifact | None:
    """The artifact ``name`` denotes at a first-parent ``commit``, read off the spans
    (as ``find_artifact`` would: one registry name, else the path); None when unsure."""
    position = timelines.positions.get(commit)
    if position is None:
        return None
    live = [s for s in timelines.spans if s.since_position is not None
            and s.since_position <= position
            and (s.until_position is None or position < s.until_position)]
    names = {name, gto_tags.tag_to_name(name)}
    named = [s for s in live if s.artifact.name is not None and (
        s.artifact.name in names or s.artifact.name.rpartition(":")[2] in names)]
    if len(named) == 1:
        return dataclasses.replace(named[0].artifact, version=named[0].version)
    if named:
        return None
    by_path = [s for s in live if s.path in names]
    if len(by_path) == 1:
        return dataclasses.replace(by_path[0].artifact, version=by_path[0].version)
    return None


def _versions_at(root: Path, wanted: dict[str, set[str]], *, fresh: bool,
                 timelines: history.Timelines | None = None,
                 ) -> dict[tuple[str, str], Artifact]:
    """(commit, registry name) -> the artifact it names there, for every pair wanted.

    Commits on the first-parent chain are answered from the timelines (no tree to read:
    a registry of a hundred tags would otherwise parse the whole tree a hundred times);
    the others from the commit's own files."""
    found: dict[tuple[str, str], Artifact] = {}
    if timelines is not None:
        rest: dict[str, set[str]] = {}
        for commit, names in wanted.items():
            for name in names:
                artifact = _from_timelines(timelines, commit, name)
                if artifact is not None:
                    found[(commit, name)] = artifact
                else:
                    rest.setdefault(commit, set()).add(name)
        wanted = rest
    if not wanted:
        return found
    cat = gitrepo.CatFile(root)
    try:
        for commit, names in wanted.items():
            try:
                tree = _UncachedTree(root, commit, cat=cat) if fresh else \
                    CommitTree(root, commit, cat=cat)
                artifacts = load_artifacts(tree)
            except ArchivistError:
                continue  # a tag on something that is not a commit with DVC files
            for name in names:
                for spec in dict.fromkeys((name, gto_tags.name_to_tag(name),
                                           gto_tags.tag_to_name(name))):
                    try:
                        artifact = find_artifact(artifacts, spec, spec)
                    except ArchivistError:
                        continue
                    if artifact.version is not None:
                        found[(commit, name)] = artifact
                    break
    finally:
        cat.close()
    return found


def read_pins(root: Path, commits: Sequence[ledger.LedgerCommit], *,
              fresh: bool = True, timelines: history.Timelines | None = None,
              tags: str = "refs/tags") -> Pins:
    """Release pins (ledger release events, GTO registrations, lightweight release tags),
    GTO stage uses, and the ledger releases whose tag is missing or moved.

    ``timelines``: the governed branch's, to answer tags on its commits without reading
    their trees. ``tags``: where the tags are (another repository's, fetched under a
    private namespace, for shared remotes)."""
    pins = Pins()
    refs = _list_tags(root, tags)
    by_name = {r.tag: r for r in refs}
    registry = gto_tags.fold(gto_tags.TagRecord(r.tag, r.commit, r.created, r.tagger)
                             for r in refs if r.annotated and r.created is not None)
    registered = registry.registrations()
    uses = registry.in_use()
    # A lightweight tag named as a registration is no GTO event, but verify lists it as a
    # release tag (and fails it), so it pins too. A name GTO's grammar refuses
    # (clf@1.0.0) is no release tag anywhere: gto_tags is the one grammar.
    legacy = []
    for ref in refs:
        registered_as = gto_tags.registration(ref.tag) if not ref.annotated else None
        if registered_as is not None:
            legacy.append((registered_as[0], ref.commit, ref.tag))
    wanted: dict[str, set[str]] = {}
    for name, commit, _ in [(r.name, r.commit, r.tag) for r in registered] + legacy + \
            [(u.name, u.commit, u.tag) for u in uses]:
        wanted.setdefault(commit, set()).add(name)
    at = _versions_at(root, wanted, fresh=fresh, timelines=timelines)
    # the ledger's releases first: committed and reviewed, they win over any tag
    for commit in commits:
        if commit.kind != "release":
            continue
        tags = commit.values(TAG_TRAILER)
        label = tags[0] if tags else f"release {commit.sha[:10]}"
        # a release made here is tagged here; an adopted GTO tag stays where it was
        adopted = commit.values(ADOPTED_TRAILER)
        expected = adopted[-1] if adopted else commit.sha
        for entry in ledger.read_event(commit).entries:
            path, version = entry.artifact, entry.version
            pins.releases.setdefault((path, version.removeprefix("md5:")), label)
            for tag in tags:
                ref = by_name.get(tag)
                if ref is None:
                    pins.anomalies.append(ReleaseAnomaly("missing", tag, path, version,
                                                         expected))
                elif ref.commit != expected:
                    pins.anomalies.append(ReleaseAnomaly("moved", tag, path, version,
                                                         expected, tagged=ref.commit))
    for name, commit, tag in [(r.name, r.commit, r.tag) for r in registered] + legacy:
        artifact = at.get((commit, name))
        if artifact is not None and artifact.version is not None:
            pins.releases.setdefault((artifact.path, artifact.version.digest), tag)
    for use in uses:
        artifact = at.get((use.commit, use.name))
        if artifact is None or artifact.version is None:
            continue
        key = (artifact.path, artifact.version.digest)
        pins.uses.append((use, artifact.path, artifact.version.digest))
        if key in pins.stages:
            pins.stages[key] += f", {use.reason()}"
        else:
            pins.stages[key] = use.reason()
    return pins


def build_plan_details(root: Path, policy: Policy, as_of: dt.date,
                       timelines: history.Timelines | None = None, *,
                       fresh: bool = True, now: dt.datetime | None = None,
                       untrusted: Collection[str] = (),
                       with_lineage: bool = False, ref: str | None = None,
                       tags: str = "refs/tags") -> Plan:
    """The plan with its head, branch, any history warnings and the anomalies found.

    ``timelines``: already read by the caller (the audit), instead of walking again.
    ``fresh``: walk without the caches (the default; what anything that deletes needs);
    False lets a read-only caller use them. ``now`` bounds commit dates (default: the
    time). ``untrusted``: ledger commits not to believe (records that failed the authority
    check: ``authority.verify``). ``with_lineage``: read ``Plan.lineage`` even when the
    policy's ``retention.lineage`` is false (which then keeps nothing more). ``ref`` and
    ``tags``: another repository's branch and tags as fetched here (``retention.shared``),
    instead of the policy's branch and this repository's tags.
    """
    branch = ref or history.governed_branch(root, policy.branch)
    if timelines is None:
        timelines = history.read_timelines(root, branch, use_cache=not fresh, now=now)
    commits = [c for c in ledger.read_ledger(root, timelines.head) if c.sha not in untrusted]
    positions = dict(timelines.positions)
    if not positions:  # timelines built by a caller without a clock
        positions = dict(history.read_clock(root, timelines.head, now).positions)
    facts = facts_from(commits, positions)
    pins = read_pins(root, commits, fresh=fresh, timelines=timelines, tags=tags)
    records = version_records(timelines.spans)
    items = decide(records, policy, facts, as_of, pins.releases, pins.stages)
    warnings = list(timelines.warnings)
    graph = None
    keeps = policy.retention is not None and policy.retention.lineage
    if keeps or with_lineage:
        graph = read_lineage(root, timelines, positions, warnings, fresh=fresh)
    if keeps and graph is not None:
        items, notes = lineage.propagate(items, graph)
        warnings.extend(notes)
    return Plan(items=items, head=timelines.head, branch=branch.removeprefix("refs/heads/"),
                as_of=as_of, warnings=warnings, lineage=graph, positions=positions,
                date_anomalies=list(timelines.anomalies),
                release_anomalies=pins.anomalies,
                stage_uses=[u for u, _, _ in pins.uses], records=records, facts=facts,
                left_alone=left_alone_records(records))


def read_lineage(root: Path, timelines: history.Timelines, positions: dict[str, int],
                 warnings: list[str] | None = None, *, fresh: bool = True) -> lineage.Graph:
    """What each stage output version on the branch was built from (its dvc.lock states;
    ``fresh``: parsed afresh, else parses may come from the cache). No stage output, no
    lock read: a repository of ``.dvc`` files pays nothing."""
    if not any(s.artifact.stage is not None for s in timelines.spans):
        return lineage.Graph(spans=timelines.spans)
    locks = history.read_locks(root, timelines.head, positions, warnings=warnings,
                               use_cache=not fresh)
    return lineage.build_graph(timelines.spans, locks)


def build_at(root: Path, plan: Plan, artifact: Artifact, commit: str) -> lineage.Build | None:
    """The build the ``dvc.lock`` at ``commit`` records for ``artifact`` (a revision the
    plan's graph does not know, or off the governed branch), its inputs resolved against
    the branch's versions; None for no stage output or no such stage in the lock."""
    if artifact.stage is None or artifact.version is None \
            or posixpath.basename(artifact.declared_in) != DVC_YAML:
        return None
    lock = posixpath.join(posixpath.dirname(artifact.declared_in), DVC_LOCK)
    with gitrepo.CatFile(root) as cat:
        lock_text = cat.read(f"{commit}:{lock}")
        yaml_text = cat.read(f"{commit}:{artifact.declared_in}")
    if lock_text is None:
        return None
    stage = next((s for s in parse_lock_stages(lock_text, lock, yaml_text)
                  if s.name == artifact.stage), None)
    if stage is None:
        return None
    return lineage.build_from(plan.lineage or lineage.Graph(), stage, artifact.path,
                              artifact.version, lock, commit, plan.positions.get(commit))


def build_plan(root: Path, policy: Policy, as_of: dt.date) -> list[PlanItem]:
    """Every version of every artifact on the governed branch, and what is due on ``as_of``."""
    return build_plan_details(root, policy, as_of).items


def artifacts_at(root: Path, wanted: dict[str, set[str]]) -> dict[tuple[str, str], Artifact]:
    """(commit, registry name) -> the artifact that name denotes at that commit, for each
    pair in ``wanted`` ({commit: names}) that resolves to a versioned output. For listings:
    parsed trees may come from the cache."""
    return _versions_at(root, wanted, fresh=False)


def began_dates(spans: Iterable[history.Span]) -> dict[tuple[str, str], dt.date]:
    """(path, version label) -> the day its latest life began (spans in history order)."""
    return {(s.path, s.version.label): _utc_date(s.since) for s in spans}


def build_forecast(root: Path, policy: Policy, as_of: dt.date) -> tuple[Plan, list[Forecast]]:
    """The plan on ``as_of`` and every version's future dates under ``policy``. Reads
    only; may use the walk's caches, as any dry run."""
    from archivist.retention.forecast import forecast

    branch = history.governed_branch(root, policy.branch)
    timelines = history.read_timelines(root, branch, use_cache=True)
    plan = build_plan_details(root, policy, as_of, timelines=timelines, fresh=False)
    return plan, forecast(plan.items, policy, as_of, records=plan.records, facts=plan.facts,
                          began=began_dates(timelines.spans))
