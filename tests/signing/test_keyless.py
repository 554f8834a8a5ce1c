"""Keyless signing through a local Sigstore instance, with unmodified sigstore-python.

The instance (sigstore_local.py) runs on 127.0.0.1 for each test. What it cannot show
(real OIDC login, TUF root rotation, the public Rekor log) is listed in docs/signing.md.
"""

from __future__ import annotations

import base64
import json

from signing_helpers import BIN, run, write_trust_config

POLICY_KEYLESS = """\
version: 1
branch: main
signing:
  method: sigstore
  trust_config: keys/sigstore-trust.json
  identities:
    - {{issuer: "{issuer}", identity: "{identity}"}}
"""
ANA = "^ana@example\\\\.com$"
WORKFLOW = ("^https://github\\\\.com/acme/models/\\\\.github/workflows/release\\\\.yml"
            "@refs/tags/.*$")


def _keyless_repo(sample, sigstore, identity: str = ANA):  # type: ignore[no-untyped-def]
    write_trust_config(sample, sigstore)
    sample.write("archivist.yaml", POLICY_KEYLESS.format(issuer=sigstore.issuer,
                                                         identity=identity))
    sample.commit("policy: keyless releases")
    return sample


def test_keyless_release_and_verify(sample, sigstore) -> None:
    repo = _keyless_repo(sample, sigstore)
    token = sigstore.token(email="ana@example.com")
    proc = repo.archivist("release", "clf", "v1.0.0", "--json",
                          env={"SIGSTORE_IDENTITY_TOKEN": token})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["method"] == "sigstore"
    assert out["signer"] == f"sigstore ana@example.com (issuer {sigstore.issuer})"
    assert token not in proc.stdout + proc.stderr
    assert "POST /api/v2/signingCert" in sigstore.requests
    assert "POST /api/v1/log/entries" in sigstore.requests
    served = len(sigstore.requests)
    verify = repo.archivist("verify", "--json")
    assert verify.returncode == 0, verify.stdout
    assert len(sigstore.requests) == served  # verification is offline
    cli = run([BIN / "model_signing", "verify", "sigstore", "models/clf.pkl",
               "--signature", repo.root / out["bundle"],
               "--trust_config", repo.root / "keys/sigstore-trust.json",
               "--identity", "ana@example.com", "--identity_provider", sigstore.issuer],
              repo.root, check=False)
    assert cli.returncode == 0, cli.stdout + cli.stderr


def test_keyless_with_ambient_ci_credentials(sample, sigstore) -> None:
    from sigstore_local import ACTIONS_REQUEST_TOKEN

    repo = _keyless_repo(sample, sigstore, identity=WORKFLOW)
    env = {"GITHUB_ACTIONS": "true",
           "ACTIONS_ID_TOKEN_REQUEST_URL": f"{sigstore.url}/actions-token",
           "ACTIONS_ID_TOKEN_REQUEST_TOKEN": ACTIONS_REQUEST_TOKEN}
    proc = repo.archivist("release", "clf", "v1.0.0", "--json", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "release.yml@refs/tags/v1.0.0" in json.loads(proc.stdout)["signer"]
    assert any(r.startswith("GET /actions-token") for r in sigstore.requests)
    assert repo.archivist("verify").returncode == 0


def test_wrong_identity_is_refused(sample, sigstore) -> None:
    repo = _keyless_repo(sample, sigstore)
    head = repo.head()
    proc = repo.archivist("release", "clf", "v1.0.0",
                          env={"SIGSTORE_IDENTITY_TOKEN": sigstore.token(email="bob@example.com")})
    assert proc.returncode == 1
    assert "signer bob@example.com" in proc.stdout
    assert "matches no signing.identities entry" in proc.stdout
    assert repo.head() == head and repo.git("tag", "-l").stdout.strip() == ""


def test_wrong_issuer_is_refused(sample, sigstore) -> None:
    repo = _keyless_repo(sample, sigstore)
    token = sigstore.token(email="ana@example.com", issuer=sigstore.other_issuer)
    proc = repo.archivist("release", "clf", "v1.0.0", env={"SIGSTORE_IDENTITY_TOKEN": token})
    assert proc.returncode == 1
    assert f"(issuer {sigstore.other_issuer})" in proc.stdout
    assert "matches no signing.identities entry" in proc.stdout


def test_identity_rotated_out_of_the_policy_fails_verify(sample, sigstore) -> None:
    repo = _keyless_repo(sample, sigstore)
    assert repo.archivist("release", "clf", "v1.0.0", env={
        "SIGSTORE_IDENTITY_TOKEN": sigstore.token()}).returncode == 0
    repo.write("archivist.yaml", POLICY_KEYLESS.format(issuer=sigstore.issuer,
                                                       identity="^carol@example\\\\.com$"))
    repo.commit("policy: only carol releases now")
    proc = repo.archivist("verify")
    assert proc.returncode == 1 and "matches no signing.identities entry" in proc.stdout


def test_tampered_log_entry_fails_verify(sample, sigstore) -> None:
    repo = _keyless_repo(sample, sigstore)
    assert repo.archivist("release", "clf", "v1.0.0", env={
        "SIGSTORE_IDENTITY_TOKEN": sigstore.token()}).returncode == 0
    path = repo.root / ".archivist/signatures/clf/v1.0.0.sig"
    bundle = json.loads(path.read_text())
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 60)
    path.write_text(json.dumps(bundle))
    repo.git("add", "--", ".archivist/signatures/clf/v1.0.0.sig")
    repo.git("commit", "-q", "--amend", "--no-edit", "--no-verify")
    message = repo.git("tag", "-l", "--format=%(contents)", "clf@v1.0.0").stdout
    repo.git("tag", "-f", "-a", "clf@v1.0.0", "-m", message, "HEAD")
    proc = repo.archivist("verify")
    assert proc.returncode == 1, proc.stdout
    assert "keyless signature by ana@example.com" in proc.stdout
    assert "invalid log entry" in proc.stdout or "inclusion promise" in proc.stdout


def test_tampered_inclusion_proof_fails_verify(sample, sigstore) -> None:
    repo = _keyless_repo(sample, sigstore)
    for version in ("v1.0.0", "v1.0.1"):  # two entries, so the proof has a hash to alter
        assert repo.archivist("release", "clf", version, env={
            "SIGSTORE_IDENTITY_TOKEN": sigstore.token()}).returncode == 0
    path = repo.root / ".archivist/signatures/clf/v1.0.1.sig"
    bundle = json.loads(path.read_text())
    proof = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    proof["hashes"][0] = base64.b64encode(b"\0" * 32).decode()
    path.write_text(json.dumps(bundle))
    repo.git("add", "--", ".archivist/signatures/clf/v1.0.1.sig")
    repo.git("commit", "-q", "--amend", "--no-edit", "--no-verify")
    message = repo.git("tag", "-l", "--format=%(contents)", "clf@v1.0.1").stdout
    repo.git("tag", "-f", "-a", "clf@v1.0.1", "-m", message, "HEAD")
    proc = repo.archivist("verify", "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 1
    verdicts = {r["tag"]: r for r in data["releases"]}
    assert verdicts["clf@v1.0.0"]["ok"]
    assert any("inclusion proof" in p for p in verdicts["clf@v1.0.1"]["problems"])


def test_default_trust_is_the_shipped_production_root_offline(sample, sigstore) -> None:
    """Without signing.trust_config, keyless bundles are checked against the production
    root shipped with sigstore-python, with no TUF refresh: a local bundle is refused."""
    repo = _keyless_repo(sample, sigstore)
    assert repo.archivist("release", "clf", "v1.0.0", env={
        "SIGSTORE_IDENTITY_TOKEN": sigstore.token()}).returncode == 0
    repo.write("archivist.yaml", repo.read("archivist.yaml").replace(
        "  trust_config: keys/sigstore-trust.json\n", ""))
    repo.commit("policy: production Sigstore")
    served = len(sigstore.requests)
    # A proxy that does not exist: any attempt to reach the network would fail loudly.
    proc = repo.archivist("verify", env={"HTTPS_PROXY": "http://127.0.0.1:9",
                                         "HTTP_PROXY": "http://127.0.0.1:9"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "keyless signature by ana@example.com" in proc.stdout
    assert f"(issuer {sigstore.issuer}, unverified)" in proc.stdout  # not Fulcio's word yet
    assert "certificate chain" in proc.stdout
    assert len(sigstore.requests) == served


def test_no_identity_available_is_a_configuration_error(sample, sigstore) -> None:
    repo = _keyless_repo(sample, sigstore)
    proc = repo.archivist("release", "clf", "v1.0.0")
    assert proc.returncode == 2
    assert "keyless signing needs an OIDC identity" in proc.stderr
