"""`archivist tag` writes each value as the type the policy asks, and DVC reads it so."""

from __future__ import annotations

import datetime as dt

import pytest
from dvc.utils.serialize import load_yaml

from realrepo import Repo

POLICY = """\
version: 1
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {type: email}
      epochs: {type: integer, min: 1}
      lr: {type: number, max: 1}
      approved: {type: boolean}
      trained: {type: date}
      datasets: {type: list, min_length: 1}
      commit: {pattern: "^[0-9]{7}$"}
      country: {enum: [NO, SE]}
      dropout: {min: 0, max: 1}
"""

PAIRS = ["owner=ana@example.com", "epochs=5", "lr=0.001", "approved=yes",
         "trained=2024-06-30", "datasets=raw-2024, extra", "commit=0012345", "country=NO",
         "dropout=.5"]
EXPECTED = {"owner": "ana@example.com", "epochs": 5, "lr": 0.001, "approved": True,
            "trained": dt.date(2024, 6, 30), "datasets": ["raw-2024", "extra"],
            "commit": "0012345", "country": "NO", "dropout": 0.5}


@pytest.fixture
def repo(dvc_repo: Repo) -> Repo:
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.write("models/clf.pkl", b"weights\n")
    dvc_repo.dvc("add", "-q", "models/clf.pkl")
    dvc_repo.commit("model and policy")
    return dvc_repo


def typed(value: object) -> tuple[str, object]:
    return type(value).__name__, value


def test_values_take_the_type_of_their_rule(repo: Repo) -> None:
    proc = repo.archivist("tag", "models/clf.pkl", *PAIRS)
    assert proc.returncode == 0, proc.stderr
    assert "still" not in proc.stdout, proc.stdout
    # DVC's own reader sees each value with the type the rule asks for
    meta = load_yaml(str(repo.root / "models/clf.pkl.dvc"))["outs"][0]["meta"]
    assert {k: typed(v) for k, v in meta.items()} == {k: typed(v) for k, v in EXPECTED.items()}
    text = repo.read("models/clf.pkl.dvc")
    assert "    epochs: 5\n" in text and "    commit: '0012345'\n" in text
    assert "    country: 'NO'\n" in text and "    approved: true\n" in text
    check = repo.archivist("check", "--all")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "up to date" in repo.dvc("status").stdout  # DVC accepts the file


@pytest.mark.parametrize(("pair", "problem"), [
    ("epochs=five", "epochs=five: 'five' is not an integer, as rule models/** asks"),
    ("epochs=5.0", "'5.0' is not an integer"),
    ("lr=fast", "'fast' is not a number"),
    ("dropout=half", "'half' is not a number"),
    ("approved=maybe", "'maybe' is not a boolean"),
    ("trained=2024-02-30", "'2024-02-30' is not a date"),
    ("trained=30/06/2024", "'30/06/2024' is not a date"),
    ("owner=ana", "'ana' is not an email address"),
])
def test_a_value_that_cannot_be_that_type_is_refused(repo: Repo, pair: str,
                                                     problem: str) -> None:
    before = repo.read("models/clf.pkl.dvc")
    proc = repo.archivist("tag", "models/clf.pkl", pair)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert problem in line and "Traceback" not in proc.stderr
    assert repo.read("models/clf.pkl.dvc") == before


@pytest.mark.parametrize("value", ["yes", "NO", "on", "y", "0012345", "1:30", "1e3", "0o17",
                                   "2024-06-30", "null", "~", "true", "12", "", "#x", "a: b"])
def test_without_a_type_the_text_is_kept_for_every_reader(repo: Repo, value: str) -> None:
    import yaml

    proc = repo.archivist("tag", "models/clf.pkl", f"note={value}")
    assert proc.returncode == 0, proc.stderr
    path = repo.root / "models/clf.pkl.dvc"
    assert load_yaml(str(path))["outs"][0]["meta"]["note"] == value  # DVC (YAML 1.2)
    # and a YAML 1.1 reader (PyYAML) reads the same text
    assert yaml.safe_load(path.read_text())["outs"][0]["meta"]["note"] == value


def test_unsetting_the_last_key_leaves_no_empty_meta(repo: Repo) -> None:
    before = repo.read("models/clf.pkl.dvc")
    repo.archivist("tag", "models/clf.pkl", "owner=ana@example.com", "data.source=s3://raw")
    proc = repo.archivist("tag", "models/clf.pkl", "--unset", "owner", "--unset", "data.source")
    assert proc.returncode == 0, proc.stderr
    assert repo.read("models/clf.pkl.dvc") == before
    assert "meta" not in load_yaml(str(repo.root / "models/clf.pkl.dvc"))["outs"][0]


def test_a_stage_output_goes_back_to_a_bare_path(dvc_repo: Repo) -> None:
    pipeline = ("stages:\n  train:\n    cmd: python train.py\n    outs:\n"
                "    - models/clf.pkl\n    - models/other.pkl\n")
    dvc_repo.write("dvc.yaml", pipeline)
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.commit("pipeline")
    proc = dvc_repo.archivist("tag", "models/clf.pkl", "epochs=3")
    assert proc.returncode == 0, proc.stderr
    assert "    - models/clf.pkl:\n        meta:\n          epochs: 3\n" in \
        dvc_repo.read("dvc.yaml")
    dvc_repo.archivist("tag", "models/clf.pkl", "--unset", "epochs")
    assert dvc_repo.read("dvc.yaml") == pipeline


def test_a_registry_entry_gets_typed_values_dvc_reads(dvc_repo: Repo) -> None:
    from dvc.repo import Repo as DvcRepo

    dvc_repo.write("dvc.yaml", "stages:\n  train:\n    cmd: python train.py\n    outs:\n"
                   "    - models/clf.pkl\nartifacts:\n  clf:\n    path: models/clf.pkl\n"
                   "    type: model\n")
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.commit("pipeline")
    proc = dvc_repo.archivist("tag", "clf", *PAIRS)
    assert proc.returncode == 0, proc.stderr
    with DvcRepo(str(dvc_repo.root)) as dvc:
        (artifact,) = dvc.artifacts.read()["dvc.yaml"].values()
    assert {k: typed(v) for k, v in artifact.meta.items()} == \
        {k: typed(v) for k, v in EXPECTED.items()}
    check = dvc_repo.archivist("check", "--all")
    assert check.returncode == 0, check.stdout + check.stderr
