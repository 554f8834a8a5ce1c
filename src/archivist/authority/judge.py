"""Who was allowed: archivist records, approvals, release tags and policy changes judged.

Pure: commits (their changed paths, trailers and the signature git found), the policy at
each commit's parent, and the approvals a dispose names in; findings out. No git, no
clock. ``authority.verify`` reads git and calls this; the gate and the audit report it.

What needs a signature, with ``authority:`` in the policy at the commit's parent:

- an archivist record: a commit with ``Archivist-*`` trailers or one that adds files under
  ``.archivist/events/``. Its action (archive, restore, dispose, release; an approval of a
  dispose; a hold is a policy action) must be one the signer's roles ``may`` do;
- a policy change: a commit that changes ``archivist.yaml`` or the signers file
  (``may.policy``);
- a release tag (annotated and signed, judged under the policy of the commit it tags).

The signature is git's, checked against the signers file of the parent (so nobody
authorizes themselves in the commit that adds their key), at the commit's own time. When
the parent's rules refuse a commit that the rules it writes itself would accept, the
finding is ``self-authorized``. A record archivist could not have written (trailers without
an event, an event file without trailers, other files changed alongside) is a
``forged-record``. A record that fails any check is never believed as an event.

A dispose under ``may.dispose.approvals: N`` names its approvals (``Archivist-Approval``):
N distinct principals holding a role of ``may.dispose``, each a signed approval commit
before the dispose whose ``Archivist-Plan`` is the dispose's own; and the dispose's plan
digest must be what its event file records as deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archivist.authority.records import (
    APPROVAL_EVENT,
    TRAILER_APPROVAL,
    TRAILER_APPROVES,
    TRAILER_MEANING,
    TRAILER_PLAN,
    FindingKind,
    Meaning,
    PlannedDeletion,
    plan_digest,
)
from archivist.authority.signatures import SignatureCheck, SignatureStatus
from archivist.policy import POLICY_FILE, Authority

EVENT_TRAILER = "Archivist-Event"
ARCHIVIST_DIR = ".archivist"
EVENTS_DIR = ".archivist/events"

#: The ``may`` action each recorded event needs (an approval needs the action it approves).
ACTIONS = {"archive": "archive", "restore": "restore", "dispose": "dispose",
           "release": "release", "hold": "policy"}
#: Meanings that count as one principal's approval of a plan: a review is recorded and
#: shown, but it is not an approval (21 CFR Part 11 §11.50 keeps the two apart).
APPROVING = (Meaning.APPROVAL.value,)
#: How far a signed commit may be dated before its parent (clock skew) before the time git
#: judged its key at is not believed: the committer chooses that date.
SKEW = dt.timedelta(hours=1)


@dataclass(frozen=True)
class CommitFacts:
    """One commit as git tells it: who, when, what it changed, what it says."""

    sha: str
    author: str  # "Name <email>"
    date: dt.datetime  # committer date: the time git judges the signature at
    subject: str
    trailers: tuple[tuple[str, str], ...]  # Archivist-* only, in order
    changes: tuple[tuple[str, str], ...]  # (status letter, path), every path
    parent: str | None  # first parent
    parent_date: dt.datetime | None = None  # the first parent's committer date

    def values(self, key: str) -> list[str]:
        return [v for k, v in self.trailers if k == key]

    @property
    def kind(self) -> str | None:
        found = self.values(EVENT_TRAILER)
        return found[0] if found else None

    @property
    def paths(self) -> list[str]:
        return [p for _, p in self.changes]

    def added_events(self) -> list[str]:
        return [p for s, p in self.changes if s == "A" and p.startswith(EVENTS_DIR + "/")]

    @property
    def is_record(self) -> bool:
        """It presents itself as archivist's: trailers, or a new event file."""
        return bool(self.trailers) or bool(self.added_events())


@dataclass(frozen=True)
class Approval:
    """An approval commit a dispose names, as read from git."""

    facts: CommitFacts
    signature: SignatureCheck
    before: bool  # an ancestor of the dispose


@dataclass(frozen=True)
class Judged:
    """What the judge needs of one commit besides its facts."""

    facts: CommitFacts
    authority: Authority | None  # at the first parent; None: nothing is enforced
    signature: SignatureCheck | None  # under the parent's signers file; None: not checked
    # the commit's own rules, when it changes them: a refusal they would lift is
    # self-authorized
    own_authority: Authority | None = None
    own_signature: SignatureCheck | None = None
    approvals: Mapping[str, Approval] = field(default_factory=dict)  # named sha -> approval
    entries: Sequence[Mapping[str, Any]] | None = None  # a dispose's event file entries


@dataclass(frozen=True)
class AuthorityFinding:
    """One refusal: its kind, the commit or tag, the signer and the rule that refused."""

    kind: FindingKind
    commit: str
    subject: str  # the commit's SHA, or a tag's name
    signer: str | None  # principal when git vouched for one, else the key's fingerprint
    rule: str  # "authority.may.dispose (line 12): roles compliance, 2 approvals"
    problem: str
    fix: str
    author: str | None = None
    date: dt.datetime | None = None

    def render(self) -> str:
        return f"[{self.kind.value}] {self.subject[:12]}: {self.problem}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "commit": self.commit, "subject": self.subject,
                "signer": self.signer, "rule": self.rule, "problem": self.problem,
                "fix": self.fix, "author": self.author,
                "date": self.date.isoformat() if self.date else None}


@dataclass(frozen=True)
class Signed:
    """Who signed an event, in which role, and what the signature means (for reports)."""

    signer: str | None  # the key's fingerprint
    principal: str | None
    roles: tuple[str, ...]
    meaning: str | None
    status: SignatureStatus | None

    def as_dict(self) -> dict[str, Any]:
        return {"signer": self.signer, "principal": self.principal, "roles": list(self.roles),
                "meaning": self.meaning, "status": self.status.value if self.status else None}


@dataclass
class Verdict:
    """The judgement of one commit: its findings, and who signed it."""

    commit: str
    findings: list[AuthorityFinding]
    signed: Signed
    record: bool  # it presents itself as an archivist record
    enforced: bool  # the parent's policy has ``authority:``

    @property
    def believed(self) -> bool:
        """A record the audit may take as an event: nothing enforced, or nothing wrong."""
        return not self.enforced or not self.findings


# ---------------------------------------------------------------- helpers


def rule_text(authority: Authority, action: str) -> str:
    """``authority.may.dispose (line 12): compliance; 2 approvals`` (or who may not)."""
    permission = authority.may.get(action)
    if permission is None:
        return f"authority.may.{action}: not granted to anyone"
    extra = f"; {permission.approvals} approval(s)" if permission.approvals else ""
    return (f"authority.may.{action} (line {permission.line}): "
            f"{', '.join(permission.roles) or 'no role'}{extra}")


def _who_may(authority: Authority, action: str) -> str:
    permission = authority.may.get(action)
    if permission is None or not permission.roles:
        return f"nobody may {action}"
    people = sorted({p for r in permission.roles for p in authority.roles.get(r, ())})
    return (f"roles that may {action}: {', '.join(permission.roles)}"
            + (f" ({', '.join(people)})" if people else ""))


def _signer_of(check: SignatureCheck | None) -> str | None:
    if check is None:
        return None
    return check.principal or check.key


def policy_paths(authority: Authority | None) -> tuple[str, ...]:
    """The files whose change is a policy change under ``authority``."""
    return (POLICY_FILE,) if authority is None else (POLICY_FILE, authority.signers)


def changes_policy(facts: CommitFacts, authority: Authority | None,
                   own: Authority | None = None) -> bool:
    watched = set(policy_paths(authority)) | set(policy_paths(own))
    return any(p in watched for p in facts.paths)


def record_problems(facts: CommitFacts, authority: Authority | None) -> list[str]:
    """Why a commit that presents itself as a record is none archivist writes."""
    kind = facts.kind
    problems = []
    if kind is None:
        if facts.trailers:
            keys = sorted({k for k, _ in facts.trailers})
            problems.append(f"it carries {', '.join(keys)} but no {EVENT_TRAILER}")
        else:
            problems.append(f"it adds {', '.join(facts.added_events())} without "
                            f"{EVENT_TRAILER} trailers")
    elif kind not in ACTIONS and kind != APPROVAL_EVENT:
        problems.append(f"{EVENT_TRAILER}: {kind!r} is no archivist action")
    guarded = set(policy_paths(authority))
    outside = sorted(p for p in facts.paths
                     if not p.startswith(ARCHIVIST_DIR + "/") or p in guarded)
    if outside:
        shown = ", ".join(outside[:3]) + (f" and {len(outside) - 3} more"
                                           if len(outside) > 3 else "")
        problems.append(f"it also changes {shown}: archivist commits only its own records")
    edited = [p for s, p in facts.changes if s != "A" and p.startswith(EVENTS_DIR + "/")]
    if edited:
        problems.append(f"it changes event file(s) already recorded: {', '.join(edited)}")
    return problems


def recorded_deletions(entries: Iterable[Mapping[str, Any]]) -> list[PlannedDeletion]:
    """What a dispose's event file says it deleted: version, remote and objects each."""
    out = []
    for e in entries:
        objects = e.get("objects")
        out.append(PlannedDeletion(
            artifact=str(e.get("artifact")), version=str(e.get("version")),
            remote=str(e.get("from") or ""),
            objects=tuple(sorted(str(o) for o in objects)) if isinstance(objects, list)
            else ()))
    return out


# ---------------------------------------------------------------- the judge


def _signature_finding(j: Judged, what: str, action: str) -> AuthorityFinding | None:
    """The finding for a signature git did not vouch for (None when it did)."""
    check, facts = j.signature, j.facts
    assert j.authority is not None
    if check is not None and check.status is SignatureStatus.GOOD:
        if facts.parent_date is not None and facts.date < facts.parent_date - SKEW:
            # git judged valid-after/valid-before at a date the signer wrote: an expired
            # key would pass by dating the commit back
            return _finding(
                j, FindingKind.UNKNOWN_SIGNER, check.principal, action,
                f"{what} is dated {facts.date.isoformat()}, before its parent "
                f"({facts.parent_date.isoformat()}): the key's validity cannot be judged at "
                "a time its signer chose",
                "commit with the machine's true clock; archivist's own commits always do")
        return None
    status = check.status if check is not None else SignatureStatus.UNSIGNED
    own = j.own_signature
    if (own is not None and own.status is SignatureStatus.GOOD and own.principal
            and j.own_authority is not None
            and (action == "" or _allowed(j.own_authority, action, own.principal))):
        return _finding(
            j, FindingKind.SELF_AUTHORIZED, own.principal, action,
            f"{what} is signed by {own.principal}, whose key only this commit adds to "
            f"{j.authority.signers}: nobody authorizes themselves",
            "have someone who may change the policy add the key first "
            f"({_who_may(j.authority, 'policy')})")
    if status is SignatureStatus.UNSIGNED:
        return _finding(
            j, FindingKind.UNSIGNED, None, action, f"{what} is not signed",
            "sign archivist's commits: git config gpg.format ssh && git config "
            "user.signingkey KEY && git config commit.gpgsign true (docs/authority.md)")
    if status is SignatureStatus.BAD:
        return _finding(
            j, FindingKind.UNSIGNED, check.key if check else None, action,
            f"{what} carries a signature that does not match it (git verify-commit "
            f"{facts.sha[:10]}: BAD): it was changed after it was signed",
            f"find who made {facts.sha[:10]} and revert it")
    key = check.key if check else None
    return _finding(
        j, FindingKind.UNKNOWN_SIGNER, key, action,
        f"{what} is signed by key {key or '?'}, which {j.authority.signers} at its parent "
        f"does not allow at {facts.date.isoformat()} (unknown or expired)",
        f"sign with a key {j.authority.signers} lists, valid then; a new key is added by "
        "someone who may change the policy")


def _allowed(authority: Authority, action: str, principal: str) -> bool:
    return authority.allows(action, principal)


def _finding(j: Judged, kind: FindingKind, signer: str | None, action: str, problem: str,
             fix: str, subject: str | None = None) -> AuthorityFinding:
    assert j.authority is not None
    facts = j.facts
    rule = rule_text(j.authority, action) if action else f"authority.signers: {j.authority.signers}"
    return AuthorityFinding(kind=kind, commit=facts.sha, subject=subject or facts.sha,
                            signer=signer, rule=rule,
                            problem=f"{facts.sha[:10]} ({facts.subject}): {problem}",
                            fix=fix, author=facts.author, date=facts.date)


def _role_finding(j: Judged, principal: str, action: str, what: str) -> AuthorityFinding | None:
    """``unauthorized`` / ``self-authorized`` when ``principal`` may not do ``action``."""
    assert j.authority is not None
    if _allowed(j.authority, action, principal):
        return None
    held = j.authority.roles_of(principal)
    if j.own_authority is not None and _allowed(j.own_authority, action, principal):
        return _finding(
            j, FindingKind.SELF_AUTHORIZED, principal, action,
            f"{what} by {principal}, whom only this commit's own policy lets {action}",
            f"have someone who may change the policy grant it first "
            f"({_who_may(j.authority, 'policy')})")
    return _finding(
        j, FindingKind.UNAUTHORIZED, principal, action,
        f"{what} by {principal} (roles: {', '.join(held) or 'none'}), who may not {action} "
        f"under the policy at its parent",
        f"have it done by someone who may ({_who_may(j.authority, action)})")


@dataclass(frozen=True)
class ApprovalCount:
    """Which approvals count for one dispose plan: one principal each, and why others do
    not (one line each, naming the approval commit)."""

    counted: dict[str, str]  # principal -> approval commit, in the order named
    problems: list[str]


def count_approvals(authority: Authority, plan: str | None,
                    named: Sequence[tuple[str, Approval | None]]) -> ApprovalCount:
    """The one rule for whether approvals authorize dispose plan ``plan``, asked by the
    client before it deletes (``approvals.approvals_for``) and by the gate and the audit
    after (``_approval_findings``): an approval counts when it is a commit before the
    dispose, an approval of a dispose, signed with a good signature (by the signers file
    at its parent), by a principal holding a role of ``may.dispose``, meaning
    ``approval``, for exactly ``plan``, and the first one by its principal.

    ``named``: (the name given, the approval read from git, None when there is none).
    """
    counted: dict[str, str] = {}
    problems: list[str] = []
    permission = authority.may.get("dispose")
    roles = ", ".join(permission.roles) if permission and permission.roles else "none"
    for name, approval in named:
        short = name[:10]
        if approval is None:
            problems.append(f"approval {short} is not a commit here")
            continue
        a, sig = approval.facts, approval.signature
        meaning = next(iter(a.values(TRAILER_MEANING)), None)
        if not approval.before:
            problems.append(f"approval {short} is not before the dispose")
        elif a.kind != APPROVAL_EVENT or "dispose" not in a.values(TRAILER_APPROVES):
            problems.append(f"{short} is no approval of a dispose")
        elif sig.status is not SignatureStatus.GOOD or not sig.principal:
            problems.append(f"approval {short} has no good signature ({sig.status.value}, "
                            f"by {authority.signers} at its parent)")
        elif not authority.allows("dispose", sig.principal):
            problems.append(f"approval {short} is by {sig.principal}, who holds no role of "
                            f"may.dispose ({roles})")
        elif meaning not in APPROVING:
            problems.append(f"approval {short} by {sig.principal}: meaning "
                            f"{meaning or 'none'}, not approval")
        elif plan is not None and plan not in a.values(TRAILER_PLAN):
            shown = next(iter(a.values(TRAILER_PLAN)), "none")
            problems.append(f"approval {short} is for plan {shown[:19]}..., not this one "
                            f"{plan[:19]}... (the plan changed after it was approved)")
        elif sig.principal in counted:
            problems.append(f"approval {short} is by {sig.principal} again (already "
                            f"{counted[sig.principal][:10]}): a second approval by the same "
                            "principal; approvals count distinct principals")
        else:
            counted[sig.principal] = a.sha
    return ApprovalCount(counted, problems)


def _approval_findings(j: Judged, principal: str) -> list[AuthorityFinding]:
    """A dispose's approvals: enough distinct principals, each for exactly its plan."""
    assert j.authority is not None
    permission = j.authority.may.get("dispose")
    if permission is None or permission.approvals == 0:
        return []
    facts = j.facts
    need = permission.approvals
    plan = next(iter(facts.values(TRAILER_PLAN)), None)
    problems: list[str] = []
    if plan is None:
        problems.append(f"it records no {TRAILER_PLAN}, so no approval can be for it")
    elif j.entries is not None:
        recorded = plan_digest(recorded_deletions(j.entries))
        if recorded != plan:
            problems.append(f"what its event file records as deleted has digest "
                            f"{recorded[:19]}..., not its {TRAILER_PLAN} {plan[:19]}...")
    count = count_approvals(j.authority, plan, [(named, j.approvals.get(named))
                                                for named in facts.values(TRAILER_APPROVAL)])
    counted = count.counted
    problems += count.problems
    if len(counted) < need or problems:
        detail = "; ".join(problems)
        return [_finding(
            j, FindingKind.MISSING_APPROVAL, principal, "dispose",
            f"dispose has {len(counted)} valid approval(s) from distinct principals "
            f"({', '.join(sorted(counted)) or 'none'}), the policy asks for {need}"
            + (f": {detail}" if detail else ""),
            "archivist approve dispose, by enough distinct principals who may dispose, "
            "for the plan as it is now; then dispose --apply")]
    return []


def judge_commit(j: Judged) -> Verdict:
    """Every finding about one commit under the policy at its parent."""
    facts = j.facts
    check = j.signature
    authority = j.authority
    principal = check.principal if check and check.status is SignatureStatus.GOOD else None
    meaning = next(iter(facts.values(TRAILER_MEANING)), None)
    signed = Signed(signer=check.key if check else None, principal=principal,
                    roles=authority.roles_of(principal) if authority and principal else (),
                    meaning=meaning, status=check.status if check else None)
    record = facts.is_record
    if authority is None:
        return Verdict(facts.sha, [], signed, record, enforced=False)
    findings: list[AuthorityFinding] = []
    policy_change = changes_policy(facts, authority, j.own_authority)
    if record:
        problems = record_problems(facts, authority)
        if problems:
            state = (f"signed by {principal}" if principal else
                     f"signature {check.status.value if check else 'unsigned'}")
            findings.append(_finding(
                j, FindingKind.FORGED_RECORD, _signer_of(check), ACTIONS.get(
                    facts.kind or "", "policy" if policy_change else ""),
                f"presents itself as an archivist record, but {'; '.join(problems)} "
                f"({state}): not believed as an event",
                f"archivist writes its records alone: find who made {facts.sha[:10]} "
                f"(git show {facts.sha[:10]}) and revert it"))
        else:
            kind = facts.kind or ""
            if kind == APPROVAL_EVENT:
                action = next(iter(facts.values(TRAILER_APPROVES)), "dispose")
                what = f"approval of {action}"
            else:
                action = ACTIONS[kind]
                what = f"archivist {kind}"
            if action not in ACTIONS.values():
                findings.append(_finding(
                    j, FindingKind.FORGED_RECORD, _signer_of(check), "",
                    f"approves {action!r}, which is no action the policy grants",
                    f"find who made {facts.sha[:10]} and revert it"))
            else:
                sig = _signature_finding(j, what, action)
                if sig is not None:
                    findings.append(sig)
                else:
                    assert principal is not None
                    role = _role_finding(j, principal, action, what)
                    if role is not None:
                        findings.append(role)
                    elif kind == "dispose":
                        findings += _approval_findings(j, principal)
    if policy_change:
        changed = sorted(p for p in facts.paths
                         if p in set(policy_paths(authority)) | set(policy_paths(j.own_authority)))
        what = f"change of {', '.join(changed)}"
        sig = _signature_finding(j, what, "policy")
        if sig is not None:
            findings.append(sig)
        else:
            assert principal is not None
            role = _role_finding(j, principal, "policy", what)
            if role is not None:
                findings.append(role)
    return Verdict(facts.sha, _unique(findings), signed, record, enforced=True)


def _unique(findings: list[AuthorityFinding]) -> list[AuthorityFinding]:
    seen: set[tuple[FindingKind, str]] = set()
    out = []
    for f in findings:
        if (f.kind, f.problem) not in seen:
            seen.add((f.kind, f.problem))
            out.append(f)
    return out


@dataclass(frozen=True)
class TagFacts:
    """A release tag as git tells it, with its signature checked."""

    tag: str
    commit: str  # the tagged commit
    tagger: str | None
    date: dt.datetime | None
    annotated: bool
    signature: SignatureCheck


def judge_tag(tag: TagFacts, authority: Authority | None) -> list[AuthorityFinding]:
    """A release tag under the policy of the commit it tags: signed, by whom may release."""
    if authority is None:
        return []
    check = tag.signature
    rule = rule_text(authority, "release")

    def finding(kind: FindingKind, signer: str | None, problem: str, fix: str,
                ) -> AuthorityFinding:
        return AuthorityFinding(kind=kind, commit=tag.commit, subject=tag.tag, signer=signer,
                                rule=rule, problem=f"release tag {tag.tag}: {problem}",
                                fix=fix, author=tag.tagger, date=tag.date)

    if check.status is SignatureStatus.UNSIGNED:
        how = "a lightweight tag" if not tag.annotated else "not signed"
        return [finding(FindingKind.UNSIGNED, None, f"{how} (git verify-tag {tag.tag})",
                        f"tag it again, signed: git tag -s -f {tag.tag} {tag.commit[:10]} "
                        "(archivist release signs its tags when signing is configured)")]
    if check.status is not SignatureStatus.GOOD or not check.principal:
        return [finding(
            FindingKind.UNKNOWN_SIGNER if check.status is not SignatureStatus.BAD
            else FindingKind.UNSIGNED, check.key,
            f"signed by key {check.key or '?'}, which {authority.signers} at "
            f"{tag.commit[:10]} does not allow then ({check.status.value})",
            f"sign with a key {authority.signers} lists")]
    if not authority.allows("release", check.principal):
        held = authority.roles_of(check.principal)
        return [finding(FindingKind.UNAUTHORIZED, check.principal,
                        f"signed by {check.principal} (roles: {', '.join(held) or 'none'}), "
                        "who may not release",
                        f"have it tagged by someone who may ({_who_may(authority, 'release')})")]
    return []


def is_release_tag(name: str) -> bool:
    """A GTO registration (``NAME@vX.Y.Z``): what ``archivist release`` tags."""
    from archivist import gto_tags

    parsed = gto_tags.parse(name)
    return parsed is not None and parsed.action is gto_tags.Action.REGISTER
