"""Signing time: a trusted timestamp where there is one, else the certificate must be
valid now. A release commit's date is chosen by whoever commits, so it proves nothing."""

from __future__ import annotations

import datetime as dt
import json
import time

from signing_helpers import (
    _days,
    keyless_repo,
    make_ca,
    make_leaf,
    resign_release,
    write_signer,
)

POLICY = """\
version: 1
branch: main
signing:
  method: certificate
  certificate_roots: [keys/ca.pem]
"""


def test_expired_certificate_with_a_backdated_release_commit_fails(sample, tmp_path) -> None:
    root = make_ca("Acme corp root")
    sample.write("keys/ca.pem", root.pem)
    sample.write("archivist.yaml", POLICY)
    sample.commit("policy: enterprise PKI")
    key, paths = write_signer(tmp_path / "current", make_leaf(root))
    assert sample.archivist("release", "clf", "v1.0.0", "--key", key,
                            "--cert-chain", *paths).returncode == 0
    verify = sample.archivist("verify")
    assert verify.returncode == 0, verify.stdout
    # A certificate that expired a month ago, and a release commit dated inside its life.
    expired = make_leaf(root, not_before=_days(-400), not_after=_days(-30))
    key, paths = write_signer(tmp_path / "expired", expired)
    backdated = (dt.datetime.now(dt.UTC) - dt.timedelta(days=200)).strftime(
        "%Y-%m-%dT%H:%M:%S+00:00")
    resign_release(sample, "clf@v1.0.0", key, paths, date=backdated)
    assert sample.git("log", "-1", "--format=%cI").stdout.startswith(backdated[:10])
    proc = sample.archivist("verify", "--json")
    assert proc.returncode == 1, proc.stdout
    outcome = json.loads(proc.stdout)["releases"][0]
    assert not outcome["ok"]
    assert any("is not valid now" in p and "a commit date is not evidence" in p
               for p in outcome["problems"]), outcome["problems"]


def test_keyless_is_checked_at_rekor_integrated_time(sample, sigstore) -> None:
    """Fulcio's certificate lives minutes; verify uses the time the log vouches for."""
    repo = keyless_repo(sample, sigstore,
                        f'{{issuer: "{sigstore.issuer}", identity: "^ana@example\\\\.com$"}}')
    sigstore.cert_lifetime = dt.timedelta(seconds=8)
    issued = time.time()
    proc = repo.archivist("release", "clf", "v1.0.0", "--json",
                          env={"SIGSTORE_IDENTITY_TOKEN": sigstore.token()})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    time.sleep(max(0.0, issued + 10 - time.time()))  # the certificate has expired now
    bundle = json.loads((repo.root / json.loads(proc.stdout)["bundle"]).read_text())
    integrated = int(bundle["verificationMaterial"]["tlogEntries"][0]["integratedTime"])
    verify = repo.archivist("verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    stamp = dt.datetime.fromtimestamp(integrated, dt.UTC)
    assert f"signed at {stamp:%Y-%m-%d %H:%M:%S} UTC (Rekor integrated time)" in verify.stdout
    data = json.loads(repo.archivist("verify", "--json").stdout)
    assert data["releases"][0]["signed_time"].endswith("(Rekor integrated time)")
