"""Checking a Sigstore bundle: its shape, its signature, and that the policy trusts its
signer; then what it vouches for (the per-file sha256 manifest and archivist's fields).

Nothing in a bundle can make ``check_bundle`` raise: a bundle of the wrong shape, a
signature that does not verify, a signer the policy does not name are each one problem
with a ``VerifyStatus``. Bundles are checked with the one hashing configuration archivist
signs with (``hashing.SERIALIZATION``), never one guessed from the bundle. Key and
certificate bundles are checked by model-signing's verifiers (the certificate chain by
``certchain`` first, against the root the policy binds); keyless ones by sigstore-python,
offline, against the policy's trusted root.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from archivist.errors import ArchivistError, ConfigError
from archivist.release import _backend, certchain
from archivist.release.hashing import HASH_TYPE
from archivist.release.names import PREDICATE_KEY, VerifyStatus, key_fingerprint
from archivist.release.trust import (
    Trust,
    certificate_identity,
    certificate_rules,
    describe_signer,
    keyless_rule_problem,
    trusted_anchors,
    trusted_root,
)

# A real bundle is a few kilobytes (keyless, with its log entry: about 10 KB); anything far
# larger is refused before a parser sees it.
MAX_BUNDLE_BYTES = 1 << 20


@dataclass(frozen=True)
class BundleCheck:
    """What a bundle vouches for, once its signature and signer are checked."""

    method: str  # key | certificate | sigstore | unknown
    signer: str = ""
    items: Mapping[str, str] = field(default_factory=dict)  # signed sha256 per item
    digest: str = ""  # the in-toto subject digest, sha256:<hex>
    extra: Mapping[str, Any] = field(default_factory=dict)  # archivist's predicate fields
    problems: tuple[str, ...] = ()
    status: VerifyStatus = VerifyStatus.OK  # why it failed, when it did
    signed_time: str = ""  # the time the certificate was checked at, and its source

    @property
    def ok(self) -> bool:
        return not self.problems


_MATERIALS = (("publicKey", "key"), ("x509CertificateChain", "certificate"),
              ("certificate", "sigstore"))


def bundle_method(data: Mapping[str, Any]) -> str:
    """How a parsed bundle was signed, from its verification material; ``unknown`` when it
    holds none, several, or not a mapping."""
    material = data.get("verificationMaterial")
    if not isinstance(material, Mapping):
        return "unknown"
    found = [method for key, method in _MATERIALS if key in material]
    return found[0] if len(found) == 1 else "unknown"


def _b64(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode(value, validate=True)
    except ValueError:
        return False
    return True


def _shape_problem(data: Mapping[str, Any], method: str) -> str | None:
    """What makes ``data`` not a Sigstore bundle of ``method``'s kind, before any library
    reads it (they answer odd shapes with any exception type, or none)."""
    envelope = data.get("dsseEnvelope")
    if not isinstance(envelope, Mapping):
        return "it holds no DSSE envelope (dsseEnvelope)"
    if not (_b64(envelope.get("payload")) and isinstance(envelope.get("payloadType"), str)):
        return "its DSSE envelope has no base64 payload and payload type"
    signatures = envelope.get("signatures")
    if not (isinstance(signatures, list) and len(signatures) == 1
            and isinstance(signatures[0], Mapping) and _b64(signatures[0].get("sig"))):
        return "its DSSE envelope does not hold exactly one base64 signature"
    material = data["verificationMaterial"]
    if method == "key":
        hint = material["publicKey"]
        if not (isinstance(hint, Mapping) and isinstance(hint.get("hint", ""), str)):
            return "its publicKey is not an object with a hint"
    elif method == "certificate":
        chain = material["x509CertificateChain"]
        certs = chain.get("certificates") if isinstance(chain, Mapping) else None
        if not (isinstance(certs, list) and certs
                and all(isinstance(c, Mapping) and _b64(c.get("rawBytes")) for c in certs)):
            return "its certificate chain holds no base64 certificates"
    elif method == "sigstore":
        cert = material["certificate"]
        if not (isinstance(cert, Mapping) and _b64(cert.get("rawBytes"))):
            return "its certificate is not base64 DER"
        entries = material.get("tlogEntries", [])
        if not (isinstance(entries, list) and all(isinstance(e, Mapping) for e in entries)):
            return "its transparency log entries are not a list of objects"
    return None


def check_bundle(bundle: bytes, trust: Trust, *, signed_at: dt.datetime | None = None,
                 ) -> BundleCheck:
    """Check a bundle's signature and signer against ``trust``.

    Never raises for anything in the bundle: bad input is a problem with a status
    (``malformed`` when it cannot be read). Raises ConfigError only when the trust itself
    (a key file, the trusted root) is unusable.
    """
    def malformed(why: str, method: str = "unknown", signer: str = "") -> BundleCheck:
        return BundleCheck(method, signer=signer, problems=(f"the bundle is malformed: {why}",),
                           status=VerifyStatus.MALFORMED)

    if len(bundle) > MAX_BUNDLE_BYTES:
        return malformed(f"{len(bundle):,} bytes, more than any bundle "
                         f"({MAX_BUNDLE_BYTES:,})")
    try:
        data = json.loads(bundle)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return malformed(f"not JSON: {_backend.one_line(exc)}")
    if not isinstance(data, dict):
        return malformed("not a JSON object")
    method = bundle_method(data)
    if method == "unknown":
        return malformed("it holds no public key hint, certificate chain or Sigstore "
                         "certificate (exactly one): not a model-signing bundle")
    shape = _shape_problem(data, method)
    if shape is not None:
        return malformed(shape, method)
    _backend.require()
    try:
        if method == "key":
            payload_type, payload, signer, basis = _verify_key(bundle, data, trust)
        elif method == "certificate":
            payload_type, payload, signer, basis = _verify_certificate(bundle, data, trust,
                                                                       signed_at)
        else:
            payload_type, payload, signer, basis = _verify_keyless(bundle, trust)
    except _Refused as exc:
        status = exc.status
        if status is None:
            status = VerifyStatus.UNTRUSTED_SIGNER
            if method == "key" and _hint_is_trusted(data, trust):
                status = VerifyStatus.BAD_SIGNATURE  # the right key, a wrong signature
        return BundleCheck(method, signer=exc.signer, problems=(str(exc),), status=status)
    except ArchivistError:
        raise
    except Exception as exc:  # a library's parser tripped on the bundle: one problem, no crash
        return malformed(f"{type(exc).__name__}: {_backend.one_line(exc)}", method)
    return replace(_read_payload(method, signer, payload_type, payload), signed_time=basis)


def _hint_is_trusted(data: Mapping[str, Any], trust: Trust) -> bool:
    """Whether a key bundle names (by model-signing's hint) a key the policy lists."""
    from cryptography.hazmat.primitives import serialization

    hint = data["verificationMaterial"]["publicKey"].get("hint") or ""
    for _, pem in trust.public_keys:
        try:
            spki = serialization.load_pem_public_key(pem).public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        except ValueError:
            continue
        if hashlib.sha256(spki).hexdigest() == hint:
            return True
    return False


class _Refused(Exception):
    """A bundle the policy does not accept; ``status`` says why when the raiser knows
    (``check_bundle`` otherwise tells an untrusted signer from a bad signature itself)."""

    def __init__(self, message: str, signer: str = "",
                 status: VerifyStatus | None = None) -> None:
        super().__init__(message)
        self.signer = signer
        self.status = status


def _read_payload(method: str, signer: str, payload_type: str, payload: bytes) -> BundleCheck:
    """The signed manifest of a verified envelope; a payload of any other shape is one
    ``malformed`` problem (it was signed, but not as a model-signing release)."""
    def malformed(why: str) -> BundleCheck:
        return BundleCheck(method, signer, problems=(why,), status=VerifyStatus.MALFORMED)

    if payload_type != _backend.in_toto_payload_type():
        return malformed(f"the signed payload is {payload_type!r}, not an in-toto statement")
    try:
        statement = json.loads(payload)
        if not isinstance(statement, dict):
            raise ValueError("not a JSON object")
        items, serialization = _backend.signed_manifest(statement)
        subject = statement["subject"][0]["digest"]["sha256"]
        if not isinstance(subject, str):
            raise ValueError("the subject digest is not text")
        predicate = statement.get("predicate")
        extra = predicate.get(PREDICATE_KEY) if isinstance(predicate, dict) else None
    except Exception as exc:  # model-signing's reader raises whatever the shape provokes
        return malformed("the signed statement is not a model-signing manifest: "
                         f"{type(exc).__name__}: {_backend.one_line(exc)}")
    if serialization.get("method") != "files" or serialization.get("hash_type") != HASH_TYPE:
        # Verifying with a guessed configuration is how sharded signatures break: refuse.
        return malformed(f"the bundle was made with hashing {serialization}, not the "
                         "files/sha256 configuration archivist signs and verifies with")
    return BundleCheck(method, signer, items=items, digest=f"sha256:{subject}",
                       extra=extra if isinstance(extra, dict) else {})


def _pb_signature(bundle: bytes, tmp: Path) -> Any:
    path = tmp / "bundle.sig"
    path.write_bytes(bundle)
    try:
        return _backend.read_signature(path)
    except Exception as exc:
        raise _Refused(f"the bundle cannot be read: {_backend.one_line(exc)}",
                       status=VerifyStatus.MALFORMED) from None


def _verify_key(bundle: bytes, data: Mapping[str, Any], trust: Trust,
                ) -> tuple[str, bytes, str, str]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    hint = (data["verificationMaterial"].get("publicKey") or {}).get("hint") or ""
    named = f"key sha256:{hint}" if hint else "an unnamed key"
    if not trust.public_keys:
        raise _Refused(f"the bundle is signed by {named}, but the policy lists no "
                       "signing.public_keys", named)
    candidates = []
    for path, pem in trust.public_keys:
        try:
            public = serialization.load_pem_public_key(pem)
        except ValueError:
            raise ConfigError(f"signing.public_keys {path}: not a PEM public key") from None
        spki = public.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        if not hint or hashlib.sha256(spki).hexdigest() == hint:
            candidates.append((path, spki))
    if not candidates:
        listed = ", ".join(p for p, _ in trust.public_keys)
        raise _Refused(f"the bundle is signed by {named}, which is not among "
                       f"signing.public_keys ({listed})", named)
    with _backend.scratch() as tmp:
        signature = _pb_signature(bundle, tmp)
        failures = []
        for path, spki in candidates:
            key_file = tmp / "key.pub"
            key_file.write_bytes(spki)
            signer = f"key {key_fingerprint(spki)} ({path})"
            try:
                payload_type, payload = _backend.verify_with_key(key_file, signature)
                return payload_type, payload, signer, ""  # a key has no validity period
            except InvalidSignature:
                failures.append(f"the signature does not verify with {path}")
            except (ValueError, KeyError) as exc:
                failures.append(f"{path}: {_backend.one_line(exc)}")
    raise _Refused("; ".join(failures) + " (was the bundle edited?)", named)


def _verify_certificate(bundle: bytes, data: Mapping[str, Any], trust: Trust,
                        signed_at: dt.datetime | None,
                        ) -> tuple[str, bytes, str, str]:
    """Check a certificate bundle; return its payload, the signer and the time basis.

    ``signed_at`` (a release commit's date) is not used: its author chose it. With no
    trusted timestamp in the bundle, every certificate of the chain must be valid now.
    The chain is verified here (cryptography's path validation, bound to the root each
    identity names); model-signing then checks the signature against that root alone.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    del signed_at  # never evidence of signing time
    raw = data["verificationMaterial"]["x509CertificateChain"].get("certificates") or []
    try:
        certs = [x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"]))
                 for c in raw]
        leaf = certs[0]
    except (IndexError, KeyError, TypeError, ValueError):
        raise _Refused("the bundle's certificate chain is empty or unreadable",
                       status=VerifyStatus.MALFORMED) from None
    identities = certchain.san_identities(leaf, keyless=False)
    who = identities[0] if identities else "an unnamed signer"
    signer = f"certificate {who}"
    if not trust.roots:
        raise _Refused(f"the bundle is signed by {signer}, but the policy lists "
                       "no signing.certificate_roots", signer)
    problem = certchain.leaf_problem(leaf)
    if problem:
        raise _Refused(f"{signer} may not sign releases: {problem}", signer)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    basis = f"no trusted timestamp: certificate checked as of now ({now:%Y-%m-%d %H:%M} UTC)"
    if not certchain.valid_at(leaf, now):
        raise _Refused(
            f"{signer} is not valid now (valid {certchain.describe_validity(leaf)}); the "
            "bundle has no trusted timestamp, so the certificate was not valid at any "
            "signing time archivist can prove (a commit date is not evidence)", signer)
    anchors = trusted_anchors(trust)
    names = certchain.ca_names(leaf)
    candidates = [(rule, allowed) for rule, allowed in certificate_rules(trust, anchors)
                  if rule is None or ((rule.issuer is None or rule.issuer in names)
                                      and any(rule.identity.fullmatch(i) for i in identities))]
    if not candidates:
        raise _Refused(f"{signer} matches no signing.identities entry for certificates "
                       "(identity, and the root it names)", signer)
    failures = []
    for rule, allowed in candidates:
        try:
            anchor, _ = certchain.verify_chain(leaf, certs[1:], allowed, now)
        except certchain.ChainError as exc:
            failures.append((rule, allowed, str(exc)))
            continue
        break
    else:
        rule, allowed, reason = failures[0]
        if rule is None or not rule.bound:
            target = f"signing.certificate_roots ({', '.join(p for p, _ in trust.roots)})"
        else:
            target = (f"{', '.join(dict.fromkeys(a.source for a in allowed))}, the root "
                      f"{rule.where()} names")
        raise _Refused(f"{signer} does not chain to {target}: {reason}", signer)
    if rule is not None:
        who = next(i for i in identities if rule.identity.fullmatch(i))
    signer = f"certificate {who} (root {anchor.source})"
    with _backend.scratch() as tmp:
        root_file = tmp / "root.pem"
        root_file.write_bytes(anchor.cert.public_bytes(serialization.Encoding.PEM))
        signature = _pb_signature(bundle, tmp)
        try:
            payload_type, payload = _backend.verify_with_root(root_file, signature)
        except Exception as exc:
            kind = type(exc).__name__
            if kind == "X509StoreContextError":
                raise _Refused(f"{signer} does not chain to {anchor.source} (model-signing's "
                               f"check): {_backend.one_line(exc)}", signer) from None
            if kind == "InvalidSignature":
                raise _Refused(f"the signature does not verify with {signer} "
                               "(was the bundle edited?)", signer,
                               status=VerifyStatus.BAD_SIGNATURE) from None
            raise _Refused(f"certificate bundle refused: {_backend.one_line(exc)}",
                           signer) from None
    return payload_type, payload, signer, basis


def _verify_keyless(bundle: bytes, trust: Trust) -> tuple[str, bytes, str, str]:
    """Check a keyless bundle with sigstore-python; return its payload, the signer and the
    time it was checked at (Rekor's integrated time, or an RFC 3161 timestamp)."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.errors import VerificationError
    from sigstore.models import Bundle
    from sigstore.verify import Verifier

    try:
        parsed = Bundle.from_json(bundle)
    except Exception as exc:
        raise _Refused(f"the Sigstore bundle is malformed: {_backend.one_line(exc)}",
                       status=VerifyStatus.MALFORMED) from None
    # Keyless: only Fulcio's OIDC issuer extension counts, never the CA's name.
    identities, oidc_issuers, _ = certificate_identity(parsed.signing_certificate)
    # Until sigstore has checked the chain, the issuer is only what the certificate says.
    signer = describe_signer(identities, [f"{i}, unverified" for i in oidc_issuers])
    rules = [r for r in trust.identities if not r.bound]
    if not rules:
        raise _Refused(f"the bundle is signed keylessly by {signer}, but the policy lists "
                       "no signing.identities for keyless signers (issuer and identity)",
                       signer)

    class _NoIdentity(VerificationError):
        """The certificate meets no policy identity (told whole, never truncated)."""

    class _PolicyIdentities:
        """sigstore's VerificationPolicy: the certificate must meet a policy identity."""

        def verify(self, cert: Any) -> None:
            names, oidc, _ = certificate_identity(cert)
            claims = certchain.fulcio_claims(cert)
            reasons = [keyless_rule_problem(rule, names, oidc, claims) for rule in rules]
            if None in reasons:
                return
            told = [r for r in reasons if r]
            raise _NoIdentity(f"keyless signer {describe_signer(names, oidc)} matches no "
                              "signing.identities entry (identity and issuer"
                              + (f", and claims): {told[0]}" if told else ")"))

    verifier = Verifier(trusted_root=trusted_root(trust))
    try:
        payload_type, payload = verifier.verify_dsse(parsed, _PolicyIdentities())
    except ArchivistError:
        raise
    except _NoIdentity as exc:  # raised after the chain verified: the issuer is Fulcio's
        raise _Refused(str(exc), describe_signer(identities, oidc_issuers)) from None
    except SigstoreError as exc:
        raise _Refused(f"keyless signature by {signer} refused: {_backend.one_line(exc)}",
                       signer) from None
    except Exception as exc:
        raise _Refused(f"keyless signature by {signer} refused: {type(exc).__name__}: "
                       f"{_backend.one_line(exc)}", signer) from None
    verified = describe_signer(identities, oidc_issuers)
    return payload_type, payload, f"sigstore {verified}", _keyless_time(verifier, parsed)


def _keyless_time(verifier: Any, parsed: Any) -> str:
    """Which verified time sigstore checked the certificate chain at, for the report."""
    times = _backend.verified_times(verifier, parsed)  # the ones verify_dsse checked at
    for source, label in (("timestamp-authority", "RFC 3161 timestamp"),
                          ("transparency-log", "Rekor integrated time")):
        for kind, when in times:
            if kind == source:
                return f"signed at {when:%Y-%m-%d %H:%M:%S} UTC ({label})"
    return "signed at a time sigstore verified"
