"""What the governed branch's policy trusts, and whom a signer's certificate names.

``load_trust`` reads the policy's key, root and trust-configuration files from the
governed branch's commit (never the working tree of a branch under review: a change
cannot vouch for itself). The rest answers, without touching a bundle: which policy
identity a keyless signer meets (and, when one claim differs, which), which roots may
vouch for a certificate under each identity, and which Sigstore trusted root keyless
bundles are checked against (the policy's pinned one, else the production root shipped
with sigstore-python, offline).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archivist import gitrepo
from archivist.errors import ConfigError
from archivist.history import governed_head
from archivist.policy import Identity, Policy
from archivist.release import _backend, certchain


@dataclass(frozen=True)
class Trust:
    """What the policy trusts, with the bytes of its key and certificate files."""

    public_keys: tuple[tuple[str, bytes], ...] = ()
    roots: tuple[tuple[str, bytes], ...] = ()
    identities: tuple[Identity, ...] = ()
    trust_config: tuple[str, bytes] | None = None


def _read_trust_file(root: Path, rev: str | None, path: str, what: str) -> bytes:
    if os.path.isabs(path):
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"{what} {path}: cannot read: {exc.strerror}") from None
    if rev is None:
        data = (root / path).read_bytes() if (root / path).is_file() else None
    else:
        with gitrepo.CatFile(root) as cat:
            data = cat.read(f"{rev}:{path}")
    if data is None:
        where = f"commit {rev[:10]} of the governed branch" if rev else "the working tree"
        raise ConfigError(f"{what} {path} is not in {where}",
                          "commit it on the governed branch, beside archivist.yaml")
    return data


def load_trust(root: Path, policy: Policy, rev: str | None = None) -> Trust:
    """The policy's keys, roots and trust configuration, read from the governed branch.

    Files are read from the same commit as the policy (never the working tree of a branch
    under review), so a change cannot vouch for itself.
    """
    signing = policy.signing
    if signing is None:
        raise ConfigError(f"{policy.source}: no signing: section",
                          "add signing: with public_keys, certificate_roots or identities")
    rev = rev or governed_head(root, policy.branch)
    keys = tuple((p, _read_trust_file(root, rev, p, "signing.public_keys"))
                 for p in signing.public_keys)
    roots = tuple((p, _read_trust_file(root, rev, p, "signing.certificate_roots"))
                  for p in signing.certificate_roots)
    trust_config = None
    if signing.trust_config:
        trust_config = (signing.trust_config, _read_trust_file(
            root, rev, signing.trust_config, "signing.trust_config"))
    return Trust(public_keys=keys, roots=roots, identities=signing.identities,
                 trust_config=trust_config)


def certificate_identity(cert: Any, *, keyless: bool = True,
                         ) -> tuple[list[str], list[str], list[str]]:
    """(identities, OIDC issuers, CA names) of a certificate.

    Identities are its subject alternative names only (never the subject's CN); the OIDC
    issuers come from Fulcio's extensions and only for a keyless certificate (any other
    CA can write them); CA names are the issuer's distinguished and common name, as the
    certificate states them.
    """
    issuers = certchain.oidc_issuers(cert) if keyless else []
    return (certchain.san_identities(cert, keyless=keyless), issuers,
            certchain.ca_names(cert))


def match_identity(identities: Sequence[str], issuers: Sequence[str],
                   allowed: Sequence[Identity],
                   claims: Mapping[str, str] | None = None) -> Identity | None:
    """The first keyless policy identity whose issuer, (whole-string) pattern and claims
    the signer meets; entries bound to a certificate root never match here."""
    for rule in allowed:
        if keyless_rule_problem(rule, identities, issuers, claims or {}) is None:
            return rule
    return None


def keyless_rule_problem(rule: Identity, identities: Sequence[str], issuers: Sequence[str],
                         claims: Mapping[str, str]) -> str | None:
    """Why a keyless signer does not meet ``rule``: None when it does, "" when the identity
    or issuer differs, else the claim that differs (worth telling the user)."""
    if rule.bound or rule.issuer not in issuers \
            or not any(rule.identity.fullmatch(i) for i in identities):
        return ""
    for claim, wanted in rule.claims:
        actual = claims.get(claim)
        if not any(certchain.claim_matches(claim, w, actual) for w in wanted):
            shown = repr(actual) if actual is not None else "not recorded"
            return (f"it meets the identity and issuer of {rule.where()}, but its {claim} "
                    f"is {shown}, not {' or '.join(repr(w) for w in wanted)}")
    return None


def describe_signer(identities: Sequence[str], issuers: Sequence[str]) -> str:
    """A signer as reports name it: its first identity, and its issuer when known."""
    who = identities[0] if identities else "an unnamed signer"
    return f"{who} (issuer {issuers[0]})" if issuers else who


def trusted_anchors(trust: Trust) -> list[certchain.Anchor]:
    """Every certificate in the policy's ``certificate_roots`` files; ConfigError for a
    file that holds none, or an identity's ``root_sha256`` that matches none."""
    anchors: list[certchain.Anchor] = []
    for path, pem in trust.roots:
        try:
            found = certchain.load_anchors(path, pem)
        except ValueError:
            found = []
        if not found:
            raise ConfigError(f"signing.certificate_roots {path}: not a PEM certificate")
        anchors += found
    known = {a.sha256 for a in anchors}
    for rule in trust.identities:
        if rule.root_sha256 is not None and rule.root_sha256 not in known:
            raise ConfigError(f"{rule.where()}: root_sha256 {rule.root_sha256} is none of "
                              "the certificates in signing.certificate_roots",
                              "openssl x509 -noout -fingerprint -sha256 -in ROOT.pem")
    return anchors


def certificate_rules(trust: Trust, anchors: Sequence[certchain.Anchor],
                      ) -> list[tuple[Identity | None, list[certchain.Anchor]]]:
    """Which roots may vouch for a certificate, per identity rule (None: no identities).

    An entry names its root (``root``/``root_sha256``); an unbound entry is bound to the
    root when the policy lists exactly one. With several roots and no bound entry the
    policy cannot say which root vouches for whom: ConfigError.
    """
    if not trust.identities:
        return [(None, list(anchors))]
    bound = [r for r in trust.identities if r.bound]
    if len(trust.roots) > 1 and not bound:
        raise ConfigError(f"signing.identities: with {len(trust.roots)} certificate_roots, "
                          "a certificate identity must name the root that vouches for it",
                          "add root: FILE (one of certificate_roots) or root_sha256: "
                          "FINGERPRINT to each certificate entry")
    rules = bound if len(trust.roots) > 1 else [r for r in trust.identities if not r.claims]
    out: list[tuple[Identity | None, list[certchain.Anchor]]] = []
    for rule in rules:
        if rule.root is not None:
            allowed = [a for a in anchors if a.source == rule.root]
        elif rule.root_sha256 is not None:
            allowed = [a for a in anchors if a.sha256 == rule.root_sha256]
        else:
            allowed = list(anchors)
        out.append((rule, allowed))
    return out


def trusted_root(trust: Trust) -> Any:
    """The trusted root to verify keyless bundles with: the policy's pinned one, else prod."""
    if trust.trust_config is None:
        return _backend.production_trusted_root()
    from sigstore.models import ClientTrustConfig, TrustedRoot
    from sigstore_models.trustroot import v1 as trustroot_v1

    name, raw = trust.trust_config
    try:
        doc = json.loads(raw)
        if "trustedRoot" in doc:
            return ClientTrustConfig.from_json(raw.decode("utf-8")).trusted_root
        return TrustedRoot(trustroot_v1.TrustedRoot.from_json(raw))
    except Exception as exc:
        raise ConfigError(f"signing.trust_config {name}: not a Sigstore trust configuration "
                          f"or trusted root: {_backend.one_line(exc)}") from None
