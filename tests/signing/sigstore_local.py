"""A small Sigstore instance on 127.0.0.1, so unmodified sigstore-python signs keylessly.

One HTTP server plays every part, each speaking the real wire format:

- an OIDC provider: discovery document, ES256 identity tokens, and a GitHub-Actions-style
  token endpoint (``ACTIONS_ID_TOKEN_REQUEST_URL``) for ambient credentials;
- a Fulcio-like CA (``POST /api/v2/signingCert``): checks the token's signature, audience
  and issuer and the CSR's proof of possession, then issues a 10-minute certificate with
  the identity in its SAN, the OIDC issuer in Fulcio's extensions (and, for a GitHub
  Actions token, the source repository, ref, workflow and trigger extensions Fulcio
  writes, ``github_claims``) and an embedded SCT from a CT log key;
- a Rekor-like log (``POST /api/v1/log/entries``, dsse 0.0.1): checks the envelope's
  signature, appends the canonical entry to an RFC 6962 Merkle tree and answers with an
  inclusion proof, a signed checkpoint and a signed entry timestamp.

``trust_config()`` is the ClientTrustConfig (trusted root + signing config) that points
sigstore-python and model-signing at it. It is a test helper: no persistence, no TUF.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OIDC_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OIDC_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
SCT_LIST = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
ACTIONS_REQUEST_TOKEN = "local-actions-request-token"
_FULCIO = "1.3.6.1.4.1.57264.1"


def github_extensions(claims: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Fulcio's extensions for a GitHub Actions token, as Fulcio maps them
    (pkg/identity/github/principal.go): ``(OID, value, v2)``; v1 values are raw bytes,
    v2 ones DER UTF8Strings."""
    gh = "https://github.com/"
    repo = claims.get("repository")
    if not repo:
        return []
    fields = [
        ("2", claims.get("event_name"), False), ("3", claims.get("sha"), False),
        ("4", claims.get("workflow"), False), ("5", repo, False),
        ("6", claims.get("ref"), False),
        ("9", gh + claims["job_workflow_ref"] if claims.get("job_workflow_ref") else None, True),
        ("10", claims.get("job_workflow_sha"), True),
        ("11", claims.get("runner_environment"), True),
        ("12", gh + repo, True), ("13", claims.get("sha"), True),
        ("14", claims.get("ref"), True), ("15", claims.get("repository_id"), True),
        ("16", gh + claims["repository_owner"] if claims.get("repository_owner") else None,
         True),
        ("17", claims.get("repository_owner_id"), True),
        ("18", gh + claims["workflow_ref"] if claims.get("workflow_ref") else None, True),
        ("19", claims.get("workflow_sha"), True),
        ("20", claims.get("event_name"), True),
        ("21", f"{gh}{repo}/actions/runs/{claims['run_id']}/attempts/"
               f"{claims.get('run_attempt', '1')}" if claims.get("run_id") else None, True),
        ("22", claims.get("repository_visibility"), True),
    ]
    return [(f"{_FULCIO}.{n}", str(v), v2) for n, v, v2 in fields if v is not None]


def _number(name: str) -> str:
    return str(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))


def github_claims(repository: str = "acme/models",
                  workflow: str = ".github/workflows/release.yml",
                  ref: str = "refs/tags/v1.0.0", event: str = "push",
                  job_workflow_ref: str | None = None) -> dict[str, Any]:
    """The claims of a GitHub Actions OIDC token for a run of ``workflow`` in
    ``repository``; ``job_workflow_ref`` names a reusable workflow the job called (the
    SAN Fulcio issues), else the workflow itself."""
    owner = repository.split("/")[0]
    workflow_ref = f"{repository}/{workflow}@{ref}"
    return {"sub": f"repo:{repository}:ref:{ref}", "repository": repository,
            "repository_owner": owner, "repository_id": _number(repository),
            "repository_owner_id": _number(owner),
            "repository_visibility": "public", "ref": ref, "sha": "a" * 40,
            "event_name": event, "workflow": "release", "workflow_ref": workflow_ref,
            "workflow_sha": "b" * 40, "job_workflow_ref": job_workflow_ref or workflow_ref,
            "job_workflow_sha": "c" * 40, "runner_environment": "github-hosted",
            "run_id": "4242", "run_attempt": "1"}


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def der_utf8(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"\x0c" + _der_length(len(raw)) + raw


def der_octets(raw: bytes) -> bytes:
    return b"\x04" + _der_length(len(raw)) + raw


def spki_der(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# RFC 6962 Merkle tree -------------------------------------------------------------------

def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def tree_root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(tree_root(leaves[:k]), tree_root(leaves[k:]))


def inclusion_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """Audit path from the leaf up (RFC 6962 2.1.1), as sigstore's verifier expects."""
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_path(index, leaves[:k]), tree_root(leaves[k:])]
    return [*inclusion_path(index - k, leaves[k:]), tree_root(leaves[:k])]


class LocalSigstore:
    """The instance: keys, state, and the HTTP server (``start()`` / ``stop()``)."""

    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        self.oidc_key = ec.generate_private_key(ec.SECP256R1())
        self.leaves: list[bytes] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.requests: list[str] = []
        self.cert_lifetime = dt.timedelta(minutes=10)
        # What the Actions token endpoint vouches for (a release.yml run on a tag push).
        self.actions_claims: dict[str, Any] = github_claims()

    # --------------------------------------------------------------- lifecycle
    def start(self) -> LocalSigstore:
        handler = type("Handler", (_Handler,), {"instance": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        now = dt.datetime.now(dt.UTC)
        self.root_cert = self._root_certificate(now)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def issuer(self) -> str:
        """The OIDC issuer URL tokens carry (the server itself)."""
        return self.url

    @property
    def other_issuer(self) -> str:
        """A second issuer this Fulcio also accepts: for wrong-issuer tests."""
        return f"{self.url}/other-idp"

    # --------------------------------------------------------------- OIDC
    def token(self, *, email: str | None = "ana@example.com", subject: str = "ana",
              issuer: str | None = None, audience: str = "sigstore", ttl: int = 300,
              claims: dict[str, Any] | None = None) -> str:
        now = int(time.time())
        body: dict[str, Any] = {"iss": issuer or self.issuer, "sub": subject, "aud": audience,
                                "iat": now, "nbf": now, "exp": now + ttl}
        if email:
            body.update(email=email, email_verified=True)
        body.update(claims or {})
        return jwt.encode(body, self.oidc_key, algorithm="ES256", headers={"kid": "local"})

    # --------------------------------------------------------------- CA
    def _root_certificate(self, now: dt.datetime) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "archivist tests"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "local-fulcio")])
        public = self.ca_key.public_key()
        return (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                           critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )

    def issue(self, token: str, csr: x509.CertificateSigningRequest) -> x509.Certificate:
        claims = jwt.decode(token, self.oidc_key.public_key(), algorithms=["ES256"],
                            audience="sigstore")
        if claims["iss"] not in (self.issuer, self.other_issuer):
            raise PermissionError(f"unknown issuer {claims['iss']}")
        if not csr.is_signature_valid:
            raise PermissionError("the CSR's proof of possession does not verify")
        if "job_workflow_ref" in claims:
            san: x509.GeneralName = x509.UniformResourceIdentifier(
                "https://github.com/" + claims["job_workflow_ref"])
        elif claims.get("email"):
            san = x509.RFC822Name(claims["email"])
        else:
            san = x509.UniformResourceIdentifier(claims["sub"])
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        public = csr.public_key()
        builder = (
            x509.CertificateBuilder().subject_name(x509.Name([]))
            .issuer_name(self.root_cert.subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(seconds=30))
            .not_valid_after(now + self.cert_lifetime)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                         False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
            .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER_V1,
                                                      claims["iss"].encode()), critical=False)
            .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER_V2, der_utf8(claims["iss"])),
                           critical=False)
        )
        for oid, value, v2 in github_extensions(claims):
            builder = builder.add_extension(x509.UnrecognizedExtension(
                x509.ObjectIdentifier(oid), der_utf8(value) if v2 else value.encode()),
                critical=False)
        precert = builder.sign(self.ca_key, hashes.SHA256())
        sct = self._sct(precert.tbs_certificate_bytes, now)
        cert = builder.add_extension(x509.UnrecognizedExtension(SCT_LIST, der_octets(sct)),
                                     critical=False).sign(self.ca_key, hashes.SHA256())
        assert cert.tbs_precertificate_bytes == precert.tbs_certificate_bytes
        return cert

    def _sct(self, tbs: bytes, now: dt.datetime) -> bytes:
        """A TLS-encoded SignedCertificateTimestampList with one precertificate SCT."""
        log_id = hashlib.sha256(spki_der(self.ct_key.public_key())).digest()
        issuer_key_id = hashlib.sha256(spki_der(self.ca_key.public_key())).digest()
        timestamp = int(now.timestamp()) * 1000
        entry = issuer_key_id + struct.pack("!I", len(tbs))[1:] + tbs
        signed = struct.pack(f"!BBQH{len(entry)}sH", 0, 0, timestamp, 1, entry, 0)
        signature = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (struct.pack("!B32sQH", 0, log_id, timestamp, 0)
               + struct.pack("!BBH", 4, 3, len(signature)) + signature)
        one = struct.pack("!H", len(sct)) + sct
        return struct.pack("!H", len(one)) + one

    # --------------------------------------------------------------- log
    @property
    def log_id(self) -> bytes:
        return hashlib.sha256(spki_der(self.rekor_key.public_key())).digest()

    def append(self, proposed: dict[str, Any]) -> dict[str, Any]:
        content = proposed["spec"]["proposedContent"]
        envelope = json.loads(content["envelope"])
        cert = x509.load_pem_x509_certificate(base64.b64decode(content["verifiers"][0]))
        payload = base64.b64decode(envelope["payload"])
        payload_type = envelope["payloadType"]
        pae = b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type.encode(),
                                        len(payload), payload)
        for sig in envelope["signatures"]:
            try:
                cert.public_key().verify(base64.b64decode(sig["sig"]), pae,
                                         ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                raise PermissionError("the DSSE signature does not verify") from None
        body = rfc8785.dumps({
            "apiVersion": "0.0.1", "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(
                    content["envelope"].encode()).hexdigest()},
                "payloadHash": {"algorithm": "sha256",
                                "value": hashlib.sha256(payload).hexdigest()},
                "signatures": [{"signature": s["sig"], "verifier": content["verifiers"][0]}
                               for s in envelope["signatures"]],
            },
        })
        with self.lock:
            self.leaves.append(_leaf(body))
            index = len(self.leaves) - 1
            leaves = list(self.leaves)
        integrated = int(time.time())
        root = tree_root(leaves)
        log_id_hex = self.log_id.hex()
        set_payload = rfc8785.dumps({"body": _b64(body), "integratedTime": integrated,
                                     "logID": log_id_hex, "logIndex": index})
        origin = f"127.0.0.1 - {int.from_bytes(self.log_id[:4], 'big')}"
        note = f"{origin}\n{len(leaves)}\n{_b64(root)}\n"
        note_sig = self.rekor_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 127.0.0.1 {_b64(self.log_id[:4] + note_sig)}\n"
        return {hashlib.sha256(body).hexdigest(): {
            "body": _b64(body), "integratedTime": integrated, "logID": log_id_hex,
            "logIndex": index,
            "verification": {
                "inclusionProof": {"logIndex": index, "rootHash": root.hex(),
                                   "treeSize": len(leaves),
                                   "hashes": [h.hex() for h in inclusion_path(index, leaves)],
                                   "checkpoint": checkpoint},
                "signedEntryTimestamp": _b64(self.rekor_key.sign(
                    set_payload, ec.ECDSA(hashes.SHA256()))),
            },
        }}

    # --------------------------------------------------------------- trust configuration
    def trusted_root(self) -> dict[str, Any]:
        start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

        def log_key(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
            der = spki_der(key.public_key())
            return {"baseUrl": self.url, "hashAlgorithm": "SHA2_256",
                    "publicKey": {"rawBytes": _b64(der), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                  "validFor": {"start": start}},
                    "logId": {"keyId": _b64(hashlib.sha256(der).digest())}}

        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log_key(self.rekor_key)],
            "certificateAuthorities": [{
                "subject": {"organization": "archivist tests", "commonName": "local-fulcio"},
                "uri": self.url,
                "certChain": {"certificates": [{"rawBytes": _b64(
                    self.root_cert.public_bytes(serialization.Encoding.DER))}]},
                "validFor": {"start": start},
            }],
            "ctlogs": [log_key(self.ct_key)],
            "timestampAuthorities": [],
        }

    def trust_config(self) -> dict[str, Any]:
        start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

        def service(url: str) -> dict[str, Any]:
            return {"url": url, "majorApiVersion": 1, "validFor": {"start": start},
                    "operator": "archivist-tests"}

        return {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": self.trusted_root(),
            "signingConfig": {
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [service(self.url)], "oidcUrls": [service(self.url)],
                "rekorTlogUrls": [service(self.url)], "tsaUrls": [],
                "rekorTlogConfig": {"selector": "ANY"}, "tsaConfig": {"selector": "ANY"},
            },
        }


class _Handler(BaseHTTPRequestHandler):
    instance: LocalSigstore

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        self.instance.requests.append(f"{self.command} {self.path}")

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self) -> None:
        url = urlparse(self.path)
        me = self.instance
        if url.path.endswith("/.well-known/openid-configuration"):
            base = me.url + url.path.removesuffix("/.well-known/openid-configuration")
            self._send(200, {"issuer": base, "authorization_endpoint": f"{base}/auth",
                             "token_endpoint": f"{base}/token", "jwks_uri": f"{base}/jwks"})
        elif url.path == "/actions-token":
            if self.headers.get("Authorization") != f"bearer {ACTIONS_REQUEST_TOKEN}":
                self._send(403, {"message": "bad request token"})
                return
            audience = parse_qs(url.query).get("audience", ["sigstore"])[0]
            self._send(200, {"value": me.token(
                email=None, subject=me.actions_claims["sub"], audience=audience,
                claims=me.actions_claims)})
        else:
            self._send(404, {"message": f"no route {url.path}"})

    def do_POST(self) -> None:
        me = self.instance
        try:
            if self.path == "/api/v2/signingCert":
                auth = self.headers.get("Authorization", "")
                csr_pem = base64.b64decode(self._body()["certificateSigningRequest"])
                cert = me.issue(auth.removeprefix("Bearer ").strip(),
                                x509.load_pem_x509_csr(csr_pem))
                pems = [c.public_bytes(serialization.Encoding.PEM).decode()
                        for c in (cert, me.root_cert)]
                self._send(201, {"signedCertificateEmbeddedSct": {"chain": {
                    "certificates": pems}}})
            elif self.path == "/api/v1/log/entries":
                self._send(201, me.append(self._body()))
            else:
                self._send(404, {"message": f"no route {self.path}"})
        except (PermissionError, jwt.InvalidTokenError) as exc:
            self._send(401, {"code": 401, "message": str(exc)})
