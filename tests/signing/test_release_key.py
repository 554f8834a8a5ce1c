"""archivist release / verify with a private key, end to end on real git, DVC and gto."""

from __future__ import annotations

import json
import os

from signing_helpers import BIN, POLICY_KEY, run

from archivist.policy import parse_policy
from archivist.release.records import list_release_tags
from archivist.release.verify import verify_files, verify_tag


def _release(repo, keys, *args: str):  # type: ignore[no-untyped-def]
    return repo.archivist("release", "clf", "v1.0.0", "--key", keys.private, *args)


def test_release_signs_commits_and_tags_in_gto_format(sample, keys) -> None:
    before = sample.head()
    proc = _release(sample, keys, "--stage", "prod", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["tag"] == "clf@v1.0.0" and out["tags"] == ["clf@v1.0.0", "clf#prod#1"]
    assert out["bundle"] == ".archivist/signatures/clf/v1.0.0.sig"
    assert out["version"].startswith("md5:") and out["digest"].startswith("sha256:")
    # One commit on top, holding the bundle and the event, with the release trailers.
    assert sample.git("rev-parse", "HEAD~1").stdout.strip() == before
    assert sample.git("rev-parse", "clf@v1.0.0^{commit}").stdout.strip() == sample.head()
    files = sample.git("show", "--name-only", "--format=", "HEAD").stdout.split()
    assert out["bundle"] in files and any(f.startswith(".archivist/events/") for f in files)
    trailers = sample.git("log", "-1", "--format=%(trailers)").stdout
    assert "Archivist-Event: release" in trailers
    assert "Archivist-Artifact: models/clf.pkl" in trailers
    assert f"Archivist-Version: {out['version']}" in trailers
    assert "Archivist-Signer: key sha256:" in trailers
    # Annotated tag whose message records the digest and the bundle.
    assert sample.git("cat-file", "-t", "clf@v1.0.0").stdout.strip() == "tag"
    message = sample.git("tag", "-l", "--format=%(contents)", "clf@v1.0.0").stdout
    assert f"Archivist-Digest: {out['digest']}" in message
    assert f"Archivist-Bundle: {out['bundle']}" in message
    # GTO sees the release and the stage.
    shown = json.loads(run([BIN / "gto", "show", "--json"], sample.root).stdout)
    assert shown["clf"]["version"] == "v1.0.0" and shown["clf"]["stage"]["prod"] == "v1.0.0"
    for tag in ("clf@v1.0.0", "clf#prod#1"):
        assert run([BIN / "gto", "check-ref", tag], sample.root).returncode == 0
    # Second release: the stage counter goes on.
    sample.write("models/clf.pkl", os.urandom(1000))
    sample.dvc("add", "-q", "models/clf.pkl")
    sample.commit("retrain")
    proc = sample.archivist("release", "clf", "v1.1.0", "--key", keys.private,
                            "--stage", "prod", "--json")
    assert json.loads(proc.stdout)["tags"] == ["clf@v1.1.0", "clf#prod#2"]
    assert list_release_tags(sample.root) == ["clf@v1.0.0", "clf@v1.1.0"]


def test_bundle_is_standard_model_signing(sample, keys) -> None:
    assert _release(sample, keys).returncode == 0
    bundle = sample.root / ".archivist/signatures/clf/v1.0.0.sig"
    proc = run([BIN / "model_signing", "verify", "key", "models/clf.pkl", "--signature", bundle,
                "--public_key", "keys/release.pub"], sample.root, check=False)
    assert proc.returncode == 0 and "Verification succeeded" in proc.stdout, proc.stderr


def test_verify_passes_and_reports(sample, keys) -> None:
    assert _release(sample, keys).returncode == 0
    proc = sample.archivist("verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok  clf@v1.0.0  models/clf.pkl" in proc.stdout
    data = json.loads(sample.archivist("verify", "clf@v1.0.0", "--json").stdout)
    (release,) = data["releases"]
    assert data["ok"] and release["ok"] and release["problems"] == []
    assert release["signer"].startswith("key sha256:") and release["source"] == "cache"
    policy = parse_policy(sample.read("archivist.yaml"))
    outcome = verify_tag(sample.root, "clf@v1.0.0", policy)
    assert outcome.ok and outcome.artifact == "models/clf.pkl"
    assert outcome.version == release["version"] and outcome.digest == release["digest"]


def test_verify_reads_bytes_from_the_remote_when_the_cache_lacks_them(sample, keys) -> None:
    assert _release(sample, keys).returncode == 0
    for path in (sample.root / ".dvc" / "cache").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.unlink()
    data = json.loads(sample.archivist("verify", "--json").stdout)
    assert data["ok"], data
    assert data["releases"][0]["source"] == "remote default"


def test_folder_artifact_release_and_verify(dvc_repo, keys) -> None:
    repo = dvc_repo
    for i in range(5):
        repo.write(f"models/bundle/part{i}.bin", os.urandom(2000 + i))
    repo.write("models/bundle/sub/config.json", "{}\n")
    repo.dvc("add", "-q", "models/bundle")
    repo.write("models/bundle.dvc", repo.read("models/bundle.dvc").replace(
        "  path: bundle", "  path: bundle\n  meta:\n    owner: ana@example.com"))
    repo.write("archivist.yaml", POLICY_KEY)
    repo.write("keys/release.pub", keys.public_pem)
    repo.commit("folder model")
    proc = repo.archivist("release", "models/bundle", "v0.1.0", "--key", keys.private, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["tag"] == "models/bundle@v0.1.0"
    assert not out["bundle"].startswith("models/bundle/")
    assert repo.archivist("verify").returncode == 0
    cli = run([BIN / "model_signing", "verify", "key", "models/bundle", "--signature",
               repo.root / out["bundle"], "--public_key", "keys/release.pub"], repo.root,
              check=False)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    # verify_files: restored bytes of the folder, then one byte changed.
    policy = parse_policy(repo.read("archivist.yaml"))
    bundle = (repo.root / out["bundle"]).read_bytes()
    assert verify_files(repo.root, policy, bundle, repo.root / "models/bundle") == []
    (repo.root / "models/bundle/part2.bin").chmod(0o644)
    (repo.root / "models/bundle/part2.bin").write_bytes(b"changed")
    (repo.root / "models/bundle/stray.txt").write_text("x")
    problems = verify_files(repo.root, policy, bundle, repo.root / "models/bundle")
    assert any("part2.bin: sha256" in p for p in problems)
    assert any("stray.txt: extra file" in p for p in problems)


def test_refused_when_tags_are_missing_and_nothing_is_written(sample, keys) -> None:
    sample.write("dvc.yaml", sample.read("dvc.yaml").replace(
        "    meta:\n      owner: ana@example.com\n", ""))
    sample.commit("drop owner")
    head = sample.head()
    proc = _release(sample, keys)
    assert proc.returncode == 1
    assert "owner" in proc.stdout and "tags do not satisfy the policy" in proc.stderr
    assert sample.head() == head
    assert sample.git("tag", "-l").stdout.strip() == ""
    assert not (sample.root / ".archivist").exists()


def test_refused_when_working_tree_differs_from_dvc(sample, keys) -> None:
    path = sample.root / "models/clf.pkl"
    path.chmod(0o644)
    path.write_bytes(b"retrained but not dvc-added")
    head = sample.head()
    proc = _release(sample, keys)
    assert proc.returncode == 1
    assert "models/clf.pkl: content md5" in proc.stdout and "differs" in proc.stdout
    assert sample.head() == head and sample.git("tag", "-l").stdout.strip() == ""


def test_refused_when_tag_exists(sample, keys) -> None:
    assert _release(sample, keys).returncode == 0
    head = sample.head()
    proc = _release(sample, keys)
    assert proc.returncode == 1 and "tag clf@v1.0.0 exists already" in proc.stderr
    assert sample.head() == head


def test_refused_when_key_is_not_the_policys(sample, tmp_path) -> None:
    from signing_helpers import make_keypair

    other = make_keypair(tmp_path / "other", "other")
    head = sample.head()
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", other.private)
    assert proc.returncode == 1
    assert "not among signing.public_keys (keys/release.pub)" in proc.stdout
    assert sample.head() == head and not (sample.root / ".archivist").exists()


def test_usage_and_configuration_errors_exit_2(sample, keys) -> None:
    proc = sample.archivist("release", "clf", "1.0.0", "--key", keys.private)
    assert proc.returncode == 2 and "write v1.0.0" in proc.stderr
    proc = sample.archivist("release", "nope", "v1.0.0", "--key", keys.private)
    assert proc.returncode == 2 and "not tracked by DVC" in proc.stderr
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", sample.root / "missing.key")
    assert proc.returncode == 2 and "no such file" in proc.stderr
    sample.write("dvc.yaml", sample.read("dvc.yaml") + "    desc: uncommitted\n")
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", keys.private)
    assert proc.returncode == 2 and "uncommitted changes in dvc.yaml" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = sample.archivist("verify", "clf@1.0")
    assert proc.returncode == 2


def test_crash_between_commit_and_tag_is_finished_by_rerun(sample, keys) -> None:
    assert _release(sample, keys).returncode == 0
    commit = sample.head()
    sample.git("tag", "-d", "clf@v1.0.0")  # as if the process died before tagging
    proc = _release(sample, keys, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["resumed"] is True
    assert sample.head() == commit
    assert sample.git("rev-parse", "clf@v1.0.0^{commit}").stdout.strip() == commit
    assert sample.archivist("verify").returncode == 0
