"""Known pitfalls of model-signing 1.1.1, each shown, and how archivist avoids it."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import model_signing
import pytest
from signing_helpers import BIN, POLICY_KEY, make_keypair, run

from archivist.policy import parse_policy
from archivist.release.verify import verify_files
from realrepo import init_repo


def test_pyopenssl_is_declared_because_model_signing_imports_it() -> None:
    source = (Path(model_signing.__file__).parent / "_signing" / "sign_certificate.py")
    assert "from OpenSSL import crypto" in source.read_text()
    undeclared = [r for r in importlib.metadata.requires("model-signing") or []
                  if re.match(r"(?i)pyopenssl\b", r)]
    assert undeclared == []  # model-signing does not declare it...
    ours = [r for r in importlib.metadata.requires("archivist") or []
            if re.match(r"(?i)pyopenssl\b", r)
            and re.search(r"extra == ['\"]signing['\"]", r)]
    assert ours, "archivist[signing] must declare pyOpenSSL"  # ...so archivist does


def test_sharded_signature_breaks_autodetection_and_archivist_names_it(tmp_path) -> None:
    keys = make_keypair(tmp_path / "k")
    public = tmp_path / "k" / "release.pub"
    public.write_bytes(keys.public_pem)
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(os.urandom(5000))
    bundle = tmp_path / "sharded.sig"
    model_signing.signing.Config().use_elliptic_key_signer(private_key=keys.private) \
        .set_hashing_config(model_signing.hashing.Config().use_shard_serialization(
            shard_size=1024)).sign(model, bundle)
    with pytest.raises(TypeError):  # the guessed configuration gets shard_size as a float
        model_signing.verifying.Config().use_elliptic_key_verifier(public_key=public) \
            .verify(model, bundle)
    # archivist verifies with its one explicit configuration and says why it cannot here.
    policy = parse_policy(POLICY_KEY)
    repo = init_repo(tmp_path / "repo")  # keys are read from the governed branch, main
    repo.write("keys/release.pub", keys.public_pem)
    repo.commit("release key")
    problems = verify_files(repo.root, policy, bundle.read_bytes(), model)
    assert len(problems) == 1 and "'method': 'shards'" in problems[0]
    assert "not the files/sha256 configuration" in problems[0]


def test_symlink_cache_type_releases_from_content_not_links(sample, keys) -> None:
    sample.dvc("config", "cache.type", "symlink")
    sample.dvc("checkout", "-q", "--relink")
    assert (sample.root / "models/clf.pkl").is_symlink()
    sample.commit("cache.type symlink", ".dvc/config")
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", keys.private, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sample.archivist("verify").returncode == 0
    bundle = sample.root / json.loads(proc.stdout)["bundle"]
    # model-signing's own CLI refuses the DVC symlink unless told to follow it.
    refused = run([BIN / "model_signing", "verify", "key", "models/clf.pkl", "--signature",
                   bundle, "--public_key", "keys/release.pub"], sample.root, check=False)
    assert refused.returncode == 1 and "is a symlink" in refused.stderr


def test_bundle_inside_the_signed_folder_is_an_extra_file(tmp_path) -> None:
    keys = make_keypair(tmp_path / "k")
    public = tmp_path / "k" / "release.pub"
    public.write_bytes(keys.public_pem)
    model = tmp_path / "model"
    model.mkdir()
    (model / "a.bin").write_bytes(b"a")
    inside = model / "model.sig"
    model_signing.signing.Config().use_elliptic_key_signer(private_key=keys.private) \
        .sign(model, inside)
    with pytest.raises(ValueError, match="Extra files"):
        model_signing.verifying.Config().use_elliptic_key_verifier(public_key=public) \
            .set_hashing_config(model_signing.hashing.Config()).verify(model, inside)


def test_a_released_folder_verifies_with_model_signing_itself(dvc_repo, keys) -> None:  # type: ignore[no-untyped-def]
    """archivist writes the bundle outside the folder it signs: model-signing's own CLI
    finds no extra file in the released folder and accepts the bundle over it."""
    repo = dvc_repo
    for name in ("a.bin", "sub/b.bin"):
        repo.write(f"models/set/{name}", os.urandom(2000))
    repo.dvc("add", "-q", "models/set")
    repo.write("models/set.dvc", repo.read("models/set.dvc").replace(
        "  path: set", "  path: set\n  meta:\n    owner: ana@example.com"))
    repo.write("archivist.yaml", POLICY_KEY)
    repo.write("keys/release.pub", keys.public_pem)
    repo.commit("folder model")
    proc = repo.archivist("release", "models/set", "v1.0.0", "--key", keys.private, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bundle = repo.root / json.loads(proc.stdout)["bundle"]
    assert bundle.is_file()
    folder = repo.root / "models" / "set"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) \
        == ["a.bin", "sub/b.bin"]
    accepted = run([BIN / "model_signing", "verify", "key", "models/set", "--signature",
                    bundle, "--public_key", "keys/release.pub"], repo.root, check=False)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_check_never_imports_the_signing_stack(sample) -> None:
    code = ("import sys\nfrom archivist.cli import main\nrc = main(['check', '--all'])\n"
            "heavy = [m for m in ('model_signing', 'sigstore', 'OpenSSL', 'dvc', 'gto') "
            "if m in sys.modules]\nprint(rc, heavy)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=sample.root, capture_output=True,
                          text=True, check=False)
    assert proc.stdout.strip().endswith("[]"), proc.stdout + proc.stderr
