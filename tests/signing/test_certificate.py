"""The certificate method (enterprise PKI), and what model-signing leaves to archivist."""

from __future__ import annotations

import datetime as dt
import json

from signing_helpers import BIN, make_pki, run

from archivist.policy import parse_policy
from archivist.release.verify import verify_files

POLICY_PKI = """\
version: 1
branch: main
signing:
  method: certificate
  certificate_roots: [keys/ca.pem]
  identities:
    - {issuer: "Acme trusted root", identity: "^release-bot@acme\\\\.example$"}
"""


def _pki_repo(sample, pki):  # type: ignore[no-untyped-def]
    sample.write("keys/ca.pem", pki.root.read_bytes())
    sample.write("archivist.yaml", POLICY_PKI)
    sample.commit("policy: enterprise PKI")
    return sample


def test_certificate_release_verifies_and_is_standard(sample, tmp_path) -> None:
    pki = make_pki(tmp_path / "pki", name="trusted")
    repo = _pki_repo(sample, pki)
    proc = repo.archivist("release", "clf", "v1.0.0", "--key", pki.key,
                          "--cert-chain", pki.leaf, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["method"] == "certificate"
    assert out["signer"] == "certificate release-bot@acme.example (root keys/ca.pem)"
    verify = repo.archivist("verify")
    assert verify.returncode == 0, verify.stdout
    assert "no trusted timestamp: certificate checked as of now" in verify.stdout
    cli = run([BIN / "model_signing", "verify", "certificate", "models/clf.pkl",
               "--signature", repo.root / out["bundle"], "--certificate_chain", pki.root],
              repo.root, check=False)
    assert cli.returncode == 0, cli.stdout + cli.stderr


def test_certificate_identity_must_be_in_the_policy(sample, tmp_path) -> None:
    trusted = make_pki(tmp_path / "pki", name="trusted", email="intern@acme.example")
    repo = _pki_repo(sample, trusted)
    head = repo.head()
    proc = repo.archivist("release", "clf", "v1.0.0", "--key", trusted.key,
                          "--cert-chain", trusted.leaf)
    assert proc.returncode == 1
    assert "certificate intern@acme.example" in proc.stdout
    assert "matches no signing.identities entry" in proc.stdout
    assert repo.head() == head


def test_expired_leaf_passes_model_signing_but_not_archivist(sample, tmp_path) -> None:
    """model-signing checks the chain at the leaf's start date only: expiry is ours."""
    import model_signing

    now = dt.datetime.now(dt.UTC)
    pki = make_pki(tmp_path / "pki", name="trusted", not_before=now - dt.timedelta(days=30),
                   not_after=now - dt.timedelta(days=1))
    repo = _pki_repo(sample, pki)
    bundle = tmp_path / "expired.sig"
    model = repo.root / "models/clf.pkl"
    model_signing.signing.Config().use_certificate_signer(
        private_key=pki.key, signing_certificate=pki.leaf,
        certificate_chain=[pki.root]).sign(model, bundle)
    model_signing.verifying.Config().use_certificate_verifier(
        certificate_chain=[pki.root]).verify(model, bundle)  # accepted: the pitfall
    policy = parse_policy(repo.read("archivist.yaml"))
    problems = verify_files(repo.root, policy, bundle.read_bytes(), model)
    assert len(problems) == 1 and "is not valid now" in problems[0]
    # And archivist refuses to sign with it in the first place.
    proc = repo.archivist("release", "clf", "v1.0.0", "--key", pki.key,
                          "--cert-chain", pki.leaf)
    assert proc.returncode == 2 and "the signing certificate is valid from" in proc.stderr
