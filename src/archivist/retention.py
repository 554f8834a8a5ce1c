"""Retention decisions: versions + policy + ledger facts + a date -> what is due.

Pure: no git, no DVC, no clock. The adapter (``lifecycle``) reads the history and the
ledger and hands them in as ``VersionRecord`` and ``LedgerFact`` values.

A version's clock starts at the first-parent commit that replaced or deleted it; the
current version never expires. Windows come from its class: the release class when a
release tag pins it, else its ``retention`` tag, else ``retention.default``.

    current -> active -(active window over)-> archived -(archive window over)-> disposed
    a restore keeps it active until a date; a hold freezes it where it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from archivist.artifacts import Artifact, Version
from archivist.errors import ConfigError
from archivist.policy import Hold, Policy, RetentionClass

STATES = ("current", "active", "archived", "disposed", "held", "restored")
ACTIONS = ("keep", "archive", "dispose")
FACT_KINDS = ("archive", "restore", "dispose")


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


@dataclass(frozen=True)
class LedgerFact:
    """What an earlier archivist run did to one version (from the ledger)."""

    kind: str  # archive | restore | dispose
    path: str
    version: str  # "md5:<hex>"
    on: dt.date
    commit: str
    until: dt.date | None = None  # restore: kept active until


@dataclass(frozen=True)
class PlanItem:
    """One version and what retention says about it on ``as_of``."""

    path: str
    version: str  # "md5:<hex>"
    state: str  # current | active | archived | disposed | held | restored
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
    release: str | None = None  # the release tag pinning it
    hold: str | None = None  # the hold's reason
    until: dt.date | None = None  # restored: active until

    @property
    def digest(self) -> str:
        return self.version.removeprefix("md5:")

    @property
    def is_dir(self) -> bool:
        return self.digest.endswith(".dir")


def _fmt_days(days: int) -> str:
    if days and days % 365 == 0:
        return f"{days // 365}y"
    return f"{days}d"


def describe_class(cls: RetentionClass) -> str:
    archive = "forever" if cls.archive_days is None else _fmt_days(cls.archive_days)
    return f"class {cls.name} (active {_fmt_days(cls.active_days)}, archive {archive})"


def _holds_for(holds: Iterable[Hold], path: str, version: Version, on: dt.date) -> Hold | None:
    for hold in holds:
        if not hold.applies(path, on):
            continue
        if hold.version is not None and hold.version.removeprefix("md5:") != version.digest:
            continue
        return hold
    return None


def class_name(record: VersionRecord, policy: Policy, release: str | None) -> str:
    """The retention class that governs a version."""
    assert policy.retention is not None
    if release is not None and policy.retention.releases:
        return policy.retention.releases
    tag = record.artifact.tag("retention")
    if tag is not None and str(tag).strip():
        return str(tag).strip()
    return policy.retention.default


def _last_facts(facts: Iterable[LedgerFact]) -> dict[tuple[str, str], LedgerFact]:
    last: dict[tuple[str, str], LedgerFact] = {}
    for fact in facts:  # oldest first: the latest word wins
        if fact.kind in FACT_KINDS:
            last[(fact.path, fact.version)] = fact
    return last


def decide(records: Iterable[VersionRecord], policy: Policy, facts: Iterable[LedgerFact],
           as_of: dt.date, releases: Mapping[tuple[str, str], str] | None = None,
           ) -> list[PlanItem]:
    """Every version's state and due action on ``as_of`` (sorted by path, then clock)."""
    if policy.retention is None:
        raise ConfigError(f"{policy.source}: no 'retention:' section",
                          "add retention: {default: standard, classes: {standard: "
                          "{active: 180d, archive: 3y}}}")
    if not policy.retention.classes:
        raise ConfigError(f"{policy.source}: retention has no classes",
                          "add classes: {standard: {active: 180d, archive: 3y}}")
    releases = releases or {}
    last = _last_facts(facts)
    items = [_decide_one(r, policy, last.get((r.path, r.version.label)), as_of,
                         releases.get((r.path, r.version.digest)))
             for r in records]
    items.sort(key=lambda i: (i.path, i.since or dt.date.max, i.version))
    return items


def _decide_one(record: VersionRecord, policy: Policy, fact: LedgerFact | None,
                as_of: dt.date, release: str | None) -> PlanItem:
    assert policy.retention is not None
    v = record.version
    base = {
        "path": record.path, "version": v.label, "size": v.size, "algorithm": v.algorithm,
        "nfiles": v.nfiles, "name": record.artifact.name, "since": record.superseded,
        "superseded_by": record.superseded_by, "release": release,
    }
    name = class_name(record, policy, release)
    location = {"archive": "archive", "dispose": None}.get(fact.kind, "active") \
        if fact is not None else "active"
    if fact is not None and fact.kind == "dispose":
        return PlanItem(**base, state="disposed", action="keep", due=None,
                        retention_class=name, location=None,
                        reason=f"disposed {fact.on} in {fact.commit[:10]}")
    if record.current:
        reason = "current at the branch head: never expires"
        if fact is not None and fact.kind == "archive":
            reason += f"; archived {fact.on}: run `archivist restore {record.path}`"
        return PlanItem(**base, state="current", action="keep", due=None,
                        retention_class=name, location=location, reason=reason)
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
                        reason=f"{label}: archived {fact.on if fact else '?'}, "
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
