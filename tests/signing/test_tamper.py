"""Tampering: each case makes `archivist verify` exit 1 with a line that says what failed."""

from __future__ import annotations

import json
import os

from signing_helpers import cache_object, dvc_md5, make_keypair, make_pki


def _released(sample, keys):  # type: ignore[no-untyped-def]
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", keys.private)
    assert proc.returncode == 0, proc.stderr
    return sample


def _verify_fails(repo, *needles: str) -> str:  # type: ignore[no-untyped-def]
    proc = repo.archivist("verify")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stdout, proc.stdout
    return proc.stdout


def test_altered_bytes_in_the_dvc_cache(sample, keys) -> None:
    _released(sample, keys)
    obj = cache_object(sample.root, dvc_md5(sample.root, "models/clf.pkl.dvc"))
    data = bytearray(obj.read_bytes())
    data[100] ^= 0xFF
    obj.write_bytes(bytes(data))
    _verify_fails(sample, "FAIL  clf@v1.0.0", "models/clf.pkl: sha256", "differs from the signed")


def _folder_release(dvc_repo, keys):  # type: ignore[no-untyped-def]
    from signing_helpers import POLICY_KEY

    repo = dvc_repo
    for name in ("a.bin", "b.bin", "c.bin"):
        repo.write(f"models/set/{name}", os.urandom(3000))
    repo.dvc("add", "-q", "models/set")
    repo.write("models/set.dvc", repo.read("models/set.dvc").replace(
        "  path: set", "  path: set\n  meta:\n    owner: ana@example.com"))
    repo.write("archivist.yaml", POLICY_KEY)
    repo.write("keys/release.pub", keys.public_pem)
    repo.commit("folder")
    assert repo.archivist("release", "models/set", "v1.0.0", "--key", keys.private
                          ).returncode == 0
    return repo


def test_edited_listing_of_a_folder_artifact(dvc_repo, keys) -> None:
    repo = _folder_release(dvc_repo, keys)
    listing = cache_object(repo.root, dvc_md5(repo.root, "models/set.dvc").removesuffix(".dir")
                           + ".dir")
    entries = json.loads(listing.read_bytes())
    # Drop c.bin and list a.bin's object a second time under another name.
    entries = [e for e in entries if e["relpath"] != "c.bin"]
    entries.append({"md5": entries[0]["md5"], "relpath": "injected.bin"})
    listing.write_text(json.dumps(entries))
    # The listing is not the object its name says: never read, and no remote has the right one.
    out = _verify_fails(repo, "the .dir manifest in the DVC cache does not hash to its name")
    assert "injected.bin" not in out


def test_edited_bundle(sample, keys) -> None:
    _released(sample, keys)
    path = sample.root / ".archivist/signatures/clf/v1.0.0.sig"
    bundle = json.loads(path.read_text())
    envelope = bundle["dsseEnvelope"]
    import base64

    payload = json.loads(base64.b64decode(envelope["payload"]))
    payload["predicate"]["resources"][0]["digest"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    path.write_text(json.dumps(bundle))
    # Rewrite the release commit with the edited bundle and move the tag onto it.
    sample.git("add", "--", str(path.relative_to(sample.root)))
    sample.git("commit", "-q", "--amend", "--no-edit", "--no-verify")
    message = sample.git("tag", "-l", "--format=%(contents)", "clf@v1.0.0").stdout
    sample.git("tag", "-f", "-a", "clf@v1.0.0", "-m", message, "HEAD")
    _verify_fails(sample, "the signature does not verify with keys/release.pub")


def test_tag_moved_to_another_commit(sample, keys) -> None:
    _released(sample, keys)
    sample.write("README.md", "later change\n")
    sample.commit("later")
    message = sample.git("tag", "-l", "--format=%(contents)", "clf@v1.0.0").stdout
    sample.git("tag", "-f", "-a", "clf@v1.0.0", "-m", message, "HEAD")
    _verify_fails(sample, "was the tag moved?")


def test_key_the_policy_does_not_list(sample, keys, tmp_path) -> None:
    _released(sample, keys)
    # The governed branch rotates to a new key: the old release no longer verifies.
    other = make_keypair(tmp_path / "rotated", "rotated")
    sample.write("keys/release.pub", other.public_pem)
    sample.commit("rotate release key")
    _verify_fails(sample, "which is not among signing.public_keys (keys/release.pub)")


def test_policy_on_a_review_branch_cannot_vouch_for_itself(sample, keys, tmp_path) -> None:
    _released(sample, keys)
    obj = cache_object(sample.root, dvc_md5(sample.root, "models/clf.pkl.dvc"))
    obj.write_bytes(b"swapped model")
    sample.git("switch", "-q", "-c", "review")
    sample.write("archivist.yaml", sample.read("archivist.yaml").replace(
        "branch: main", "branch: review"))
    sample.commit("policy: govern my own branch")
    # The request's policy names its own branch; CI names the governed one.
    proc = sample.archivist("verify", "--policy-ref", "main")
    assert proc.returncode == 1 and "differs from the signed" in proc.stdout


def test_certificate_not_under_the_policys_roots(sample, tmp_path) -> None:
    trusted = make_pki(tmp_path / "trusted", name="trusted")
    rogue = make_pki(tmp_path / "rogue", name="rogue")
    sample.write("keys/ca.pem", trusted.root.read_bytes())
    sample.write("archivist.yaml", sample.read("archivist.yaml").replace(
        "  public_keys: [keys/release.pub]", "  certificate_roots: [keys/ca.pem]"))
    sample.commit("policy: enterprise PKI")
    head = sample.head()
    proc = sample.archivist("release", "clf", "v1.0.0", "--sign", "certificate",
                            "--key", rogue.key, "--cert-chain", rogue.leaf)
    assert proc.returncode == 1
    assert "does not chain to signing.certificate_roots (keys/ca.pem)" in proc.stdout
    assert sample.head() == head


def test_restored_bytes_are_checked_against_the_release(sample, keys, tmp_path) -> None:
    """What restore calls before it trusts bytes brought back from the archive."""
    from archivist.release.verify import verify_release_files

    _released(sample, keys)
    md5 = dvc_md5(sample.root, "models/clf.pkl.dvc")
    good = cache_object(sample.root, md5)
    assert verify_release_files(sample.root, "models/clf.pkl", f"md5:{md5}", {"": good}) == []
    bad = tmp_path / "restored.bin"
    bad.write_bytes(good.read_bytes()[:-1] + b"\0")
    problems = verify_release_files(sample.root, "models/clf.pkl", md5, {"": bad})
    assert problems and problems[0].startswith("clf@v1.0.0: models/clf.pkl: sha256")
    # A version that was never released has nothing to check.
    assert verify_release_files(sample.root, "models/clf.pkl", "0" * 32, {"": bad}) == []
