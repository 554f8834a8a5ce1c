"""Signing and verifying releases: OpenSSF model signing over the bytes DVC stores.

A release signature is a Sigstore bundle holding a DSSE envelope over an in-toto statement
of per-file sha256 digests (model-signing's format, ``files`` serialization), signed with a
private key, a certificate chain, or keylessly through Sigstore. archivist hashes the bytes
itself, straight from the DVC cache (no checkout, links never followed into a copy), builds
the same manifest model-signing would, and lets model-signing and sigstore-python sign and
check the envelope. Verification always uses that one explicit hashing configuration: never
model-signing's guess from the bundle.

model_signing, sigstore and OpenSSL are imported inside the functions that need them, so
``archivist check`` never loads them.

Public API for other commands: ``list_release_tags``, ``verify_tag``, ``verify_files``.
"""

from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from archivist import dvccache, gitrepo
from archivist.dvccache import ContentFile
from archivist.dvcfiles import Version
from archivist.errors import (
    ArchivistError,
    ConfigError,
    GitError,
    IntegrityError,
    MissingDependency,
)
from archivist.policy import Identity, Policy
from archivist.release import certchain
from archivist.release import names as release_names
from archivist.release.names import VerifyStatus

CHUNK = 4 * 1024 * 1024
HASH_TYPE = "sha256"
# The one hashing configuration archivist signs with and verifies against.
SERIALIZATION: dict[str, Any] = {"method": "files", "hash_type": HASH_TYPE,
                                 "allow_symlinks": False}
IDENTITY_TOKEN_ENV = "SIGSTORE_IDENTITY_TOKEN"
KEY_PASSWORD_ENV = "ARCHIVIST_KEY_PASSWORD"


# ------------------------------------------------------------------------------- hashing


@dataclass(frozen=True)
class FileDigests:
    sha256: str
    md5: str | None = None


Progress = Callable[[int], None]


def _hash_one(path: Path, want_md5: bool, progress: Progress | None = None) -> FileDigests:
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False) if want_md5 else None
    with open(path, "rb") as handle:
        if md5 is None:
            while chunk := handle.read(CHUNK):
                sha.update(chunk)  # hashlib drops the GIL on large buffers: threads scale
                if progress:
                    progress(len(chunk))
            return FileDigests(sha.hexdigest())
        # Two digests of one file: md5 on a helper thread while sha256 runs here.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as helper:
            while chunk := handle.read(CHUNK):
                pending = helper.submit(md5.update, chunk)
                sha.update(chunk)
                pending.result()
                if progress:
                    progress(len(chunk))
    return FileDigests(sha.hexdigest(), md5.hexdigest())


def dos2unix_md5(path: Path) -> str:
    """DVC 2's md5 of a text file: computed with CRLF turned into LF."""
    md5 = hashlib.md5(usedforsecurity=False)
    carry = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            chunk = carry + chunk
            carry = b"\r" if chunk.endswith(b"\r") else b""
            if carry:
                chunk = chunk[:-1]
            md5.update(chunk.replace(b"\r\n", b"\n"))
    md5.update(carry)
    return md5.hexdigest()


def hash_files(files: Sequence[ContentFile], *, md5: bool = False,
               workers: int | None = None, progress: Progress | None = None,
               ) -> dict[str, FileDigests]:
    """``item -> digests`` for every file, hashed in parallel threads (one read per file).

    ``progress`` is called with each chunk's size (from worker threads).
    """
    if len(files) == 1:
        return {files[0].item: _hash_one(files[0].path, md5, progress)}
    workers = workers or min(32, (os.cpu_count() or 1) + 2)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {f.item: pool.submit(_hash_one, f.path, md5, progress) for f in files}
        return {item: fut.result() for item, fut in futures.items()}


def files_at(path: Path) -> list[ContentFile]:
    """A file or folder on disk as manifest items (``.`` for a file; relpaths for a folder)."""
    if path.is_file():
        return [ContentFile(release_names.SINGLE_FILE_ITEM, path, "")]
    if not path.is_dir():
        raise ConfigError(f"{path}: no such file or folder")
    return [ContentFile(p.relative_to(path).as_posix(), p, "")
            for p in sorted(path.rglob("*")) if p.is_file()]


# ------------------------------------------------------------------------------- trust


@dataclass(frozen=True)
class Trust:
    """What the policy trusts, with the bytes of its key and certificate files."""

    public_keys: tuple[tuple[str, bytes], ...] = ()
    roots: tuple[tuple[str, bytes], ...] = ()
    identities: tuple[Identity, ...] = ()
    trust_config: tuple[str, bytes] | None = None


def governed_rev(root: Path, policy: Policy | None) -> str:
    """The commit at the head of the policy's governed branch (local, else origin's).

    Never HEAD in its place: in a CI checkout of a merge request that lacks the governed
    branch, HEAD is the request, and its policy would choose its own keys. A policy that
    names no branch governs the branch HEAD is on (a detached HEAD governs nothing).
    Raises ConfigError, saying to fetch the branch or pass ``--policy-ref``.
    """
    branch = policy.branch if policy is not None and policy.branch else None
    if branch is None:
        branch = gitrepo.current_branch(root)
        if branch is None:
            raise ConfigError("the policy names no governed branch (branch:) and HEAD is "
                              "detached: no policy to verify with",
                              "pass --policy-ref origin/main (the base branch), or set "
                              "branch: in archivist.yaml")
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        try:
            return gitrepo.resolve_commit(root, ref)
        except GitError:
            continue
    raise ConfigError(f"the governed branch {branch!r} is not in this clone, so there is no "
                      "reviewed policy to verify with (the checked-out one cannot vouch for "
                      "itself)", f"git fetch origin {branch}, or pass --policy-ref "
                      f"origin/{branch}")


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
    rev = rev or governed_rev(root, policy)
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


# ------------------------------------------------------------------------------- signing


@contextmanager
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="archivist-sign-") as tmp:
        os.chmod(tmp, 0o700)
        yield Path(tmp)


def _require_signing_libs() -> None:
    try:
        import model_signing  # noqa: F401
    except ImportError:
        raise MissingDependency("model-signing", "signing") from None


def _manifest(model_name: str, digests: Mapping[str, str]) -> Any:
    from model_signing import manifest
    from model_signing._hashing import hashing

    items = [manifest.FileManifestItem(path=Path(item) if item != "." else Path("."),
                                       digest=hashing.Digest(HASH_TYPE, bytes.fromhex(hexd)))
             for item, hexd in digests.items()]
    serialization = manifest.SerializationType.from_args(SERIALIZATION)
    return manifest.Manifest(model_name, items, serialization)


def _payload(model_name: str, digests: Mapping[str, str], extra: Mapping[str, Any]) -> Any:
    """model-signing's in-toto payload, with archivist's fields added to the predicate."""
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement
    from model_signing._signing import signing as ms_signing

    payload = ms_signing.Payload(_manifest(model_name, digests))
    pb = payload.statement.pb
    predicate = json_format.MessageToDict(pb.predicate)
    predicate[release_names.PREDICATE_KEY] = dict(extra)
    payload.statement = statement.Statement(
        subjects=list(pb.subject), predicate_type=pb.predicate_type, predicate=predicate)
    return payload


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
    _require_signing_libs()
    payload = _payload(model_name, digests, extra)
    try:
        with _scratch() as tmp:
            signer = _signer(request, tmp)
            signature = signer.sign(payload)
            out = tmp / "bundle.sig"
            signature.write(out)
            return out.read_bytes()
    except ArchivistError:
        raise
    except Exception as exc:  # the libraries raise many types; the user needs one line
        raise ConfigError(f"signing with method {request.method!r} failed: "
                          f"{type(exc).__name__}: {_one_line(exc)}") from None


def _signer(request: SigningRequest, tmp: Path) -> Any:
    if request.method in ("key", "certificate"):
        if request.key is None:
            raise ConfigError(f"method {request.method!r} needs --key PEM")
        if not request.key.is_file():
            raise ConfigError(f"--key {request.key}: no such file")
        password = os.environ.get(KEY_PASSWORD_ENV)
        if request.method == "key":
            from model_signing._signing import sign_ec_key

            return _with_key_errors(lambda: sign_ec_key.Signer(
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
        return _with_key_errors(lambda: _certificate_signer(
            key, request.cert_chain[0], list(request.cert_chain[1:])), request.key)
    if request.method == "sigstore":
        from model_signing._signing import sign_sigstore

        trust_path = None
        if request.trust_config is not None:
            trust_path = tmp / "trust_config.json"
            trust_path.write_bytes(request.trust_config)
        token = _identity_token(request.interactive)
        return sign_sigstore.Signer(identity_token=token, use_ambient_credentials=False,
                                    trust_config=trust_path)
    raise ConfigError(f"unknown signing method {request.method!r}",
                      "use sigstore, key or certificate")


def _certificate_signer(key: Path, leaf: Path, chain: Sequence[Path]) -> Any:
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


def _with_key_errors(build: Any, key: Path) -> Any:
    try:
        return build()
    except TypeError as exc:
        if "encrypted" in str(exc).lower() or "password" in str(exc).lower():
            raise ConfigError(f"{key} is encrypted", f"set {KEY_PASSWORD_ENV}") from None
        raise
    except ValueError as exc:
        raise ConfigError(f"{key}: cannot use this key: {_one_line(exc)}",
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


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


# ------------------------------------------------------------------------------- checking


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
        return malformed(f"not JSON: {_one_line(exc)}")
    if not isinstance(data, dict):
        return malformed("not a JSON object")
    method = bundle_method(data)
    if method == "unknown":
        return malformed("it holds no public key hint, certificate chain or Sigstore "
                         "certificate (exactly one): not a model-signing bundle")
    shape = _shape_problem(data, method)
    if shape is not None:
        return malformed(shape, method)
    _require_signing_libs()
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
        return malformed(f"{type(exc).__name__}: {_one_line(exc)}", method)
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
    from model_signing._signing import signing as ms_signing

    def malformed(why: str) -> BundleCheck:
        return BundleCheck(method, signer, problems=(why,), status=VerifyStatus.MALFORMED)

    if payload_type != ms_signing._IN_TOTO_JSON_PAYLOAD_TYPE:
        return malformed(f"the signed payload is {payload_type!r}, not an in-toto statement")
    try:
        statement = json.loads(payload)
        if not isinstance(statement, dict):
            raise ValueError("not a JSON object")
        if statement.get("_type") != ms_signing._IN_TOTO_STATEMENT_TYPE:
            raise ValueError(f"statement type {statement.get('_type')!r}")
        signed_manifest = ms_signing.dsse_payload_to_manifest(statement)
        serialization = dict(signed_manifest.serialization_type)
        items = {str(rd.identifier): rd.digest.digest_hex
                 for rd in signed_manifest.resource_descriptors()}
        subject = statement["subject"][0]["digest"]["sha256"]
        if not isinstance(subject, str):
            raise ValueError("the subject digest is not text")
        predicate = statement.get("predicate")
        extra = predicate.get(release_names.PREDICATE_KEY) if isinstance(predicate, dict) else None
    except Exception as exc:  # model-signing's reader raises whatever the shape provokes
        return malformed("the signed statement is not a model-signing manifest: "
                         f"{type(exc).__name__}: {_one_line(exc)}")
    if serialization.get("method") != "files" or serialization.get("hash_type") != HASH_TYPE:
        # Verifying with a guessed configuration is how sharded signatures break: refuse.
        return malformed(f"the bundle was made with hashing {serialization}, not the "
                         "files/sha256 configuration archivist signs and verifies with")
    return BundleCheck(method, signer, items=items, digest=f"sha256:{subject}",
                       extra=extra if isinstance(extra, dict) else {})


def _pb_signature(bundle: bytes, tmp: Path) -> Any:
    from model_signing._signing import sign_sigstore_pb

    path = tmp / "bundle.sig"
    path.write_bytes(bundle)
    try:
        return sign_sigstore_pb.Signature.read(path)
    except Exception as exc:
        raise _Refused(f"the bundle cannot be read: {_one_line(exc)}",
                       status=VerifyStatus.MALFORMED) from None


def _verify_key(bundle: bytes, data: Mapping[str, Any], trust: Trust,
                ) -> tuple[str, bytes, str, str]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from model_signing._signing import sign_ec_key

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
    with _scratch() as tmp:
        signature = _pb_signature(bundle, tmp)
        failures = []
        for path, spki in candidates:
            key_file = tmp / "key.pub"
            key_file.write_bytes(spki)
            signer = f"key {release_names.key_fingerprint(spki)} ({path})"
            try:
                payload_type, payload = sign_ec_key.Verifier(key_file)._verify_signed_content(
                    signature)
                return payload_type, payload, signer, ""  # a key has no validity period
            except InvalidSignature:
                failures.append(f"the signature does not verify with {path}")
            except (ValueError, KeyError) as exc:
                failures.append(f"{path}: {_one_line(exc)}")
    raise _Refused("; ".join(failures) + " (was the bundle edited?)", named)


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
        if _keyless_rule_problem(rule, identities, issuers, claims or {}) is None:
            return rule
    return None


def _keyless_rule_problem(rule: Identity, identities: Sequence[str], issuers: Sequence[str],
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


def _describe(identities: Sequence[str], issuers: Sequence[str]) -> str:
    who = identities[0] if identities else "an unnamed signer"
    return f"{who} (issuer {issuers[0]})" if issuers else who


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
        problem = f"its extensions cannot be read: {_one_line(exc)}"
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


def _anchors(trust: Trust) -> list[certchain.Anchor]:
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


def _certificate_rules(trust: Trust, anchors: Sequence[certchain.Anchor],
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
    from model_signing._signing import sign_certificate

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
    anchors = _anchors(trust)
    names = certchain.ca_names(leaf)
    candidates = [(rule, allowed) for rule, allowed in _certificate_rules(trust, anchors)
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
    with _scratch() as tmp:
        root_file = tmp / "root.pem"
        from cryptography.hazmat.primitives import serialization

        root_file.write_bytes(anchor.cert.public_bytes(serialization.Encoding.PEM))
        signature = _pb_signature(bundle, tmp)
        verifier = sign_certificate.Verifier([root_file])
        try:
            payload_type, payload = verifier._verify_signed_content(signature)
        except Exception as exc:
            kind = type(exc).__name__
            if kind == "X509StoreContextError":
                raise _Refused(f"{signer} does not chain to {anchor.source} (model-signing's "
                               f"check): {_one_line(exc)}", signer) from None
            if kind == "InvalidSignature":
                raise _Refused(f"the signature does not verify with {signer} "
                               "(was the bundle edited?)", signer,
                               status=VerifyStatus.BAD_SIGNATURE) from None
            raise _Refused(f"certificate bundle refused: {_one_line(exc)}", signer) from None
    return payload_type, payload, signer, basis


def production_trusted_root() -> Any:
    """The production trusted root sigstore-python ships, used offline (no TUF refresh)."""
    from sigstore._internal.tuf import DEFAULT_TUF_URL
    from sigstore._utils import read_embedded
    from sigstore.models import TrustedRoot
    from sigstore_models.trustroot import v1 as trustroot_v1

    return TrustedRoot(trustroot_v1.TrustedRoot.from_json(
        read_embedded("trusted_root.json", DEFAULT_TUF_URL)))


def trusted_root(trust: Trust) -> Any:
    """The trusted root to verify keyless bundles with: the policy's pinned one, else prod."""
    if trust.trust_config is None:
        return production_trusted_root()
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
                          f"or trusted root: {_one_line(exc)}") from None


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
        raise _Refused(f"the Sigstore bundle is malformed: {_one_line(exc)}",
                       status=VerifyStatus.MALFORMED) from None
    # Keyless: only Fulcio's OIDC issuer extension counts, never the CA's name.
    identities, oidc_issuers, _ = certificate_identity(parsed.signing_certificate)
    # Until sigstore has checked the chain, the issuer is only what the certificate says.
    signer = _describe(identities, [f"{i}, unverified" for i in oidc_issuers])
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
            reasons = [_keyless_rule_problem(rule, names, oidc, claims) for rule in rules]
            if None in reasons:
                return
            told = [r for r in reasons if r]
            raise _NoIdentity(f"keyless signer {_describe(names, oidc)} matches no "
                              "signing.identities entry (identity and issuer"
                              + (f", and claims): {told[0]}" if told else ")"))

    verifier = Verifier(trusted_root=trusted_root(trust))
    try:
        payload_type, payload = verifier.verify_dsse(parsed, _PolicyIdentities())
    except ArchivistError:
        raise
    except _NoIdentity as exc:  # raised after the chain verified: the issuer is Fulcio's
        raise _Refused(str(exc), _describe(identities, oidc_issuers)) from None
    except SigstoreError as exc:
        raise _Refused(f"keyless signature by {signer} refused: {_one_line(exc)}",
                       signer) from None
    except Exception as exc:
        raise _Refused(f"keyless signature by {signer} refused: {type(exc).__name__}: "
                       f"{_one_line(exc)}", signer) from None
    verified = _describe(identities, oidc_issuers)
    return payload_type, payload, f"sigstore {verified}", _keyless_time(verifier, parsed)


def _keyless_time(verifier: Any, parsed: Any) -> str:
    """Which verified time sigstore checked the certificate chain at, for the report."""
    from sigstore._internal.timestamp import TimestampSource

    try:  # the same times verify_dsse just established and checked the chain at
        times = verifier._establish_time(parsed)
    except Exception:  # verified already; this only words the report
        times = []
    for source, label in ((TimestampSource.TIMESTAMP_AUTHORITY, "RFC 3161 timestamp"),
                          (TimestampSource.TRANSPARENCY_SERVICE, "Rekor integrated time")):
        for stamp in times:
            if stamp.source == source:
                return f"signed at {stamp.time:%Y-%m-%d %H:%M:%S} UTC ({label})"
    return "signed at a time sigstore verified"


# ------------------------------------------------------------------------------- public API


def verify_files(root: Path, policy: Policy, bundle: bytes, files: Path) -> list[str]:
    """Problems with ``bundle`` over the file or folder ``files``; empty when it verifies.

    The bundle must be signed by a key, certificate root or identity the policy (read from
    the governed branch) trusts, and every file's sha256 must match the signed manifest.
    """
    check = check_bundle(bundle, load_trust(root, policy))
    if not check.ok:
        return list(check.problems)
    actual = {item: d.sha256 for item, d in hash_files(files_at(files)).items()}
    return release_names.manifest_problems(str(files), check.items, actual)


@dataclass(frozen=True)
class VerifyOutcome:
    """The verdict on one release tag; ``status`` is what callers branch on."""

    ok: bool
    tag: str
    artifact: str | None  # output path
    version: str | None  # md5:<hex>
    digest: str | None  # sha256:<hex> subject digest
    signer: str | None
    problems: list[str]
    method: str | None = None
    commit: str | None = None
    source: str | None = None  # where the bytes were read: "cache", "remote storage"...
    status: VerifyStatus = VerifyStatus.OK  # the first problem's kind; ok/legacy pass
    signed_time: str | None = None  # which time the signer's certificate was checked at


def list_release_tags(root: Path) -> list[str]:
    """Every ``NAME@vX.Y.Z`` tag in the repository, sorted."""
    out = gitrepo.git(["for-each-ref", "--format=%(refname)", "refs/tags/"], root)
    tags = [line.removeprefix("refs/tags/") for line in out.splitlines()]
    return sorted(t for t in tags if release_names.parse_release_tag(t) is not None)


@dataclass(frozen=True)
class TagInfo:
    name: str
    annotated: bool
    commit: str
    message: str
    tagger_date: dt.datetime | None = None  # annotated tags only


def read_tag(root: Path, tag: str) -> TagInfo | None:
    """The tag and the commit it names; None when absent or when it names no commit (a tag
    of a blob, a tree or another tag is no release, and no git command gets to choke on
    it)."""
    out = gitrepo.git(["for-each-ref", "--format=%(objecttype)%00%(*objecttype)%00"
                       "%(*objectname)%00%(objectname)%00%(taggerdate:iso-strict)%00"
                       "%(contents)", f"refs/tags/{tag}"], root)
    if not out.strip():
        return None
    kind, peeled_kind, peeled, target, when, message = (
        [*out.split("\x00", 5), "", "", "", "", ""])[:6]
    annotated = kind == "tag"
    if (peeled_kind if annotated else kind) != "commit":
        return None
    try:
        tagger_date = dt.datetime.fromisoformat(when) if annotated and when else None
    except ValueError:
        tagger_date = None
    return TagInfo(tag, annotated, peeled if annotated else target, message, tagger_date)


def _commit_time(root: Path, commit: str) -> dt.datetime:
    return dt.datetime.fromisoformat(
        gitrepo.git(["log", "-1", "--format=%cI", commit, "--"], root).strip())


def _adding_commit(root: Path, commit: str, path: str) -> str | None:
    out = gitrepo.git(["log", "-1", "--format=%H", "--diff-filter=A", commit, "--", path],
                      root).strip()
    return out or None


@functools.lru_cache(maxsize=8)
def first_parents(root: Path, head: str) -> frozenset[str]:
    """The governed branch's record: ``head`` and its first parents (one rev-list a run)."""
    return frozenset(gitrepo.git(["rev-list", "--first-parent", head, "--"], root).split())


def _trailer_values(root: Path, commit: str, key: str) -> list[str]:
    out = gitrepo.git(["log", "-1", f"--format=%(trailers:key={key},valueonly,unfold)",
                       commit, "--"], root)
    return [line.strip() for line in out.splitlines() if line.strip()]


def release_commit_problem(root: Path, tag: str, commit: str, bundle: str,
                           governed: str) -> str | None:
    """Why ``commit`` is not the ledger's release commit of ``tag``, None when it is.

    The release commit added ``bundle``, carries ``Archivist-Event: release`` and
    ``Archivist-Tag: TAG``, and lies on the first-parent history of ``governed`` (the
    governed branch's head). A tag force-moved onto a cherry-pick of it (same trailers,
    same bundle, another tree) fails the last test.
    """
    adder = _adding_commit(root, commit, bundle)
    if adder != commit:
        return (f"points to commit {commit[:10]}, but the release commit that added {bundle} "
                f"is {(adder or '?')[:10]} (was the tag moved?)")
    if _trailer_values(root, commit, "Archivist-Event") != ["release"] \
            or tag not in _trailer_values(root, commit, release_names.TRAILER_TAG):
        return (f"commit {commit[:10]} is not a release commit of {tag} (no Archivist-Event: "
                "release trailer naming it; was the tag moved?)")
    if commit not in first_parents(root, governed):
        return (f"commit {commit[:10]} is not on the governed branch's first-parent history "
                f"(head {governed[:10]}): was the tag moved onto a copy of the release?")
    return None


def remote_order(policy: Policy) -> list[str | None]:
    """Remotes to read a version from: the active one (DVC's default when unset), archive."""
    order: list[str | None] = [policy.remotes.active]
    if policy.remotes.archive and policy.remotes.archive != policy.remotes.active:
        order.append(policy.remotes.archive)
    return order


def version_content(root: Path, version: Version, policy: Policy, *, fetch: bool = True,
                    ) -> tuple[list[ContentFile], str]:
    """The version's files (cache first, then the active, then the archive remote; with
    ``fetch=False`` the cache alone, ConfigError when it lacks any).

    A folder's ``.dir`` is believed only when its bytes hash to the md5 DVC records: a
    copy that does not (rewritten on a remote, or in the cache) is removed from the cache,
    as DVC removes a corrupted cache file, and the next source is tried; IntegrityError
    when none holds the right one. Each file's md5 is its object's name: the caller hashes
    the bytes against it.
    """
    from archivist.remotes import MissingCredentials

    rewritten: list[str] = []

    def missing_now(where: str) -> list[str]:
        try:
            return dvccache.missing_objects(root, version)
        except IntegrityError:
            rewritten.append(where)
            dvccache.discard(root, version.digest, version.algorithm)
            return [version.digest]

    missing = missing_now("the DVC cache")
    if not missing:
        return dvccache.cached_files(root, version), "cache"
    if not fetch:
        raise ConfigError(f"{version.label}: {len(missing)} object(s) are not in the DVC "
                          "cache, and remotes were not read", "run archivist verify to fetch "
                          "and check them")
    tried = []
    for remote in remote_order(policy):
        name = remote or "the default remote"
        tried.append(name)
        for _ in range(2):  # a folder's .dir first, then the files it lists
            try:
                dvccache.fetch(root, version, missing, remote)
            except MissingCredentials:
                raise  # no credentials here: a setup error for the whole run, not this tag
            except ConfigError:
                break
            before = len(rewritten)
            missing = missing_now(name)
            if len(rewritten) > before:
                break
            if not missing:
                return dvccache.cached_files(root, version), f"remote {remote or 'default'}"
    if rewritten:
        raise IntegrityError(f"{version.label}: the .dir manifest in {' and '.join(rewritten)} "
                             "does not hash to its name (rewritten or damaged), and no source "
                             "holds the listing DVC recorded", "re-push it from a clone whose "
                             "cache holds the right one; do not dvc pull it")
    raise ConfigError(f"{version.label}: {len(missing)} object(s) are in neither the DVC "
                      f"cache nor {' nor '.join(tried)}", "check the remotes (dvc status -c)")


def name_problems(root: Path, artifact: str, version: Version, files: Sequence[ContentFile],
                  digests: Mapping[str, FileDigests]) -> list[str]:
    """One line per file whose bytes do not hash to the object name they were read under.

    A poisoned object is removed from the cache (its bytes are provably not the object),
    so no later ``dvc checkout`` delivers it.
    """
    problems = []
    for f in files:
        got = digests[f.item].md5
        if got == f.md5 or (version.algorithm == "md5-dos2unix"
                            and dos2unix_md5(f.path) == f.md5):
            continue
        problems.append(f"{release_names.display_item(artifact, f.item)}: the bytes stored as md5 "
                        f"{f.md5} hash to md5 {got} (object replaced in the cache or a remote)")
        dvccache.discard(root, f.md5, version.algorithm)
    return problems


def verify_tag(root: Path, tag: str, policy: Policy, *,
               policy_rev: str | None = None, fetch: bool = True) -> VerifyOutcome:
    """Verify one release tag against ``policy`` (the governed branch's, never the tag's).

    Reads the tag's message, the bundle and the DVC files from the tagged commit, the
    version's bytes from the cache or the remotes (each object hashed against its name),
    and checks that the tagged commit is the governed branch's release commit, the
    signature and signer, and every file's digest. Key and certificate files named by the
    policy are read from ``policy_rev`` (default: the governed branch's head), which is
    also the branch the release commit must be on. With ``fetch=False`` no remote is read:
    bytes the cache lacks give ``CONTENT_MISSING`` (everything else is still checked).
    Per-tag failures are problems (and a status) in the outcome; a policy that cannot be
    used raises ConfigError.
    """
    if release_names.parse_release_tag(tag) is None:
        return _Verdict(tag).fail(VerifyStatus.NOT_A_RELEASE,
                                  f"{tag}: not a release tag (NAME@vX.Y.Z)")
    info = read_tag(root, tag)
    if info is None:
        return _Verdict(tag).fail(VerifyStatus.NOT_A_RELEASE,
                                  f"{tag}: no such tag, or it names no commit")
    record = release_names.parse_tag_message(tag, info.message) if info.annotated else None
    verdict = _Verdict(tag, commit=info.commit)
    governed = policy_rev or governed_rev(root, policy)
    if record is None:
        adoption = find_adoption(root, tag, governed)
        if adoption is not None:
            commit, adopted = adoption
            return verify_record(root, tag, adopted, info.commit, policy, policy_rev=governed,
                                 governed=governed, verdict=verdict, bundle_commit=commit,
                                 fetch=fetch)
        if _legacy(root, policy, info, governed):
            return verdict.done(VerifyStatus.LEGACY)
        return verdict.fail(VerifyStatus.UNSIGNED, f"{tag}: not an archivist release (no "
                            "annotated tag message with the artifact, version, digest and "
                            "bundle, and no adoption on the governed branch)")
    return verify_record(root, tag, record, info.commit, policy, policy_rev=governed,
                         governed=governed, verdict=verdict, fetch=fetch)


TRAILER_ADOPTED = "Archivist-Adopted"  # the commit an existing GTO tag registered


def find_adoption(root: Path, tag: str, governed: str,
                  ) -> tuple[str, release_names.ReleaseRecord] | None:
    """The commit of the governed branch that signed the existing GTO tag ``tag`` in place
    (``release --adopt``) and the record it made, None when there is none.

    It is the first-parent commit that added the tag's bundle path with the release
    trailers and ``Archivist-Adopted``; its event file holds the record.
    """
    from archivist import ledger

    parsed = release_names.parse_release_tag(tag)
    if parsed is None:
        return None
    bundle = release_names.bundle_path(*parsed)
    added = gitrepo.git(["log", "--first-parent", "--diff-filter=A", "--format=%H", governed,
                         "--", bundle], root).split()
    if not added:
        return None
    commit = added[-1]
    if not _trailer_values(root, commit, TRAILER_ADOPTED) \
            or tag not in _trailer_values(root, commit, release_names.TRAILER_TAG):
        return None
    events = gitrepo.git(["diff-tree", "--no-commit-id", "--name-only", "-r",
                          "--diff-filter=A", commit, "--", ledger.EVENTS_DIR], root).split()
    try:
        entry = ledger.read_event_file(root, commit, events[0])["entries"][0]
        record = release_names.ReleaseRecord(
            name=parsed[0], version=parsed[1], artifact=str(entry["artifact"]),
            label=str(entry["version"]), digest=str(entry["digest"]), bundle=bundle,
            signer=str(entry.get("signer", "")), method=str(entry.get("method", "")))
    except (IndexError, KeyError, TypeError, ValueError, ArchivistError):
        return None
    return commit, record


@functools.lru_cache(maxsize=8)
def _since_commit(root: Path, governed: str) -> str | None:
    """The first commit of the governed branch whose policy sets ``signing.since``."""
    from archivist.policy import POLICY_FILE, parse_policy

    commits = gitrepo.git(["log", "--first-parent", "--reverse", "--format=%H", governed,
                           "--", POLICY_FILE], root).split()
    with gitrepo.CatFile(root) as cat:
        for commit in commits:
            text = cat.read(f"{commit}:{POLICY_FILE}")
            try:
                policy = parse_policy(text) if text is not None else None
            except ArchivistError:
                continue
            if policy is not None and policy.signing is not None and policy.signing.since:
                return commit
    return None


def _legacy(root: Path, policy: Policy, info: TagInfo, governed: str) -> bool:
    """An unsigned release tag of an adopted registry's past: tagged before
    ``signing.since``, on a commit older than the policy change that set it.

    The tagger date alone is whatever the tagger's clock said; the commit being an ancestor
    of the reviewed adoption commit is what a backdated new tag cannot fake.
    """
    since = policy.signing.since if policy.signing else None
    if since is None or info.tagger_date is None:
        return False
    if info.tagger_date.astimezone(dt.UTC).date() >= since:
        return False
    adopted_at = _since_commit(root, governed)
    if adopted_at is None:
        return False
    try:
        base = gitrepo.git(["merge-base", info.commit, adopted_at], root).strip()
    except GitError:
        return False
    return base == info.commit


class _Verdict:
    """The problems found so far on one tag, and the status of the first."""

    def __init__(self, tag: str, **fields: Any) -> None:
        self.tag = tag
        self.fields: dict[str, Any] = {"artifact": None, "version": None, "digest": None,
                                       "signer": None, **fields}
        self.problems: list[str] = []
        self.status = VerifyStatus.OK

    def add(self, status: VerifyStatus, problems: Sequence[str]) -> None:
        if problems and self.status is VerifyStatus.OK:
            self.status = status
        self.problems += [p if p.startswith(f"{self.tag}: ") else f"{self.tag}: {p}"
                          for p in problems]

    def fail(self, status: VerifyStatus, problem: str) -> VerifyOutcome:
        self.add(status, [problem])
        return self.done()

    def done(self, status: VerifyStatus | None = None) -> VerifyOutcome:
        final = status or self.status
        return VerifyOutcome(ok=final.passes, tag=self.tag, problems=self.problems,
                             status=final, **self.fields)


def verify_record(root: Path, tag: str, record: release_names.ReleaseRecord, commit: str,
                  policy: Policy, *, policy_rev: str | None, governed: str | None,
                  verdict: _Verdict | None = None, bundle_commit: str | None = None,
                  fetch: bool = True) -> VerifyOutcome:
    """Verify the release ``record`` of ``tag`` as made at ``commit``.

    ``governed`` is the head whose first-parent history must hold the release commit
    (None skips that test: only for a commit checked before any tag points at it). An
    adopted release (``bundle_commit``) keeps its bundle in that later commit of the
    governed branch, and signs the tagged ``commit`` it was adopted at.
    """
    from archivist.inventory import load_artifacts
    from archivist.remotes import MissingCredentials
    from archivist.trees import CommitTree

    verdict = verdict or _Verdict(tag, commit=commit)
    verdict.fields.update(artifact=record.artifact, version=record.label,
                          digest=record.digest, commit=commit, method=record.method or None)
    expected_bundle = release_names.bundle_path(record.name, record.version)
    if record.bundle != expected_bundle:
        return verdict.fail(VerifyStatus.RECORD_MISMATCH, f"the tag names bundle "
                            f"{record.bundle}, expected {expected_bundle}")
    cat = gitrepo.CatFile(root)
    try:
        tree = CommitTree(root, commit, cat=cat)
        bundle = (CommitTree(root, bundle_commit, cat=cat) if bundle_commit else tree).read(
            record.bundle)
        artifacts = [a for a in load_artifacts(tree) if a.path == record.artifact]
    except ArchivistError as exc:
        return verdict.fail(VerifyStatus.MALFORMED,
                            f"cannot read commit {commit[:10]}: {exc}")
    finally:
        cat.close()
    if bundle is None:
        return verdict.fail(VerifyStatus.UNSIGNED,
                            f"commit {commit[:10]} has no bundle {record.bundle}")
    if governed is not None:
        moved = release_commit_problem(root, tag, bundle_commit or commit, record.bundle,
                                       governed)
        if moved:
            verdict.add(VerifyStatus.MOVED, [moved])
    if bundle_commit is not None and _trailer_values(root, bundle_commit,
                                                     TRAILER_ADOPTED) != [commit]:
        verdict.add(VerifyStatus.MOVED, [
            f"the tag points to {commit[:10]}, but {bundle_commit[:10]} adopted the release "
            f"at {','.join(_trailer_values(root, bundle_commit, TRAILER_ADOPTED))[:10]} "
            "(was the tag moved?)"])
    if not artifacts or artifacts[0].version is None:
        return verdict.fail(VerifyStatus.RECORD_MISMATCH, f"commit {commit[:10]} tracks no "
                            f"version of {record.artifact}")
    version = artifacts[0].version
    if version.label != record.label:
        verdict.add(VerifyStatus.RECORD_MISMATCH, [
            f"commit {commit[:10]} records {record.artifact} as {version.label}, but the "
            f"release recorded {record.label}"])
    check = check_bundle(bundle, load_trust(root, policy, policy_rev),
                         signed_at=_commit_time(root, commit))
    verdict.fields.update(signer=check.signer or record.signer or None, method=check.method,
                          signed_time=check.signed_time or None)
    if not check.ok:
        verdict.add(check.status, list(check.problems))
        return verdict.done()
    if check.digest != record.digest:
        verdict.add(VerifyStatus.RECORD_MISMATCH, [
            f"the tag records digest {record.digest}, the bundle signs {check.digest}"])
    claimed = check.extra
    wanted = [("tag", tag), ("artifact", record.artifact), ("version", version.label)]
    if bundle_commit is not None:
        wanted.append(("commit", commit))  # an adoption signs the commit GTO registered
    for key, want in wanted:
        if claimed.get(key) != want:
            verdict.add(VerifyStatus.RECORD_MISMATCH, [
                f"the signed statement names {key} {claimed.get(key)!r}, not {want!r} "
                "(bundle copied from another release?)"])
    try:
        files, source = version_content(root, version, policy, fetch=fetch)
    except IntegrityError as exc:
        return verdict.fail(VerifyStatus.CONTENT_MISMATCH, str(exc))
    except MissingCredentials:
        raise
    except ArchivistError as exc:
        return verdict.fail(VerifyStatus.CONTENT_MISSING, str(exc))
    verdict.fields["source"] = source
    digests = hash_files(files)
    # A file whose sha256 is the signed one is the signed file, whose md5 release checked
    # against DVC's name: only the others are hashed against their object names too
    # (measured: md5 beside sha256 takes verify from 0.9 s to 1.6-2.3 s per 300 MB).
    suspects = [f for f in files if check.items.get(f.item) != digests[f.item].sha256]
    if suspects:
        verdict.add(VerifyStatus.CONTENT_MISMATCH, name_problems(
            root, record.artifact, version, suspects, hash_files(suspects, md5=True)))
    actual = {item: d.sha256 for item, d in digests.items()}
    verdict.add(VerifyStatus.CONTENT_MISMATCH,
                release_names.manifest_problems(record.artifact, check.items, actual))
    return verdict.done()


def governed_policy(root: Path) -> tuple[Policy | None, str]:
    """The policy at the head of the governed branch (and that commit), None when absent.

    ConfigError when the governed branch is not in this clone (see ``governed_rev``).
    """
    from archivist.policy import POLICY_FILE, parse_policy

    with gitrepo.CatFile(root) as cat:
        text = cat.read(f"HEAD:{POLICY_FILE}")
        head_policy = parse_policy(text) if text is not None else None
        rev = governed_rev(root, head_policy)
        data = cat.read(f"{rev}:{POLICY_FILE}")
    if data is None:
        return None, rev
    return parse_policy(data, f"{POLICY_FILE} at {rev[:10]}"), rev


def verify_release_files(root: Path, artifact: str, version: str, files: Mapping[str, Path],
                         policy: Policy | None = None) -> list[str]:
    """Problems with restored bytes of a released version; empty when none or all verify.

    ``files`` maps each path inside the artifact (``""`` for a single file) to a local
    copy. Every release that records this artifact and version is checked: its bundle
    (from the release commit, or the adoption commit of an adopted GTO tag) against the
    governed branch's policy, and each file's sha256. Versions never released return no
    problems (and import no signing library).
    """
    label = version if version.startswith("md5:") else f"md5:{version}"
    matches: list[tuple[str, str, release_names.ReleaseRecord]] = []  # tag, bundle commit, record
    unrecorded = []
    for tag in list_release_tags(root):
        info = read_tag(root, tag)
        record = release_names.parse_tag_message(tag, info.message) if info and info.annotated \
            else None
        if record is None:
            unrecorded.append(tag)
        elif info is not None and record.artifact == artifact and record.label == label:
            matches.append((tag, info.commit, record))
    rev = None
    if unrecorded:  # adopted GTO tags keep their record on the governed branch
        if policy is None:
            policy, rev = governed_policy(root)
        governed = rev or governed_rev(root, policy)
        for tag in unrecorded:
            adoption = find_adoption(root, tag, governed)
            if adoption is not None and adoption[1].artifact == artifact \
                    and adoption[1].label == label:
                matches.append((tag, *adoption))
    if not matches:
        return []
    if policy is None:
        policy, rev = governed_policy(root)
    if policy is None or policy.signing is None:
        return [f"{artifact} {label} is released ({matches[0][0]}), but the governed "
                "branch's policy has no signing: section to verify it with"]
    contents = [ContentFile(item or release_names.SINGLE_FILE_ITEM, path, "")
                for item, path in files.items()]
    actual = {item: d.sha256 for item, d in hash_files(contents).items()}
    trust = load_trust(root, policy, rev)
    problems: list[str] = []
    for tag, commit, record in matches:
        with gitrepo.CatFile(root) as cat:
            bundle = cat.read(f"{commit}:{record.bundle}")
        if bundle is None:
            problems.append(f"{tag}: commit {commit[:10]} has no bundle {record.bundle}")
            continue
        check = check_bundle(bundle, trust, signed_at=_commit_time(root, commit))
        problems += [f"{tag}: {p}" for p in check.problems]
        if check.ok:
            problems += [f"{tag}: {p}" for p in
                         release_names.manifest_problems(artifact, check.items, actual)]
    return problems
