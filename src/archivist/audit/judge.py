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
for) are pure functions of text and values. ``collect`` is the adapter that reads git: one
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
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from archivist import gitrepo, gto_tags
from archivist.authority.records import APPROVAL_EVENT, TRAILER_APPROVES, TRAILER_PLAN
from archivist.dvcfiles import Artifact
from archivist.errors import ArchivistError, ConfigError
from archivist.gate.rules import Violation, check_all
from archivist.globs import glob_match
from archivist.inventory import load_artifacts
from archivist.ledger import (
    EVENT_KINDS,
    EVENTS_DIR,
    EventEntry,
    LedgerCommit,
    read_event,
    read_ledger,
)
from archivist.policy import (
    POLICY_FILE,
    Hold,
    Policy,
    Remotes,
    RetentionClass,
    Rule,
    parse_policy,
)
from archivist.release.names import VerifyStatus
from archivist.retention.decide import PlanItem, UnmatchedHold, unmatched_holds
from archivist.trees import CommitTree, Tree

if TYPE_CHECKING:  # adapters the audit imports only when it runs
    from archivist.audit.deep import ObjectProblem
    from archivist.authority.judge import AuthorityFinding, Signed
    from archivist.history import CommitArtifacts, DateAnomaly, Timelines
    from archivist.release.verify import VerifyOutcome
    from archivist.retention.forecast import Forecast
    from archivist.retention.plan import Plan, ReleaseAnomaly


# Finding kinds, in the order reports list them. Their names are part of the JSON output.
FindingKind = Literal[
    "noncompliant", "hook-bypassed", "release", "release-unchecked", "trust-unreadable",
    "release-tag-missing", "release-tag-moved", "overdue", "disposal-not-due",
    "restore-beyond-window", "unknown-version", "hold-unmatched", "backdated-commit",
    "future-commit", "ledger-edited", "ledger-deleted", "ledger-mismatch", "policy-weakened",
    "policy-invalid", "object-missing", "object-corrupt", "disposed-present",
    "unsigned", "unknown-signer", "unauthorized", "self-authorized", "missing-approval",
    "forged-record",
]
FINDING_KINDS: dict[FindingKind, str] = {
    "noncompliant": "artifact at the head whose tags break the policy",
    "hook-bypassed": "commit that broke the policy when it was made",
    "release": "release tag without a bundle, or whose signature does not verify",
    "release-unchecked": "release tags that could not be verified at all",
    "trust-unreadable": "key, root or trust file the signing policy names is unreadable",
    "release-tag-missing": "the ledger records a release whose tag is gone",
    "release-tag-moved": "release tag pointing elsewhere than the ledger's release commit",
    "overdue": "version due for archive or disposal and not yet moved",
    "disposal-not-due": "disposal the policy of its parent commit did not call for",
    "restore-beyond-window": "restore kept active past its class's active window",
    "unknown-version": "archivist event for a version the branch never had",
    "hold-unmatched": "hold that matches no artifact version on the branch",
    "backdated-commit": "commit dated before an earlier commit of the branch",
    "future-commit": "commit dated in the future",
    "ledger-edited": "event file changed after it was added",
    "ledger-deleted": "event file deleted after it was added",
    "ledger-mismatch": "archivist commit whose trailers and event file disagree",
    "policy-weakened": "policy change that shortened retention, dropped a tag or a hold",
    "policy-invalid": "commit that left archivist.yaml unreadable",
    "object-missing": "object the ledger places in a remote is not there",
    "object-corrupt": "object in a remote does not match its hash",
    "disposed-present": "object of a disposed version still on a remote",
    "unsigned": "archivist record, release tag or policy change without a valid signature",
    "unknown-signer": "signed by a key the signers file at its parent does not allow then",
    "unauthorized": "signer holds no role the policy at its parent lets do it",
    "self-authorized": "allowed only by the key or role the same commit adds",
    "missing-approval": "dispose without the approvals the policy asks for, for its plan",
    "forged-record": "a person's commit dressed as an archivist record: not believed",
}
assert set(FINDING_KINDS) == set(get_args(FindingKind))
BytesSource = Literal["ledger", "found", "sampled"]
ARCHIVIST_KINDS = EVENT_KINDS
ARCHIVIST_DIR = ".archivist"
# what every event file archivist writes holds (ledger.Event.document)
_DOCUMENT_KEYS = ("schema", "event", "time", "actor", "entries")
PEOPLE_KINDS = ("added", "version", "tags", "removed")


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class CommitInfo:
    """Who made a commit, and when (author date, as git shows it)."""

    sha: str
    author: str
    email: str
    date: dt.datetime
    subject: str


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened to one artifact version, in one commit."""

    kind: str  # ARCHIVIST_KINDS or PEOPLE_KINDS
    commit: str
    author: str
    email: str
    date: dt.datetime
    artifact: str | None
    version: str | None  # "md5:<hex>"
    summary: str  # one line a person reads: "owner: a@x -> b@x", "storage -> archive"
    by_archivist: bool
    details: Mapping[str, Any] = field(default_factory=dict)
    signed: Signed | None = None  # under authority: who signed, in which role, meaning what

    def as_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, "commit": self.commit, "author": self.author,
               "email": self.email, "date": self.date.isoformat(), "artifact": self.artifact,
               "version": self.version, "summary": self.summary,
               "by_archivist": self.by_archivist, "details": dict(self.details)}
        if self.signed is not None:
            out["signature"] = self.signed.as_dict()
        return out


@dataclass(frozen=True)
class Finding:
    """Something out of policy, with the one line that fixes it."""

    kind: FindingKind
    subject: str  # the artifact path, commit SHA, tag or object it is about
    problem: str
    fix: str
    artifact: str | None = None
    commit: str | None = None
    author: str | None = None
    date: dt.datetime | None = None
    status: VerifyStatus | None = None  # release findings: what verify said
    signer: str | None = None  # authority findings: the principal, or the key's fingerprint
    rule: str | None = None  # authority findings: the policy rule that refused

    def as_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, "subject": self.subject, "problem": self.problem,
               "fix": self.fix, "artifact": self.artifact, "commit": self.commit,
               "author": self.author, "date": self.date.isoformat() if self.date else None,
               "status": self.status.value if self.status else None}
        if self.rule is not None:
            out["signer"], out["rule"] = self.signer, self.rule
        return out


@dataclass
class Figures:
    """The numbers at the top of every report; None where the engine behind them is absent."""

    artifacts: int = 0
    compliant: int = 0
    governed: int = 0  # artifacts some tag rule covers
    artifacts_by_state: dict[str, int] | None = None
    versions_by_state: dict[str, int] | None = None
    bytes_by_remote: dict[str, int] | None = None
    # where bytes_by_remote comes from: "ledger" (what the history says, no remote read),
    # "found" (--deep: only versions whose objects were read back), "sampled" (--sample)
    bytes_source: BytesSource | None = None
    bytes_by_class: dict[str, int] | None = None
    releases: int | None = None
    releases_signed: int | None = None
    releases_verified: int | None = None
    overdue: int | None = None
    oldest_overdue: dict[str, Any] | None = None
    commits: int = 0  # first-parent commits read
    events: int = 0
    findings: int = 0

    @property
    def compliance_rate(self) -> float | None:
        return self.compliant / self.artifacts if self.artifacts else None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["compliance_rate"] = (round(self.compliance_rate, 4)
                                  if self.compliance_rate is not None else None)
        return out


@dataclass(frozen=True)
class DisposedRecord:
    """One disposed version as the ledger keeps it: what it was, why it went, and (with
    ``--deep``) whether any copy remains on the configured remotes.

    The disposing commit is the one that added the event file; its approvals are its
    ``Archivist-Approval`` trailers."""

    artifact: str
    version: str  # "md5:<hex>"
    commit: str
    date: dt.datetime
    actor: str
    event_file: str | None
    size: int | None
    files: int | None
    retention_class: str | None
    basis: str | None
    rule: str | None  # the class and its windows ("class standard (active 180d, ...)")
    superseded: str | None  # ISO dates, as the record has them
    archived: str | None
    due: str | None
    reason: str | None  # the plan's reason on the day
    release: Mapping[str, Any] | None = None  # tag, signed, digest, bundle, bundle_sha256
    approvals: tuple[str, ...] = ()
    deleted_from: tuple[str, ...] = ()  # the remotes the record says it was deleted from
    checked: tuple[str, ...] | None = None  # --deep: the remotes looked at; None: not looked
    copies: tuple[str, ...] = ()  # --deep: remotes still holding its object

    def why(self) -> str:
        """Why it went, in one line."""
        parts = [self.rule or (f"class {self.retention_class}" if self.retention_class
                               else "class unknown")]
        if self.basis:
            parts.append(f"basis: {self.basis}")
        if self.due:
            parts.append(f"archive window ended {self.due}")
        if self.superseded:
            parts.append(f"superseded {self.superseded}")
        if self.archived:
            parts.append(f"archived {self.archived}")
        return "; ".join(parts)

    def remains(self) -> str:
        """What ``--deep`` saw: no copy, the copies left, or that it did not look."""
        if self.checked is None:
            return "not looked at (audit --deep reads the remotes)"
        if self.copies:
            return "copy still on " + ", ".join(self.copies)
        if not self.checked:
            return "no configured remote to look at"
        return "no copy on " + ", ".join(self.checked)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["date"] = self.date.isoformat()
        out["why"] = self.why()
        out["remains"] = self.remains()
        return out


@dataclass
class Audit:
    """Everything a report shows."""

    rev: str
    head: str
    branch: str | None  # the policy's governed branch
    as_of: dt.date
    since: dt.date | None
    artifact: str | None
    figures: Figures
    events: list[AuditEvent]
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)  # what could not be audited, and why
    deep: bool = False
    tracked: list[str] = field(default_factory=list)  # artifact paths at the head
    policy_ref: str | None = None  # the commit whose policy and trust files judged releases
    authority: bool = False  # some commit was judged under ``authority:`` (events say who signed)
    # every disposal the ledger records, what it was and why it went (``disposed_records``)
    disposed: list[DisposedRecord] = field(default_factory=list)
    # every version's dates under the policy at the head (``retention.forecast``)
    forecast: list[Forecast] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def timelines(self) -> dict[str, list[AuditEvent]]:
        """Events per artifact (repository-wide events under ""), artifacts sorted."""
        out: dict[str, list[AuditEvent]] = {}
        for event in self.events:
            out.setdefault(event.artifact or "", []).append(event)
        return dict(sorted(out.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "rev": self.rev,
            "head": self.head,
            "branch": self.branch,
            "as_of": self.as_of.isoformat(),
            "since": self.since.isoformat() if self.since else None,
            "artifact": self.artifact,
            "deep": self.deep,
            "policy_ref": self.policy_ref,
            "authority": self.authority,
            "ok": self.ok,
            "figures": self.figures.as_dict(),
            "notes": list(self.notes),
            "events": [e.as_dict() for e in self.events],
            "findings": [f.as_dict() for f in self.findings],
            "disposed": [d.as_dict() for d in self.disposed],
            "forecast": [f.as_dict() for f in self.forecast],
        }


# ---------------------------------------------------------------- pure decisions


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


# ---------------------------------------------------------------- reading git


_INFO_FIELDS = ("%H", "%an", "%ae", "%aI", "%s")  # what ``_info`` reads


def _info(fields: Sequence[str]) -> CommitInfo:
    sha, author, email, date, subject = fields[:5]
    return CommitInfo(sha=sha.strip(), author=author, email=email,
                      date=dt.datetime.fromisoformat(date), subject=subject)


def _who(info: CommitInfo) -> str:
    return f"{info.author} <{info.email}>"


@dataclass(frozen=True)
class PolicyChange:
    """A first-parent commit that changed ``archivist.yaml``, and the policy it left."""

    info: CommitInfo
    policy: Policy | None  # None: deleted, or unreadable (then ``error`` says why)
    error: str | None = None

    @property
    def deleted(self) -> bool:
        return self.policy is None and self.error is None


def read_policy_changes(root: Path, rev: str, cat: gitrepo.CatFile) -> list[PolicyChange]:
    """Every version of the policy on the first-parent history of ``rev``, oldest first."""
    changes = []
    for record in gitrepo.log(root, ["--first-parent", "--reverse", rev], _INFO_FIELDS,
                              files="status", paths=[POLICY_FILE]):
        info = _info(record.fields)
        status = next((f.status for f in record.files if f.path == POLICY_FILE), "M")
        if status == "D":
            changes.append(PolicyChange(info, None))
            continue
        data = cat.read(f"{info.sha}:{POLICY_FILE}") or b""
        try:
            changes.append(PolicyChange(info, parse_policy(data, POLICY_FILE)))
        except ConfigError as exc:
            changes.append(PolicyChange(info, None, exc.message))
    return changes


def policy_findings(changes: Sequence[PolicyChange]) -> list[Finding]:
    """``policy-weakened`` and ``policy-invalid``: each change against the last good policy."""
    findings = []
    previous: Policy | None = None
    for change in changes:
        info = change.info
        if change.error is not None:
            findings.append(Finding(
                kind="policy-invalid", subject=info.sha, commit=info.sha, author=_who(info),
                date=info.date, problem=f"{change.error} ({info.subject})",
                fix="fix archivist.yaml in a new commit (archivist check validates it)"))
            continue  # judged against the last policy that could be read
        if previous is not None:
            for what in policy_weakenings(previous, change.policy, info.date.date()):
                findings.append(Finding(
                    kind="policy-weakened", subject=info.sha, commit=info.sha,
                    author=_who(info), date=info.date, problem=f"{what} ({info.subject})",
                    fix=f"if it was not intended: git revert {info.sha[:10]}"))
        previous = change.policy
    return findings


def _bypass(info: CommitInfo, artifact: str, items: list[Violation]) -> Finding:
    problems = "; ".join(v.problem for v in items)
    return Finding(kind="hook-bypassed", subject=info.sha, artifact=artifact, commit=info.sha,
                   author=_who(info), date=info.date,
                   problem=f"{artifact}: {problems} (rule {items[0].rule})",
                   fix=f"{items[-1].fix}, commit; and have the hooks installed "
                       "(pre-commit install)")


def replay_gate(steps: Iterable[CommitArtifacts], policy_changes: Sequence[PolicyChange],
                order: Mapping[str, int]) -> list[Finding]:
    """What the hook would have refused, commit by commit, from the history walk.

    ``steps`` are the walk's commits (oldest first, each with the artifacts it changed);
    each is judged against the policy in force at that commit, its own change included.
    A policy change is not judged itself: artifacts that do not yet meet a stricter policy
    are reported at the head (``noncompliant``), not as a bypass by whoever tightened it.
    """
    pending = sorted(policy_changes, key=lambda c: order.get(c.info.sha, -1))
    policy: Policy | None = None
    findings: list[Finding] = []
    i = 0
    for step in steps:
        position = order.get(step.sha, -1)
        while i < len(pending) and order.get(pending[i].info.sha, -1) <= position:
            if pending[i].error is None:  # an unreadable policy leaves the last good one
                policy = pending[i].policy
            i += 1
        if policy is None:
            continue
        changed = [after for _, after in step.changes if after is not None]
        by_artifact: dict[str, list[Violation]] = {}
        for v in check_all(changed, policy, step.sha):
            by_artifact.setdefault(v.artifact, []).append(v)
        if by_artifact:
            info = CommitInfo(sha=step.sha, author=step.author_name, email=step.author_email,
                              date=step.author_date, subject=step.subject)
            findings += [_bypass(info, path, items) for path, items in by_artifact.items()]
    return findings


def _event_documents(commits: Sequence[LedgerCommit], cat: gitrepo.CatFile,
                     files: Mapping[str, Sequence[str]],
                     ) -> tuple[dict[str, tuple[str, Any] | None], list[Finding]]:
    """The event file each ledger commit added (parsed), and the integrity findings.

    ``files`` lists every path each ledger commit changed, inside ``.archivist/`` or not.
    """
    documents: dict[str, tuple[str, Any] | None] = {}
    findings: list[Finding] = []
    for c in commits:
        who = f"{c.author} <{c.email}>"
        added = [p for s, p in c.changes if s == "A" and p.startswith(EVENTS_DIR + "/")]
        for status, path in c.changes:
            if not path.startswith(EVENTS_DIR + "/") or status == "A":
                continue
            deleted = status == "D"
            findings.append(Finding(
                kind="ledger-deleted" if deleted else "ledger-edited", subject=path,
                commit=c.sha, author=who, date=c.date,
                problem=f"{path} {'deleted' if deleted else 'modified'} in {c.sha[:10]} "
                        f"({c.subject}); event files are never changed",
                fix=f"restore it as added: git checkout {c.sha[:10]}^ -- {path}, then commit"))
        document: tuple[str, Any] | None = None
        if added:
            path = added[0]
            raw = cat.read(f"{c.sha}:{path}")
            try:
                document = (path, json.loads(raw or b""))
            except ValueError:
                document = (path, None)
        documents[c.sha] = document
        if c.kind is None:
            if added:
                findings.append(Finding(
                    kind="ledger-mismatch", subject=c.sha, commit=c.sha, author=who, date=c.date,
                    problem=f"{c.sha[:10]} adds {', '.join(added)} without Archivist trailers: "
                            "not an archivist commit",
                    fix="event files are written only by archivist: revert "
                        f"{c.sha[:10]} (git revert {c.sha[:10]})"))
            continue
        if not added:
            findings.append(Finding(
                kind="ledger-mismatch", subject=c.sha, commit=c.sha, author=who, date=c.date,
                problem=f"{c.sha[:10]} carries Archivist-Event: {c.kind} but adds no event file",
                fix="find the event file's fate in git log -- " + EVENTS_DIR))
            continue
        problems = (["more than one event file added: " + ", ".join(added)]
                    if len(added) > 1 else [])
        assert document is not None
        problems += (["the event file is not valid JSON"] if document[1] is None
                     else event_file_problems(c, document[1]))
        problems += foreign_changes(c.kind, files.get(c.sha, ()))
        if problems:
            findings.append(Finding(
                kind="ledger-mismatch", subject=c.sha, commit=c.sha, author=who, date=c.date,
                problem=f"{c.sha[:10]} ({c.kind}): " + "; ".join(problems),
                fix=f"compare git show {c.sha[:10]} with {document[0]}; "
                    "archivist never writes them apart"))
    return documents, findings


def _trailer_only_commits(root: Path, rev: str, known: set[str]) -> list[Finding]:
    """Commits with Archivist trailers that do not touch the ledger folder at all."""
    findings = []
    for record in gitrepo.log(root, ["--first-parent", "--grep=^Archivist-Event:", rev],
                              _INFO_FIELDS):
        if record.fields[0] in known:
            continue
        info = _info(record.fields)
        findings.append(Finding(
            kind="ledger-mismatch", subject=info.sha, commit=info.sha,
            author=f"{info.author} <{info.email}>", date=info.date,
            problem=f"{info.sha[:10]} carries Archivist trailers but no event file "
                    f"({info.subject})",
            fix="archivist never commits without its event file: look at "
                f"git show {info.sha[:10]}"))
    return findings


def head_findings(tree: Tree, policy: Policy, figures: Figures,
                  tracked: list[str] | None = None) -> list[Finding]:
    """Artifacts at the head whose tags break the policy; fills the compliance figures."""
    artifacts = load_artifacts(tree)
    if tracked is not None:
        tracked.extend(sorted(a.path for a in artifacts))
    by_artifact: dict[str, list[Violation]] = {}
    for v in check_all(artifacts, policy):
        by_artifact.setdefault(v.artifact, []).append(v)
    figures.artifacts = len(artifacts)
    figures.compliant = len(artifacts) - len(by_artifact)
    figures.governed = sum(1 for a in artifacts if policy.rules_for(a.path, a.type))
    out = []
    for path, items in by_artifact.items():
        out.append(Finding(
            kind="noncompliant", subject=path, artifact=path,
            problem=f"{items[0].file}:{items[0].line}: "
                    + "; ".join(v.problem for v in items) + f" (rule {items[0].rule})",
            fix=items[-1].fix))
    return out


def _commit_infos(root: Path, shas: Sequence[str]) -> dict[str, CommitInfo]:
    """Who made each of ``shas``, and when (one ``git log --no-walk`` for all of them)."""
    if not shas:
        return {}
    infos = [_info(r.fields)
             for r in gitrepo.log(root, ["--no-walk=unsorted"], _INFO_FIELDS, stdin=shas)]
    return {i.sha: i for i in infos}


def _changed_files(root: Path, shas: Sequence[str]) -> dict[str, list[str]]:
    """Every path each of ``shas`` changed (one ``git log --no-walk`` for all of them)."""
    if not shas:
        return {}
    return {r.fields[0]: [f.path for f in r.files]
            for r in gitrepo.log(root, ["--no-walk=unsorted"], ("%H",), files="status",
                                 stdin=shas)}


def _release_policy_findings(root: Path, policy: Policy, policy_rev: str | None,
                             tags: Sequence[str]) -> tuple[list[Finding], bool]:
    """Whether the releases can be judged at all: the findings when not, and a verdict.

    The trust files are read once here, so an unreadable one is one finding that says how
    many releases went unchecked, not a quiet note.
    """
    from archivist.release.trust import load_trust

    where = f"the policy at {policy_rev[:10]}" if policy_rev else policy.source
    if policy.signing is None:
        return [Finding(
            kind="release-unchecked", subject=policy_rev or POLICY_FILE,
            problem=f"{len(tags)} release tag(s), but {where} has no signing: section to "
                    "verify them with",
            fix="add signing: (public_keys, certificate_roots or identities) to "
                f"{POLICY_FILE} on the governed branch")], False
    try:
        load_trust(root, policy, policy_rev)
    except ArchivistError as exc:
        return [Finding(
            kind="trust-unreadable", subject=policy_rev or POLICY_FILE,
            problem=f"{exc.message}: {len(tags)} release tag(s) not checked",
            fix=exc.hint or "commit the key, root and trust files the signing policy names "
                            "on the governed branch")], False
    return [], True


ReleaseJudgement = Literal["verified", "legacy", "unchecked", "covered", "finding"]


def judge_release(status: VerifyStatus, *, deep: bool, moved_in_ledger: bool,
                  ) -> ReleaseJudgement:
    """What the audit makes of one tag's verify status.

    Bytes that could not be read are a finding only with ``--deep``: without it the audit
    reads git alone, and says what it left unchecked. A tag the ledger already reports as
    moved gets no second finding.
    """
    if status is VerifyStatus.OK:
        return "verified"
    if status is VerifyStatus.LEGACY:
        return "legacy"
    if status is VerifyStatus.CONTENT_MISSING and not deep:
        return "unchecked"
    if moved_in_ledger:
        return "covered"  # a moved tag fails verify in any number of ways: one finding
    return "finding"


_UNSIGNED = (VerifyStatus.UNSIGNED, VerifyStatus.LEGACY, VerifyStatus.NOT_A_RELEASE)


def _release_fix(tag: str, status: VerifyStatus) -> str:
    if status is VerifyStatus.UNSIGNED:
        return (f"sign it: archivist release --adopt {tag} (a registry's tag), or release "
                "the version again")
    if status is VerifyStatus.UNTRUSTED_SIGNER:
        return ("sign with a key, root or identity the governed branch's policy lists; a new "
                "signer is trusted once its review merges there")
    if status is VerifyStatus.MALFORMED:
        return f"the bundle cannot be read: archivist verify {tag} says where; sign it again"
    if status is VerifyStatus.MOVED:
        return f"put {tag} back on its release commit (archivist verify {tag} names it)"
    return f"archivist verify {tag} shows why; if the content is right, sign it again"


def _verify(root: Path, tag: str, policy: Policy, policy_rev: str | None, head: str,
            audited: Mapping[str, int], *, fetch: bool) -> VerifyOutcome:
    """``release.verify.verify_tag``, with release commits on the audited history taken as on the
    branch: a merge request's own release is judged by the base policy's trust, not
    refused for not being merged yet. Whether a tag left its release commit is the
    ledger's to say (``release-tag-moved``). Without ``fetch`` only the DVC cache is read
    for the bytes."""
    from archivist.release import names as release_names
    from archivist.release import records
    from archivist.release.verify import verify_record, verify_tag

    outcome = verify_tag(root, tag, policy, policy_rev=policy_rev, fetch=fetch)
    if policy_rev == head or outcome.status not in (VerifyStatus.MOVED, VerifyStatus.UNSIGNED):
        return outcome
    info = records.read_tag(root, tag)
    if info is None:
        return outcome
    record = release_names.parse_tag_message(tag, info.message) if info.annotated else None
    if record is not None and outcome.status is VerifyStatus.MOVED \
            and info.commit in audited:
        return verify_record(root, tag, record, info.commit, policy,
                             policy_rev=policy_rev, governed=head, fetch=fetch)
    adoption = records.find_adoption(root, tag, head) if record is None else None
    if adoption is not None:  # adopted on the audited history, not yet on the base
        commit, adopted = adoption
        return verify_record(root, tag, adopted, info.commit, policy,
                             policy_rev=policy_rev, governed=head,
                             bundle_commit=commit, fetch=fetch)
    return outcome


def _release_findings(root: Path, policy: Policy, policy_rev: str | None,
                      figures: Figures, notes: list[str], moved: set[str], *,
                      deep: bool, head: str, audited: Mapping[str, int]) -> list[Finding]:
    """Verify every release tag with the base policy; one finding per tag that fails, and
    every other tag still judged.

    ``moved``: tags the ledger already reports as moved (no second finding for them);
    ``audited``: the first-parent commits of ``head``, the history under audit.
    """
    from archivist.release.records import list_release_tags

    tags = list_release_tags(root)
    figures.releases = len(tags)
    figures.releases_signed = figures.releases_verified = 0
    if not tags:
        return []
    findings, usable = _release_policy_findings(root, policy, policy_rev, tags)
    signed = verified = 0
    legacy: list[str] = []
    for name in tags:
        try:
            # without --deep the audit reads git and this clone's DVC cache, no remote
            outcome = _verify(root, name, policy, policy_rev, head, audited, fetch=deep)
        except ArchivistError as exc:
            if not usable:
                continue  # the one finding about the policy's trust covers it
            findings.append(Finding(
                kind="release-unchecked", subject=name, problem=f"{name}: {exc.message}",
                fix=exc.hint or f"archivist verify {name} shows why"))
            continue
        except Exception as exc:  # one unreadable release never hides the others
            findings.append(Finding(
                kind="release", subject=name,
                problem=f"{name}: verification broke on it ({type(exc).__name__})",
                fix=f"archivist verify {name} --debug shows where"))
            continue
        status = outcome.status
        signed += status not in _UNSIGNED
        judgement = judge_release(status, deep=deep, moved_in_ledger=name in moved)
        if judgement == "verified":
            verified += 1
        elif judgement == "legacy":
            legacy.append(name)
        elif judgement == "unchecked":
            notes.append(f"release {name}: signature and signer verified, its content not "
                         f"checked ({'; '.join(outcome.problems)}); archivist verify {name} "
                         "or audit --deep reads the bytes")
        elif judgement == "finding":
            findings.append(Finding(
                kind="release", subject=name, artifact=outcome.artifact or None,
                commit=outcome.commit, status=status,
                problem="; ".join(outcome.problems) or f"{name}: {status.value}",
                fix=_release_fix(name, status)))
    if legacy:
        notes.append(f"{len(legacy)} legacy release tag(s), unsigned, made before "
                     f"signing.since: {', '.join(legacy)}")
    figures.releases_signed, figures.releases_verified = signed, verified
    return findings


def _plan(root: Path, policy: Policy, as_of: dt.date, timelines: Timelines,
          notes: list[str], untrusted: set[str]) -> Plan | None:
    """The head's retention plan, from the walk the audit made; None (and a note) when the
    policy cannot make one."""
    from archivist.retention import plan as retention_plan

    try:
        plan = retention_plan.build_plan_details(root, policy, as_of, timelines=timelines,
                                                 fresh=False,  # the audit deletes nothing
                                                 untrusted=untrusted)
    except ArchivistError as exc:
        notes.append(f"retention plan unavailable: {exc}")
        return None
    head = timelines.head
    if plan.head and plan.head != head:
        notes.append(f"retention figures and overdue versions are for the governed branch "
                     f"{plan.branch} at {plan.head[:10]}, not {head[:10]}")
    return plan


def _event_finding(c: LedgerCommit, kind: FindingKind, entry: EventEntry,
                   problem: str, fix: str) -> Finding:
    """A finding about one entry of an archivist commit."""
    artifact, version = entry.artifact, entry.version
    day = c.date.astimezone(dt.UTC).date()
    return Finding(kind=kind, subject=f"{artifact} {version}", artifact=artifact,
                   commit=c.sha, author=f"{c.author} <{c.email}>", date=c.date,
                   problem=f"{c.sha[:10]} {c.kind} of {artifact} {version[:16]} on {day}: "
                           f"{problem}", fix=fix)


def replay_findings(root: Path, chain: Sequence[str],
                    steps: Sequence[CommitArtifacts],
                    ledger: Sequence[LedgerCommit],
                    documents: Mapping[str, tuple[str, Any] | None],
                    cat: gitrepo.CatFile, now: dt.datetime) -> list[Finding]:
    """``disposal-not-due`` and ``restore-beyond-window``: each dispose and restore judged
    by the plan at its parent commit, under the parent's policy, on the day it was made.

    The day is the commit's own date: an ``--as-of`` in the future moves no disposal
    forward here.
    """
    from archivist import history
    from archivist.retention import plan as retention_plan

    order = {sha: i for i, sha in enumerate(chain)}
    findings: list[Finding] = []
    for c in ledger:
        if c.kind not in ("dispose", "restore") or order.get(c.sha, 0) == 0:
            continue
        position = order[c.sha]
        parent = chain[position - 1]
        day = c.date.astimezone(dt.UTC).date()
        document = documents.get(c.sha)
        event = read_event(c, document[1] if document else None)
        entries = event.entries
        culprit = f"find who made {c.sha[:10]} (git show {c.sha[:10]})"
        text = cat.read(f"{parent}:{POLICY_FILE}")
        try:
            if text is None:
                raise ConfigError(f"no {POLICY_FILE} at its parent {parent[:10]}")
            policy = parse_policy(text, f"{POLICY_FILE} at {parent[:10]}")
            before = [s for s in steps if order.get(s.sha, position) < position]
            timelines = history.read_timelines(root, parent, steps=before, now=now)
            plan = retention_plan.build_plan_details(root, policy, day, timelines=timelines,
                                                fresh=False)
        except ArchivistError as exc:
            if c.kind == "dispose":
                findings += [_event_finding(c, "disposal-not-due", e,
                                            f"no plan called for it ({exc})", culprit)
                             for e in entries]
            continue
        items = {(i.path, i.version): i for i in plan.items}
        for entry in entries:
            item = items.get((entry.artifact, entry.version))
            if c.kind == "dispose":
                problem = disposal_problem(item)
                if problem is not None:
                    findings.append(_event_finding(
                        c, "disposal-not-due", entry,
                        f"not due under the policy of its parent {parent[:10]}: {problem}",
                        f"if bytes remain, push them back (dvc push); {culprit}"))
                continue
            until = entry.details.get("until") or event.until
            problem = restore_problem(item, policy, day, str(until) if until else None)
            if problem is not None:
                findings.append(_event_finding(
                    c, "restore-beyond-window", entry, problem,
                    f"archivist restore keeps a version active for its class's window: "
                    f"{culprit}"))
    return findings


def _first_seen(steps: Iterable[CommitArtifacts],
                order: Mapping[str, int]) -> dict[tuple[str, str], int]:
    """Where on the chain each (artifact path, version label) first appeared."""
    seen: dict[tuple[str, str], int] = {}
    for step in steps:
        for _, after in step.changes:
            if after is not None and after.version is not None:
                seen.setdefault((after.path, after.version.label), order.get(step.sha, 0))
    return seen


def _object_findings(problems: Iterable[ObjectProblem]) -> list[Finding]:
    """The audit's findings for what ``objectcheck`` saw on the remotes."""
    out = []
    for p in problems:
        what = ("folder manifest " if p.manifest else "object ") + p.oid
        if p.kind == "missing":
            kind: FindingKind = "object-missing"
            problem = f"{what} is not in {p.remote}"
            fix = (f"copy it back from a good copy (dvc push -r {p.remote} from a clone whose "
                   "cache has it), or record why it is gone")
        elif p.kind == "corrupt":
            kind = "object-corrupt"
            problem = f"{what} in {p.remote} does not match its hash"
            fix = (f"replace it from a good copy (dvc push -r {p.remote} from a clone whose "
                   "cache has it), then rerun archivist audit --deep")
        else:
            kind = "disposed-present"
            problem = (f"{what} is still in {p.remote}, though the ledger says the version "
                       "was disposed of")
            fix = ("a disposal archivist made deletes it: if the dispose commit is genuine, "
                   "rerun archivist dispose --apply; if not, revert it")
        out.append(Finding(kind=kind, subject=f"{p.remote}:{p.oid}", artifact=p.artifact,
                           problem=f"{p.artifact} {p.version}: {problem}", fix=fix))
    return out


def _registry_events(root: Path, timelines: Timelines) -> list[AuditEvent]:
    """The GTO registry's events, each on the artifact path its name had (and the DVC
    version there when the tag's commit is on the audited chain)."""
    from archivist.retention import plan as retention_plan

    paths: dict[str, str] = {}
    for span in timelines.spans:
        if span.artifact.name:
            paths.setdefault(span.artifact.name, span.path)
            paths.setdefault(span.artifact.name.rpartition(":")[2], span.path)
    registry = retention_plan.read_registry(root)
    versions: dict[tuple[str, str], str] = {}
    for e in registry.events:
        position = timelines.positions.get(e.commit)
        if position is None:
            continue
        for span in timelines.spans:
            if (span.since_position is not None and span.since_position <= position
                    and (span.until_position is None or position < span.until_position)):
                versions.setdefault((e.commit, span.path), span.version.label)
    return gto_events(registry.events, paths, versions)


def collect(root: Path, policy: Policy, *, rev: str = "HEAD", as_of: dt.date,
            deep: bool = False, sample: int | None = None,
            release_policy: Policy | None = None, policy_rev: str | None = None,
            now: dt.datetime | None = None) -> Audit:
    """Read the whole story of ``rev`` back from git and judge it against ``policy``.

    ``policy`` is the one at ``rev`` (in force now) and judges the head; each past commit
    is judged against the policy it carried itself. Releases are judged by
    ``release_policy`` (the base branch's), with trust files read at ``policy_rev``.
    ``now`` bounds commit dates (default: the clock).
    """
    from archivist import history
    from archivist.authority.verify import judge_history
    from archivist.retention import plan as retention_plan

    head = gitrepo.resolve_commit(root, rev)
    release_policy = release_policy or policy
    now = now or dt.datetime.now(dt.UTC)
    figures = Figures()
    findings: list[Finding] = []
    notes: list[str] = []
    events: list[AuditEvent] = []
    tracked: list[str] = []
    disposed: list[DisposedRecord] = []
    forecast: list[Forecast] = []
    cat = gitrepo.CatFile(root)
    try:
        findings += head_findings(CommitTree(root, head, cat=cat), policy, figures, tracked)
        policy_changes = read_policy_changes(root, head, cat)
        # Who signed what (authority:): a record that fails is a finding, never an event.
        authority = judge_history(root, head, cat)
        untrusted = authority.untrusted()
        findings += authority_findings(authority.findings)
        if not authority.enforced:
            notes.append("authority: no authority: section in the policy, so signatures "
                         "and roles are not enforced (docs/authority.md)")
        ledger = read_ledger(root, head)
        files = _changed_files(root, [c.sha for c in ledger if c.kind is not None])
        documents, integrity = _event_documents(ledger, cat, files)
        findings += policy_findings(policy_changes)
        findings += integrity
        findings += _trailer_only_commits(root, head, {c.sha for c in ledger})
        archivist_shas = set()
        for c in ledger:
            if c.kind is None or c.sha in untrusted:
                continue
            archivist_shas.add(c.sha)
            document = documents.get(c.sha)
            events += ledger_events(c, document[1] if document
                                    and isinstance(document[1], Mapping) else None)
            disposed += disposed_records(c, document)

        warnings: list[str] = []
        steps = list(history.walk(root, head, warnings=warnings))
        # the clock of the first-parent chain: positions, and the dates that cannot be
        timelines = history.read_timelines(root, head, steps=steps, now=now)
        order = dict(timelines.positions)
        chain = sorted(order, key=order.__getitem__)
        figures.commits = len(order)
        for step in steps:
            info = CommitInfo(sha=step.sha, author=step.author_name, email=step.author_email,
                              date=step.author_date, subject=step.subject)
            events += people_events(info, step.changes, by_archivist=step.sha in archivist_shas)
        events += hold_events(policy_changes, archivist_shas)
        registry_events = _registry_events(root, timelines)
        findings += replay_gate(steps, policy_changes, order)
        notes += [f"history: {w}" for w in warnings]
        findings += unknown_version_findings(events, _first_seen(steps, order), order)
        believed = [c for c in ledger if c.sha not in untrusted]
        findings += replay_findings(root, chain, steps, believed, documents, cat, now)
        findings += date_findings(timelines.anomalies, _commit_infos(
            root, [a.commit for a in timelines.anomalies]))

        plan = _plan(root, policy, as_of, timelines, notes, untrusted)
        items = plan.items if plan is not None else []
        if plan is not None:
            from archivist.retention.forecast import forecast as forecast_of

            forecast = forecast_of(items, policy, as_of, records=plan.records,
                                   facts=retention_plan.facts_from(ledger, order),
                                   began=retention_plan.began_dates(timelines.spans))
        roles = policy.remotes
        findings += plan_figures(items, figures, as_of, roles) if plan is not None else []
        # every version the branch had: what a hold could hold
        records = (plan.records if plan is not None
                   else retention_plan.version_records(timelines.spans))
        findings += hold_findings(unmatched_holds(policy, records), as_of)
        anomalies = (plan.release_anomalies if plan is not None
                     else retention_plan.read_pins(root, believed, fresh=False).anomalies)
        tag_findings = release_tag_findings(anomalies, believed)
        findings += tag_findings
        moved = {f.subject for f in tag_findings if f.kind == "release-tag-moved"}
        findings += _release_findings(root, release_policy, policy_rev, figures, notes, moved,
                                      deep=deep, head=head, audited=order)
    finally:
        cat.close()

    events.sort(key=lambda e: order.get(e.commit, len(order)))
    events = merge_by_date(events, registry_events)
    if authority.enforced:
        events = signed_events(events, {sha: v.signed for sha, v in authority.verdicts.items()
                                        if v.enforced})
    if deep:
        from archivist.audit.deep import check_objects, disposed_remote_names

        kept = {i.version for i in items if i.state != "disposed"}
        gone = [(i.path, i.version) for i in items
                if i.state == "disposed" and i.version not in kept]
        problems = check_objects(
            root, expected_locations(items, ledger_locations(events), roles),
            disposed=gone,
            disposed_remotes=("active", "archive"), roles=roles,
            sample=sample, seed=head)
        findings += _object_findings(problems)
        disposed = with_copies(disposed, disposed_remote_names(root, ("active", "archive"),
                                                               roles),
                               [(p.artifact, p.version, p.remote) for p in problems
                                if p.kind == "present"], gone)
        if plan is not None:
            figures.bytes_by_remote = bytes_by_remote(items, roles, [
                (p.artifact, p.version, p.remote) for p in problems if p.kind != "present"])
            figures.bytes_source = "found" if sample is None else "sampled"
    if policy.branch and rev not in (policy.branch, f"refs/heads/{policy.branch}"):
        notes.append(f"audited {rev}, not the governed branch {policy.branch!r} itself")
    return Audit(rev=rev, head=head, branch=policy.branch, as_of=as_of, since=None,
                 artifact=None, figures=figures, events=events,
                 findings=sort_findings(findings), notes=notes, deep=deep, tracked=tracked,
                 policy_ref=policy_rev, authority=authority.enforced, disposed=disposed,
                 forecast=forecast)


def finish(audit: Audit) -> Audit:
    """Count what the (possibly filtered) report holds."""
    audit.figures.events = len(audit.events)
    audit.figures.findings = len(audit.findings)
    return audit
