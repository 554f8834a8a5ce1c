"""Helpers for the tests of commands that change remotes: fresh clones without a DVC
cache, histories with disposals due, a look into a DVC cache, and the ledger's events."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from realrepo import run
from retention.sample import Sample, md5

A, B, C, D, E = (bytes([i]) * 5000 + b"\0" for i in range(65, 70))
M1, M2 = b"\0model one " * 300, b"\0model two " * 300
# Both windows of v1 and M1 are over on this day; v2's archive window is not.
DISPOSE_AS_OF = "2024-12-01"


def fresh_clone(sample: Sample, dest: Path, origin: Path | None = None) -> Sample:
    """``git clone`` of the sample (or of ``origin``) as a new machine would make it: the
    remotes' credentials copied over (they are never committed), and no DVC cache."""
    run(["git", "clone", "-q", str(origin or sample.root), str(dest)], dest.parent)
    clone = Sample(dest)
    clone.kind = sample.kind
    clone.remotes = sample.remotes
    clone.git("config", "user.name", "Test Author")
    clone.git("config", "user.email", "author@example.com")
    secret = sample.root / ".dvc" / "config.local"
    if secret.exists():
        shutil.copyfile(secret, dest / ".dvc" / "config.local")
    assert not (dest / ".dvc" / "cache").exists()
    return clone


def disposal_history(sample: Sample) -> dict[str, str]:
    """Two artifacts, five versions, all pushed, then archived on 2024-01-01.

    data/ v1 = {a, b, c}, v2 = {a, d}, v3 = {a, e} (current); models/m.bin M1, M2
    (current). On DISPOSE_AS_OF, v1 and M1 are due for disposal; v2 stays archived and
    shares ``a`` with v1, v3 stays active and shares ``a`` too.
    """
    sample.version("data", {"a": A, "b": B, "c": C}, "2020-01-10")
    v1 = sample.digest("data")
    sample.version("models/m.bin", M1, "2020-02-01")
    sample.version("data", {"a": A, "d": D}, "2021-01-10")
    v2 = sample.digest("data")
    sample.version("models/m.bin", M2, "2021-02-01")
    sample.version("data", {"a": A, "e": E}, "2023-06-01")
    v3 = sample.digest("data")
    sample.push_all()
    proc = sample.archivist("archive", "--apply", "--as-of", "2024-01-01")
    assert proc.returncode == 0, proc.stderr
    return {"v1": v1, "v2": v2, "v3": v3, "m1": md5(M1), "m2": md5(M2)}


def disposed_objects(v: dict[str, str]) -> set[str]:
    """What disposing of v1 and M1 removes (``a`` stays: v2 and v3 use it)."""
    return {v["v1"], md5(B), md5(C), v["m1"]}


def archive_after_disposal(v: dict[str, str]) -> set[str]:
    return {v["v2"], md5(A), md5(D)}


def storage_after_disposal(v: dict[str, str]) -> set[str]:
    return {v["v3"], md5(A), md5(E), v["m2"]}


def cache_oids(repo: Sample) -> set[str]:
    """Objects in the repository's DVC cache, as ``ls .dvc/cache/files/md5`` shows them."""
    base = repo.root / ".dvc" / "cache" / "files" / "md5"
    if not base.exists():
        return set()
    return {p.parent.name + p.name for p in base.glob("*/*") if p.is_file()}


def staging_dirs(repo: Sample) -> list[str]:
    base = repo.root / ".dvc" / "tmp"
    return sorted(p.name for p in base.glob("archivist-*")) if base.exists() else []


def events(repo: Sample, rev: str = "HEAD") -> list[str]:
    """The ledger's event kinds on the first-parent history, oldest first."""
    out = repo.git("log", "--reverse", "--first-parent",
                   "--format=%(trailers:key=Archivist-Event,valueonly)", rev).stdout
    return out.split()


def last_event(repo: Sample) -> dict:
    name = repo.git("show", "--name-only", "--format=", "HEAD").stdout.split()[0]
    return json.loads(repo.read(name))
