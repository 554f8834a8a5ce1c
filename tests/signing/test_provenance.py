"""Signed provenance: a release records what its version was built from, inside what the
signature covers, and verify checks it against the DVC files of the release commit.

A real pipeline: a ``.dvc``-tracked dataset, a small Python stage run by ``dvc repro``,
params read by DVC; the bundles are checked by model-signing's own CLI as well.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from signing_helpers import BIN, POLICY_KEY, KeyPair, run

from realrepo import Repo

TRAIN = """\
import pathlib
data = pathlib.Path("data/raw.csv").read_bytes()
lr = pathlib.Path("params.yaml").read_text().split("lr:")[1].split()[0]
pathlib.Path("models").mkdir(exist_ok=True)
pathlib.Path("models/clf.pkl").write_bytes(data[::-1] + lr.encode())
"""

PIPELINE = """\
stages:
  train:
    cmd: python train.py
    deps: [data/raw.csv, train.py]
    params: [lr, train.epochs]
    outs: [models/clf.pkl]
artifacts:
  clf:
    path: models/clf.pkl
    type: model
    meta:
      owner: ana@example.com
"""

TAG = "clf@v1.0.0"
BUNDLE = ".archivist/signatures/clf/v1.0.0.sig"


def _pipeline(repo: Repo, keys: KeyPair) -> Repo:
    """A repository whose model is the output of ``dvc repro``, committed and pushed."""
    repo.write("data/raw.csv", "x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(200)))
    repo.dvc("add", "-q", "data/raw.csv")
    repo.write("params.yaml", "lr: 0.05\ntrain:\n  epochs: 3\n")
    repo.write("train.py", TRAIN)
    repo.write("dvc.yaml", PIPELINE)
    repo.dvc("repro", "-q")
    repo.write("archivist.yaml", POLICY_KEY)
    repo.write("keys/release.pub", keys.public_pem)
    repo.git("add", "-A")
    repo.commit("pipeline: train clf from data/raw.csv")
    repo.dvc("push", "-q")
    return repo


def _md5(repo: Repo, rel: str) -> str:
    return hashlib.md5((repo.root / rel).read_bytes(), usedforsecurity=False).hexdigest()


def _statement(repo: Repo) -> tuple[dict[str, Any], dict[str, Any]]:
    bundle = json.loads((repo.root / BUNDLE).read_bytes())
    return bundle, json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))


def _model_signing_verifies(repo: Repo) -> bool:
    proc = run([BIN / "model_signing", "verify", "key", "models/clf.pkl", "--signature",
                BUNDLE, "--public_key", "keys/release.pub"], repo.root, check=False)
    return proc.returncode == 0


def _replace_release_bundle(repo: Repo, data: bytes) -> None:
    """Put ``data`` in place of the release's bundle, amend the release commit and move
    the tag onto it, as someone with push rights could."""
    (repo.root / BUNDLE).write_bytes(data)
    repo.git("add", "--", BUNDLE)
    repo.git("commit", "-q", "--amend", "--no-edit", "--no-verify")
    message = repo.git("tag", "-l", "--format=%(contents)", TAG).stdout
    repo.git("tag", "-f", "-a", TAG, "-m", message, "HEAD")


def test_release_of_a_stage_output_signs_and_verify_prints_its_lineage(dvc_repo,
                                                                       keys) -> None:
    repo = _pipeline(dvc_repo, keys)
    assert "up to date" in repo.dvc("status").stdout  # DVC: dvc.lock is the workspace
    made_from = repo.head()
    released = repo.archivist("release", "clf", "v1.0.0", "--key", keys.private, "--json")
    assert released.returncode == 0, released.stdout + released.stderr
    assert json.loads(released.stdout)["provenance"]["stage"] == "train"

    shown = repo.archivist("verify", TAG)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"provenance: stage train (dvc.lock) at commit {made_from[:10]}" in shown.stdout
    assert "cmd: python train.py" in shown.stdout
    assert f"dep data/raw.csv md5:{_md5(repo, 'data/raw.csv')}" in shown.stdout
    assert f"dep train.py md5:{_md5(repo, 'train.py')}" in shown.stdout
    assert "param params.yaml: lr=0.05" in shown.stdout
    assert "param params.yaml: train.epochs=3" in shown.stdout

    data = json.loads(repo.archivist("verify", TAG, "--json").stdout)
    (release,) = data["releases"]
    expected = {
        "kind": "stage", "path": "models/clf.pkl", "md5": _md5(repo, "models/clf.pkl"),
        "commit": made_from, "file": "dvc.lock", "stage": "train", "cmd": "python train.py",
        "deps": [{"path": "data/raw.csv", "md5": _md5(repo, "data/raw.csv")},
                 {"path": "train.py", "md5": _md5(repo, "train.py")}],
        # as dvc.lock writes them (DVC flattens nested params to dotted keys)
        "params": {"params.yaml": {"lr": "0.05", "train.epochs": "3"}}}
    assert release["status"] == "ok" and release["provenance"] == expected
    # It is inside the DSSE payload, which is what the signature covers...
    _, statement = _statement(repo)
    assert statement["predicate"]["archivist"]["provenance"] == expected
    # ...and model-signing's own verifier still accepts the bundle.
    assert _model_signing_verifies(repo)


def test_edited_lineage_in_the_bundle_fails_verify_and_names_it(dvc_repo, keys) -> None:
    repo = _pipeline(dvc_repo, keys)
    assert repo.archivist("release", "clf", "v1.0.0", "--key", keys.private).returncode == 0
    bundle, statement = _statement(repo)
    statement["predicate"]["archivist"]["provenance"]["deps"][0]["md5"] = "0" * 32
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(
        json.dumps(statement).encode()).decode()
    _replace_release_bundle(repo, json.dumps(bundle).encode())

    proc = repo.archivist("verify", TAG, "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (release,) = json.loads(proc.stdout)["releases"]
    assert release["status"] == "bad-signature" and release["provenance"] is None
    named = [p for p in release["problems"] if "data/raw.csv" in p]
    assert named == [f"{TAG}: provenance: dependency data/raw.csv is signed as md5:{'0' * 32}, "
                     f"but dvc.lock records md5:{_md5(repo, 'data/raw.csv')} (in the "
                     "statement as edited, unsigned)"]
    assert not _model_signing_verifies(repo)  # model-signing refuses it too


def test_signed_lineage_that_the_release_commit_contradicts_fails(dvc_repo, keys) -> None:
    """A bundle whose signature holds, over provenance the DVC files do not record (signed
    by the trusted key itself): verify compares, not only checks the signature."""
    from archivist.release.hashing import files_at, hash_files
    from archivist.release.sign import SigningRequest, sign_bundle

    repo = _pipeline(dvc_repo, keys)
    assert repo.archivist("release", "clf", "v1.0.0", "--key", keys.private).returncode == 0
    _, statement = _statement(repo)
    extra = statement["predicate"]["archivist"]
    extra["provenance"]["params"]["params.yaml"]["lr"] = "0.5"
    extra["provenance"]["cmd"] = "python train.py --fast"
    digests = {item: d.sha256 for item, d in
               hash_files(files_at(repo.root / "models/clf.pkl")).items()}
    _replace_release_bundle(repo, sign_bundle(SigningRequest("key", key=keys.private),
                                              "clf.pkl", digests, extra))
    assert _model_signing_verifies(repo)  # a good signature over the same bytes

    proc = repo.archivist("verify", TAG, "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (release,) = json.loads(proc.stdout)["releases"]
    assert release["status"] == "record-mismatch"
    assert release["problems"] == [
        f"{TAG}: provenance: cmd is 'python train.py --fast' in the signed provenance, "
        f"'python train.py' in dvc.lock at {repo.git('rev-parse', 'HEAD^').stdout[:10]}",
        f'{TAG}: provenance: param params.yaml: lr is 0.5 in the signed provenance, '
        '0.05 in dvc.lock']


def test_a_dvc_tracked_release_records_path_md5_and_commit(sample, keys) -> None:
    made_from = sample.head()
    assert sample.archivist("release", "clf", "v1.0.0", "--key", keys.private).returncode == 0
    data = json.loads(sample.archivist("verify", "--json").stdout)
    (release,) = data["releases"]
    assert release["provenance"] == {
        "kind": "dvc-file", "path": "models/clf.pkl", "md5": _md5(sample, "models/clf.pkl"),
        "commit": made_from, "file": "models/clf.pkl.dvc"}
    text = sample.archivist("verify").stdout
    assert f"provenance: models/clf.pkl.dvc at commit {made_from[:10]}" in text


def test_releases_signed_before_provenance_still_verify(sample, keys) -> None:
    """A bundle with no provenance (as archivist made them before) still verifies."""
    from archivist.release.hashing import files_at, hash_files
    from archivist.release.sign import SigningRequest, sign_bundle

    assert sample.archivist("release", "clf", "v1.0.0", "--key", keys.private).returncode == 0
    bundle = json.loads((sample.root / BUNDLE).read_bytes())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    extra = statement["predicate"]["archivist"]
    del extra["provenance"]
    digests = {item: d.sha256 for item, d in
               hash_files(files_at(sample.root / "models/clf.pkl")).items()}
    old = sign_bundle(SigningRequest("key", key=keys.private), "clf.pkl", digests, extra)
    _replace_release_bundle(sample, old)
    data = json.loads(sample.archivist("verify", "--json").stdout)
    assert data["ok"] and data["releases"][0]["provenance"] is None
