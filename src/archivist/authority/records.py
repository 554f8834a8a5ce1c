"""What a signed archivist record says about authority: its meaning, approvals, plan digests.

The words every authority module shares, so the client that writes a record and the gate and
audit that judge it read one definition:

    dispose: 2 versions of 1 artifact (policy class standard)

    Archivist-Event: dispose
    ...
    Archivist-Meaning: authorship
    Archivist-Plan: sha256:5f0c...          the digest of exactly what was deleted
    Archivist-Approval: 3b1e...             one per approval commit, in the order given

    approve dispose: 2 versions of 1 artifact

    Archivist-Event: approval
    Archivist-Meaning: approval
    Archivist-Approves: dispose
    Archivist-Plan: sha256:5f0c...

A plan digest covers the versions and objects a dispose would delete on each remote, so a
plan that changed (a new version became due) has a new digest and needs new approvals.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

TRAILER_MEANING = "Archivist-Meaning"
TRAILER_PLAN = "Archivist-Plan"
TRAILER_APPROVAL = "Archivist-Approval"
TRAILER_APPROVES = "Archivist-Approves"
APPROVAL_EVENT = "approval"


class Meaning(enum.Enum):
    """What a signature means (21 CFR Part 11 §11.50): who did it, approved it, reviewed it."""

    AUTHORSHIP = "authorship"  # every action archivist takes: archive, restore, dispose, ...
    APPROVAL = "approval"
    REVIEW = "review"


class FindingKind(enum.Enum):
    """What the gate and the audit report about authority; any one fails the gate."""

    UNSIGNED = "unsigned"
    UNKNOWN_SIGNER = "unknown-signer"
    UNAUTHORIZED = "unauthorized"
    SELF_AUTHORIZED = "self-authorized"
    MISSING_APPROVAL = "missing-approval"
    FORGED_RECORD = "forged-record"


@dataclass(frozen=True, order=True)
class PlannedDeletion:
    """One version a dispose would delete, with its objects on one remote."""

    artifact: str
    version: str  # "md5:<hex>[.dir]"
    remote: str
    objects: tuple[str, ...]  # md5 hex of every object deleted, sorted


def plan_digest(deletions: Iterable[PlannedDeletion]) -> str:
    """``sha256:<hex>`` of the canonical JSON of the sorted deletions."""
    rows = sorted(deletions)
    canonical = json.dumps(
        [[d.artifact, d.version, d.remote, sorted(d.objects)] for d in rows],
        separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()
