"""The compliance audit: what happened to every artifact, and what is out of policy.

Three parts, in the order every report shows them:

- figures: artifacts and versions by state, compliance rate, bytes held per remote and per
  retention class, releases signed and verified, the oldest overdue item;
- events, oldest first: every archivist commit (archive, restore, dispose, hold, release),
  every change of an artifact's version or tags that a person committed, every hold added
  to or removed from the policy, and every GTO event (registration, assignment,
  unassignment, deregistration, deprecation) with its tagger and date;
- findings, each with a kind, what it is about and a one-line fix.

The decisions (what a tag change is, whether a policy change weakens it, whether an event
file agrees with its trailers, whether a disposal or a restore was what retention asked
for) are pure functions of text and values. ``collect`` (in ``collect.py``) is the adapter
that reads git: one
``git log`` pass over DVC files and the policy, one over the ledger
(``ledger.read_ledger``), blobs through a single ``git cat-file --batch``. Each dispose
and restore is judged by the retention plan recomputed at its parent commit, from the
same walk; commit-date anomalies, unmatched holds and missing or moved release tags come
from ``history``, ``retention`` and ``lifecycle``, which keep those definitions. Release
signatures are checked by ``signing`` with the base policy the caller names; ``--deep``
object reads are ``objectcheck``'s, of every version that should be on a remote. Bytes
per remote are the ledger's word unless ``--deep`` looked (``Figures.bytes_source``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from archivist import gto_tags
from archivist.authority.records import APPROVAL_EVENT, TRAILER_APPROVES, TRAILER_PLAN
from archivist.dvcfiles import Artifact
from archivist.globs import glob_match
from archivist.ledger import (
    EVENT_KINDS,
    EventEntry,
    LedgerCommit,
    read_event,
)
from archivist.policy import (
    POLICY_FILE,
    Hold,
    Policy,
    Remotes,
    RetentionClass,
    Rule,
)
from archivist.retention.decide import PlanItem, UnmatchedHold

if TYPE_CHECKING:  # adapters the audit imports only when it runs
    from archivist.authority.judge import AuthorityFinding, Signed
    from archivist.history import DateAnomaly
    from archivist.retention.plan import ReleaseAnomaly
from archivist.audit.model import (
    _DOCUMENT_KEYS,
    ARCHIVIST_DIR,
    FINDING_KINDS,
    Audit,
    AuditEvent,
    CommitInfo,
    DisposedRecord,
    Figures,
    Finding,
    FindingKind,
    PolicyChange,
)

# ---------------------------------------------------------------- pure decisions


def _who(info: CommitInfo) -> str:
    return f"{info.author} <{info.email}>"



def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def tag_changes(before: Artifact | None, after: Artifact | None,
                ) -> list[tuple[str, Any, Any]]:
    """``(key, old, new)`` for every tag that differs (None where absent), keys sorted."""
    old = before.tags() if before else {}
    new = after.tags() if after else {}
    return [(k, old.get(k), new.get(k)) for k in sorted(old.keys() | new.keys())
            if old.get(k) != new.get(k)]


def describe_tag_changes(changes: Sequence[tuple[str, Any, Any]]) -> str:
    """``owner: a -> b; +retention=standard; -train.commit`` for one line of a report."""
    parts = []
    for key, old, new in changes:
        if old is None:
            parts.append(f"+{key}={_show(new)}")
        elif new is None:
            parts.append(f"-{key} (was {_show(old)})")
        else:
            parts.append(f"{key}: {_show(old)} -> {_show(new)}")
    return "; ".join(parts)


def people_events(info: CommitInfo, changes: Iterable[tuple[Artifact | None, Artifact | None]],
                  *, by_archivist: bool = False) -> list[AuditEvent]:
    """The events a person's commit made: artifacts added, new versions, tag changes, removals."""
    out: list[AuditEvent] = []

    def event(kind: str, path: str, version: str | None, summary: str,
              details: dict[str, Any]) -> None:
        out.append(AuditEvent(kind=kind, commit=info.sha, author=info.author, email=info.email,
                              date=info.date, artifact=path, version=version, summary=summary,
                              by_archivist=by_archivist, details=details))

    for before, after in changes:
        if before is None and after is None:
            continue
        if after is None:
            assert before is not None
            label = before.version.label if before.version else None
            event("removed", before.path, label, f"no longer tracked (was {label or 'no version'})",
                  {"declared_in": before.declared_in})
            continue
        label = after.version.label if after.version else None
        changed = tag_changes(before, after)
        if before is None:
            tags = after.tags()
            summary = "tracked" + (f" with {len(tags)} tag(s)" if tags else ", no tags")
            event("added", after.path, label, summary,
                  {"declared_in": after.declared_in,
                   "tags": {k: _show(v) for k, v in tags.items()}})
            continue
        old_label = before.version.label if before.version else None
        if old_label != label:
            event("version", after.path, label,
                  f"{(old_label or 'none')[:16]} -> {(label or 'none')[:16]}",
                  {"previous": old_label})
        if changed:
            event("tags", after.path, label, describe_tag_changes(changed),
                  {"changes": [{"key": k, "from": None if o is None else _show(o),
                                "to": None if n is None else _show(n)} for k, o, n in changed]})
    return out


def _window(c: RetentionClass) -> str:
    archive = "forever" if c.archive_days is None else f"{c.archive_days}d"
    return f"active {c.active_days}d, archive {archive}"


def _shorter(old: RetentionClass, new: RetentionClass) -> list[str]:
    out = []
    if new.active_days < old.active_days:
        out.append(f"active window {old.active_days}d -> {new.active_days}d")
    if new.archive_days is not None and (old.archive_days is None
                                         or new.archive_days < old.archive_days):
        was = "forever" if old.archive_days is None else f"{old.archive_days}d"
        out.append(f"archive window {was} -> {new.archive_days}d")
    return out


def _covers(new: Rule, old: Rule) -> bool:
    """True when ``new`` applies to at least every artifact ``old`` applies to."""
    if new.paths:
        if not old.paths:
            return False
        for pattern in old.paths:
            if pattern not in new.paths and not any(glob_match(n, pattern) for n in new.paths):
                return False
    if new.types:
        return bool(old.types) and set(old.types) <= set(new.types)
    return True


def policy_weakenings(old: Policy, new: Policy | None, on: dt.date) -> list[str]:
    """How ``new`` asks less than ``old``: shorter retention, fewer required tags or holds.

    ``on`` is the day of the change: a hold that had already expired may go quietly.
    """
    if new is None:
        return [f"deleted {POLICY_FILE}: every required tag, retention window and hold with it"]
    out: list[str] = []
    for rule in old.rules:
        for c in rule.require:
            kept = any(_covers(r, rule) and any(k.key == c.key for k in r.require)
                       for r in new.rules)
            if not kept:
                out.append(f"removed required tag {c.key!r} (rule {rule.label})")
    if old.retention is not None:
        if new.retention is None:
            out.append("removed the retention section")
        else:
            for name, c in old.retention.classes.items():
                now_class = new.retention.classes.get(name)
                if now_class is None:
                    out.append(f"removed retention class {name!r} ({_window(c)})")
                    continue
                out += [f"retention class {name!r}: {s}" for s in _shorter(c, now_class)]
            for what, o_name, n_name in (
                ("default class", old.retention.default, new.retention.default),
                ("release class", old.retention.releases, new.retention.releases),
            ):
                o_cls = old.retention.classes.get(o_name or "")
                n_cls = new.retention.classes.get(n_name or "")
                if o_name != n_name and o_cls is not None:
                    if n_cls is None:
                        out.append(f"{what} {o_name!r} dropped")
                    elif _shorter(o_cls, n_cls):
                        out.append(f"{what} {o_name!r} ({_window(o_cls)}) -> {n_name!r} "
                                   f"({_window(n_cls)})")
            for hold in old.retention.holds:
                if hold.until is not None and hold.until < on:
                    continue  # expired: removing it changes nothing
                same = [h for h in new.retention.holds
                        if h.path == hold.path and h.version == hold.version]
                what = f"hold on {hold.path}" + (f" {hold.version}" if hold.version else "")
                if not same:
                    out.append(f"removed {what} ({hold.reason})")
                elif hold.until is None and all(h.until is not None for h in same):
                    out.append(f"{what} now ends {min(h.until for h in same if h.until)}"
                               f" (was indefinite)")
                elif hold.until is not None and all(h.until is not None and h.until < hold.until
                                                    for h in same):
                    latest = max(h.until for h in same if h.until)
                    out.append(f"{what} now ends {latest} (was {hold.until})")
    if (old.signing is not None and old.signing.required_for
            and (new.signing is None or not new.signing.required_for)):
        out.append(f"signatures no longer required for {old.signing.required_for}")
    return out


def event_file_problems(commit: LedgerCommit, document: Any) -> list[str]:
    """Where an archivist commit's trailers and its event file disagree."""
    if not isinstance(document, Mapping):
        return ["the event file is not a JSON object"]
    problems = []
    absent = [k for k in _DOCUMENT_KEYS if k not in document]
    if absent:
        problems.append(f"the event file has no {', '.join(absent)} (archivist always "
                        "writes them)")
    if document.get("event") != commit.kind:
        problems.append(f"trailer says {commit.kind!r}, event file says "
                        f"{document.get('event')!r}")
    entries = document.get("entries")
    if not isinstance(entries, list):
        return [*problems, "the event file has no entries list"]
    pairs = [(str(e.get("artifact")), str(e.get("version"))) for e in entries
             if isinstance(e, Mapping)]
    trailer_pairs = commit.pairs()
    if pairs != trailer_pairs:
        only_file = [f"{a} {v}" for a, v in pairs if (a, v) not in trailer_pairs]
        only_trailers = [f"{a} {v}" for a, v in trailer_pairs if (a, v) not in pairs]
        detail = []
        if only_file:
            detail.append("only in the file: " + ", ".join(only_file))
        if only_trailers:
            detail.append("only in the trailers: " + ", ".join(only_trailers))
        problems.append("artifacts and versions differ"
                        + (f" ({'; '.join(detail)})" if detail else " (order or count)"))
    for key, trailer in (("from", "Archivist-From"), ("to", "Archivist-To")):
        in_file = sorted({str(e[key]) for e in entries if isinstance(e, Mapping) and e.get(key)})
        in_trailers = sorted(set(commit.values(trailer)))
        if in_file != in_trailers:
            problems.append(f"{trailer}: trailers {in_trailers or 'none'}, "
                            f"event file {in_file or 'none'}")
    rule = document.get("rule")
    rules = commit.values("Archivist-Rule")
    if rule and rules and rules[0] != rule:
        problems.append(f"Archivist-Rule: trailer {rules[0]!r}, event file {rule!r}")
    if commit.kind == "release":
        in_file = sorted({str(e["tag"]) for e in entries if isinstance(e, Mapping)
                          and e.get("tag")})
        in_trailers = sorted(set(commit.values("Archivist-Tag")))
        if in_file != in_trailers:
            problems.append(f"Archivist-Tag: trailers {in_trailers or 'none'}, "
                            f"event file {in_file or 'none'}")
    return problems


def foreign_changes(kind: str | None, files: Iterable[str]) -> list[str]:
    """What an archivist commit changed that archivist never changes in one.

    Every archivist action commits its event file, and a release its bundle, all under
    ``.archivist/``; a commit that also edits DVC files or the policy is a person's.
    """
    problems = []
    if kind is not None and kind not in EVENT_KINDS and kind != APPROVAL_EVENT:
        problems.append(f"Archivist-Event {kind!r} is no archivist action "
                        f"({', '.join(EVENT_KINDS)})")
    outside = sorted(f for f in files if not f.startswith(ARCHIVIST_DIR + "/"))
    if outside:
        shown = ", ".join(outside[:3]) + (f" and {len(outside) - 3} more"
                                           if len(outside) > 3 else "")
        problems.append(f"it also changes {shown}: archivist commits only its own records")
    return problems


def ledger_events(commit: LedgerCommit, document: Mapping[str, Any] | None) -> list[AuditEvent]:
    """One event per artifact version an archivist commit acted on (file first, trailers else)."""
    kind = commit.kind or "unknown"
    event = read_event(commit, document)
    rule = event.rule
    out = []
    for entry in event.entries or (EventEntry("", ""),):
        source, target = entry.source, entry.target
        if kind == APPROVAL_EVENT:  # a signature on a plan, not a move
            summary = (f"approves {next(iter(commit.values(TRAILER_APPROVES)), '?')} of plan "
                       f"{next(iter(commit.values(TRAILER_PLAN)), '?')[:19]}")
        elif source and target:
            summary = f"{source} -> {target}"
        elif source:
            summary = f"deleted from {source}"
        elif target:
            summary = f"to {target}"
        else:
            summary = commit.subject
        if rule:
            summary += f" ({rule})"
        details = {k: v for k, v in entry.as_dict().items() if k not in ("artifact", "version")}
        if rule:
            details["rule"] = rule
        details["subject"] = commit.subject
        out.append(AuditEvent(
            kind=kind, commit=commit.sha, author=commit.author, email=commit.email,
            date=commit.date, artifact=entry.artifact or None, version=entry.version or None,
            summary=summary, by_archivist=True, details=details))
    return out


def ledger_locations(events: Iterable[AuditEvent]) -> dict[tuple[str, str], set[str]]:
    """Where the ledger says each (artifact, version) is now: replay archive/restore/dispose."""
    where: dict[tuple[str, str], set[str]] = {}
    for e in events:
        if not e.by_archivist or not e.artifact or not e.version:
            continue
        if e.kind not in ("archive", "restore", "dispose"):
            continue
        places = where.setdefault((e.artifact, e.version), set())
        source, target = e.details.get("from"), e.details.get("to")
        if e.kind == "archive" and source:
            places.discard(str(source))
        if e.kind == "dispose":
            if source:
                places.discard(str(source))
            else:
                places.clear()
        if target and e.kind != "dispose":
            places.add(str(target))
    return {k: v for k, v in where.items() if v}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None


def disposed_records(commit: LedgerCommit, document: tuple[str, Any] | None,
                     ) -> list[DisposedRecord]:
    """The record of each version a dispose commit disposed of: the entry's tombstone,
    else (events written before tombstones) what its flat fields say."""
    from archivist.authority.records import TRAILER_APPROVAL

    if commit.kind != "dispose":
        return []
    path, doc = document if document is not None else (None, None)
    entries = [e.as_dict() for e in read_event(commit, doc).entries]
    details = doc.get("details") if isinstance(doc, Mapping) else None
    deleted = details.get("deleted_from") if isinstance(details, Mapping) else None
    approvals = tuple(commit.values(TRAILER_APPROVAL))
    if not approvals and isinstance(details, Mapping) and isinstance(
            details.get("approvals"), list):
        approvals = tuple(str(a) for a in details["approvals"])
    out = []
    for e in entries:
        t = e.get("tombstone")
        t = t if isinstance(t, Mapping) else {}
        cls = t.get("class") if isinstance(t.get("class"), Mapping) else {}
        release = t.get("release")
        if not isinstance(release, Mapping):
            release = {"tag": str(e["release"])} if e.get("release") else None
        out.append(DisposedRecord(
            artifact=str(e.get("artifact")), version=str(e.get("version")),
            commit=commit.sha, date=commit.date, actor=f"{commit.author} <{commit.email}>",
            event_file=path, size=_int(t.get("size", e.get("bytes"))),
            files=_int(t.get("files")),
            retention_class=_text(cls.get("name", e.get("class"))),
            basis=_text(cls.get("basis")), rule=_text(cls.get("rule")),
            superseded=_text(t.get("superseded", e.get("superseded"))),
            archived=_text(t.get("archived")), due=_text(t.get("due", e.get("due"))),
            reason=_text(t.get("reason", e.get("reason"))),
            release=dict(release) if release else None, approvals=approvals,
            deleted_from=tuple(sorted(k for k, v in deleted.items() if v))
            if isinstance(deleted, Mapping) else ()))
    return out


def with_copies(records: Iterable[DisposedRecord], checked: Sequence[str],
                present: Iterable[tuple[str, str, str]],
                looked: Iterable[tuple[str, str]]) -> list[DisposedRecord]:
    """``records`` with what ``--deep`` saw: ``checked`` the remotes looked at,
    ``present`` (artifact, version, remote) of each object still there, ``looked`` the
    versions looked for (one that is on the branch again is not)."""
    found: dict[tuple[str, str], set[str]] = {}
    for artifact, version, remote in present:
        found.setdefault((artifact, version), set()).add(remote)
    seen = set(looked)
    return [replace(r, checked=tuple(checked),
                                copies=tuple(sorted(found.get((r.artifact, r.version), ()))))
            if (r.artifact, r.version) in seen else r for r in records]


_GTO_KINDS: dict[str, str] = {  # gto_tags.Action value -> the audit's event kind
    "register": "registration", "deregister": "deregistration", "assign": "assignment",
    "unassign": "unassignment", "deprecate": "deprecation",
}
GTO_KINDS = tuple(_GTO_KINDS.values())
HOLD_KINDS = ("hold", "hold-removed")


def _split_tagger(tagger: str | None) -> tuple[str, str]:
    """``Name <email>`` -> (name, email); a tagger git did not record -> ("?", "")."""
    if not tagger:
        return "?", ""
    name, _, rest = tagger.partition("<")
    return name.strip() or "?", rest.rstrip(">").strip()


def gto_events(events: Iterable[gto_tags.Event], paths: Mapping[str, str],
               versions: Mapping[tuple[str, str], str] | None = None) -> list[AuditEvent]:
    """The registry's events as timeline entries, dated and signed by their tagger.

    ``paths`` maps a registry name to its artifact path (a name not in it stays the
    name); ``versions`` gives the DVC version at (commit, path) when it is known.
    """
    versions = versions or {}
    out = []
    for e in events:
        kind = _GTO_KINDS.get(e.tag.action.value)
        if kind is None:
            continue  # "created" tags record nothing a person decided
        path = paths.get(e.tag.name) or paths.get(e.tag.name.rpartition(":")[2]) or e.tag.name
        what = e.tag.version or (f"stage {e.tag.stage}" if e.tag.stage else "")
        summary = f"{kind} {e.tag.name}" + (f" {what}" if what else "") + f" ({e.tag.tag})"
        author, email = _split_tagger(e.tagger)
        details: dict[str, Any] = {"tag": e.tag.tag, "name": e.tag.name,
                                   "tagger": e.tagger, "source": "gto"}
        if e.tag.version:
            details["gto_version"] = e.tag.version
        if e.tag.stage:
            details["stage"] = e.tag.stage
        out.append(AuditEvent(
            kind=kind, commit=e.commit, author=author, email=email, date=e.created,
            artifact=path, version=versions.get((e.commit, path)), summary=summary,
            by_archivist=False, details=details))
    return sorted(out, key=lambda ev: ev.date)


def _hold_key(h: Hold) -> tuple[str, str | None, str, dt.date | None]:
    return (h.path, h.version, h.reason, h.until)


def hold_events(changes: Sequence[PolicyChange], archivist_shas: Iterable[str] = (),
                ) -> list[AuditEvent]:
    """Holds added to or removed from ``retention.holds``, commit by commit.

    An unreadable policy changes nothing: the next readable one is compared with the
    last readable one. A deleted policy removes every hold.
    """
    ours = set(archivist_shas)
    out: list[AuditEvent] = []
    before: dict[tuple[str, str | None, str, dt.date | None], Hold] = {}
    for change in changes:
        if change.error is not None:
            continue
        holds = change.policy.retention.holds if (
            change.policy is not None and change.policy.retention is not None) else ()
        after = {_hold_key(h): h for h in holds}
        info = change.info
        for kind, gone in (("hold-removed", before.keys() - after.keys()),
                           ("hold", after.keys() - before.keys())):
            for key in sorted(gone, key=lambda k: (k[0], k[1] or "")):
                h = (before if kind == "hold-removed" else after)[key]
                until = f" until {h.until}" if h.until else ""
                verb = "hold removed" if kind == "hold-removed" else "hold"
                out.append(AuditEvent(
                    kind=kind, commit=info.sha, author=info.author, email=info.email,
                    date=info.date, artifact=h.path, version=h.version,
                    summary=f"{verb} on {h.path}: {h.reason}{until}",
                    by_archivist=info.sha in ours,
                    details={"path": h.path, "reason": h.reason,
                             "until": h.until.isoformat() if h.until else None,
                             "subject": info.subject}))
        before = after
    return out


def merge_by_date(events: Sequence[AuditEvent], dated: Sequence[AuditEvent],
                  ) -> list[AuditEvent]:
    """``dated`` (sorted by date) placed among the history-ordered ``events``: each goes
    before the first event dated after it."""
    out: list[AuditEvent] = []
    j = 0
    for e in events:
        while j < len(dated) and dated[j].date < e.date:
            out.append(dated[j])
            j += 1
        out.append(e)
    out += dated[j:]
    return out


def overdue_items(plan: Iterable[PlanItem], as_of: dt.date) -> list[PlanItem]:
    """Plan items due for archive or disposal before ``as_of`` (oldest first)."""
    late = [p for p in plan if p.action in ("archive", "dispose")
            and p.due is not None and p.due < as_of]
    return sorted(late, key=lambda p: (p.due, p.path))


def bytes_by_remote(plan: Iterable[PlanItem], roles: Remotes,
                    absent: Iterable[tuple[str, str, str]] = ()) -> dict[str, int]:
    """Bytes per remote of the versions the plan places there, as ``storage (active)``
    (an output's own ``remote:`` for its active role).

    ``absent`` lists (path, version, DVC remote) whose objects were looked for and not
    found intact: they are not counted.
    """
    gone = set(absent)
    out: dict[str, int] = {}
    for item in plan:
        if item.state == "disposed" or not item.location:
            continue
        place = str(item.location)
        named = roles.remote_of(place, item.remote)
        remote = named or place
        if (item.path, item.version, remote) in gone or (item.path, item.version, place) in gone:
            continue
        label = f"{named} ({place})" if named else place
        out[label] = out.get(label, 0) + (item.size or 0)
    return dict(sorted(out.items()))


def expected_locations(plan: Iterable[PlanItem], ledger: Mapping[tuple[str, str], set[str]],
                       roles: Remotes | None = None,
                       ) -> dict[tuple[str, str], set[str]]:
    """Every place a version should be: the plan's location of each version not disposed
    (current ones included; a role is named by its DVC remote), and the ledger's own
    records of where it put one."""
    roles = roles or Remotes(None, None)
    out = {k: set(v) for k, v in ledger.items()}
    for item in plan:
        if item.state != "disposed" and item.location:
            place = str(item.location)
            out.setdefault((item.path, item.version), set()).add(
                roles.remote_of(place, item.remote) or place)
    return out


def plan_figures(plan: Sequence[PlanItem], figures: Figures, as_of: dt.date,
                 roles: Remotes | None = None) -> list[Finding]:
    """Fill the state and bytes figures from a retention plan; return the overdue findings.

    ``roles`` names the DVC remote behind each plan location (``active`` -> ``storage``).
    """
    roles = roles or Remotes(None, None)
    versions: dict[str, int] = {}
    artifacts: dict[str, set[str]] = {}
    by_class: dict[str, int] = {}
    for item in plan:
        state = item.state
        versions[state] = versions.get(state, 0) + 1
        artifacts.setdefault(state, set()).add(item.path)
        if state == "disposed" or not item.location:
            continue
        klass = item.retention_class or "none"
        by_class[klass] = by_class.get(klass, 0) + (item.size or 0)
    figures.versions_by_state = dict(sorted(versions.items()))
    figures.artifacts_by_state = {k: len(v) for k, v in sorted(artifacts.items())}
    figures.bytes_by_remote = bytes_by_remote(plan, roles)
    figures.bytes_source = "ledger"
    figures.bytes_by_class = dict(sorted(by_class.items()))
    late = overdue_items(plan, as_of)
    figures.overdue = len(late)
    findings = []
    for item in late:
        due = item.due
        assert due is not None  # overdue_items keeps dated items only
        days = (as_of - due).days
        findings.append(Finding(
            kind="overdue", subject=f"{item.path} {item.version}", artifact=item.path,
            problem=f"{item.action} was due {due} ({days} day(s) ago, class "
                    f"{item.retention_class or '?'}): {item.reason or 'not yet done'}",
            fix=f"archivist {item.action} --apply (the scheduled retention job)",
        ))
    if late:
        first = late[0]
        figures.oldest_overdue = {"artifact": first.path, "version": first.version,
                                  "action": first.action,
                                  "due": first.due.isoformat() if first.due else None}
    return findings


# ---------------------------------------------------------------- records


def unknown_version_findings(events: Iterable[AuditEvent],
                             first_seen: Mapping[tuple[str, str], int],
                             order: Mapping[str, int]) -> list[Finding]:
    """Archivist events for an (artifact, version) the branch had not had by then.

    ``first_seen`` is the chain position where each (path, version label) first appeared;
    ``order`` the position of every first-parent commit.
    """
    out, seen = [], set()
    for e in events:
        if not e.by_archivist or not e.artifact or not e.version:
            continue
        key = (e.commit, e.artifact, e.version)
        if key in seen:
            continue
        seen.add(key)
        when = first_seen.get((e.artifact, e.version))
        if when is not None and when <= order.get(e.commit, -1):
            continue
        out.append(Finding(
            kind="unknown-version", subject=f"{e.artifact} {e.version}", artifact=e.artifact,
            commit=e.commit, author=f"{e.author} <{e.email}>", date=e.date,
            problem=f"{e.commit[:10]} records {e.kind} of {e.artifact} {e.version[:16]}, a "
                    "version the branch " + ("had not had yet" if when is not None
                                             else "never had"),
            fix=f"archivist never records one: find who made {e.commit[:10]} "
                f"(git show {e.commit[:10]}) and revert it"))
    return out


def disposal_problem(item: PlanItem | None) -> str | None:
    """Why a disposal was not due, from the plan at its parent commit; None when it was.

    A version the plan does not know is left to ``unknown-version``.
    """
    if item is None or item.action == "dispose":
        return None
    return f"it was {item.state} then ({item.reason})"


def restore_problem(item: PlanItem | None, policy: Policy, restored_on: dt.date,
                    until: str | None) -> str | None:
    """Why a restore's end date is beyond what its class allows; None when it is not."""
    if item is None:
        return None
    if until is None:
        return "it records no end date (Archivist-Until): it would stay active forever"
    try:
        end = dt.date.fromisoformat(until)
    except ValueError:
        return f"its end date {until!r} is not a date"
    cls = (policy.retention.classes.get(item.retention_class or "")
           if policy.retention is not None else None)
    if cls is None:
        return None  # an unknown class keeps the version anyway; the plan says so
    limit = restored_on + dt.timedelta(days=cls.active_days)
    if end <= limit:
        return None
    return (f"active until {end}, but class {cls.name} allows {cls.active_days}d from "
            f"{restored_on}: {limit}")


def date_findings(anomalies: Iterable[DateAnomaly],
                  infos: Mapping[str, CommitInfo]) -> list[Finding]:
    """``backdated-commit`` and ``future-commit``, from the clock the history keeps."""
    findings = []
    for a in anomalies:
        info = infos.get(a.commit)
        who, when = (_who(info), info.date) if info else (None, None)
        subject = f" ({info.subject})" if info else ""
        if a.kind == "future":
            findings.append(Finding(
                kind="future-commit", subject=a.commit, commit=a.commit, author=who, date=when,
                problem=f"{a.describe()}{subject}",
                fix=f"check the committer's clock (git show -s --format=fuller "
                    f"{a.commit[:10]}): nothing can be committed in the future"))
        else:
            findings.append(Finding(
                kind="backdated-commit", subject=a.commit, commit=a.commit, author=who,
                date=when, problem=f"{a.describe()}{subject}",
                fix=f"check who made {a.commit[:10]} and why (git show -s --format=fuller "
                    f"{a.commit[:10]}): a backdated commit could start a retention clock "
                    "early"))
    return findings


_HOLD_FIXES = {
    "no-artifact": "write the path as `archivist ls` shows it (no ./, no trailing /)",
    "no-version": "name a version the artifact had, in full, as `archivist plan` prints it",
    "short-hash": "write the version in full (md5:<32 hex digits>), as `archivist plan "
                  "--json` prints it",
}


def hold_findings(unmatched: Iterable[UnmatchedHold], as_of: dt.date) -> list[Finding]:
    """``hold-unmatched``: holds in force on ``as_of`` that hold nothing on the branch."""
    return [Finding(kind="hold-unmatched", subject=f"{POLICY_FILE}:{u.hold.line}",
                    problem=f"{u.message} ({u.hold.reason}): it holds nothing",
                    fix=_HOLD_FIXES.get(u.problem, "fix the hold in archivist.yaml"))
            for u in unmatched if u.hold.until is None or as_of <= u.hold.until]


def release_tag_findings(anomalies: Iterable[ReleaseAnomaly],
                         ledger: Iterable[LedgerCommit]) -> list[Finding]:
    """``release-tag-missing`` / ``release-tag-moved``, each naming the release commit."""
    by_sha = {c.sha: c for c in ledger}
    out = []
    for a in anomalies:
        c = by_sha.get(a.release_commit)
        who, when = (f"{c.author} <{c.email}>", c.date) if c else (None, None)
        if a.kind == "missing":
            out.append(Finding(
                kind="release-tag-missing", subject=a.tag, artifact=a.artifact,
                commit=a.release_commit, author=who, date=when,
                problem=f"{a.describe()}: retention still keeps the version as released",
                fix=f"git tag -a {a.tag} {a.release_commit[:10]}, then git push origin "
                    f"{a.tag}"))
        else:
            out.append(Finding(
                kind="release-tag-moved", subject=a.tag, artifact=a.artifact,
                commit=a.release_commit, author=who, date=when, problem=a.describe(),
                fix=f"git tag -f -a {a.tag} {a.release_commit[:10]}, then git push -f "
                    f"origin {a.tag}"))
    return out


def filter_audit(audit: Audit, since: dt.date | None, artifact: str | None) -> None:
    """Keep events and findings from ``since`` on and about ``artifact`` (in place).

    Repository-wide findings (a weakened policy, an edited event file, a commit) stay when
    filtering by artifact: they bear on every artifact.
    """
    def keep_event(e: AuditEvent) -> bool:
        if since is not None and e.date.date() < since:
            return False
        if artifact is None or e.artifact == artifact:
            return True
        if e.artifact is None:
            return False
        if e.kind in HOLD_KINDS:  # a hold on a folder or a glob bears on what it covers
            held = e.artifact.rstrip("/")
            if artifact.startswith(held + "/") or glob_match(held, artifact):
                return True
        return e.artifact.startswith(artifact.rstrip("/") + "/")

    def keep_finding(f: Finding) -> bool:
        if since is not None and f.date is not None and f.date.date() < since:
            return False
        return artifact is None or f.artifact is None or f.artifact == artifact

    audit.events = [e for e in audit.events if keep_event(e)]
    audit.findings = [f for f in audit.findings if keep_finding(f)]
    audit.disposed = [d for d in audit.disposed
                      if (since is None or d.date.date() >= since)
                      and (artifact is None or d.artifact == artifact
                           or d.artifact.startswith(artifact.rstrip("/") + "/"))]
    if artifact is not None:
        audit.forecast = [f for f in audit.forecast if f.path == artifact
                          or f.path.startswith(artifact.rstrip("/") + "/")]
    audit.since, audit.artifact = since, artifact


def sort_findings(findings: list[Finding]) -> list[Finding]:
    order = {k: i for i, k in enumerate(FINDING_KINDS)}
    return sorted(findings, key=lambda f: (order.get(f.kind, len(order)),
                                           f.date or dt.datetime.min.replace(tzinfo=dt.UTC),
                                           f.subject))


def authority_findings(found: Iterable[AuthorityFinding]) -> list[Finding]:
    """The authority judge's findings as the audit's, each with its signer and rule."""
    out = []
    for f in found:
        kind: FindingKind = f.kind.value  # type: ignore[assignment]  # same names
        out.append(Finding(kind=kind, subject=f.subject, problem=f.problem, fix=f.fix,
                           commit=f.commit, author=f.author, date=f.date, signer=f.signer,
                           rule=f.rule))
    return out


def signed_events(events: Iterable[AuditEvent], signers: Mapping[str, Signed],
                  ) -> list[AuditEvent]:
    """Each event with who signed its commit (when the authority check read it)."""
    import dataclasses

    return [dataclasses.replace(e, signed=signers[e.commit]) if e.commit in signers else e
            for e in events]
