"""``archivist init`` fits its policy to the repository: the branch checked out, DVC's
default remote, rules that match where the artifacts are. Real git, real ``dvc init``,
``dvc add``, ``dvc remote add -d``."""

from __future__ import annotations

import json
from pathlib import Path

from archivist.policy import parse_policy
from realrepo import Repo, init_repo


def dvc_project(tmp_path: Path, branch: str = "master") -> Repo:
    repo = init_repo(tmp_path / "repo")
    repo.git("symbolic-ref", "HEAD", f"refs/heads/{branch}")
    repo.dvc("init", "-q")
    return repo


def add_remote(repo: Repo, tmp_path: Path, name: str, default: bool = False) -> None:
    folder = tmp_path / "remotes" / name
    folder.mkdir(parents=True)
    repo.dvc("remote", "add", *(["-d"] if default else []), name, str(folder))


def test_model_at_the_root_master_branch_one_remote(tmp_path: Path) -> None:
    repo = dvc_project(tmp_path)
    repo.write("model.pkl", b"weights")
    repo.dvc("add", "-q", "model.pkl")
    add_remote(repo, tmp_path, "storage", default=True)
    repo.commit("model")

    proc = repo.archivist("init")
    assert proc.returncode == 0, proc.stderr
    text = repo.read("archivist.yaml")
    policy = parse_policy(text)
    assert policy.branch == repo.git("branch", "--show-current").stdout.strip() == "master"
    assert policy.remotes.active == repo.dvc("remote", "default").stdout.strip() == "storage"
    assert policy.remotes.archive is None
    assert "# archive:" in text and "dvc remote add archive" in text
    assert [r.label for r in policy.rules_for("model.pkl", None)] == ["model.pkl"]

    # the rule governs the real model: check finds it untagged, then tagged
    check = repo.archivist("check", "--all")
    assert check.returncode == 1 and "model.pkl.dvc" in check.stdout
    repo.commit("policy", "archivist.yaml")
    tagged = repo.archivist("tag", "model.pkl", "owner=ana@example.com",
                            "data.source=s3://raw", "train.commit=abc1234",
                            "retention=standard")
    assert tagged.returncode == 0, tagged.stderr
    assert repo.archivist("check", "--all").returncode == 0


def test_second_remote_is_the_archive_and_folders_become_globs(tmp_path: Path) -> None:
    repo = dvc_project(tmp_path, branch="trunk")
    repo.write("checkpoints/clf.pt", b"w")
    repo.write("datasets/raw/train.csv", "a,b\n")
    repo.dvc("add", "-q", "checkpoints/clf.pt", "datasets/raw/train.csv")
    add_remote(repo, tmp_path, "cold")
    add_remote(repo, tmp_path, "s3main", default=True)
    repo.commit("artifacts")

    proc = repo.archivist("init", "--template", "regulated", "--json")
    assert proc.returncode == 0, proc.stderr
    policy = parse_policy(repo.read("archivist.yaml"))
    assert policy.branch == "trunk"
    assert (policy.remotes.active, policy.remotes.archive) == ("s3main", "cold")
    listed = repo.dvc("remote", "list").stdout.split()
    assert {"s3main", "cold"} <= set(listed)
    # regulated's `types: [model]` would match nothing here (no output declares a type)
    assert [r.label for r in policy.rules_for("checkpoints/clf.pt", None)] == \
        ["checkpoints/**"]
    assert [r.label for r in policy.rules_for("datasets/raw/train.csv", None)] == \
        ["datasets/raw/**"]
    assert json.loads(proc.stdout)["notes"] == []


def test_a_layout_that_fits_keeps_the_template_rules(tmp_path: Path) -> None:
    repo = dvc_project(tmp_path, branch="main")
    repo.write("models/a.pkl", b"w")
    repo.dvc("add", "-q", "models/a.pkl")
    repo.commit("model")
    assert repo.archivist("init", "--template", "minimal").returncode == 0
    text = repo.read("archivist.yaml")
    assert 'paths: ["models/**"]' in text
    assert parse_policy(text).branch == "main"


def test_no_default_remote_leaves_a_commented_placeholder(tmp_path: Path) -> None:
    repo = dvc_project(tmp_path)
    add_remote(repo, tmp_path, "one")
    add_remote(repo, tmp_path, "two")
    proc = repo.archivist("init")
    assert proc.returncode == 0, proc.stderr
    text = repo.read("archivist.yaml")
    policy = parse_policy(text)
    assert policy.remotes.active is None
    assert "# remotes: {active: REMOTE" in text
    assert "dvc remote default NAME" in proc.stderr


def test_outside_a_dvc_repository_says_so(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "plain")
    proc = repo.archivist("init")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "not a DVC repository" in proc.stderr and "dvc init" in proc.stderr
    assert not (repo.root / "archivist.yaml").exists()


def test_force_and_template_still_work(tmp_path: Path) -> None:
    repo = dvc_project(tmp_path)
    assert repo.archivist("init", "--template", "minimal").returncode == 0
    again = repo.archivist("init")
    assert again.returncode == 2 and "pass --force" in again.stderr
    assert repo.archivist("init", "--template", "regulated", "--force").returncode == 0
    assert "reviewer" in repo.read("archivist.yaml")
