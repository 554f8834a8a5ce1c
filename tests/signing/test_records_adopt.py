"""Adopting an existing GTO registry: its past is legacy, and any of it can be signed in place.

Tags are made by the real ``gto register``; ``signing.since`` marks when releases started
to be signed. Older unsigned tags are listed as legacy and do not fail; ``release --adopt``
signs what a tag registered (the bytes checked against DVC's hash at the tagged commit)
and leaves the tag where it is.
"""

from __future__ import annotations

import json
import os

from signing_helpers import BIN, run

from archivist.release.verify import verify_release_files
from realrepo import Repo

PAST = "2025-01-10T12:00:00+00:00"


def _register(repo: Repo, version: str, when: str | None = None) -> str:
    """``gto register``; ``when`` re-dates its tag (gto stamps the current time), as if the
    registry had been kept since then."""
    tag = f"clf@{version}"
    run([BIN / "gto", "register", "clf", "--version", version], repo.root)
    commit = repo.git("rev-parse", f"{tag}^{{commit}}").stdout.strip()
    if when:
        message = repo.git("tag", "-l", "--format=%(contents)", tag).stdout
        repo.git("tag", "-f", "-a", tag, "-m", message.strip(), commit,
                 env={"GIT_COMMITTER_DATE": when})
    assert run([BIN / "gto", "check-ref", tag], repo.root).returncode == 0
    return commit


def _registry(sample: Repo) -> dict[str, str]:
    """Two versions registered with GTO in 2025, then signing adopted from 2026-01-01."""
    first = _register(sample, "v0.1.0", PAST)
    sample.write("models/clf.pkl", os.urandom(4096))
    sample.dvc("add", "-q", "models/clf.pkl")
    sample.commit("retrain")
    second = _register(sample, "v0.2.0", PAST)
    tagged = sample.git("tag", "-l", "--format=%(taggerdate:iso-strict)", "clf@v0.1.0").stdout
    assert tagged.startswith("2025-01-10"), tagged
    sample.write("archivist.yaml", sample.read("archivist.yaml").replace(
        "  method: key\n", "  method: key\n  since: 2026-01-01\n"))
    sample.commit("policy: releases are signed from 2026")
    return {"clf@v0.1.0": first, "clf@v0.2.0": second}


def _verdicts(repo: Repo, *tags: str) -> tuple[int, dict[str, str]]:
    proc = repo.archivist("verify", *tags, "--json")
    return proc.returncode, {r["tag"]: r["status"] for r in json.loads(proc.stdout)["releases"]}


def test_registered_before_since_is_legacy_and_after_is_unsigned(sample) -> None:
    _registry(sample)
    assert _verdicts(sample) == (0, {"clf@v0.1.0": "legacy", "clf@v0.2.0": "legacy"})
    text = sample.archivist("verify")
    assert text.returncode == 0 and "legacy  clf@v0.1.0  unsigned" in text.stdout
    # A new unsigned registration fails, and so does one whose tagger date is backdated:
    # its commit is newer than the policy change that set signing.since.
    sample.write("README.md", "new work\n")
    sample.commit("new work")
    _register(sample, "v0.3.0")
    sample.write("README.md", "more work\n")
    sample.commit("more work")
    _register(sample, "v0.4.0", PAST)
    code, verdicts = _verdicts(sample)
    assert code == 1
    assert verdicts["clf@v0.3.0"] == verdicts["clf@v0.4.0"] == "unsigned"
    assert verdicts["clf@v0.1.0"] == "legacy"


def test_adopt_signs_the_registered_version_and_leaves_the_tag(sample, keys,
                                                              tmp_path) -> None:
    commits = _registry(sample)
    before = sample.head()
    proc = sample.archivist("release", "--adopt", "clf@v0.1.0", "--key", keys.private,
                            "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["tag"] == "clf@v0.1.0" and out["tags"] == []
    # The tag is where GTO put it; the bundle is a new commit on the governed branch.
    assert sample.git("rev-parse", "clf@v0.1.0^{commit}").stdout.strip() == commits["clf@v0.1.0"]
    assert sample.git("rev-parse", "HEAD~1").stdout.strip() == before
    files = sample.git("show", "--name-only", "--format=", "HEAD").stdout.split()
    assert ".archivist/signatures/clf/v0.1.0.sig" in files
    # The signed version is the one the tagged commit records, not the current one.
    old = sample.git("show", f"{commits['clf@v0.1.0']}:models/clf.pkl.dvc").stdout
    assert out["version"] == "md5:" + old.split("md5: ")[1].split()[0]
    assert _verdicts(sample, "clf@v0.1.0") == (0, {"clf@v0.1.0": "ok"})
    assert _verdicts(sample)[1]["clf@v0.2.0"] == "legacy"
    shown = json.loads(run([BIN / "gto", "show", "clf", "--json"], sample.root).stdout)
    assert "v0.1.0" in json.dumps(shown)
    # Restore checks bytes it brings back against the adopted release too.
    md5 = out["version"].removeprefix("md5:")
    good = sample.root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    assert verify_release_files(sample.root, "models/clf.pkl", out["version"],
                                {"": good}) == []
    bad = tmp_path / "restored.bin"
    bad.write_bytes(b"not the signed model")
    problems = verify_release_files(sample.root, "models/clf.pkl", out["version"],
                                    {"": bad})
    assert problems and problems[0].startswith("clf@v0.1.0: models/clf.pkl: sha256")
    # Moving the GTO tag after the adoption breaks it.
    sample.git("tag", "-f", "-a", "clf@v0.1.0", "-m", "Registering artifact clf version "
               "v0.1.0", commits["clf@v0.2.0"])
    code, verdicts = _verdicts(sample, "clf@v0.1.0")
    assert code == 1 and verdicts["clf@v0.1.0"] == "moved"


def test_adopt_refuses_an_archivist_release_and_a_twice_adopted_tag(sample, keys) -> None:
    _registry(sample)
    assert sample.archivist("release", "--adopt", "clf@v0.2.0", "--key",
                            keys.private).returncode == 0
    again = sample.archivist("release", "--adopt", "clf@v0.2.0", "--key", keys.private)
    assert again.returncode == 1 and "is adopted" in again.stderr
    proc = sample.archivist("release", "--adopt", "clf@v9.9.9", "--key", keys.private)
    assert proc.returncode == 2 and "no tag clf@v9.9.9" in proc.stderr
    proc = sample.archivist("release", "clf", "--adopt", "clf@v0.2.0")
    assert proc.returncode == 2 and "--adopt TAG takes no NAME" in proc.stderr
