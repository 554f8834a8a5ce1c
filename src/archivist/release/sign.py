"""Signing a release: the statement archivist signs, and the three ways to sign it.

The statement is model-signing's in-toto payload over the per-file sha256 digests
(``files`` serialization), with archivist's fields (tag, artifact, DVC version, and the
version's provenance) under ``predicate.archivist``, inside what the signature covers.
It is signed with a private key, a certificate chain, or keylessly through Sigstore
(an OIDC identity from the environment, CI's ambient credentials, or a browser login).
A signer's material is checked before anything is signed; failures are one ConfigError.
model-signing and sigstore are imported only when a release is signed.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archivist.errors import ArchivistError, ConfigError
from archivist.release import _backend, certchain
from archivist.release.hashing import SERIALIZATION
from archivist.release.names import PREDICATE_KEY

IDENTITY_TOKEN_ENV = "SIGSTORE_IDENTITY_TOKEN"
KEY_PASSWORD_ENV = "ARCHIVIST_KEY_PASSWORD"


def payload(model_name: str, digests: Mapping[str, str], extra: Mapping[str, Any]) -> Any:
    """The in-toto payload archivist signs: model-signing's over ``digests`` (item ->
    sha256 hex), with ``extra`` as ``predicate.archivist`` (v1.0 verifiers ignore it)."""
    return _backend.payload(model_name, digests, SERIALIZATION, PREDICATE_KEY, extra)


@dataclass(frozen=True)
class SigningRequest:
    """How to sign: the method and its material (paths on the signer's machine)."""

    method: str  # key | certificate | sigstore
    key: Path | None = None
    cert_chain: tuple[Path, ...] = ()  # signing certificate first, then intermediates
    trust_config: bytes | None = None  # ClientTrustConfig JSON (sigstore); None: production
    interactive: bool = False


def _identity_token(interactive: bool) -> str | None:
    """An OIDC token from the environment or the CI's ambient credentials, else None."""
    token = os.environ.get(IDENTITY_TOKEN_ENV, "").strip()
    if token:
        return token
    from sigstore.oidc import IdentityError, detect_credential

    try:
        ambient = detect_credential()
    except IdentityError as exc:
        raise ConfigError(f"ambient OIDC credentials failed: {exc}",
                          "in GitHub Actions grant `permissions: id-token: write`") from None
    if ambient:
        return ambient
    if not interactive:
        raise ConfigError("keyless signing needs an OIDC identity, and none was found",
                          f"run in CI with OIDC enabled, set {IDENTITY_TOKEN_ENV}, or run "
                          "on a terminal to log in")
    return None  # model-signing runs the browser login


def sign_bundle(request: SigningRequest, model_name: str, digests: Mapping[str, str],
                extra: Mapping[str, Any]) -> bytes:
    """A Sigstore bundle (JSON bytes) over ``digests``; ConfigError when signing fails."""
    _backend.require()
    signed = payload(model_name, digests, extra)
    try:
        with _backend.scratch() as tmp:
            signer = _signer(request, tmp)
            signature = signer.sign(signed)
            out = tmp / "bundle.sig"
            signature.write(out)
            return out.read_bytes()
    except ArchivistError:
        raise
    except Exception as exc:  # the libraries raise many types; the user needs one line
        raise ConfigError(f"signing with method {request.method!r} failed: "
                          f"{type(exc).__name__}: {_backend.one_line(exc)}") from None


def _signer(request: SigningRequest, tmp: Path) -> Any:
    if request.method in ("key", "certificate"):
        if request.key is None:
            raise ConfigError(f"method {request.method!r} needs --key PEM")
        if not request.key.is_file():
            raise ConfigError(f"--key {request.key}: no such file")
        password = os.environ.get(KEY_PASSWORD_ENV)
        if request.method == "key":
            return _with_key_errors(lambda: _backend.key_signer(
                request.key, password.encode() if password else None), request.key)
        if not request.cert_chain:
            raise ConfigError("method 'certificate' needs --cert-chain LEAF.pem [CA.pem ...]")
        for cert in request.cert_chain:
            if not cert.is_file():
                raise ConfigError(f"--cert-chain {cert}: no such file")
        _check_leaf_now(request.cert_chain[0])
        # model-signing's Signer takes no password for this method: decrypt to scratch.
        key = request.key
        if password:
            key = _decrypted_key(request.key, password, tmp)
        return _with_key_errors(lambda: _backend.certificate_signer(
            key, request.cert_chain[0], list(request.cert_chain[1:])), request.key)
    if request.method == "sigstore":
        trust_path = None
        if request.trust_config is not None:
            trust_path = tmp / "trust_config.json"
            trust_path.write_bytes(request.trust_config)
        token = _identity_token(request.interactive)
        return _backend.sigstore_signer(token, trust_path)
    raise ConfigError(f"unknown signing method {request.method!r}",
                      "use sigstore, key or certificate")


def _with_key_errors(build: Any, key: Path) -> Any:
    try:
        return build()
    except TypeError as exc:
        if "encrypted" in str(exc).lower() or "password" in str(exc).lower():
            raise ConfigError(f"{key} is encrypted", f"set {KEY_PASSWORD_ENV}") from None
        raise
    except ValueError as exc:
        raise ConfigError(f"{key}: cannot use this key: {_backend.one_line(exc)}",
                          "give an EC private key (P-256, P-384 or P-521) in PEM") from None


def _decrypted_key(key: Path, password: str, tmp: Path) -> Path:
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(key.read_bytes(), password.encode())
    out = tmp / "key.pem"
    out.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    os.chmod(out, 0o600)
    return out


def _check_leaf_now(cert_path: Path) -> None:
    """Refuse, before signing, a certificate that may not sign releases or is not valid
    now (ConfigError: the signer's material is wrong)."""
    from cryptography import x509

    try:
        leaf = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        raise ConfigError(f"{cert_path}: not a PEM certificate") from None
    try:
        problem = certchain.leaf_problem(leaf)
    except ValueError as exc:  # an extension cryptography cannot parse
        problem = f"its extensions cannot be read: {_backend.one_line(exc)}"
    if problem:
        raise ConfigError(f"{cert_path}: this certificate may not sign releases: {problem}",
                          "use a code-signing certificate (extended key usage codeSigning, "
                          "key usage digitalSignature, the identity in its SAN)")
    now = dt.datetime.now(dt.UTC)
    if not certchain.valid_at(leaf, now):
        raise ConfigError(f"{cert_path}: the signing certificate is valid from "
                          f"{leaf.not_valid_before_utc:%Y-%m-%d} to "
                          f"{leaf.not_valid_after_utc:%Y-%m-%d}, not now",
                          "renew the certificate")
