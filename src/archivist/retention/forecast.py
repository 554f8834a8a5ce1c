"""The forecast: every version's future dates under the current policy, and its phases.

Pure: no git, no DVC, no clock. It reads a plan (``decide``'s items on ``as_of``), the
ledger facts and the day each version became current, and says, for each version, on
which day it falls due to leave the active remote (``archive_due``) and to be disposed
of (``dispose_due``), were the policy to stay as it is:

    active:    archive_due = superseded + active window; dispose_due = that + archive window
    restored:  archive_due = restored until;             dispose_due = the later of the two
    archived:  archive_due = None (done);                 dispose_due = as above
    held:      the same dates, but never on or before the last day a hold covers it;
               none at all while a hold without an end covers it
    current, in use by a GTO stage, disposed, kept forever, unknown class: no date

A date is exactly the first day on which ``decide`` calls for that action (the property
tests hold it to that). A date already past is overdue; when the plan keeps the version
anyway (lineage, shared bytes, a scope), ``waiting`` says why.

``phases`` turns the same values into the stretches a timeline draws: current, active,
archived, restored, held, then the future ones, each with its start and end.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archivist.policy import Policy, RetentionClass
from archivist.retention.decide import (
    LedgerFact,
    PlanItem,
    State,
    VersionRecord,
    hold_covers,
    in_life,
)

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Phase:
    """A stretch of a version's life in one state; ``end`` None: open-ended."""

    state: State
    start: dt.date
    end: dt.date | None
    future: bool = False  # forecast, not history

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "start": self.start.isoformat(),
                "end": self.end.isoformat() if self.end else None, "future": self.future}


@dataclass(frozen=True)
class Forecast:
    """One version's dates: what happened, and what falls due under the current policy."""

    path: str
    version: str  # "md5:<hex>"
    state: str  # the plan's state on as_of
    action: str  # the plan's action on as_of
    retention_class: str | None
    began: dt.date | None  # became current (its latest life)
    superseded: dt.date | None  # its clock start
    archived: dt.date | None  # the ledger's archive, in this life
    restored_until: dt.date | None
    disposed: dt.date | None  # the ledger's disposal, in this life
    archive_due: dt.date | None  # None: never (or done)
    dispose_due: dt.date | None  # None: never
    hold: str | None = None  # the reason of the hold that covers it
    hold_until: dt.date | None = None  # the last day a hold covers it; None: no end
    release: str | None = None
    stage: str | None = None
    current: bool = False
    note: str = ""  # why there is no date, or what the dates wait for
    waiting: str | None = None  # overdue, but the plan keeps it: the plan's reason
    phases: tuple[Phase, ...] = field(default_factory=tuple)

    @property
    def overdue(self) -> bool:
        return self.action in ("archive", "dispose")

    def as_dict(self) -> dict[str, Any]:
        def day(value: dt.date | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "path": self.path, "version": self.version, "state": self.state,
            "action": self.action, "class": self.retention_class, "began": day(self.began),
            "superseded": day(self.superseded), "archived": day(self.archived),
            "restored_until": day(self.restored_until), "disposed": day(self.disposed),
            "archive_due": day(self.archive_due), "dispose_due": day(self.dispose_due),
            "hold": self.hold, "hold_until": day(self.hold_until), "release": self.release,
            "stage": self.stage, "current": self.current, "note": self.note,
            "waiting": self.waiting, "phases": [p.as_dict() for p in self.phases],
        }


def life_facts(facts: Iterable[LedgerFact], record: VersionRecord | None,
               ) -> list[LedgerFact]:
    """The facts about ``record``'s version that belong to its current life, oldest first."""
    if record is None:
        return []
    return [f for f in facts if f.path == record.path and f.version == record.version.label
            and in_life(f, record)]


def windows(cls: RetentionClass, superseded: dt.date, restored_until: dt.date | None,
            ) -> tuple[dt.date, dt.date | None]:
    """(end of the active window, disposal day) as ``decide`` counts them; a restore
    never ends the archive window before its own end."""
    active_end = superseded + dt.timedelta(days=cls.active_days)
    if cls.archive_days is None:
        return active_end, None
    dispose_at = active_end + dt.timedelta(days=cls.archive_days)
    if restored_until is not None and restored_until > dispose_at:
        dispose_at = restored_until
    return active_end, dispose_at


def hold_end(policy: Policy, item: PlanItem, as_of: dt.date) -> tuple[bool, dt.date | None]:
    """(held on ``as_of``, the last day a hold covers it; None: no end). Holds have no start,
    so the covering holds together end with the latest of them."""
    if policy.retention is None or item.content is None:
        return False, None
    covering = [h for h in policy.retention.holds
                if (h.until is None or as_of <= h.until)
                and hold_covers(h, item.path, item.content)]
    if not covering:
        return False, None
    if any(h.until is None for h in covering):
        return True, None
    return True, max(h.until for h in covering if h.until is not None)


def _later(day: dt.date | None, floor: dt.date | None) -> dt.date | None:
    if day is None or floor is None:
        return day
    return max(day, floor)


def forecast_one(item: PlanItem, policy: Policy, as_of: dt.date, *,
                 record: VersionRecord | None = None, facts: Sequence[LedgerFact] = (),
                 began: dt.date | None = None) -> Forecast:
    """The dates of one plan item (``facts``: this version's, in its current life)."""
    archived = next((f.on for f in reversed(facts) if f.kind == "archive"), None)
    last = facts[-1] if facts else None
    disposed = last.on if last is not None and last.kind == "dispose" else None
    restored_until = item.until
    held, until = hold_end(policy, item, as_of)
    base: dict[str, Any] = {
        "path": item.path, "version": item.version, "state": item.state,
        "action": item.action, "retention_class": item.retention_class, "began": began,
        "superseded": item.since, "archived": archived,
        "restored_until": restored_until, "disposed": disposed, "release": item.release,
        "stage": item.stage, "current": item.current,
        "hold": item.hold if held else None, "hold_until": until if held else None,
    }
    cls = (policy.retention.classes.get(item.retention_class or "")
           if policy.retention is not None else None)
    note = ""
    archive_due = dispose_due = None
    if item.current:
        note = "current at the branch head: never expires"
    elif item.stage is not None:
        note = f"in use: {item.stage}: never archived or disposed"
    elif item.state == "disposed":
        note = f"disposed {disposed}" if disposed else "disposed"
    elif cls is None or item.since is None:
        note = f"unknown retention class {item.retention_class!r}: kept"
    elif held and until is None:
        note = f"held: {item.hold}, no end date: no date falls due while it holds"
    else:
        active_end, dispose_at = windows(cls, item.since, restored_until)
        lapse = until + DAY if held and until is not None else None
        if item.location != "archive":
            archive_due = _later(restored_until or active_end, lapse)
        dispose_due = _later(dispose_at, lapse)
        if dispose_at is None:
            note = f"class {cls.name}: kept in the archive forever"
        if lapse is not None:
            note = f"held: {item.hold} until {until}"
    waiting = None
    due_now = [d for d in (archive_due, dispose_due) if d is not None and d <= as_of]
    if due_now and item.action == "keep":
        waiting = item.reason
    out = Forecast(**base, archive_due=archive_due, dispose_due=dispose_due, note=note,
                   waiting=waiting)
    return _with_phases(out, facts, as_of)


def _with_phases(f: Forecast, facts: Sequence[LedgerFact], as_of: dt.date) -> Forecast:
    """``f`` with the stretches of its life: what happened up to ``as_of``, then what the
    dates foretell."""
    marks: list[tuple[dt.date, State]] = []
    start = f.began or f.superseded
    if start is None:
        return f
    marks.append((start, "current"))
    if f.superseded is not None:
        marks.append((f.superseded, "active"))
    for fact in facts:
        if fact.on > as_of:
            continue
        state: State = {"archive": "archived", "restore": "restored",
                        "dispose": "disposed"}[fact.kind]  # type: ignore[assignment]
        marks.append((fact.on, state))
    marks.sort(key=lambda m: m[0])  # stable: on one day, current before active
    marks = [m for m in marks if m[0] <= as_of]
    phases: list[Phase] = []
    for n, (day, state) in enumerate(marks):
        if state == "disposed":
            phases.append(Phase("disposed", day, day))
            break
        end = marks[n + 1][0] if n + 1 < len(marks) else as_of
        if end > day or n + 1 == len(marks):  # a stretch of no days draws nothing
            phases.append(Phase(state, day, end))
    if f.state == "disposed" or not phases or phases[-1].state == "disposed":
        return _replace_phases(f, phases)
    # the future, from as_of
    here: State = phases[-1].state
    if f.current or f.stage is not None:
        phases.append(Phase("in-use" if not f.current else "current", as_of, None, True))
        return _replace_phases(f, phases)
    cursor = as_of
    if f.hold is not None:
        lapse = f.hold_until + DAY if f.hold_until else None
        phases.append(Phase("held", cursor, lapse, True))
        if lapse is None:
            return _replace_phases(f, phases)
        cursor = max(cursor, lapse)
    if f.archive_due is not None and f.archive_due > cursor:
        phases.append(Phase("restored" if here == "restored" else "active", cursor,
                            f.archive_due, True))
        cursor = f.archive_due
    if f.dispose_due is None:
        phases.append(Phase("archived", cursor, None, True))
    elif f.dispose_due > cursor:
        phases.append(Phase("archived", cursor, f.dispose_due, True))
        phases.append(Phase("disposed", f.dispose_due, f.dispose_due, True))
    else:
        phases.append(Phase("disposed", cursor, cursor, True))
    return _replace_phases(f, phases)


def _replace_phases(f: Forecast, phases: list[Phase]) -> Forecast:
    return dataclasses.replace(f, phases=tuple(phases))


def forecast(items: Iterable[PlanItem], policy: Policy, as_of: dt.date, *,
             records: Iterable[VersionRecord] = (), facts: Iterable[LedgerFact] = (),
             began: Mapping[tuple[str, str], dt.date] | None = None) -> list[Forecast]:
    """Every plan item's forecast, in the plan's order.

    ``records``: the plan's version records (which facts belong to which life);
    ``facts``: the ledger's, oldest first; ``began``: (path, version label) -> the day
    its latest life began.
    """
    began = began or {}
    by_key = {(r.path, r.version.label): r for r in records}
    facts = list(facts)
    grouped: dict[tuple[str, str], list[LedgerFact]] = {}
    for fact in facts:
        grouped.setdefault((fact.path, fact.version), []).append(fact)
    out = []
    for item in items:
        key = (item.path, item.version)
        record = by_key.get(key)
        mine = life_facts(grouped.get(key, []), record) if record is not None else \
            grouped.get(key, [])
        out.append(forecast_one(item, policy, as_of, record=record, facts=mine,
                                began=began.get(key)))
    return out
