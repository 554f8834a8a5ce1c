"""Approvals: signed records that one exact dispose plan may be carried out.

An approval is a ledger event (``Archivist-Event: approval``, ``Archivist-Approves:
dispose``, ``Archivist-Plan: <digest>``, ``Archivist-Meaning: approval|review``) whose event
file lists the deletions the digest covers: artifact, version, remote and objects. A
dispose with ``authority:`` deletes only when the digest of what it is about to delete has
``may.dispose.approvals`` approvals that count:

- on the governed branch (reachable from its head), after the last dispose of the same
  plan (an approval is spent by the dispose it authorized); for a dispose, when the
  branch follows a remote branch, already pushed there (``archivist push`` replays
  unpushed commits under new ids, and the dispose names its approvals by id);
- signed, and the signature good by the signers file of the approval's parent
  (``signatures.check_grouped``: nobody approves with a key added in the same commit);
- meaning ``approval`` (a ``review`` is recorded, and never counts);
- by a principal holding a role of ``may.dispose``, one per principal.

The last three are ``judge.count_approvals``, the rule the gate and the audit judge the
dispose commit by afterwards: the client reads git for it, it decides.

A plan that changed since (a new version became due, an object was added or spared) has
another digest, so it needs new approvals. The audit recomputes a dispose's digest from
its event file with ``deletions_of``, the same rows the client digested.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archivist import gitrepo, ledger
from archivist.authority import judge
from archivist.authority.records import (
    APPROVAL_EVENT,
    TRAILER_APPROVAL,
    TRAILER_APPROVES,
    TRAILER_PLAN,
    Meaning,
    PlannedDeletion,
    plan_digest,
)
from archivist.authority.signatures import SignatureCheck, SignatureStatus, check_grouped
from archivist.errors import EXIT_VIOLATIONS, ArchivistError, ConfigError
from archivist.policy import Policy

DISPOSE = "dispose"


class ApprovalMissing(ArchivistError):
    """The plan lacks the approvals the policy asks for; nothing was deleted (exit 1)."""

    exit_code = EXIT_VIOLATIONS


@dataclass(frozen=True)
class Approval:
    commit: str
    principal: str
    meaning: Meaning


@dataclass
class ApprovalState:
    """The approvals that count for one plan, and why others do not."""

    plan: str
    needed: int
    roles: tuple[str, ...]
    counted: list[Approval] = field(default_factory=list)
    not_counted: list[str] = field(default_factory=list)  # one line each: commit and why
    stale: int = 0  # approvals of another dispose plan since the last dispose

    @property
    def enough(self) -> bool:
        return len(self.counted) >= self.needed


def digest_of(deletions: Sequence[PlannedDeletion]) -> str:
    """The plan digest of ``deletions``: every row, as the dispose event file records them
    (``authority.judge`` recomputes it from there the same way)."""
    return plan_digest(deletions)


def deletions_of(document: Mapping[str, Any]) -> list[PlannedDeletion]:
    """The deletions a dispose or approval event file records: for a dispose, each entry's
    ``from`` remote and ``objects``; for an approval, its ``remote`` and ``objects``."""
    rows = []
    for entry in document.get("entries") or []:
        if not isinstance(entry, Mapping):
            continue
        remote = entry.get("remote", entry.get("from"))
        rows.append(PlannedDeletion(
            artifact=str(entry.get("artifact")), version=str(entry.get("version")),
            remote=str(remote), objects=tuple(sorted(str(o) for o in
                                                     entry.get("objects") or []))))
    return rows


def approvals_for(root: Path, policy: Policy, plan: str, rev: str = "HEAD", *,
                  published: bool = False) -> ApprovalState:
    """The approvals of dispose plan ``plan`` that count, reachable from ``rev``.

    ``published`` (what a dispose asks): when ``rev``'s branch follows a remote branch,
    only approvals already on it count. ``archivist push`` replays unpushed commits under
    new ids, so a dispose naming a local approval would name a commit that never reaches
    the remote, and the gate would find it missing.
    """
    authority = policy.authority
    if authority is None:
        raise ConfigError(f"{policy.source}: no authority: section, so no approvals",
                          "see docs/authority.md")
    permission = authority.may.get(DISPOSE)
    roles = permission.roles if permission else ()
    state = ApprovalState(plan=plan, needed=permission.approvals if permission else 0,
                          roles=roles)
    candidates: list[ledger.LedgerCommit] = []
    others = 0
    for commit in ledger.read_ledger(root, rev, first_parent=False):
        if commit.kind == DISPOSE:
            others = 0
            if plan in commit.values(TRAILER_PLAN):
                candidates = []  # spent by the dispose they authorized
        elif commit.kind == APPROVAL_EVENT and DISPOSE in commit.values(TRAILER_APPROVES):
            if plan in commit.values(TRAILER_PLAN):
                candidates.append(commit)
            else:
                others += 1
    state.stale = others
    tracked = gitrepo.upstream(root, rev) if published else None
    unpushed = gitrepo.commits_between(root, tracked, rev) if tracked else set()
    # each approval judged by the signers file of its parent: all of them read through
    # one cat-file, then one git log per distinct file
    groups: dict[bytes | None, list[str]] = {}
    with gitrepo.CatFile(root) as cat:
        for commit in candidates:
            groups.setdefault(cat.read(f"{commit.sha}^:{authority.signers}"),
                              []).append(commit.sha)
    checks = check_grouped(root, groups)
    named: list[tuple[str, judge.Approval | None]] = []
    for commit in candidates:
        if commit.sha in unpushed:
            state.not_counted.append(f"{commit.sha[:10]}: not on {tracked} yet (archivist "
                                     "push gives an unpushed commit a new id)")
            continue
        check = checks.get(commit.sha) or SignatureCheck(commit.sha, SignatureStatus.UNSIGNED,
                                                         None, None)
        named.append((commit.sha, judge.Approval(facts=_facts(commit), signature=check,
                                                 before=True)))
    count = judge.count_approvals(authority, plan, named)
    state.counted = [Approval(sha, who, Meaning.APPROVAL) for who, sha in count.counted.items()]
    state.not_counted += count.problems
    return state


def _facts(commit: ledger.LedgerCommit) -> judge.CommitFacts:
    return judge.CommitFacts(sha=commit.sha, author=f"{commit.author} <{commit.email}>",
                             date=commit.date, subject=commit.subject,
                             trailers=commit.trailers, changes=commit.changes, parent=None)


def refusal(state: ApprovalState) -> ApprovalMissing:
    """The one line a dispose without enough approvals prints."""
    why = ""
    if state.not_counted:
        why = "; not counted: " + "; ".join(state.not_counted)
    if state.stale:
        why += (f"; {state.stale} approval(s) of another plan do not count: the plan "
                "changed since they were given")
    return ApprovalMissing(
        f"dispose plan {state.plan} has {len(state.counted)} of the {state.needed} "
        f"approval(s) authority.may.dispose asks for (distinct principals holding "
        f"{', '.join(state.roles) or 'no role'}){why}: nothing was deleted",
        "each approver runs `archivist approve dispose` with the same --as-of and "
        "artifacts, and pushes it; then rerun")


def require_approvals(root: Path, policy: Policy,
                      ) -> Callable[[Sequence[PlannedDeletion]], list[tuple[str, str]]]:
    """The ``apply.Authorize`` a dispose runs with under ``authority:``: the trailers that
    name the plan and its approvals, or ``ApprovalMissing`` before anything is deleted."""
    def authorize(deletions: Sequence[PlannedDeletion]) -> list[tuple[str, str]]:
        state = approvals_for(root, policy, digest_of(deletions), published=True)
        if not state.enough:
            raise refusal(state)
        return [(TRAILER_PLAN, state.plan),
                *((TRAILER_APPROVAL, a.commit) for a in state.counted)]

    return authorize


def approval_event(deletions: Sequence[PlannedDeletion], *, meaning: Meaning, approver: str,
                   key: str, as_of: dt.date, branch: str, head: str) -> ledger.Event:
    """The signed record that ``approver`` approves (or reviewed) this exact plan."""
    rows = sorted(deletions)
    digest = plan_digest(rows)
    artifacts = len({d.artifact for d in rows})
    verb = "approve" if meaning is Meaning.APPROVAL else "review"
    return ledger.Event(
        kind=APPROVAL_EVENT,
        subject=f"{verb} dispose: {len(rows)} version{'s' if len(rows) != 1 else ''} of "
                f"{artifacts} artifact{'s' if artifacts != 1 else ''}",
        entries=tuple(ledger.EventEntry(artifact=d.artifact, version=d.version, details={
            "remote": d.remote, "objects": list(d.objects)}) for d in rows),
        extra_trailers=((TRAILER_APPROVES, DISPOSE), (TRAILER_PLAN, digest)),
        meaning=meaning,
        details={"approves": DISPOSE, "plan": digest, "approver": approver, "key": key,
                 "meaning": meaning.value, "as_of": as_of.isoformat(), "branch": branch,
                 "head": head},
    )
