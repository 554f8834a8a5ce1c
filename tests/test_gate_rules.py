"""Rules on projects archivist did not create: ``exclude:`` globs, registry entries that
point outside the repository, lists of labels in ``ls --where``."""

from __future__ import annotations

import json

from realrepo import Repo

POLICY = """\
version: 1
tags:
  - match: {paths: ["data/**"], exclude: ["data/README.md", "data/**/*.txt"]}
    require:
      owner: {type: email}
  - match: {types: [model]}
    require:
      owner: {type: email}
"""


def governed(repo: Repo) -> Repo:
    repo.write("archivist.yaml", POLICY)
    repo.commit("policy", "archivist.yaml")
    return repo


def test_exclude_keeps_a_readme_in_git_but_not_the_data(dvc_repo: Repo) -> None:
    repo = governed(dvc_repo)
    repo.write("data/README.md", "what the data is\n")
    repo.write("data/notes/sources.txt", "where it came from\n")
    repo.write("data/table.csv", "a,b\n1,2\n")
    repo.git("add", "-f", "data/README.md", "data/notes/sources.txt", "data/table.csv")
    proc = repo.archivist("require-dvc", "--staged", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert [v["file"] for v in report["violations"]] == ["data/table.csv"]
    assert report["files_checked"] == 3
    # The same exclusion holds in the CI range check, which reads the committed files.
    base = repo.head()
    repo.git("rm", "-q", "--cached", "data/table.csv")
    repo.commit("data docs", "data/README.md", "data/notes/sources.txt")
    ranged = repo.archivist("check", "--from-ref", base)
    assert ranged.returncode == 0, ranged.stdout + ranged.stderr


def test_exclude_applies_to_the_tag_rule(dvc_repo: Repo) -> None:
    repo = governed(dvc_repo)
    for rel in ("data/table.csv", "data/raw/dump.txt"):
        repo.write(rel, b"rows")
        repo.dvc("add", "-q", rel)
    proc = repo.archivist("check", "--all", "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert {v["artifact"] for v in report["violations"]} == {"data/table.csv"}
    assert report["artifacts_checked"] == 2


def test_registry_url_is_shown_as_written(dvc_repo: Repo) -> None:
    repo = governed(dvc_repo)
    repo.write("dvc.yaml", "artifacts:\n  remote-model:\n    path: s3://bucket/m.pt\n"
               "    type: model\n")
    proc = repo.archivist("check", "dvc.yaml")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == (
        "dvc.yaml:2: artifact s3://bucket/m.pt: missing required tag 'owner' (rule type model)")
    listing = json.loads(repo.archivist("ls", "--json").stdout)
    assert [r["path"] for r in listing["artifacts"]] == ["s3://bucket/m.pt"]


def test_ls_where_matches_an_item_of_a_list(dvc_repo: Repo) -> None:
    repo = governed(dvc_repo)
    for name in ("a", "b"):
        repo.write(f"models/{name}.pkl", name)
        repo.dvc("add", "-q", f"models/{name}.pkl")
    repo.write("dvc.yaml", "artifacts:\n"
               "  a:\n    path: models/a.pkl\n    type: model\n    labels: [nlp, prod]\n"
               "  b:\n    path: models/b.pkl\n    type: model\n    labels: [vision]\n")
    def paths(*where: str) -> list[str]:
        proc = repo.archivist("ls", *where, "--json")
        assert proc.returncode == 0, proc.stderr
        return [r["path"] for r in json.loads(proc.stdout)["artifacts"]]
    assert paths("--where", "labels=nlp") == ["models/a.pkl"]
    assert paths("--where", "labels=prod") == ["models/a.pkl"]
    assert paths("--where", "labels=vision") == ["models/b.pkl"]
    assert paths("--where", "labels=np") == []
    assert paths("--where", "labels~^vis") == ["models/b.pkl"]
    assert paths("--where", "labels=nlp,prod") == ["models/a.pkl"]
