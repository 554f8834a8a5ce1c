"""Releases in the audit: judged by the reviewed policy, tags held to the ledger, one bad
bundle one finding. Real key releases (archivist release --key), real git tags, and
model-signing's own verifier as the oracle for what a signature proves."""

from __future__ import annotations

import json
from pathlib import Path

from realrepo import BIN, run

from .auditrepo import (
    AuditRepo,
    findings,
    forge_release_tag,
    kinds_and_subjects,
    make_key,
    remote_object,
)

BUNDLE = ".archivist/signatures/clf/v1.0.0.sig"


def _audit(repo: AuditRepo, *args: str) -> tuple[int, dict]:
    proc = repo.archivist("audit", "--json", *args)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _model_signing_accepts(repo: AuditRepo, public_key: Path) -> bool:
    """model-signing's own CLI: does the bundle verify over the bytes with this key?"""
    proc = run([BIN / "model_signing", "verify", "key", "models/clf.pkl", "--signature",
                BUNDLE, "--public_key", public_key], repo.root, check=False)
    return proc.returncode == 0


def test_a_good_release_is_verified(released: AuditRepo) -> None:
    code, report = _audit(released)
    assert code == 0, report["findings"]
    f = report["figures"]
    assert (f["releases"], f["releases_signed"], f["releases_verified"]) == (1, 1, 1)
    assert report["policy_ref"] == released.sha("main")


def test_release_tag_deleted_or_moved(released: AuditRepo) -> None:
    release_commit = released.sha("clf@v1.0.0^{commit}")
    message = released.git("tag", "-l", "--format=%(contents)", "clf@v1.0.0").stdout
    released.git("tag", "-d", "clf@v1.0.0")
    assert released.git("tag", "-l", "clf@*").stdout.strip() == ""
    code, report = _audit(released)
    assert code == 1
    assert kinds_and_subjects(report) == {("release-tag-missing", "clf@v1.0.0")}
    assert findings(report)[0]["commit"] == release_commit
    # put back on another commit (the one before the release): moved
    released.git("tag", "-a", "clf@v1.0.0", "-m", message, "HEAD~1")
    code, report = _audit(released)
    assert code == 1
    assert kinds_and_subjects(report) == {("release-tag-moved", "clf@v1.0.0")}
    # where it belongs again: nothing to report
    released.git("tag", "-f", "-a", "clf@v1.0.0", "-m", message, release_commit)
    assert _audit(released)[0] == 0


def test_a_merge_request_key_does_not_vouch_for_its_own_release(
        release_ready: tuple[AuditRepo, Path], tmp_path: Path) -> None:
    """The request adds its own key to public_keys and ships a release signed with it."""
    upstream, _ = release_ready
    fork = AuditRepo(tmp_path / "fork")
    run(["git", "clone", "-q", str(upstream.root), str(fork.root)], tmp_path)
    fork.git("config", "user.name", "Mallory")
    fork.git("config", "user.email", "mallory@example.com")
    fork.dvc("pull", "-q")
    private, public = make_key(tmp_path / "mallory", "mallory")
    fork.write("keys/mallory.pub", public)
    fork.write("archivist.yaml", fork.read("archivist.yaml").replace(
        "public_keys: [keys/release.pub]", "public_keys: [keys/release.pub, keys/mallory.pub]"))
    fork.commit("trust one more key", "keys/mallory.pub", "archivist.yaml")
    proc = fork.archivist("release", "clf", "v1.0.0", "--key", private)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # model-signing itself: the bundle verifies with Mallory's key, not with the policy's
    assert _model_signing_accepts(fork, fork.root / "keys/mallory.pub")
    assert not _model_signing_accepts(fork, fork.root / "keys/release.pub")
    # CI on the merge request: the request's head and its tags, beside the base branch
    upstream.git("fetch", "-q", str(fork.root), "main:refs/remotes/mr/main",
                 "refs/tags/*:refs/tags/*")
    for args in (["--policy-ref", "main"], []):  # the governed branch is the default
        code, report = _audit(upstream, "--rev", "mr/main", *args)
        assert code == 1, args
        release = findings(report, "release")
        assert [f["subject"] for f in release] == ["clf@v1.0.0"], args
        assert release[0]["status"] == "untrusted-signer"
        assert report["policy_ref"] == upstream.sha("main")
    # judged by the request's own policy, the release would pass: the base policy decides
    _, report = _audit(upstream, "--rev", "mr/main", "--policy-ref", "mr/main")
    assert not findings(report, "release", "release-unchecked", "trust-unreadable")


def test_an_unreadable_trust_file_is_a_finding(released: AuditRepo) -> None:
    released.write("archivist.yaml", released.read("archivist.yaml").replace(
        "keys/release.pub", "keys/rotated.pub"))  # the new key's file never committed
    released.commit("rotate the release key", "archivist.yaml")
    code, report = _audit(released)
    assert code == 1
    assert kinds_and_subjects(report) == {("trust-unreadable", released.sha("main"))}
    assert report["figures"]["releases_verified"] == 0
    # verify agrees that nothing can be verified with this policy
    assert released.archivist("verify", "clf@v1.0.0").returncode != 0


def test_a_malformed_bundle_is_one_finding_on_its_tag(released: AuditRepo) -> None:
    for n, bundle in ((1, b'{"verificationMaterial": "publicKey"}'), (2, b"[" * 100_000)):
        released.write("models/clf.pkl", f"retrained {n}\n")
        released.dvc("add", "-q", "models/clf.pkl")
        released.commit(f"retrain {n}")
        forge_release_tag(released, f"clf@v1.{n}.0", bundle)
    proc = released.archivist("audit", "--json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert kinds_and_subjects(report, "release") == {("release", "clf@v1.1.0"),
                                                     ("release", "clf@v1.2.0")}
    assert {f["status"] for f in findings(report, "release")} == {"malformed"}
    f = report["figures"]
    assert (f["releases"], f["releases_verified"]) == (3, 1)
    # the good release still verifies, by verify's own verdict
    assert released.archivist("verify", "clf@v1.0.0").returncode == 0


def test_without_deep_the_audit_reads_only_git(released: AuditRepo, tmp_path: Path) -> None:
    """A fresh clone (no DVC cache): signatures, signer and trust come from git alone."""
    clone = AuditRepo(tmp_path / "clone")
    run(["git", "clone", "-q", str(released.root), str(clone.root)], tmp_path)
    code, report = _audit(clone)
    cache = clone.root / ".dvc" / "cache"
    assert not cache.exists() or not [p for p in cache.rglob("*") if p.is_file()]
    assert code == 0, report["findings"]
    f = report["figures"]
    assert (f["releases"], f["releases_signed"]) == (1, 1)
    assert [n for n in report["notes"] if "clf@v1.0.0" in n]  # content unchecked: said so
    # what the audit left out, verify does: it fetches the bytes and checks them
    proc = clone.archivist("verify", "clf@v1.0.0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p for p in cache.rglob("*") if p.is_file()]


def test_a_registry_tag_from_before_signing_since_is_legacy(
        release_ready: tuple[AuditRepo, Path]) -> None:
    """An adopted GTO registry: its tags predate signing and do not fail the audit."""
    repo, _ = release_ready
    # the tag `gto register` makes, tagged in January (gto itself always tags with now)
    repo.git("tag", "-a", "clf@v0.9.0", "-m", "Registering artifact clf version v0.9.0",
             env={"GIT_COMMITTER_DATE": "2026-01-05T12:00:00+00:00"})
    shown = json.loads(run([BIN / "gto", "show", "--json"], repo.root).stdout)
    assert shown["clf"]["version"] == "v0.9.0"  # GTO's registry has it
    code, report = _audit(repo)
    assert code == 1
    assert {(f["subject"], f["status"]) for f in findings(report, "release")} == {
        ("clf@v0.9.0", "unsigned")}
    repo.write("archivist.yaml", repo.read("archivist.yaml") + "  since: 2026-06-01\n")
    repo.commit("signing required from June", "archivist.yaml")
    code, report = _audit(repo)
    assert code == 0, report["findings"]
    assert [n for n in report["notes"] if "legacy" in n and "clf@v0.9.0" in n]
    assert report["figures"]["releases_signed"] == 0


def test_released_bytes_gone_from_the_remote(released: AuditRepo, tmp_path: Path) -> None:
    """The released bytes gone from the remote: a fresh clone's audit notes it cannot check
    them; with --deep it reads the remotes, and it is a finding."""
    label = next(e["version"] for e in _audit(released)[1]["events"] if e["kind"] == "release")
    stored = remote_object(released, "storage", label)
    assert stored.is_file()
    stored.unlink()
    clone = AuditRepo(tmp_path / "clone")
    run(["git", "clone", "-q", str(released.root), str(clone.root)], tmp_path)
    assert clone.dvc("pull", "-q", check=False).returncode != 0  # DVC's own answer: gone
    code, report = _audit(clone)
    assert code == 0 and [n for n in report["notes"] if "clf@v1.0.0" in n]
    code, report = _audit(clone, "--deep")
    assert code == 1
    assert {(f["subject"], f["status"]) for f in findings(report, "release")} == {
        ("clf@v1.0.0", "content-missing")}
