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
