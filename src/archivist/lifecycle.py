"""The retention plan of a repository: history + ledger + release tags -> ``retention``.

``build_plan`` is the one entry point: the plan command, archive, dispose and the audit
all see versions through it. Reads git only (no DVC, no remote).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from archivist import gitrepo, history, ledger
from archivist.errors import ArchivistError
from archivist.inventory import find_artifact, load_artifacts
from archivist.policy import Policy
from archivist.retention import LedgerFact, PlanItem, VersionRecord, decide
from archivist.trees import CommitTree

UNTIL_TRAILER = "Archivist-Until"
# GTO's release tags: NAME@vX.Y.Z (a folder's artifact "dir:name" is tagged "dir=name")
_RELEASE_TAG = re.compile(r"^(?P<name>.+)@v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")


@dataclass
class Plan:
    """A plan and what it was read from."""

    items: list[PlanItem]
    head: str  # the governed branch's commit
    branch: str
    as_of: dt.date
    warnings: list[str] = field(default_factory=list)


def _utc_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


def version_records(spans: list[history.Span]) -> list[VersionRecord]:
    """One record per (artifact, version): current if any span is open, else its clock
    starts at the latest replacement (a version can come back and go again)."""
    grouped: dict[tuple[str, str], list[history.Span]] = {}
    for span in spans:
        grouped.setdefault((span.path, span.version.digest), []).append(span)
    records = []
    for group in grouped.values():
        last = group[-1]
        current = any(s.until is None for s in group)
        ended = None if current else max(group, key=lambda s: s.until)  # type: ignore[arg-type,return-value]
        records.append(VersionRecord(
            path=last.path, version=last.version, artifact=last.artifact, current=current,
            superseded=_utc_date(ended.until) if ended and ended.until else None,
            superseded_by=ended.until_commit if ended else None,
            ended_by=ended.ended_by if ended else None,
        ))
    return records


def ledger_facts(root: Path, rev: str) -> list[LedgerFact]:
    """archive / restore / dispose entries from the ledger on the branch, oldest first."""
    facts = []
    for commit in ledger.read_ledger(root, rev):
        kind = commit.kind
        if kind not in ("archive", "restore", "dispose"):
            continue
        until_values = commit.values(UNTIL_TRAILER)
        until = None
        if until_values:
            try:
                until = dt.date.fromisoformat(until_values[-1])
            except ValueError:
                until = None
        for path, version in commit.pairs():
            facts.append(LedgerFact(kind=kind, path=path, version=version,
                                    on=_utc_date(commit.date), commit=commit.sha, until=until))
    return facts


def release_pins(root: Path) -> dict[tuple[str, str], str]:
    """(artifact path, digest) -> release tag, for every ``NAME@vX.Y.Z`` tag."""
    out = gitrepo.git(["for-each-ref", "--format=%(refname:strip=2)%09%(objectname)"
                       "%09%(*objectname)", "refs/tags"], root, check=False)
    pins: dict[tuple[str, str], str] = {}
    by_commit: dict[str, list[tuple[str, str]]] = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        tag, obj, peeled = parts
        match = _RELEASE_TAG.match(tag)
        if match:
            by_commit.setdefault(peeled or obj, []).append((tag, match.group("name")))
    if not by_commit:
        return pins
    cat = gitrepo.CatFile(root)
    try:
        for commit, tags in by_commit.items():
            try:
                tree = CommitTree(root, commit, cat=cat)
                artifacts = load_artifacts(tree)
            except ArchivistError:
                continue  # a tag on something that is not a commit with DVC files
            for tag, name in tags:
                for spec in dict.fromkeys((name, name.replace("=", ":"))):
                    try:
                        artifact = find_artifact(artifacts, spec, spec)
                    except ArchivistError:
                        continue
                    if artifact.version is not None:
                        pins.setdefault((artifact.path, artifact.version.digest), tag)
                    break
    finally:
        cat.close()
    return pins


def build_plan_details(root: Path, policy: Policy, as_of: dt.date,
                       timelines: history.Timelines | None = None) -> Plan:
    """The plan with its head, branch and any history warnings.

    ``timelines``: already read by the caller (the audit), instead of walking again.
    """
    branch = history.governed_branch(root, policy.branch)
    if timelines is None:
        timelines = history.read_timelines(root, branch)
    facts = ledger_facts(root, timelines.head)
    items = decide(version_records(timelines.spans), policy, facts, as_of,
                   release_pins(root))
    return Plan(items=items, head=timelines.head, branch=branch.removeprefix("refs/heads/"),
                as_of=as_of, warnings=timelines.warnings)


def build_plan(root: Path, policy: Policy, as_of: dt.date) -> list[PlanItem]:
    """Every version of every artifact on the governed branch, and what is due on ``as_of``."""
    return build_plan_details(root, policy, as_of).items
