"""Who a signing certificate names, and whether a root the policy trusts vouches for it.

Pure over ``cryptography``'s x509 objects: no git, no files, no Sigstore calls, no clock
(the caller passes the time to check at). ``signing`` reads bundles and the policy's
files and asks this module four questions: is this certificate fit to sign releases,
whom does it name, what do Fulcio's extensions claim, and which of these roots anchors
its chain at this time.

The rules it keeps, and why:

- An identity is a subject alternative name (email or URI; Sigstore's other-name in
  keyless certificates), never the subject's common name: a CN is free text that every
  CA profile fills differently, and it is not what a CA vouches for when it issues a
  code-signing certificate.
- A signing certificate is an end entity (not ``CA:TRUE``) whose key usage allows
  ``digitalSignature`` and whose extended key usage names code signing: a TLS server
  or S/MIME certificate from the same CA does not sign releases.
- Every certificate of the chain (root, intermediates, leaf) must be valid at the time
  checked: a retired CA vouches for nothing issued after it retired.
- Fulcio's extensions (OIDC issuer, source repository, workflow, ref, trigger) mean
  something only when Sigstore's CA wrote them (keyless); any other CA can write any
  value there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Fulcio's certificate extensions, 1.3.6.1.4.1.57264.1.* (Fulcio's docs/oid-info.md,
# sigstore-python's verify/policy.py). v1 ones hold raw bytes, v2 ones a DER UTF8String.
FULCIO = "1.3.6.1.4.1.57264.1"
OIDC_ISSUER_V1 = f"{FULCIO}.1"
OIDC_ISSUER_V2 = f"{FULCIO}.8"
SIGSTORE_OTHERNAME = f"{FULCIO}.7"
# claim -> (v2 OID, legacy v1 OID holding the same text, or None)
CLAIM_OIDS: Mapping[str, tuple[str, str | None]] = {
    "repository": (f"{FULCIO}.12", None),  # Source Repository URI: https://github.com/o/r
    "workflow": (f"{FULCIO}.18", None),  # Build Config URI: the top-level workflow@ref
    "ref": (f"{FULCIO}.14", f"{FULCIO}.6"),  # Source Repository Ref: refs/heads/main
    "event": (f"{FULCIO}.20", f"{FULCIO}.2"),  # Build Trigger: push, workflow_dispatch
}


class ChainError(Exception):
    """A certificate or chain that does not meet the rules; the message says which."""


@dataclass(frozen=True)
class Anchor:
    """A trusted root: the policy file it came from, and one certificate in it."""

    source: str
    cert: Any  # x509.Certificate

    @property
    def sha256(self) -> str:
        return fingerprint(self.cert)


def fingerprint(cert: Any) -> str:
    """The SHA-256 fingerprint of a certificate's DER bytes, lowercase hex."""
    from cryptography.hazmat.primitives import serialization

    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_anchors(source: str, pem: bytes) -> list[Anchor]:
    """Every certificate of a PEM file; ValueError when it holds none."""
    from cryptography import x509

    certs = x509.load_pem_x509_certificates(pem)
    return [Anchor(source, c) for c in certs]


def der_utf8(value: bytes) -> str:
    """The text of a DER UTF8String (Fulcio's v2 extensions), or the raw bytes (v1)."""
    if len(value) >= 2 and value[0] == 0x0C:
        length, offset = value[1], 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(value[2:2 + count], "big")
            offset = 2 + count
        return value[offset:offset + length].decode("utf-8", "replace")
    return value.decode("utf-8", "replace")


def _extension_text(cert: Any, oid: str) -> str | None:
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid))
    except x509.ExtensionNotFound:
        return None
    value = getattr(ext.value, "value", None)
    return der_utf8(value) if isinstance(value, bytes) else None


def san_identities(cert: Any, *, keyless: bool) -> list[str]:
    """The identities a certificate names: its SAN emails and URIs (and, for keyless
    certificates, Sigstore's other-name). Never the subject's CN or email attribute."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names = [*san.get_values_for_type(x509.RFC822Name),
             *san.get_values_for_type(x509.UniformResourceIdentifier)]
    if keyless:
        names += [der_utf8(o.value) for o in san.get_values_for_type(x509.OtherName)
                  if o.type_id.dotted_string == SIGSTORE_OTHERNAME]
    return names


def oidc_issuers(cert: Any) -> list[str]:
    """Fulcio's OIDC issuer extension (v2, then v1). Meaningful in keyless mode only."""
    found = [_extension_text(cert, oid) for oid in (OIDC_ISSUER_V2, OIDC_ISSUER_V1)]
    return list(dict.fromkeys(f for f in found if f is not None))


def fulcio_claims(cert: Any) -> dict[str, str]:
    """What Fulcio's extensions say about the build that signed (keyless mode only).

    A legacy v1 extension is read only where it holds the same text as its v2
    successor, and only when the v2 one is absent.
    """
    claims = {}
    for claim, (v2, v1) in CLAIM_OIDS.items():
        value = _extension_text(cert, v2)
        if value is None and v1 is not None:
            value = _extension_text(cert, v1)
        if value is not None:
            claims[claim] = value
    return claims


def claim_matches(claim: str, wanted: str, actual: str | None) -> bool:
    """Whether a certificate's claim has the policy's exact value.

    ``workflow`` without ``@`` names the workflow file whatever the ref (Fulcio records
    ``…/release.yml@refs/tags/v1.2.0``); ``ref:`` pins the ref on its own.
    """
    if actual is None:
        return False
    if claim == "workflow" and "@" not in wanted:
        return actual.split("@", 1)[0] == wanted
    return actual == wanted


def ca_names(cert: Any) -> list[str]:
    """The issuing CA's distinguished name and common name, as the certificate states
    them: names, not trust (any CA can call itself anything)."""
    from cryptography.x509.oid import NameOID

    names = [cert.issuer.rfc4514_string()]
    names += [str(a.value) for a in cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return names


def describe_validity(cert: Any) -> str:
    return f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}"


def valid_at(cert: Any, when: dt.datetime) -> bool:
    return bool(cert.not_valid_before_utc <= when <= cert.not_valid_after_utc)


def leaf_problem(cert: Any, *, keyless: bool = False) -> str | None:
    """Why a certificate may not sign releases, None when it may.

    Requires: not a CA, ``digitalSignature`` key usage, code-signing extended key usage,
    and an identity in its subject alternative names.
    """
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if constraints.ca:
            return "it is a CA certificate (CA:TRUE), not a signing certificate"
    except x509.ExtensionNotFound:
        pass
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return "it has no key usage extension (digitalSignature is required)"
    if not usage.digital_signature:
        return "its key usage does not allow digitalSignature"
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return "it has no extended key usage (code signing is required)"
    if ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        named = ", ".join(getattr(o, "_name", None) or o.dotted_string for o in eku) or "none"
        return f"its extended key usage is {named}, not code signing"
    if not san_identities(cert, keyless=keyless):
        return ("it names no identity in its subject alternative names (email or URI; the "
                "subject's common name does not count)")
    return None


def _ca_policy() -> Any:
    from cryptography import x509
    from cryptography.x509.verification import Criticality, ExtensionPolicy

    def is_ca(_policy: Any, _cert: Any, value: Any) -> None:
        if not value.ca:
            raise ValueError("an issuer is not a CA (CA:FALSE)")

    def signs_certificates(_policy: Any, _cert: Any, value: Any) -> None:
        if value is not None and not value.key_cert_sign:
            raise ValueError("an issuer's key usage does not allow keyCertSign")

    return (ExtensionPolicy.permit_all()
            .require_present(x509.BasicConstraints, Criticality.AGNOSTIC, is_ca)
            .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, signs_certificates))


def verify_chain(leaf: Any, intermediates: Sequence[Any], anchors: Sequence[Anchor],
                 when: dt.datetime) -> tuple[Anchor, list[Any]]:
    """The anchor that vouches for ``leaf`` at ``when``, with the verified chain.

    The chain runs from ``leaf`` through ``intermediates`` (any order) to one of
    ``anchors``; every certificate on it, the anchor too, must be valid at ``when``.
    Raises ChainError naming what failed.
    """
    from cryptography.x509.verification import (
        ExtensionPolicy,
        PolicyBuilder,
        Store,
        VerificationError,
    )

    if not anchors:
        raise ChainError("no root to chain to")
    if not valid_at(leaf, when):
        raise ChainError(f"the signing certificate is valid {describe_validity(leaf)}")
    verifier = (PolicyBuilder().store(Store([a.cert for a in anchors])).time(when)
                .extension_policies(ca_policy=_ca_policy(),
                                    ee_policy=ExtensionPolicy.permit_all())
                .build_client_verifier())
    try:
        chain = list(verifier.verify(leaf, list(intermediates)).chain)
    except VerificationError as exc:
        raise ChainError(_chain_failure(intermediates, anchors, when, exc)) from None
    except ValueError as exc:  # an unsupported name or key in the chain
        raise ChainError(f"the chain cannot be checked: {' '.join(str(exc).split())}") from None
    top = fingerprint(chain[-1])
    anchor = next(a for a in anchors if a.sha256 == top)
    for cert in chain:  # the verifier checks this too; kept explicit, it is the rule
        if not valid_at(cert, when):
            raise ChainError(f"{_name(cert)} is valid {describe_validity(cert)}")
    return anchor, chain


def _name(cert: Any) -> str:
    return f"certificate {cert.subject.rfc4514_string() or '(no subject)'!r}"


def _chain_failure(intermediates: Sequence[Any], anchors: Sequence[Anchor],
                   when: dt.datetime, exc: Exception) -> str:
    """A readable reason: name the expired CA when there is one, else the library's."""
    issuers = {c.issuer for c in intermediates}
    for anchor in anchors:
        if not valid_at(anchor.cert, when) and (anchor.cert.subject in issuers
                                                 or not intermediates):
            return (f"root {anchor.source} ({anchor.cert.subject.rfc4514_string()}) is valid "
                    f"{describe_validity(anchor.cert)}")
    for cert in intermediates:
        if not valid_at(cert, when):
            return f"intermediate {_name(cert)} is valid {describe_validity(cert)}"
    return " ".join(str(exc).split())[:300]
