"""Every certificate of a chain is checked, and only code-signing certificates sign.

Each bad chain is tried twice: ``archivist release`` must refuse to sign with it, and
``archivist verify`` must refuse a genuine release whose bundle was swapped for one signed
with it (what an attacker with push rights could do).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID
from signing_helpers import Cert, _days, make_ca, make_leaf, resign_release, write_signer

POLICY = """\
version: 1
branch: main
signing:
  method: certificate
  certificate_roots: [keys/ca.pem]
"""


def _policy(sample, root: Cert):  # type: ignore[no-untyped-def]
    sample.write("keys/ca.pem", root.pem)
    sample.write("archivist.yaml", POLICY)
    sample.commit("policy: enterprise PKI")
    return sample


def _release(repo, folder: Path, leaf: Cert, *chain: Cert,  # type: ignore[no-untyped-def]
             version: str = "v1.0.0"):
    key, paths = write_signer(folder, leaf, *chain)
    return repo.archivist("release", "clf", version, "--key", key, "--cert-chain", *paths)


def _swapped_release_fails(repo, tmp_path: Path, good: Cert, bad: Cert,  # type: ignore[no-untyped-def]
                           *chain: Cert) -> str:
    good_chain = [c for c in chain if c.cert.subject == good.cert.issuer]
    assert _release(repo, tmp_path / "good", good, *good_chain).returncode == 0
    assert repo.archivist("verify").returncode == 0
    key, paths = write_signer(tmp_path / "bad", bad, *chain)
    resign_release(repo, "clf@v1.0.0", key, paths)
    proc = repo.archivist("verify")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return proc.stdout


def test_root_that_expired_a_year_ago_vouches_for_nothing(sample, tmp_path) -> None:
    """The leaf dates itself to when the root was alive; model-signing checks the chain
    at that date only."""
    root = make_ca("Acme corp root", not_before=_days(-3650), not_after=_days(-365))
    _policy(sample, root)
    leaf = make_leaf(root, not_before=_days(-800), not_after=_days(365))
    proc = _release(sample, tmp_path / "new", leaf)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "root keys/ca.pem" in proc.stdout and "is valid" in proc.stdout
    assert sample.git("tag", "-l").stdout.strip() == ""


def test_root_retired_after_a_release_fails_verify(sample, tmp_path) -> None:
    """A policy that still lists a retired root: a leaf under it does not verify."""
    live = make_ca("Acme corp root")
    _policy(sample, live)
    assert _release(sample, tmp_path / "good", make_leaf(live)).returncode == 0
    retired = make_ca("Acme corp root", not_before=_days(-3650), not_after=_days(-365))
    key, paths = write_signer(tmp_path / "old", make_leaf(
        retired, not_before=_days(-800), not_after=_days(365)))
    resign_release(sample, "clf@v1.0.0", key, paths)
    sample.write("keys/ca.pem", retired.pem)
    sample.commit("keys: the root as the policy lists it (retired)")
    proc = sample.archivist("verify")
    assert proc.returncode == 1, proc.stdout
    assert "root keys/ca.pem" in proc.stdout and "is valid" in proc.stdout


def test_intermediate_that_expired_700_days_ago_vouches_for_nothing(sample, tmp_path) -> None:
    root = make_ca("Acme corp root")
    _policy(sample, root)
    retired = make_ca("Acme issuing CA 2019", issuer=root, not_before=_days(-2500),
                      not_after=_days(-700))
    current = make_ca("Acme issuing CA", issuer=root)
    leaf = make_leaf(retired, not_before=_days(-1000), not_after=_days(365))
    proc = _release(sample, tmp_path / "new", leaf, retired)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "intermediate certificate 'CN=Acme issuing CA 2019,O=Acme' is valid" in proc.stdout
    stdout = _swapped_release_fails(sample, tmp_path, make_leaf(current), leaf,
                                    retired, current)
    assert "Acme issuing CA 2019" in stdout and "is valid" in stdout


BAD_LEAVES = {
    "tls-server": (dict(eku=(ExtendedKeyUsageOID.SERVER_AUTH,)),
                   "its extended key usage is serverAuth, not code signing"),
    "smime": (dict(eku=(ExtendedKeyUsageOID.EMAIL_PROTECTION,)),
              "its extended key usage is emailProtection, not code signing"),
    "no-digital-signature": (dict(digital_signature=False),
                             "its key usage does not allow digitalSignature"),
    "ca-leaf": (dict(ca=True), "it is a CA certificate (CA:TRUE)"),
    "cn-only": (dict(email=None, common_name="release-bot@acme.example"),
                "names no identity in its subject alternative names"),
}


@pytest.mark.parametrize("kind", list(BAD_LEAVES))
def test_only_code_signing_certificates_sign(sample, tmp_path, kind: str) -> None:
    root = make_ca("Acme corp root")
    _policy(sample, root)
    options, reason = BAD_LEAVES[kind]
    bad = make_leaf(root, **options)  # type: ignore[arg-type]
    proc = _release(sample, tmp_path / "bad-release", bad)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "this certificate may not sign releases" in proc.stderr and reason in proc.stderr
    assert sample.git("tag", "-l").stdout.strip() == ""
    stdout = _swapped_release_fails(sample, tmp_path, make_leaf(root), bad)
    assert "may not sign releases" in stdout and reason in stdout
