"""A dvc.yaml ``artifacts:`` entry and the ``.dvc`` file of the output it names are one
artifact, whichever of the two files the hook is given."""

from __future__ import annotations

import json

import pytest

from realrepo import Repo

POLICY = """\
version: 1
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {type: email}
"""

REGISTRY = """\
artifacts:
  clf:
    path: models/clf.pkl
    type: model
    desc: the classifier
"""


@pytest.fixture
def registered(dvc_repo: Repo) -> Repo:
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.write("models/clf.pkl", "weights\n")
    dvc_repo.dvc("add", "models/clf.pkl")
    tagged = dvc_repo.archivist("tag", "models/clf.pkl", "owner=ana@example.com")
    assert tagged.returncode == 0, tagged.stderr
    dvc_repo.write("dvc.yaml", REGISTRY)
    dvc_repo.commit("model and registry", "archivist.yaml", "models/clf.pkl.dvc",
                    "models/.gitignore", "dvc.yaml")
    return dvc_repo


@pytest.mark.parametrize("mode", [["dvc.yaml"], ["models/clf.pkl.dvc"], ["--all"],
                                  ["--staged"]])
def test_tags_on_the_dvc_file_count_for_the_registry_entry(registered: Repo,
                                                           mode: list[str]) -> None:
    registered.write("dvc.yaml", REGISTRY + "    labels: [nlp]\n")
    registered.git("add", "dvc.yaml")
    proc = registered.archivist("check", *mode, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["artifacts_checked"] == 1


def test_the_registry_entry_is_judged_with_the_dvc_file_as_it_is(registered: Repo) -> None:
    dvc_file = registered.read("models/clf.pkl.dvc").replace("owner: ana@example.com",
                                                            "team: nlp")
    registered.write("models/clf.pkl.dvc", dvc_file)
    registered.git("add", "models/clf.pkl.dvc")
    for mode in (["dvc.yaml"], ["--staged"], ["--all"]):
        proc = registered.archivist("check", *mode, "--json")
        assert proc.returncode == 1, (mode, proc.stdout + proc.stderr)
        report = json.loads(proc.stdout)
        assert [(v["artifact"], v["key"]) for v in report["violations"]] == \
            [("models/clf.pkl", "owner")], mode
