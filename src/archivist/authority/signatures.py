"""Whose signature a commit carries, judged by the signers file of its parent.

git checks the signature (``ssh-keygen -Y verify`` with the allowed-signers file as it was in
the commit's first parent, so nobody authorizes themselves in the commit that adds their
key; valid-after/valid-before at the commit's time). Callers read the signers files (one
``git cat-file --batch`` for all of them); commits that share one are checked by one
``git log`` process.
"""

from __future__ import annotations

import enum
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from archivist import gitrepo


class SignatureStatus(enum.Enum):
    GOOD = "good"  # valid, by a key the signers file names for this principal
    UNSIGNED = "unsigned"
    UNKNOWN_SIGNER = "unknown-signer"  # a key the signers file does not allow (then)
    BAD = "bad"  # the signature does not match the commit


@dataclass(frozen=True)
class SignatureCheck:
    commit: str
    status: SignatureStatus
    principal: str | None  # as the signers file names it; set only when GOOD
    key: str | None  # the key's fingerprint, when git could read one


# git's %G? letters: G good; U good, validity unknown; X/Y expired signature/key; R revoked;
# E cannot be checked (for ssh: no allowed signer matches); B bad; N none.
_STATUS = {"G": SignatureStatus.GOOD, "N": SignatureStatus.UNSIGNED,
           "B": SignatureStatus.BAD}


def _check(commit: str, letter: str, signer: str, key: str) -> SignatureCheck:
    status = _STATUS.get(letter, SignatureStatus.UNKNOWN_SIGNER)
    return SignatureCheck(commit=commit, status=status,
                          principal=(signer or None) if status is SignatureStatus.GOOD else None,
                          key=key or None)


def check_grouped(root: Path, groups: Mapping[bytes | None, Sequence[str]],
                  ) -> dict[str, SignatureCheck]:
    """Each commit checked against the signers file whose content it is grouped under
    (None: no signers file, so no SSH key is allowed): one ``git log`` per distinct file."""
    checks: dict[str, SignatureCheck] = {}
    with tempfile.TemporaryDirectory(prefix="archivist-signers-") as tmp:
        for n, (content, group) in enumerate(groups.items()):
            allowed = None
            if content is not None:
                allowed = Path(tmp) / f"allowed_signers.{n}"
                allowed.write_bytes(content)
            records = gitrepo.signature_records(root, list(dict.fromkeys(group)), allowed)
            for commit in group:
                letter, signer, key = records.get(commit, ("N", "", ""))
                checks[commit] = _check(commit, letter, signer, key)
    return checks


def check_tag(root: Path, tag: str, commit: str, signers: bytes | None) -> SignatureCheck:
    """``git verify-tag`` of ``tag`` against a signers file's content, at the tagger's time.

    ``commit`` is the tagged commit (what the check is filed under)."""
    with tempfile.TemporaryDirectory(prefix="archivist-signers-") as tmp:
        allowed = None
        if signers is not None:
            allowed = Path(tmp) / "allowed_signers"
            allowed.write_bytes(signers)
        letter, signer, key = gitrepo.verify_tag(root, tag, allowed)
    return _check(commit, letter, signer, key)
