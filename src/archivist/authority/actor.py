"""Who is about to act: the principal git's signature on this machine would prove.

Not a judge of past commits (that is ``signatures`` and the gate/audit): this answers,
before ``--apply`` touches any remote, whether the commit archivist is about to make
would be signed, by whom, and whether that principal holds a role that ``authority.may``
grants the action. The answer comes from git itself: a throwaway commit is signed the way
``git commit -S`` signs (``gpg.format=ssh``, ``user.signingkey`` a key file or a
``key::`` literal) in a temporary object store, and git judges it with the signers file as
committed on the governed branch (never a working-tree edit), valid-after/valid-before at
now. So a key missing from the agent, a wrong passphrase, an unlisted or expired key all
refuse here, with nothing changed.

OpenPGP and X.509 signing are refused with one line: the signers file is git's SSH
allowed-signers format, which only judges SSH signatures.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

from archivist import gitrepo
from archivist.errors import ConfigError
from archivist.policy import Authority, Policy

HOW_TO_SIGN = ("git config gpg.format ssh && git config user.signingkey "
               "~/.ssh/id_ed25519.pub; the key needs its line in the signers file, see "
               "docs/authority.md")


class NotAuthorized(ConfigError):
    """Signing is not set up, or the signer holds no role that may do this (exit 2)."""


@dataclass(frozen=True)
class Signer:
    """The principal the signers file names for this machine's signing key."""

    principal: str
    key: str  # fingerprint, SHA256:...
    roles: tuple[str, ...]  # the roles authority.roles gives the principal

    def describe(self) -> str:
        return f"{self.principal} (key {self.key})"


def _email(root: Path) -> str:
    return gitrepo.config_value(root, "user.email") or "no user.email"


def check_signing_config(root: Path) -> None:
    """Raise ``NotAuthorized`` when git is not set up to sign commits with an SSH key."""
    fmt = gitrepo.config_value(root, "gpg.format")
    if fmt is None or fmt.lower() != "ssh":
        shown = f"gpg.format is {fmt}" if fmt else "gpg.format is not set (git's default " \
            "is OpenPGP)"
        raise NotAuthorized(
            f"authority: needs SSH commit signing for {_email(root)}, but {shown}: the "
            "signers file is git's SSH allowed-signers format, which cannot judge OpenPGP "
            "or X.509 signatures", HOW_TO_SIGN)
    if gitrepo.config_value(root, "user.signingkey") is None and \
            gitrepo.config_value(root, "gpg.ssh.defaultKeyCommand") is None:
        raise NotAuthorized(f"authority: needs signed commits, but git has no "
                            f"user.signingkey for {_email(root)}", HOW_TO_SIGN)


# One probe per repository, signers file and key in a process: a command that checks
# before it acts, and says who acted, signs once more than it commits, not twice.
_probed: dict[tuple[str, ...], Signer] = {}


def whoami(root: Path, authority: Authority, rev: str = "HEAD") -> Signer:
    """The signer git would prove for this machine's next commit, judged by the signers
    file as committed at ``rev``.

    Raises ``NotAuthorized`` (one line: who, why, how to fix) when git cannot sign, or
    when the committed signers file does not accept the key now.
    """
    check_signing_config(root)
    blob = gitrepo.blob_id(root, rev, authority.signers)
    memo = (str(root), str(blob), _email(root),
            *(gitrepo.config_value(root, k) or "" for k in ("gpg.format", "user.signingkey")))
    if memo in _probed:
        return dataclasses.replace(_probed[memo], roles=authority.roles_of(
            _probed[memo].principal))
    if blob is None:
        raise NotAuthorized(f"the signers file {authority.signers} (authority.signers) is "
                            f"not committed at {rev}: nobody can be authorized",
                            f"add your key's line to {authority.signers} and commit it, "
                            "signed by the policy role")
    with tempfile.TemporaryDirectory(prefix="archivist-signers-") as tmp:
        allowed = Path(tmp) / "allowed_signers"
        allowed.write_bytes(gitrepo.read_blobs(root, [blob])[blob])
        verdict = gitrepo.probe_signature(root, allowed)
    if isinstance(verdict, str):
        raise NotAuthorized(f"git cannot sign the audit commit for {_email(root)}: "
                            f"{verdict}", "load the key (ssh-add) or fix user.signingkey; "
                            + HOW_TO_SIGN)
    letter, principal, key = verdict
    if letter != "G" or not principal:
        raise NotAuthorized(
            f"your signing key {key or '(unknown)'} ({_email(root)}) is not allowed by "
            f"{authority.signers} as committed at {rev} (not listed, outside its "
            "valid-after/valid-before, or namespaces without git)",
            f"add `PRINCIPAL namespaces=\"git\" <public key>` to {authority.signers} in a "
            "commit signed by the policy role; see docs/authority.md")
    _probed[memo] = Signer(principal=principal, key=key, roles=authority.roles_of(principal))
    return _probed[memo]


def roles_that_may(authority: Authority, action: str) -> tuple[str, ...]:
    permission = authority.may.get(action)
    return permission.roles if permission else ()


def require(root: Path, policy: Policy, action: str, rev: str = "HEAD") -> Signer | None:
    """The signer, when it holds a role that ``authority.may`` grants ``action``; None when
    the policy has no ``authority:`` (nothing is enforced).

    Raises ``NotAuthorized`` otherwise, before anything is touched: who you are, which
    roles may, how to set up signing.
    """
    authority = policy.authority
    if authority is None:
        return None
    signer = whoami(root, authority, rev)
    if not authority.allows(action, signer.principal):
        roles = roles_that_may(authority, action)
        held = ", ".join(signer.roles) or "no role"
        raise NotAuthorized(
            f"{signer.describe()} may not {action}: authority.may.{action} grants it to "
            f"{', '.join(roles) or 'nobody'}, and {signer.principal} holds {held}",
            "ask for the role: a change to archivist.yaml signed by the policy role; or "
            "let someone who holds it run this")
    return signer
