"""Every private part of model-signing and sigstore-python that archivist relies on.

Checked against model-signing 1.1.1 and sigstore 4.5.1: an upgrade is this one file to
read again (and the signing tests to run). Nothing else in archivist imports an
underscore name or a non-public module of either library; the public ones
(``model_signing.manifest``, ``sigstore.models``, ``sigstore.verify``, ``sigstore.oidc``,
``sigstore.errors``, ``sigstore_models``) are used where they are needed.

What is used, and why:

- ``model_signing._hashing.hashing.Digest``: the digest of a manifest item (archivist
  hashes the bytes itself, from the DVC cache, and builds the manifest from the digests).
- ``model_signing._signing.signing``: ``Payload`` (the in-toto statement of a manifest),
  ``dsse_payload_to_manifest`` (the manifest of a verified statement),
  ``_IN_TOTO_JSON_PAYLOAD_TYPE`` and ``_IN_TOTO_STATEMENT_TYPE``. Its ``Payload`` has no
  way to add predicate fields, so the statement is rebuilt with them.
- ``model_signing._signing.sign_ec_key``: ``Signer``; ``Verifier._verify_signed_content``
  (the payload of a verified envelope, without model-signing's own file hashing, which
  would guess the hashing configuration and follow no DVC cache).
- ``model_signing._signing.sign_certificate``: ``Signer`` (built by hand, through its
  ``_private_key``, ``_signing_certificate`` and ``_trust_chain``, for a leaf issued
  straight by the root: 1.1.1 fails to parse an empty chain) and
  ``Verifier._verify_signed_content``.
- ``model_signing._signing.sign_sigstore``: ``Signer`` (keyless signing).
- ``model_signing._signing.sign_sigstore_pb``: ``Signature.read`` (a key or certificate
  bundle).
- ``sigstore._internal.tuf.DEFAULT_TUF_URL`` and ``sigstore._utils.read_embedded``: the
  production trusted root shipped in the wheel, read offline (no TUF refresh).
- ``sigstore._internal.timestamp.TimestampSource`` and ``Verifier._establish_time``: which
  verified time ``verify_dsse`` checked the certificate chain at (for the report only).

Besides, the two helpers every caller of the libraries needs: a private scratch folder
(model-signing reads and writes paths, not bytes) and an exception told in one line.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from archivist.errors import MissingDependency


def require() -> None:
    """MissingDependency unless model-signing (and with it sigstore) is installed."""
    try:
        import model_signing  # noqa: F401
    except ImportError:
        raise MissingDependency("model-signing", "signing") from None


@contextmanager
def scratch() -> Iterator[Path]:
    """A folder only this user can read, removed afterwards (keys are written there)."""
    with tempfile.TemporaryDirectory(prefix="archivist-sign-") as tmp:
        os.chmod(tmp, 0o700)
        yield Path(tmp)


def one_line(exc: BaseException) -> str:
    """A library's exception as one short line (they raise many types, with newlines)."""
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


# ------------------------------------------------------------------------------ payloads


def payload(model_name: str, digests: Mapping[str, str], serialization: Mapping[str, Any],
            key: str, extra: Mapping[str, Any]) -> Any:
    """model-signing's in-toto payload over ``digests`` (item -> sha256 hex), with
    ``extra`` added to the predicate under ``key``."""
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement
    from model_signing import manifest
    from model_signing._hashing import hashing
    from model_signing._signing import signing as ms_signing

    hash_type = str(serialization["hash_type"])
    items = [manifest.FileManifestItem(path=Path(item) if item != "." else Path("."),
                                       digest=hashing.Digest(hash_type, bytes.fromhex(hexd)))
             for item, hexd in digests.items()]
    signed = manifest.Manifest(model_name, items,
                               manifest.SerializationType.from_args(dict(serialization)))
    out = ms_signing.Payload(signed)
    pb = out.statement.pb
    predicate = json_format.MessageToDict(pb.predicate)
    predicate[key] = dict(extra)
    out.statement = statement.Statement(
        subjects=list(pb.subject), predicate_type=pb.predicate_type, predicate=predicate)
    return out


def in_toto_payload_type() -> str:
    """The DSSE payload type of an in-toto statement, as model-signing writes it."""
    from model_signing._signing import signing as ms_signing

    return str(ms_signing._IN_TOTO_JSON_PAYLOAD_TYPE)


def signed_manifest(statement: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """(item -> sha256 hex, serialization) of a verified statement; raises whatever
    model-signing's reader raises for a statement it does not understand."""
    from model_signing._signing import signing as ms_signing

    if statement.get("_type") != ms_signing._IN_TOTO_STATEMENT_TYPE:
        raise ValueError(f"statement type {statement.get('_type')!r}")
    manifest = ms_signing.dsse_payload_to_manifest(dict(statement))
    items = {str(rd.identifier): rd.digest.digest_hex for rd in manifest.resource_descriptors()}
    return items, dict(manifest.serialization_type)


# ------------------------------------------------------------------------------- signers


def key_signer(key: Path, password: bytes | None) -> Any:
    from model_signing._signing import sign_ec_key

    return sign_ec_key.Signer(key, password)


def certificate_signer(key: Path, leaf: Path, chain: list[Path]) -> Any:
    """model-signing's certificate signer, also for a leaf issued straight by the root.

    model-signing 1.1.1 parses the chain with ``load_pem_x509_certificates(b"")`` when no
    intermediate is given, which fails; an empty chain is legitimate.
    """
    from cryptography import x509
    from model_signing._signing import sign_certificate, sign_ec_key

    if chain:
        return sign_certificate.Signer(key, leaf, chain)
    signer = sign_certificate.Signer.__new__(sign_certificate.Signer)
    sign_ec_key.Signer.__init__(signer, key)
    signer._signing_certificate = x509.load_pem_x509_certificate(leaf.read_bytes())
    if signer._private_key.public_key() != signer._signing_certificate.public_key():
        raise ValueError(f"{leaf} does not certify the public key of {key}")
    signer._trust_chain = []
    return signer


def sigstore_signer(token: str | None, trust_config: Path | None) -> Any:
    """The keyless signer; with no token, model-signing runs the browser login."""
    from model_signing._signing import sign_sigstore

    return sign_sigstore.Signer(identity_token=token, use_ambient_credentials=False,
                                trust_config=trust_config)


# ------------------------------------------------------------------------------ verifiers


def read_signature(path: Path) -> Any:
    """A key or certificate bundle as model-signing's verifiers take it."""
    from model_signing._signing import sign_sigstore_pb

    return sign_sigstore_pb.Signature.read(path)


def verify_with_key(public_key: Path, signature: Any) -> tuple[str, bytes]:
    """(payload type, payload) of an envelope the key verifies; InvalidSignature if not."""
    from model_signing._signing import sign_ec_key

    return sign_ec_key.Verifier(public_key)._verify_signed_content(signature)  # type: ignore[no-any-return]


def verify_with_root(root: Path, signature: Any) -> tuple[str, bytes]:
    """(payload type, payload) of a certificate envelope whose chain ``root`` anchors."""
    from model_signing._signing import sign_certificate

    return sign_certificate.Verifier([root])._verify_signed_content(signature)  # type: ignore[no-any-return]


def production_trusted_root() -> Any:
    """The production trusted root sigstore-python ships, used offline (no TUF refresh)."""
    from sigstore._internal.tuf import DEFAULT_TUF_URL
    from sigstore._utils import read_embedded
    from sigstore.models import TrustedRoot
    from sigstore_models.trustroot import v1 as trustroot_v1

    return TrustedRoot(trustroot_v1.TrustedRoot.from_json(
        read_embedded("trusted_root.json", DEFAULT_TUF_URL)))


TimeSource = Literal["timestamp-authority", "transparency-log"]


def verified_times(verifier: Any, bundle: Any) -> list[tuple[TimeSource, dt.datetime]]:
    """The times sigstore's ``verifier`` establishes for ``bundle`` (and checked the chain
    at in ``verify_dsse``); empty when it cannot say."""
    from sigstore._internal.timestamp import TimestampSource

    try:
        times = verifier._establish_time(bundle)
    except Exception:  # verified already; this only words the report
        return []
    sources: dict[Any, TimeSource] = {
        TimestampSource.TIMESTAMP_AUTHORITY: "timestamp-authority",
        TimestampSource.TRANSPARENCY_SERVICE: "transparency-log"}
    return [(sources[t.source], t.time) for t in times if t.source in sources]
