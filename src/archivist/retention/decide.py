"""Retention decisions: versions + policy + ledger facts + a date -> what is due.

Pure: no git, no DVC, no clock. The adapter (``lifecycle``) reads the history and the
ledger and hands them in as ``VersionRecord`` and ``LedgerFact`` values.

A version's clock starts at the first-parent commit that replaced or deleted it; the
current version never expires. Windows come from its class: the release class when a
release pins it (a release tag, a GTO registration or the ledger's release event), else
its ``retention`` tag, else ``retention.default``.

    current -> active -(active window over)-> archived -(archive window over)-> disposed
    a restore keeps it active until a date; a hold freezes it where it is.

What can never be due, whatever the dates or the ledger say:

- the current version (even one the ledger says was disposed of: that was another life);
- a version a GTO stage holds now ("in-use");
- a held version.

A version can be current more than once (a revert, the same bytes again). Each stretch
is a *life*; a ledger fact belongs to the life it was recorded in, so a fact recorded
before the version became current again says nothing about it now.

Some outputs are left alone altogether (``left_alone``): ``cache: false`` ones (their bytes
are in git), ``push: false`` ones (never on a remote) and imports (their bytes live at the
source). They get no plan item, and a due version with the same content hash as one of
theirs is kept.

``delete_sets`` turns a plan and each version's objects into what may leave each remote:
an object leaves a remote only when every version that uses it is due to leave it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import posixpath
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from archivist.dvcfiles import Artifact, Version
from archivist.errors import ArchivistError, ConfigError
from archivist.globs import glob_match
from archivist.policy import Hold, Policy, RetentionClass

State = Literal["current", "active", "archived", "disposed", "held", "restored", "in-use"]
ActionName = Literal["keep", "archive", "dispose"]
FactKind = Literal["archive", "restore", "dispose"]
Location = Literal["active", "archive"]
STATES: tuple[State, ...] = ("current", "active", "archived", "disposed", "held",
                             "restored", "in-use")
ACTIONS: tuple[ActionName, ...] = ("keep", "archive", "dispose")
FACT_KINDS: tuple[FactKind, ...] = ("archive", "restore", "dispose")
# States that keep a version's objects wherever they are, on every remote.
PINNED_STATES: frozenset[str] = frozenset({"current", "held", "in-use"})


@dataclass(frozen=True)
class VersionRecord:
    """One (artifact, version) seen on the governed branch."""

    path: str
    version: Version
    artifact: Artifact  # as last seen while current: its tags decide the class
    current: bool
    superseded: dt.date | None  # the clock start; None while current
    superseded_by: str | None = None  # that commit
    ended_by: str | None = None  # "replaced" | "deleted"
    # First-parent position (0 = oldest commit) of the commit that began its latest life;
    # None when unknown (then every ledger fact for it applies).
    began: int | None = None
    began_in: str | None = None  # that commit
    lives: int = 1  # how many times it became current


@dataclass(frozen=True)
class LedgerFact:
    """What an earlier archivist run did to one version (from the ledger)."""

    kind: str  # archive | restore | dispose
    path: str
    version: str  # "md5:<hex>"
    on: dt.date
    commit: str
    until: dt.date | None = None  # restore: kept active until
    position: int | None = None  # the commit's first-parent position; None: unknown


@dataclass(frozen=True)
class InputOf:
    """Why lineage keeps a version: the versions built from it, from the one made directly
    from it to the one whose own needs decide (``retention.lineage``)."""

    chain: tuple[tuple[str, str], ...]  # (artifact path, "md5:<hex>"), nearest first
    why: str  # why the last one is kept: "release clf@v2.0.0", "current", ...
    needs: Location  # where it needs its inputs: "active" or "archive"
    until: dt.date | None  # how long, as far as its own plan says; None: for ever/unknown


@dataclass(frozen=True)
class PlanItem:
    """One version and what retention says about it on ``as_of``."""

    path: str
    version: str  # "md5:<hex>"
    state: str  # one of STATES
    action: str  # keep | archive | dispose
    reason: str
    due: dt.date | None  # when the next step falls due (past: overdue)
    retention_class: str | None
    size: int | None
    location: str | None  # "active" | "archive" | None (disposed)
    algorithm: str = "md5"  # "md5-dos2unix" for DVC 2 outputs: decides the remote layout
    nfiles: int | None = None
    name: str | None = None  # dvc.yaml artifacts: name
    since: dt.date | None = None  # when its clock started
    superseded_by: str | None = None
    release: str | None = None  # the release tag (or ledger release) pinning it
    hold: str | None = None  # the hold's reason
    until: dt.date | None = None  # restored: active until
    stage: str | None = None  # the GTO stage holding it: "stage prod via clf#prod#1"
    content: Version | None = None  # the version, typed
    current: bool = False  # current at the branch head (whatever its state says)
    # the output's own DVC remote (``remote:`` in its .dvc / dvc.yaml entry): its active
    # remote instead of the policy's; None: the policy's
    remote: str | None = None
    # kept (or needed) as an input of versions built from it; None: lineage says nothing
    kept_for: InputOf | None = None

    @property
    def digest(self) -> str:
        return self.version.removeprefix("md5:")

    @property
    def is_dir(self) -> bool:
        return self.digest.endswith(".dir")

    @property
    def pinned(self) -> bool:
        """Kept where it is on every remote: current, held or in use by a stage."""
        return self.current or self.state in PINNED_STATES or self.hold is not None


def _fmt_days(days: int) -> str:
    if days and days % 365 == 0:
        return f"{days // 365}y"
    return f"{days}d"


def describe_class(cls: RetentionClass) -> str:
    archive = "forever" if cls.archive_days is None else _fmt_days(cls.archive_days)
    return f"class {cls.name} (active {_fmt_days(cls.active_days)}, archive {archive})"


# ---------------------------------------------------------------- holds


def normalize_path(path: str) -> str:
    """A repo-relative path as DVC names outputs: ``./models/a.bin/`` -> ``models/a.bin``."""
    text = path.strip()
    if not text:
        return ""
    text = posixpath.normpath(text).lstrip("/")
    return "" if text == "." else text


def _hold_digest(hold: Hold) -> str | None:
    """The hold's version as a bare lower-case digest, or None when it names none."""
    value: object = hold.version
    if value is None:
        return None
    if isinstance(value, Version):
        return value.digest.lower()
    text = str(value).strip().lower()
    return text.removeprefix("md5:").strip()


def _same_digest(held: str, digest: str) -> bool:
    """Full hashes only; a folder's ``.dir`` suffix may be left out."""
    digest = digest.lower()
    return held == digest or (digest.endswith(".dir") and held == digest.removesuffix(".dir"))


def hold_covers(hold: Hold, path: str, version: Version | None) -> bool:
    """Whether ``hold`` names this artifact (and this version, when it names one); dates
    aside. Paths are compared normalised, and a folder's hold covers what is inside it
    (holding more is the safe side); a short hash names nothing."""
    pattern = normalize_path(hold.path)
    target = normalize_path(path)
    if not pattern or not (pattern == target or target.startswith(pattern + "/")
                           or glob_match(pattern, target)):
        return False
    held = _hold_digest(hold)
    if held is None:
        return True
    return version is not None and _same_digest(held, version.digest)


def _holds_for(holds: Iterable[Hold], path: str, version: Version, on: dt.date) -> Hold | None:
    for hold in holds:
        if hold.until is not None and on > hold.until:
            continue
        if hold_covers(hold, path, version):
            return hold
    return None


@dataclass(frozen=True)
class UnmatchedHold:
    """A hold that holds nothing: no artifact, or no version, matches it."""

    hold: Hold
    problem: Literal["no-artifact", "no-version", "short-hash"]
    message: str


def unmatched_holds(policy: Policy, records: Iterable[VersionRecord | Artifact],
                    ) -> list[UnmatchedHold]:
    """Every hold of the policy that matches none of ``records`` (the plan's version
    records, or the artifacts of one tree), in policy order; dates aside."""
    if policy.retention is None:
        return []
    known = [(r.path, r.version) for r in records]
    out = []
    for hold in policy.retention.holds:
        if any(hold_covers(hold, path, version) for path, version in known):
            continue
        where = f"{policy.source}:{hold.line}"
        path_only = dataclasses.replace(hold, version=None)
        held = _hold_digest(hold)
        if not any(hold_covers(path_only, path, version) for path, version in known):
            out.append(UnmatchedHold(hold, "no-artifact",
                                     f"{where}: hold {hold.path!r} matches no artifact"))
        elif held is not None and len(held.removesuffix(".dir")) < 32:
            out.append(UnmatchedHold(hold, "short-hash",
                                     f"{where}: hold version {hold.version!r} is not a full "
                                     "hash: it holds nothing"))
        else:
            out.append(UnmatchedHold(hold, "no-version",
                                     f"{where}: no version {hold.version!r} of "
                                     f"{hold.path!r} was ever on the branch"))
    return out


# ---------------------------------------------------------------- outputs left alone


def left_alone(artifact: Artifact) -> str | None:
    """Why retention never plans this output's versions, or None when it does."""
    if not artifact.cache:
        return "cache: false: its bytes are in git, not in DVC's cache or on a remote"
    if artifact.imported == "repo":
        return "imported (dvc import): its bytes live in the source repository"
    if artifact.imported == "url":
        return "imported (dvc import-url): its bytes live at the source URL"
    if artifact.imported == "db":
        return "imported from a database: its bytes live at the source"
    if not artifact.push:
        return "push: false: never sent to a remote"
    return None


@dataclass(frozen=True)
class LeftAlone:
    """A version retention does not plan, and why."""

    path: str
    version: str  # "md5:<hex>"
    reason: str
    current: bool


def left_alone_records(records: Iterable[VersionRecord]) -> list[LeftAlone]:
    """The records ``decide`` leaves out, by path then version."""
    out = []
    for r in records:
        why = left_alone(r.artifact)
        if why is not None:
            out.append(LeftAlone(r.path, r.version.label, why, r.current))
    return sorted(out, key=lambda x: (x.path, x.version))


# ---------------------------------------------------------------- decisions


def class_name(record: VersionRecord, policy: Policy, release: str | None) -> str:
    """The retention class that governs a version."""
    assert policy.retention is not None
    if release is not None and policy.retention.releases:
        return policy.retention.releases
    tag = record.artifact.tag("retention")
    if tag is not None and str(tag).strip():
        return str(tag).strip()
    return policy.retention.default


def in_life(fact: LedgerFact, record: VersionRecord) -> bool:
    """Whether ``fact`` is about ``record``'s current life: recorded after its latest life
    began (a version that came back does not inherit an earlier life's "disposed"). The
    one rule: the plan and the forecast both read facts through it."""
    if fact.position is None or record.began is None:
        return True
    return fact.position > record.began


def _last_facts(facts: Iterable[LedgerFact]) -> dict[tuple[str, str], list[LedgerFact]]:
    grouped: dict[tuple[str, str], list[LedgerFact]] = {}
    for fact in facts:  # oldest first: the latest word wins
        if fact.kind in FACT_KINDS:
            grouped.setdefault((fact.path, fact.version), []).append(fact)
    return grouped


def _fact_for(record: VersionRecord, facts: Sequence[LedgerFact]) -> tuple[
        LedgerFact | None, LedgerFact | None]:
    """The latest fact of the record's current life, and the latest of an earlier one."""
    now_life = [f for f in facts if in_life(f, record)]
    earlier = [f for f in facts if not in_life(f, record)]
    return (now_life[-1] if now_life else None), (earlier[-1] if earlier else None)


def decide(records: Iterable[VersionRecord], policy: Policy, facts: Iterable[LedgerFact],
           as_of: dt.date, releases: Mapping[tuple[str, str], str] | None = None,
           stages: Mapping[tuple[str, str], str] | None = None,
           ) -> list[PlanItem]:
    """Every version's state and due action on ``as_of`` (sorted by path, then clock).

    ``releases`` and ``stages`` map (path, digest) to the release tag that pins it and to
    the stage that holds it now ("stage prod via clf#prod#1").
    """
    if policy.retention is None:
        raise ConfigError(f"{policy.source}: no 'retention:' section",
                          "add retention: {default: standard, classes: {standard: "
                          "{active: 180d, archive: 3y}}}")
    if not policy.retention.classes:
        raise ConfigError(f"{policy.source}: retention has no classes",
                          "add classes: {standard: {active: 180d, archive: 3y}}")
    releases = releases or {}
    stages = stages or {}
    grouped = _last_facts(facts)
    records = list(records)
    # the content hashes of outputs left alone: the same bytes elsewhere stay put
    alone = {r.version.digest: f"{r.path} ({why})" for r in records
             if (why := left_alone(r.artifact)) is not None}
    items = []
    for r in records:
        if left_alone(r.artifact) is not None:
            continue
        fact, earlier = _fact_for(r, grouped.get((r.path, r.version.label), []))
        key = (r.path, r.version.digest)
        item = _decide_one(r, policy, fact, earlier, as_of, releases.get(key),
                           stages.get(key))
        shared = alone.get(r.version.digest)
        if shared is not None and item.action != "keep":
            item = dataclasses.replace(
                item, action="keep",
                reason=f"{item.reason}; kept: same bytes as {shared}, which retention "
                       "leaves alone")
        if item.remote is not None:
            item = dataclasses.replace(
                item, reason=f"{item.reason}; active remote {item.remote!r} (its own remote:)")
        items.append(item)
    items.sort(key=lambda i: (i.path, i.since or dt.date.max, i.version))
    return items


def _decide_one(record: VersionRecord, policy: Policy, fact: LedgerFact | None,
                earlier: LedgerFact | None, as_of: dt.date, release: str | None,
                stage: str | None) -> PlanItem:
    assert policy.retention is not None
    v = record.version
    base = {
        "path": record.path, "version": v.label, "size": v.size, "algorithm": v.algorithm,
        "nfiles": v.nfiles, "name": record.artifact.name, "since": record.superseded,
        "superseded_by": record.superseded_by, "release": release, "stage": stage,
        "content": v, "current": record.current, "remote": record.artifact.remote,
    }
    name = class_name(record, policy, release)
    kind = fact.kind if fact is not None else None
    # Lives decide states and clocks; bytes know no lives: they are where the latest move
    # of any life put them (archived once and never restored: in the archive).
    moved = fact if fact is not None else earlier
    location = "archive" if moved is not None and moved.kind == "archive" else "active"
    if record.current or stage is not None:
        # Never disposed, whatever the ledger says: its bytes are needed now.
        state = "current" if record.current else "in-use"
        reason = "current at the branch head: never expires" if record.current else \
            f"in use: {stage}: never archived or disposed"
        if record.current and stage is not None:
            reason += f"; {stage}"
        if moved is not None and moved.kind == "archive":
            reason += f"; archived {moved.on}: run `archivist restore {record.path}`"
        elif kind == "dispose":
            reason += (f"; the ledger says disposed {fact.on} in "  # type: ignore[union-attr]
                       f"{fact.commit[:10]}: push its bytes again (dvc push)")  # type: ignore[union-attr]
        elif earlier is not None and earlier.kind == "dispose":
            reason += f"; disposed {earlier.on} in an earlier life"
        hold = _holds_for(policy.retention.holds, record.path, v, as_of)
        return PlanItem(**base, state=state, action="keep", due=None,
                        retention_class=name, location=location, reason=reason,
                        hold=hold.reason if hold else None)
    if fact is not None and fact.kind == "dispose":
        # a hold that came after the disposal still keeps whatever of it is left
        hold = _holds_for(policy.retention.holds, record.path, v, as_of)
        return PlanItem(**base, state="disposed", action="keep", due=None,
                        retention_class=name, location=None,
                        hold=hold.reason if hold else None,
                        reason=f"disposed {fact.on} in {fact.commit[:10]}"
                               + (f"; held: {hold.reason}" if hold else ""))
    cls = policy.retention.classes.get(name)
    if cls is None:
        known = ", ".join(policy.retention.classes)
        return PlanItem(**base, state="active" if location == "active" else "archived",
                        action="keep", due=None, retention_class=name, location=location,
                        reason=f"unknown retention class {name!r} (known: {known}): kept")
    assert record.superseded is not None
    start = record.superseded
    why = f"{'replaced' if record.ended_by == 'replaced' else 'deleted'} {start}"
    if record.superseded_by:
        why += f" in {record.superseded_by[:10]}"
    active_end = start + dt.timedelta(days=cls.active_days)
    restored_until = fact.until if fact is not None and fact.kind == "restore" else None
    dispose_at: dt.date | None = None
    if cls.archive_days is not None:
        dispose_at = active_end + dt.timedelta(days=cls.archive_days)
        if restored_until is not None and restored_until > dispose_at:
            dispose_at = restored_until
    label = describe_class(cls)
    if release is not None:
        label += f", released as {release}"
    hold = _holds_for(policy.retention.holds, record.path, v, as_of)
    if hold is not None:
        until = f" until {hold.until}" if hold.until else ""
        return PlanItem(**base, state="held", action="keep", due=hold.until,
                        retention_class=name, location=location, hold=hold.reason,
                        until=restored_until,
                        reason=f"held: {hold.reason}{until} ({policy.source}:{hold.line}); "
                               f"{label}; {why}")
    if dispose_at is not None and dispose_at <= as_of:
        return PlanItem(**base, state="archived" if location == "archive" else (
                            "restored" if restored_until else "active"),
                        action="dispose", due=dispose_at, retention_class=name,
                        location=location, until=restored_until,
                        reason=f"{label}: archive window ended {dispose_at}; {why}")
    keep_until = f"disposal due {dispose_at}" if dispose_at else "kept forever"
    if location == "archive":
        return PlanItem(**base, state="archived", action="keep", due=dispose_at,
                        retention_class=name, location="archive",
                        reason=f"{label}: archived {moved.on if moved else '?'}, "
                               f"{keep_until}; {why}")
    if restored_until is not None:
        if as_of < restored_until:
            return PlanItem(**base, state="restored", action="keep", due=restored_until,
                            retention_class=name, location="active", until=restored_until,
                            reason=f"restored {fact.on if fact else '?'}, active until "
                                   f"{restored_until}; {label}; {why}")
        return PlanItem(**base, state="restored", action="archive", due=restored_until,
                        retention_class=name, location="active", until=restored_until,
                        reason=f"restored until {restored_until}, now over; {label}; {why}")
    if active_end <= as_of:
        return PlanItem(**base, state="active", action="archive", due=active_end,
                        retention_class=name, location="active",
                        reason=f"{label}: active window ended {active_end}; {why}")
    return PlanItem(**base, state="active", action="keep", due=active_end,
                    retention_class=name, location="active",
                    reason=f"{label}: active until {active_end}; {why}")


def summarize(items: Iterable[PlanItem]) -> dict[str, int]:
    """How many versions each action covers (for one-line summaries)."""
    counts = {action: 0 for action in ACTIONS}
    for item in items:
        counts[item.action] += 1
    return counts


# ---------------------------------------------------------------- what may be deleted

Obj = TypeVar("Obj", bound=Hashable)  # an object in a remote (storage.ObjectRef)


class UnknownObjects(ArchivistError):
    """A version that stays has no object list: nothing it uses can be told apart."""


@dataclass(frozen=True)
class DeleteSet(Generic[Obj]):
    """What one action may delete from one remote ("active" or "archive")."""

    remote: Location
    delete: tuple[Obj, ...]  # in the order the due versions listed them, each once
    spared: frozenset[Obj]  # objects of due versions kept because a staying version uses them


def _expected_on(item: PlanItem, remote: Location) -> bool:
    """Whether a version that is not due must keep its objects on ``remote``."""
    if item.pinned:
        return True  # wherever its bytes are, they stay there (a held disposed one: what is left)
    if item.state == "disposed":
        return False
    if item.location is None:
        return True  # unsure where it lives: keep it everywhere
    return item.location == remote


def delete_sets(items: Sequence[PlanItem], objects: Mapping[tuple[str, str], Sequence[Obj]],
                kind: Literal["archive", "dispose"]) -> list[DeleteSet[Obj]]:
    """What ``kind`` may delete from each remote it deletes from.

    ``objects`` maps (path, version label) to the objects that version uses (a folder's
    manifest and files); list them in delete order (manifest first) and the result keeps
    it. An object is deletable from a remote only when every version using it is due for
    ``kind`` or is not expected on that remote; the objects of current, held and in-use
    versions are never deletable anywhere. Raises ``UnknownObjects`` when a version that
    stays (other than a disposed one) has no entry in ``objects``.
    """
    due = [i for i in items if i.action == kind and not i.pinned]
    due_keys = {(i.path, i.version) for i in due}
    staying = [i for i in items if (i.path, i.version) not in due_keys]
    remotes: tuple[Location, ...] = ("active",) if kind == "archive" else ("archive", "active")
    # a disposed version's objects are gone by the ledger's word: unknown is as expected
    missing = [i for i in staying if i.state != "disposed" and (i.path, i.version) not in objects]
    if missing:
        first = missing[0]
        raise UnknownObjects(f"{first.path} {first.version} ({first.state}) stays, but its "
                             "objects are unknown: nothing it might share can be deleted",
                             "make its .dir manifest readable (dvc push it), then rerun")
    wanted = list(dict.fromkeys(o for i in due for o in objects.get((i.path, i.version), ())))
    out = []
    for remote in remotes:
        keep: set[Obj] = set()
        for item in staying:
            if _expected_on(item, remote):
                keep.update(objects.get((item.path, item.version), ()))
        out.append(DeleteSet(remote=remote,
                             delete=tuple(o for o in wanted if o not in keep),
                             spared=frozenset(o for o in wanted if o in keep)))
    return out
