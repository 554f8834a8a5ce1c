"""After `archivist tag`, `git diff` shows only the lines of the edited entry."""

from __future__ import annotations

import re

import pytest
from dvc.utils.serialize import load_yaml

from realrepo import Repo

# Built like DVC's example projects: long lines, folded and literal scalars, flow maps,
# comments, two sequence styles, stage outputs, metrics, plots and registry entries.
PIPELINE = """\
# Pipeline of the text-classification example, with the registry entries GTO reads.
stages:
  prepare:
    cmd: python src/prepare.py data/data.xml --seed 20170428 --split 0.20 --out data/prepared
    desc: Split the raw posts into train and test sets (a long line, well past 80 columns)
    deps:
    - data/data.xml
    - src/prepare.py
    params:
    - prepare.seed
    - prepare.split
    outs:
    - data/prepared
  featurize:
    cmd: >-
      python src/featurization.py data/prepared data/features
      --max-features 200 --ngrams 2
    desc: >
      Turns the prepared posts into TF-IDF features. This description is long on purpose, so that
      a dumper with a narrow width would want to re-fold it onto other lines.
    deps:
      - data/prepared
      - src/featurization.py
    params:
      - featurize.max_features
      - featurize.ngrams
    outs:
      - data/features
  train:
    cmd: |
      python src/train.py data/features model.pkl
      echo "trained"   # not a YAML comment: part of the script
    deps: [data/features, src/train.py]
    params: [train.seed, train.n_est, {params.yaml: [train.min_split]}]
    outs:
    - model.pkl:
        desc: "The classifier; a long description line that goes well past eighty characters wide"
        cache: true     # keep it in the DVC cache
  evaluate:
    cmd: python src/evaluate.py model.pkl data/features
    deps:
    - data/features
    - model.pkl
    - src/evaluate.py
    metrics:
    - eval/metrics.json:
        cache: false
    plots:
    - eval/plots/images
    - eval/prc/train.json: {cache: false,   template: simple, x: recall, y: precision}
metrics:
- eval/metrics.json
plots:
- ROC:
    template: simple
    x: fpr
    y:
      eval/plots/sklearn/roc/train.json: tpr
artifacts:
  text-classification:
    path: model.pkl
    type: model
    desc: Detect whether the given stackoverflow question should have the R language tag, or not
    labels:
    - nlp
    - classification
  features:    # the features, as a dataset
    path: data/features
    type: dataset
    meta: {owner: ana@example.com,   source: stackoverflow}
"""

PARAMS = """\
prepare: {seed: 20170428, split: 0.2}
featurize: {max_features: 200, ngrams: 2}
train: {seed: 1, n_est: 50, min_split: 2}
"""

POLICY = """\
version: 1
tags:
  - match: {types: [model]}
    require:
      epochs: {type: integer, min: 1}
"""


@pytest.fixture
def repo(dvc_repo: Repo) -> Repo:
    dvc_repo.write("dvc.yaml", PIPELINE)
    dvc_repo.write("params.yaml", PARAMS)
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.commit("the example pipeline")
    return dvc_repo


def diff(repo: Repo) -> list[tuple[int, str]]:
    """``git diff -U0`` of dvc.yaml as (old line number, '-line' / '+line')."""
    out = repo.git("diff", "-U0", "--", "dvc.yaml").stdout
    lines: list[tuple[int, str]] = []
    old = 0
    for line in out.splitlines():
        hunk = re.match(r"@@ -(\d+)", line)
        if hunk:
            old = int(hunk.group(1))
        elif line[:1] in "+-" and not line.startswith(("+++", "---")):
            lines.append((old, line))
    return lines


CASES = [
    # a registry entry gains a meta map after its last key
    (["text-classification", "owner=ana@example.com", "epochs=5"],
     [(66, "+    meta:"), (66, "+      owner: ana@example.com"), (66, "+      epochs: 5")]),
    # a bare stage output becomes a mapping; 'yes' stays a string for DVC
    (["data/prepared", "owner=bo@example.com", "approved=yes"],
     [(13, "-    - data/prepared"), (13, "+    - data/prepared:"), (13, "+        meta:"),
      (13, "+          owner: bo@example.com"), (13, "+          approved: 'yes'")]),
    # a flow map on the edited line: only that line
    (["eval/prc/train.json", "owner=bo@example.com"],
     [(50, "-    - eval/prc/train.json: {cache: false,   template: simple, x: recall, "
           "y: precision}"),
      (50, "+    - eval/prc/train.json: {cache: false, template: simple, x: recall, "
           "y: precision, meta: {owner: bo@example.com}}")]),
    # a key added to the flow map of a registry entry, another one removed
    (["features", "retention=standard", "--unset", "source"],
     [(70, "-    meta: {owner: ana@example.com,   source: stackoverflow}"),
      (70, "+    meta: {owner: ana@example.com, retention: standard}")]),
    # the last keys unset: the line goes, no `meta: {}` is left
    (["features", "--unset", "owner", "--unset", "source"],
     [(70, "-    meta: {owner: ana@example.com,   source: stackoverflow}")]),
    # a metrics output with a block map of its own
    (["eval/metrics.json", "owner=cy@example.com"],
     [(47, "+        meta:"), (47, "+          owner: cy@example.com")]),
    # DVC's own list field
    (["text-classification", "labels=nlp,text"],
     [(66, "-    - classification"), (66, "+    - text")]),
]


@pytest.mark.parametrize(("args", "expected"), CASES, ids=[c[0][0] + " " + c[0][1]
                                                           for c in CASES])
def test_git_diff_shows_only_the_edited_entry(repo: Repo, args: list[str],
                                              expected: list[tuple[int, str]]) -> None:
    proc = repo.archivist("tag", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert diff(repo) == expected
    # DVC still reads the pipeline, and the stage list is the same
    assert [line.split()[0] for line in repo.dvc("stage", "list").stdout.splitlines()] == \
        ["prepare", "featurize", "train", "evaluate"]


def test_a_dvc_file_with_comments_keeps_every_other_line(dvc_repo: Repo) -> None:
    dvc_repo.write("models/clf.pkl", b"weights\n")
    dvc_repo.dvc("add", "-q", "models/clf.pkl")
    written = dvc_repo.read("models/clf.pkl.dvc")
    text = ("# The fraud classifier; retrained weekly by the pipeline in ci/train.yml, which also "
            "pushes it.\n" + written.replace("hash: md5", "hash: md5    # DVC 3")
            + "  meta: {owner: ana@example.com,  team: fraud}   # who to ask\n"
            "# end of file\n")
    dvc_repo.write("models/clf.pkl.dvc", text)
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.commit("model", "models", "archivist.yaml")
    proc = dvc_repo.archivist("tag", "models/clf.pkl", "data.rows=120000", "type=model",
                              "epochs=7")
    assert proc.returncode == 0, proc.stderr
    assert diff_of(dvc_repo, "models/clf.pkl.dvc") == [
        "-  meta: {owner: ana@example.com,  team: fraud}   # who to ask",
        "+  meta: {owner: ana@example.com, team: fraud, data: {rows: '120000'}, epochs: 7} "
        "# who to ask",
        "+  type: model"]  # above the closing comment, not under it
    out = load_yaml(str(dvc_repo.root / "models/clf.pkl.dvc"))["outs"][0]
    assert out["type"] == "model"
    assert out["meta"] == {"owner": "ana@example.com", "team": "fraud",
                           "data": {"rows": "120000"}, "epochs": 7}
    assert "up to date" in dvc_repo.dvc("status").stdout
    # unsetting every meta key takes the meta line, and only it
    proc = dvc_repo.archivist("tag", "models/clf.pkl", "--unset", "owner", "--unset", "team",
                              "--unset", "data.rows", "--unset", "epochs")
    assert proc.returncode == 0, proc.stderr
    assert diff_of(dvc_repo, "models/clf.pkl.dvc") == [
        "-  meta: {owner: ana@example.com,  team: fraud}   # who to ask", "+  type: model"]
    assert dvc_repo.read("models/clf.pkl.dvc").endswith("  type: model\n# end of file\n")


def diff_of(repo: Repo, rel: str) -> list[str]:
    out = repo.git("diff", "-U0", "--", rel).stdout
    return [line for line in out.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
