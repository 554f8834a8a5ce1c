"""Read what the authority judge needs from git, and judge a range or a branch's history.

The adapter between git and ``authority.judge``: one ``git log --name-status`` for the
commits, one ``git cat-file --batch`` for every policy and signers file at every parent,
one ``git log`` per distinct signers file for the signatures (``ssh-keygen`` per signed
commit inside git), one ``git verify-tag`` per release tag, one ``git merge-base`` per
approval a dispose names. Only commits that need a signature are checked: archivist
records and policy changes under a parent whose policy has ``authority:``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archivist import gitrepo, ledger
from archivist.authority import judge
from archivist.authority.judge import (
    Approval,
    AuthorityFinding,
    CommitFacts,
    Judged,
    TagFacts,
    Verdict,
)
from archivist.authority.records import APPROVAL_EVENT, TRAILER_APPROVAL
from archivist.authority.signatures import SignatureCheck, check_grouped, check_tag
from archivist.errors import ConfigError, GitError
from archivist.policy import POLICY_FILE, Authority, Policy, parse_policy


@dataclass
class AuthorityReport:
    """Every verdict of a range or history, and the findings, oldest first."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    findings: list[AuthorityFinding] = field(default_factory=list)
    enforced: bool = False  # some commit was judged under ``authority:``
    signatures_checked: int = 0
    tags_checked: int = 0

    def untrusted(self) -> set[str]:
        """Records not to believe as events."""
        return {sha for sha, v in self.verdicts.items() if v.record and not v.believed}


def _facts(head: list[str], changes: list[tuple[str, str]]) -> CommitFacts:
    import datetime as dt

    sha, parents, author, date, subject, trailers = head
    parent_list = parents.split()
    return CommitFacts(sha=sha.strip(), author=author, date=dt.datetime.fromisoformat(date),
                       subject=subject, trailers=ledger.parse_trailers(trailers),
                       changes=tuple(changes),
                       parent=parent_list[0] if parent_list else None)


_LOOK_BACK = 100  # first-parent commits searched for a readable policy


class _Policies:
    """Policies and signers files at any commit, read once per distinct content."""

    def __init__(self, cat: gitrepo.CatFile) -> None:
        self._cat = cat
        self._parsed: dict[bytes, Policy | None] = {}
        self._at: dict[str, Authority | None] = {}

    def authority_at(self, commit: str | None) -> Authority | None:
        """``authority:`` of the policy at ``commit`` (or, when that cannot be read, of the
        last readable one before it); None without a policy or without the key."""
        if commit is None:
            return None
        if commit not in self._at:
            policy = None
            # An unreadable policy leaves the last readable one in force (as the audit
            # reads the history): a broken archivist.yaml switches nothing off.
            for back in range(_LOOK_BACK):
                data = self._cat.read(f"{commit}~{back}:{POLICY_FILE}" if back
                                      else f"{commit}:{POLICY_FILE}")
                if data is None:
                    break
                if data not in self._parsed:
                    try:
                        self._parsed[data] = parse_policy(data, f"{POLICY_FILE} at {commit[:10]}")
                    except ConfigError:
                        self._parsed[data] = None
                policy = self._parsed[data]
                if policy is not None:
                    break
            self._at[commit] = policy.authority if policy is not None else None
        return self._at[commit]

    def signers_at(self, commit: str | None, path: str) -> bytes | None:
        return None if commit is None else self._cat.read(f"{commit}:{path}")


def _entries(cat: gitrepo.CatFile, facts: CommitFacts) -> list[Mapping[str, Any]] | None:
    added = facts.added_events()
    if len(added) != 1:
        return None
    try:
        document = json.loads(cat.read(f"{facts.sha}:{added[0]}") or b"")
    except ValueError:
        return None
    entries = document.get("entries") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        return None
    return [e for e in entries if isinstance(e, Mapping)]


def judge_commits(root: Path, commits: Sequence[CommitFacts], cat: gitrepo.CatFile,
                  report: AuthorityReport | None = None, *,
                  sign_all: bool = False) -> AuthorityReport:
    """Judge ``commits`` (oldest first), each under the policy at its first parent.

    ``sign_all``: check the signature of every commit under ``authority:`` (the audit
    names the signer of every event), not only of those that need one.
    """
    report = report or AuthorityReport()
    policies = _Policies(cat)
    todo: list[tuple[CommitFacts, Authority, Authority | None]] = []
    for facts in commits:
        authority = policies.authority_at(facts.parent)
        if authority is None:
            report.verdicts[facts.sha] = judge.judge_commit(Judged(facts, None, None))
            continue
        report.enforced = True
        own = None
        if judge.changes_policy(facts, authority):
            own = policies.authority_at(facts.sha)
        if sign_all or facts.is_record or judge.changes_policy(facts, authority, own):
            todo.append((facts, authority, own))
        else:
            report.verdicts[facts.sha] = judge.judge_commit(Judged(facts, authority, None))
    # the signatures: one git log per distinct signers file (the parent's; the commit's
    # own where it changes it)
    groups: dict[bytes | None, list[str]] = {}
    own_groups: dict[bytes | None, list[str]] = {}
    for facts, authority, own in todo:
        parent_signers = policies.signers_at(facts.parent, authority.signers)
        groups.setdefault(parent_signers, []).append(facts.sha)
        if own is not None or authority.signers in facts.paths:
            mine = policies.signers_at(facts.sha, (own or authority).signers)
            if mine != parent_signers:
                own_groups.setdefault(mine, []).append(facts.sha)
    checks = check_grouped(root, groups)
    own_checks = check_grouped(root, own_groups) if own_groups else {}
    report.signatures_checked += sum(len(g) for g in groups.values()) + \
        sum(len(g) for g in own_groups.values())
    approvals = _approvals(root, [f for f, a, _ in todo
                                  if f.kind == "dispose" and f.values(TRAILER_APPROVAL)],
                           {f.sha: f for f in commits}, policies)
    for facts, authority, own in todo:
        own_check = own_checks.get(facts.sha)
        j = Judged(facts=facts, authority=authority, signature=checks.get(facts.sha),
                   own_authority=own,
                   own_signature=own_check,
                   approvals=approvals.get(facts.sha, {}),
                   entries=_entries(cat, facts) if facts.kind == "dispose" else None)
        verdict = judge.judge_commit(j)
        report.verdicts[facts.sha] = verdict
        report.findings += verdict.findings
    return report


def _approvals(root: Path, disposes: Sequence[CommitFacts], known: Mapping[str, CommitFacts],
               policies: _Policies) -> dict[str, dict[str, Approval]]:
    """For each dispose, the approvals it names: facts, signature, whether before it."""
    if not disposes:
        return {}
    named = {n for d in disposes for n in d.values(TRAILER_APPROVAL)}
    resolved: dict[str, str] = {}
    for name in named:
        try:
            resolved[name] = gitrepo.resolve_commit(root, name)
        except GitError:
            continue
    facts = {s: known[s] for s in resolved.values() if s in known}
    missing = [s for s in set(resolved.values()) if s not in facts]
    if missing:
        for head, changes in gitrepo.commit_records(root, [], stdin=missing):
            f = _facts(head, changes)
            facts[f.sha] = f
    groups: dict[bytes | None, list[str]] = {}
    for f in facts.values():
        authority = policies.authority_at(f.parent)
        if f.kind == APPROVAL_EVENT and authority is not None:
            groups.setdefault(policies.signers_at(f.parent, authority.signers),
                              []).append(f.sha)
    checks = check_grouped(root, groups)
    out: dict[str, dict[str, Approval]] = {}
    for d in disposes:
        mine: dict[str, Approval] = {}
        for name in d.values(TRAILER_APPROVAL):
            sha = resolved.get(name)
            if sha is None or sha not in facts:
                continue
            check = checks.get(sha) or SignatureCheck(sha, judge.SignatureStatus.UNSIGNED,
                                                      None, None)
            mine[name] = Approval(facts=facts[sha], signature=check,
                                  before=sha != d.sha and gitrepo.is_ancestor(root, sha, d.sha))
        out[d.sha] = mine
    return out


def judge_tags(root: Path, commits: Iterable[str], cat: gitrepo.CatFile,
               report: AuthorityReport) -> AuthorityReport:
    """Release tags on ``commits``, each under the policy of the commit it tags."""
    import datetime as dt

    wanted = set(commits)
    policies = _Policies(cat)
    tags = {name: target for name, target in gitrepo.tag_targets(root).items()
            if target[1] in wanted and judge.is_release_tag(name)}
    if not tags:
        return report
    taggers = gitrepo.taggers(root)
    for name, (_, commit, annotated) in sorted(tags.items()):
        authority = policies.authority_at(commit)
        if authority is None:
            continue
        report.enforced = True
        check = check_tag(root, name, commit, policies.signers_at(commit, authority.signers))
        report.tags_checked += 1
        tagger, when = taggers.get(name, (None, None))
        found = judge.judge_tag(TagFacts(
            tag=name, commit=commit, tagger=tagger,
            date=dt.datetime.fromisoformat(when) if when else None, annotated=annotated,
            signature=check), authority)
        report.findings += found
    return report


def _dated(root: Path, commits: list[CommitFacts]) -> list[CommitFacts]:
    """``commits`` with their first parent's committer date (one ``git log`` for the
    parents outside the list)."""
    import dataclasses
    import datetime as dt

    dates = {c.sha: c.date for c in commits}
    outside = sorted({c.parent for c in commits if c.parent and c.parent not in dates})
    if outside:
        for record in gitrepo.log(root, ["--no-walk=unsorted"], ("%H", "%cI"), stdin=outside):
            sha, when = record.fields
            if when:
                dates[sha] = dt.datetime.fromisoformat(when)
    return [dataclasses.replace(c, parent_date=dates.get(c.parent)) if c.parent else c
            for c in commits]


def judge_range(root: Path, base: str, tip: str) -> AuthorityReport:
    """Every commit in BASE..TIP (merged branches included) and the release tags on them."""
    records = gitrepo.commit_records(root, [f"{base}..{tip}"])
    commits = _dated(root, [_facts(h, c) for h, c in records])
    with gitrepo.CatFile(root) as cat:
        report = judge_commits(root, commits, cat)
        judge_tags(root, [c.sha for c in commits], cat, report)
    return report


def judge_history(root: Path, head: str, cat: gitrepo.CatFile, *,
                  sign_all: bool = True) -> AuthorityReport:
    """The first-parent history of ``head`` (what the audit reads), and its release tags."""
    records = gitrepo.commit_records(root, [head], first_parent=True)
    commits = _dated(root, [_facts(h, c) for h, c in records])
    report = judge_commits(root, commits, cat, sign_all=sign_all)
    return judge_tags(root, [c.sha for c in commits], cat, report)
