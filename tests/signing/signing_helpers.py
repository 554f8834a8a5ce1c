"""Helpers for the signing tests: key material, a PKI, the repo-wide test utilities."""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from realrepo import archivist, run

BIN = Path(sys.executable).parent
__all__ = ["archivist", "run"]

POLICY_KEY = """\
version: 1
branch: main
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {pattern: "^[^@ ]+@[^@ ]+$"}
signing:
  method: key
  public_keys: [keys/release.pub]
"""

DVC_YAML = """\
artifacts:
  clf:
    path: models/clf.pkl
    type: model
    meta:
      owner: ana@example.com
"""


@dataclass
class KeyPair:
    private: Path
    public_pem: bytes

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.private.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key


def make_keypair(folder: Path, name: str = "release") -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / f"{name}.key"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(private, public)


@dataclass
class Pki:
    """A root CA and a signing certificate it issued, as PEM files."""

    root: Path
    leaf: Path
    key: Path


def make_pki(folder: Path, *, name: str = "ca", email: str = "release-bot@acme.example",
             not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
             ) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"Acme {name} root")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=3650))
          .not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, email)]))
            .issuer_name(ca_name).public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - dt.timedelta(days=1))
            .not_valid_after(not_after or now + dt.timedelta(days=365))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pki = Pki(folder / f"{name}-root.pem", folder / f"{name}-leaf.pem", folder / f"{name}.key")
    pki.root.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.leaf.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return pki


def write_trust_config(repo, instance) -> str:  # type: ignore[no-untyped-def]
    repo.write("keys/sigstore-trust.json", json.dumps(instance.trust_config(), indent=1))
    return "keys/sigstore-trust.json"


def cache_object(root: Path, md5: str) -> Path:
    """The DVC 3 cache file of ``md5``, made writable so a test can tamper with it."""
    path = root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    path.chmod(0o644)
    return path


def dvc_md5(root: Path, dvc_file: str) -> str:
    for line in (root / dvc_file).read_text().splitlines():
        if line.strip().startswith("- md5:") or line.strip().startswith("md5:"):
            return line.split("md5:")[1].strip()
    raise AssertionError(f"no md5 in {dvc_file}")


# ------------------------------------------------------------------ certificate chains


@dataclass
class Cert:
    """A certificate and its private key, made with ``cryptography``."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def sha256(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.pem)
        return path

    def write_key(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.key.private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
        return path


def _days(days: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


def make_ca(common_name: str, *, issuer: Cert | None = None, org: str = "Acme",
            not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
            ) -> Cert:
    """A CA certificate: self-signed (a root) without ``issuer``, else an intermediate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    signer = issuer.key if issuer else key
    cert = (x509.CertificateBuilder().subject_name(name)
            .issuer_name(issuer.cert.subject if issuer else name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before or _days(-3650))
            .not_valid_after(not_after or _days(3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(signer, hashes.SHA256()))
    return Cert(cert, key)


def make_leaf(issuer: Cert, *, email: str | None = "release-bot@acme.example",
              common_name: str | None = None,
              eku: tuple[x509.ObjectIdentifier, ...] | None = (ExtendedKeyUsageOID.CODE_SIGNING,),
              digital_signature: bool = True, ca: bool = False,
              not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
              extensions: tuple[x509.ExtensionType, ...] = ()) -> Cert:
    """A signing certificate under ``issuer``; each argument can break one rule."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
                        if common_name else [])
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before or _days(-1))
               .not_valid_after(not_after or _days(365))
               .add_extension(x509.KeyUsage(digital_signature, False, not digital_signature,
                                            False, False, ca, ca, False, False), critical=True))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                        critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if email:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]),
                                        critical=False)
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return Cert(builder.sign(issuer.key, hashes.SHA256()), key)


def write_signer(folder: Path, leaf: Cert, *chain: Cert) -> tuple[Path, list[Path]]:
    """The private key file and the ``--cert-chain`` files (leaf first) of a signer."""
    key = leaf.write_key(folder / "signer.key")
    paths = [leaf.write(folder / "signer.pem")]
    paths += [c.write(folder / f"chain{i}.pem") for i, c in enumerate(chain)]
    return key, paths


def resign_release(repo, tag: str, key: Path, chain: list[Path], *,  # type: ignore[no-untyped-def]
                   date: str | None = None) -> None:
    """Replace a release's bundle by one over the same statement, signed with ``key`` and
    ``chain`` (which archivist would refuse to sign with), then amend the release commit
    (dated ``date`` if given) and move the tag onto it, as an attacker with push rights
    would. ``archivist verify`` is then the only judge left."""
    import base64
    import posixpath

    from archivist.release import _backend
    from archivist.release.hashing import files_at, hash_files
    from archivist.release.sign import payload as signed_payload

    name, version = tag.split("@")
    rel = f".archivist/signatures/{name}/{version}.sig"
    path = repo.root / rel
    bundle = json.loads(path.read_bytes())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    extra = statement["predicate"]["archivist"]
    artifact = repo.root / extra["artifact"]
    digests = {item: d.sha256 for item, d in hash_files(files_at(artifact)).items()}
    payload = signed_payload(posixpath.basename(extra["artifact"]), digests, extra)
    signer = _backend.certificate_signer(key, chain[0], chain[1:])
    signer.sign(payload).write(path)
    repo.git("add", "--", rel)
    env = {"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date} if date else None
    amend = ["commit", "-q", "--amend", "--no-edit", "--no-verify"]
    if date:
        amend.append(f"--date={date}")
    repo.git(*amend, env=env)
    message = repo.git("tag", "-l", "--format=%(contents)", tag).stdout
    repo.git("tag", "-f", "-a", tag, "-m", message, "HEAD", env=env)


KEYLESS_POLICY = """\
version: 1
branch: main
signing:
  method: sigstore
  trust_config: keys/sigstore-trust.json
  identities:
{entries}
"""


def keyless_repo(repo, instance, *entries: str):  # type: ignore[no-untyped-def]
    """``repo`` with a keyless policy pinned to the local Sigstore ``instance``; each entry
    is the YAML flow mapping of one ``signing.identities`` item."""
    write_trust_config(repo, instance)
    repo.write("archivist.yaml", KEYLESS_POLICY.format(
        entries="\n".join(f"    - {e}" for e in entries)))
    repo.commit("policy: keyless releases")
    return repo
