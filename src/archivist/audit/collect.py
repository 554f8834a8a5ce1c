"""The audit's adapter: read git (one log pass over DVC files and the policy, one over
the ledger, blobs through one ``cat-file --batch``), replay retention and release checks,
and hand the values to ``judge``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from archivist import gitrepo
from archivist.errors import ArchivistError, ConfigError
from archivist.gate.rules import Violation, check_all
from archivist.inventory import load_artifacts
from archivist.ledger import (
    EVENTS_DIR,
    EventEntry,
    LedgerCommit,
    read_event,
    read_ledger,
)
from archivist.policy import (
    POLICY_FILE,
    Policy,
    parse_policy,
)
from archivist.release.names import VerifyStatus
from archivist.retention.decide import unmatched_holds
from archivist.trees import CommitTree, Tree

if TYPE_CHECKING:  # adapters the audit imports only when it runs
    from archivist.audit.deep import ObjectProblem
    from archivist.history import CommitArtifacts, Timelines
    from archivist.release.verify import VerifyOutcome
    from archivist.retention.forecast import Forecast
    from archivist.retention.plan import Plan
from archivist.audit.judge import (
    _who,
    authority_findings,
    bytes_by_remote,
    date_findings,
    disposal_problem,
    disposed_records,
    event_file_problems,
    expected_locations,
    foreign_changes,
    gto_events,
    hold_events,
    hold_findings,
    ledger_events,
    ledger_locations,
    merge_by_date,
    people_events,
    plan_figures,
    policy_weakenings,
    release_tag_findings,
    restore_problem,
    signed_events,
    sort_findings,
    unknown_version_findings,
    with_copies,
)
from archivist.audit.model import (
    Audit,
    AuditEvent,
    CommitInfo,
    DisposedRecord,
    Figures,
    Finding,
    FindingKind,
    PolicyChange,
)

# ---------------------------------------------------------------- reading git


_INFO_FIELDS = ("%H", "%an", "%ae", "%aI", "%s")  # what ``_info`` reads


def _info(fields: Sequence[str]) -> CommitInfo:
    sha, author, email, date, subject = fields[:5]
    return CommitInfo(sha=sha.strip(), author=author, email=email,
                      date=dt.datetime.fromisoformat(date), subject=subject)


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
