"""A folder version's ``.dir`` listing is believed only when its bytes are its name.

The attack: with write access to the remote only, rewrite the released folder's ``.dir``
object (same file name) to list an unsigned object at ``x/a.bin`` and the signed one under
``x\\a.bin``, and add the unsigned object. ``dvc pull`` in a fresh clone then writes the
attacker's bytes to ``x/a.bin``; ``archivist verify`` must fail.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from signing_helpers import POLICY_KEY, cache_object, dvc_md5, run

from archivist.dvccache import parse_dir_manifest
from archivist.errors import IntegrityError
from realrepo import Repo


def _remote_object(remote: Path, md5: str) -> Path:
    return remote / "files" / "md5" / md5[:2] / md5[2:]


def _released_folder(dvc_repo, keys) -> Repo:  # type: ignore[no-untyped-def]
    repo = dvc_repo
    for name in ("x/a.bin", "x/b.bin", "c.bin"):
        repo.write(f"models/set/{name}", os.urandom(3000))
    repo.dvc("add", "-q", "models/set")
    repo.write("models/set.dvc", repo.read("models/set.dvc").replace(
        "  path: set", "  path: set\n  meta:\n    owner: ana@example.com"))
    repo.write("archivist.yaml", POLICY_KEY)
    repo.write("keys/release.pub", keys.public_pem)
    repo.commit("folder model")
    proc = repo.archivist("release", "models/set", "v1.0.0", "--key", keys.private)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    repo.dvc("push", "-q")
    return repo


def _clone(repo: Repo, where: Path) -> Repo:
    run(["git", "clone", "-q", str(repo.root), str(where)], repo.root.parent)
    clone = Repo(where)
    clone.git("config", "user.name", "Test Author")
    clone.git("config", "user.email", "author@example.com")
    return clone


def _rewrite_remote_listing(repo: Repo, remote: Path) -> bytes:
    """The attacker's edit: returns the unsigned bytes now listed at x/a.bin."""
    dir_md5 = dvc_md5(repo.root, "models/set.dvc")
    listing = _remote_object(remote, dir_md5)
    entries = json.loads(listing.read_bytes())
    signed = next(e for e in entries if e["relpath"] == "x/a.bin")
    evil = b"unsigned weights " + os.urandom(64)
    evil_md5 = hashlib.md5(evil).hexdigest()
    target = _remote_object(remote, evil_md5)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(evil)
    rewritten = [{"md5": evil_md5, "relpath": "x/a.bin"},
                 {"md5": signed["md5"], "relpath": "x\\a.bin"},
                 *(e for e in entries if e["relpath"] != "x/a.bin")]
    listing.chmod(0o644)
    listing.write_text(json.dumps(rewritten))  # the file name (the signed md5) unchanged
    return evil


def test_rewritten_dir_on_the_remote_fails_verify_in_a_fresh_clone(dvc_repo, keys,
                                                                    tmp_path) -> None:
    repo = _released_folder(dvc_repo, keys)
    evil = _rewrite_remote_listing(repo, tmp_path / "remotes" / "storage")
    # The attack is real: DVC itself delivers the unsigned bytes to x/a.bin.
    victim = _clone(repo, tmp_path / "victim")
    victim.dvc("pull", "-q")
    assert (victim.root / "models/set/x/a.bin").read_bytes() == evil
    # A fresh clone's verify refuses the listing, and says which object and why.
    fresh = _clone(repo, tmp_path / "fresh")
    proc = fresh.archivist("verify", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (outcome,) = json.loads(proc.stdout)["releases"]
    assert outcome["status"] == "content-mismatch" and not outcome["ok"]
    assert any("does not hash to its name" in p for p in outcome["problems"])
    # ...and leaves no rewritten listing in its cache for a later dvc checkout to obey.
    dir_md5 = dvc_md5(fresh.root, "models/set.dvc")
    cached = fresh.root / ".dvc/cache/files/md5" / dir_md5[:2] / dir_md5[2:]
    assert not cached.exists()


def test_rewritten_dir_in_the_cache_is_fetched_again_from_the_remote(dvc_repo, keys) -> None:
    repo = _released_folder(dvc_repo, keys)
    listing = cache_object(repo.root, dvc_md5(repo.root, "models/set.dvc"))
    good = listing.read_bytes()
    entries = [e for e in json.loads(good) if e["relpath"] != "c.bin"]
    listing.write_text(json.dumps(entries))
    proc = repo.archivist("verify", "--json")
    assert proc.returncode == 0, proc.stdout
    assert json.loads(proc.stdout)["releases"][0]["source"] == "remote default"
    assert listing.read_bytes() == good  # DVC put the right listing back in the cache


def test_replaced_file_object_in_the_cache_is_named_and_removed(dvc_repo, keys) -> None:
    repo = _released_folder(dvc_repo, keys)
    entries = json.loads(cache_object(repo.root, dvc_md5(repo.root, "models/set.dvc"))
                         .read_bytes())
    md5 = next(e["md5"] for e in entries if e["relpath"] == "c.bin")
    obj = cache_object(repo.root, md5)
    obj.write_bytes(b"other bytes under the same name")
    proc = repo.archivist("verify", "--json")
    assert proc.returncode == 1
    (outcome,) = json.loads(proc.stdout)["releases"]
    assert outcome["status"] == "content-mismatch"
    assert any(p.startswith(f"models/set@v1.0.0: models/set/c.bin: the bytes stored as md5 "
                            f"{md5}") for p in outcome["problems"]), outcome["problems"]
    assert not obj.exists()
    # The next run fetches the right object from the remote and passes.
    assert repo.archivist("verify").returncode == 0
    assert hashlib.md5(obj.read_bytes()).hexdigest() == md5


M1, M2 = "1" * 32, "2" * 32


@pytest.mark.parametrize(("entries", "needle"), [
    ([{"md5": M1, "relpath": "x/a.bin"}, {"md5": M2, "relpath": "x\\a.bin"}], "plain"),
    ([{"md5": M1, "relpath": "a.bin"}, {"md5": M2, "relpath": "a.bin"}], "twice"),
    ([{"md5": M1, "relpath": "x"}, {"md5": M2, "relpath": "x/a.bin"}], "as a file and"),
    ([{"md5": M1, "relpath": "x//a.bin"}], "plain"),
    ([{"md5": M1, "relpath": "./a.bin"}], "plain"),
    ([{"md5": M1, "relpath": "../a.bin"}], "plain"),
    ([{"md5": M1, "relpath": "/etc/passwd"}], "plain"),
    ([{"md5": M1, "relpath": "x/"}], "plain"),
    ([{"md5": "../../../../etc/passwd", "relpath": "a"}], "32 hex"),
    ([{"md5": "A" * 32, "relpath": "a"}], "32 hex"),
    ([{"md5": M1}], "lacks relpath"),
    ({"md5": M1, "relpath": "a"}, "not a list"),
])
def test_listings_dvc_could_read_another_way_are_refused(entries, needle: str) -> None:
    with pytest.raises(IntegrityError) as exc:
        parse_dir_manifest(json.dumps(entries).encode(), "md5:x.dir")
    assert needle in exc.value.message


def test_listing_is_read_as_dvc_reads_it() -> None:
    from dvc_data.hashfile.tree import Tree

    entries = [{"md5": M1, "relpath": "a b/ü.bin", "size": 3}, {"md5": M2, "relpath": "c"}]
    ours = parse_dir_manifest(json.dumps(entries).encode(), "md5:x.dir")
    dvc = Tree.from_list(entries, hash_name="md5")
    assert ours == [("/".join(parts), hi.value) for parts, _, hi in dvc]
    with pytest.raises(IntegrityError):
        parse_dir_manifest(b"[" * 100_000, "md5:x.dir")


def test_without_fetch_only_the_cache_is_read(dvc_repo, keys, tmp_path) -> None:
    """What a git-only audit asks for: everything checked but the bytes it cannot read."""
    from archivist.policy import parse_policy
    from archivist.release.names import VerifyStatus
    from archivist.release.verify import verify_tag

    repo = _released_folder(dvc_repo, keys)
    fresh = _clone(repo, tmp_path / "fresh")
    policy = parse_policy(fresh.read("archivist.yaml"))
    outcome = verify_tag(fresh.root, "models/set@v1.0.0", policy, fetch=False)
    assert outcome.status is VerifyStatus.CONTENT_MISSING and not outcome.ok
    assert outcome.method == "key" and outcome.signer  # the signature was checked
    cache = fresh.root / ".dvc" / "cache"
    assert not [p for p in cache.rglob("*") if p.is_file()]  # no remote was read
    assert verify_tag(fresh.root, "models/set@v1.0.0", policy).status is VerifyStatus.OK
    assert [p for p in cache.rglob("*") if p.is_file()]
