"""Keyless claims: which repository, workflow, ref and trigger may release.

Fulcio records them in its certificate extensions; a shared (reusable) workflow gives
every repository that calls it the same SAN, so the SAN alone cannot tell Acme's release
from anyone else's. The local Sigstore instance issues certificates with the extensions
Fulcio writes for a GitHub Actions token.
"""

from __future__ import annotations

import json

import pytest
from signing_helpers import keyless_repo
from sigstore_local import github_claims

SHARED = "acme/shared-workflows/.github/workflows/release.yml@refs/heads/main"
SAN = ("^https://github\\\\.com/acme/shared-workflows/\\\\.github/workflows/release\\\\.yml"
       "@refs/heads/main$")
CLAIMS = ('repository: "https://github.com/acme/models", '
          'workflow: "https://github.com/acme/models/.github/workflows/release.yml", '
          'ref: [refs/heads/main, refs/tags/v1.0.0], event: push')


def _entry(sigstore, claims: str = CLAIMS) -> str:  # type: ignore[no-untyped-def]
    return f'{{issuer: "{sigstore.issuer}", identity: "{SAN}"' + \
        (f", {claims}}}" if claims else "}")


def _release(repo, sigstore, version: str = "v1.0.0", **claims: str):  # type: ignore[no-untyped-def]
    token = sigstore.token(email=None, claims=github_claims(job_workflow_ref=SHARED, **claims))
    return repo.archivist("release", "clf", version, "--json",
                          env={"SIGSTORE_IDENTITY_TOKEN": token})


def test_acme_calling_the_shared_workflow_releases(sample, sigstore) -> None:
    repo = keyless_repo(sample, sigstore, _entry(sigstore))
    proc = _release(repo, sigstore)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["signer"] == (
        f"sigstore https://github.com/{SHARED} (issuer {sigstore.issuer})")
    verify = repo.archivist("verify")
    assert verify.returncode == 0, verify.stdout


def test_the_san_alone_admits_any_caller_of_a_shared_workflow(sample, sigstore) -> None:
    """Why the claims exist: without them another repository's run releases."""
    repo = keyless_repo(sample, sigstore, _entry(sigstore, claims=""))
    proc = _release(repo, sigstore, repository="mallory/fork")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The policy adds the claim: the release made from the fork no longer verifies.
    keyless_repo(repo, sigstore, _entry(sigstore))
    verify = repo.archivist("verify", "--json")
    assert verify.returncode == 1, verify.stdout
    problems = json.loads(verify.stdout)["releases"][0]["problems"]
    assert any("its repository is 'https://github.com/mallory/fork', not "
               "'https://github.com/acme/models'" in p for p in problems), problems


@pytest.mark.parametrize(("claims", "told"), [
    ({"repository": "mallory/fork"}, "its repository is 'https://github.com/mallory/fork'"),
    ({"workflow": ".github/workflows/anything.yml"},
     "its workflow is 'https://github.com/acme/models/.github/workflows/anything.yml@"),
    ({"ref": "refs/heads/feature"}, "its ref is 'refs/heads/feature'"),
    ({"event": "pull_request_target"}, "its event is 'pull_request_target', not 'push'"),
])
def test_each_claim_refuses_another_run(sample, sigstore, claims, told) -> None:
    repo = keyless_repo(sample, sigstore, _entry(sigstore))
    head = repo.head()
    proc = _release(repo, sigstore, **claims)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "matches no signing.identities entry" in proc.stdout
    assert told in proc.stdout
    assert repo.head() == head and repo.git("tag", "-l").stdout.strip() == ""


def test_claims_are_never_met_by_a_certificate_without_them(sample, sigstore) -> None:
    """An email identity's certificate records no repository: the entry refuses it."""
    entry = (f'{{issuer: "{sigstore.issuer}", identity: "^ana@example\\\\.com$", '
             'repository: "https://github.com/acme/models"}')
    repo = keyless_repo(sample, sigstore, entry)
    proc = repo.archivist("release", "clf", "v1.0.0",
                          env={"SIGSTORE_IDENTITY_TOKEN": sigstore.token()})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "its repository is not recorded" in proc.stdout
