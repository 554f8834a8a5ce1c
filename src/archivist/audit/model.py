"""The audit's values: finding kinds, events, findings, figures, disposed records, the
whole audit. Pure data; ``judge`` decides, ``collect`` reads git."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from archivist.ledger import (
    EVENT_KINDS,
)
from archivist.policy import Policy
from archivist.release.names import VerifyStatus

if TYPE_CHECKING:  # adapters the audit imports only when it runs
    from archivist.authority.judge import Signed
    from archivist.retention.forecast import Forecast


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


@dataclass(frozen=True)
class PolicyChange:
    """A first-parent commit that changed ``archivist.yaml``, and the policy it left."""

    info: CommitInfo
    policy: Policy | None  # None: deleted, or unreadable (then ``error`` says why)
    error: str | None = None

    @property
    def deleted(self) -> bool:
        return self.policy is None and self.error is None
