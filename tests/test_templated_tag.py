"""``archivist tag`` on the output of a templated stage: the tags go to a ``dvc.yaml``
``artifacts:`` entry for that path (as DVC keeps them), DVC still reads the file, and the
next check finds them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from realrepo import Repo, init_repo, run

PIPELINE = """\
# training for every size
stages:
  train:
    foreach: [small, large]
    do:
      cmd: >-
        python train.py --size ${item}
        --a-long-option-that-stays-folded
      outs:
        - models/${item}.pkl
"""

POLICY = ("version: 1\ntags:\n  - match: {paths: ['models/**']}\n"
          "    require:\n      owner: {type: email}\n")

DVC_ARTIFACTS = """\
import json, sys
from dvc.repo import Repo
repo = Repo(sys.argv[1])
found = {}
for file, entries in repo.artifacts.read().items():
    for name, art in entries.items():
        found[name] = {"path": art.path, "meta": art.meta}
print(json.dumps(found))
"""


def make(tmp_path: Path, pipeline: str = PIPELINE) -> Repo:
    repo = init_repo(tmp_path / "repo")
    repo.dvc("init", "-q")
    repo.write("dvc.yaml", pipeline)
    repo.write("archivist.yaml", POLICY)
    repo.commit("pipeline")
    return repo


def dvc_artifacts(repo: Repo) -> dict[str, dict[str, object]]:
    return json.loads(run([sys.executable, "-c", DVC_ARTIFACTS, str(repo.root)],
                          repo.root).stdout)


def test_tag_adds_an_artifacts_entry_dvc_reads_and_check_finds(tmp_path: Path) -> None:
    repo = make(tmp_path)
    before = repo.archivist("check", "--all")
    assert before.returncode == 1 and "models/small.pkl" in before.stdout + before.stderr

    proc = repo.archivist("tag", "models/small.pkl", "owner=ana@example.com")
    assert proc.returncode == 0, proc.stderr

    # DVC's own reading of the registry holds the tag
    assert dvc_artifacts(repo) == {
        "small": {"path": "models/small.pkl", "meta": {"owner": "ana@example.com"}}}
    # the pipeline still resolves, and nothing but new lines appeared
    stages = repo.dvc("stage", "list", "--all", "--name-only").stdout.split()
    assert stages == ["train@small", "train@large"]
    diff = repo.git("diff", "-U0", "--", "dvc.yaml").stdout
    changed = [line for line in diff.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert all(line.startswith("+") for line in changed), diff
    assert repo.read("dvc.yaml").startswith(PIPELINE)

    after = repo.archivist("check", "--all")
    out = after.stdout + after.stderr
    assert after.returncode == 1
    assert "models/large.pkl" in out and "models/small.pkl" not in out

    # tagging again edits the same entry: no second one
    assert repo.archivist("tag", "models/small.pkl", "owner=bo@example.com").returncode == 0
    assert dvc_artifacts(repo)["small"]["meta"] == {"owner": "bo@example.com"}
    assert repo.read("dvc.yaml").count("path: models/small.pkl") == 1


def test_existing_registry_gets_one_more_entry(tmp_path: Path) -> None:
    pipeline = PIPELINE + """\

artifacts:
  small:                     # a name already taken by another file
    path: models/other.pkl
    type: model

plots:
  - metrics.json
"""
    repo = make(tmp_path, pipeline)
    repo.write("models/other.pkl.dvc", "outs:\n- md5: 1f3870be274f6c49b3e31a0c6728957f\n"
               "  size: 3\n  hash: md5\n  path: other.pkl\n")
    repo.commit("other")
    proc = repo.archivist("tag", "models/small.pkl", "owner=ana@example.com")
    assert proc.returncode == 0, proc.stderr
    found = dvc_artifacts(repo)
    assert found["small-2"] == {"path": "models/small.pkl",
                                "meta": {"owner": "ana@example.com"}}
    assert found["small"]["path"] == "models/other.pkl"
    diff = repo.git("diff", "-U0", "--", "dvc.yaml").stdout
    removed = [line for line in diff.splitlines()
               if line.startswith("-") and not line.startswith("---")]
    assert removed == [], diff
    assert repo.dvc("stage", "list", "--all").returncode == 0


def test_output_of_a_nested_pipeline_with_wdir(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    repo.dvc("init", "-q")
    repo.write("archivist.yaml", POLICY.replace("models/**", "**/models/**"))
    repo.write("nlp/params.yaml", "work: train\nsizes: [base]\n")
    repo.write("nlp/dvc.yaml", "stages:\n  fit:\n    foreach: ${sizes}\n    do:\n"
                               "      wdir: ${work}\n      cmd: python fit.py\n      outs:\n"
                               "        - models/${item}.bin\n")
    repo.commit("nested")
    proc = repo.archivist("tag", "nlp/train/models/base.bin", "owner=ana@example.com")
    assert proc.returncode == 0, proc.stderr
    found = dvc_artifacts(repo)
    # DVC reads the entry in nlp/dvc.yaml, its path relative to that folder
    assert found == {"base": {"path": "train/models/base.bin",
                              "meta": {"owner": "ana@example.com"}}}
    assert "base:\n    path: train/models/base.bin" in repo.read("nlp/dvc.yaml")
    assert repo.archivist("check", "--all").returncode == 0
    assert repo.dvc("stage", "list", "--all").returncode == 0
