"""`archivist check`, `require-dvc`, `tag`, `ls`, `init` on real git + DVC repositories."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from realrepo import Repo

POLICY = """\
version: 1
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {type: email}
      data.source: {}
      retention: {enum: [experiment, standard, regulated]}
"""

TAGS = ["owner=ana@example.com", "data.source=s3://raw/2024", "retention=standard"]


def add_model(repo: Repo, rel: str = "models/clf.pkl", content: bytes = b"weights-1") -> None:
    repo.write(rel, content)
    repo.dvc("add", "-q", rel)


@pytest.fixture
def governed(dvc_repo: Repo) -> Repo:
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.commit("policy", "archivist.yaml")
    return dvc_repo


def test_untagged_model_fails_with_location_and_fix(governed: Repo) -> None:
    add_model(governed)
    before = governed.read("models/clf.pkl.dvc")
    proc = governed.archivist("check", "models/clf.pkl.dvc")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0] == ("models/clf.pkl.dvc:2: artifact models/clf.pkl: missing required tag "
                        "'owner' (rule models/**)")
    assert "  fix: archivist tag models/clf.pkl owner=... data.source=... "\
        "retention=experiment|standard|regulated" in lines
    assert proc.stderr == ""
    assert governed.read("models/clf.pkl.dvc") == before  # check reads, never edits


def test_tag_then_check_passes_and_dvc_keeps_tags(governed: Repo) -> None:
    add_model(governed)
    tagged = governed.archivist("tag", "models/clf.pkl", *TAGS)
    assert tagged.returncode == 0, tagged.stderr
    passed = governed.archivist("check", "models/clf.pkl.dvc")
    assert passed.returncode == 0 and passed.stdout == ""
    assert passed.stderr.strip() == "archivist: 1 artifact(s) checked, all comply"
    # DVC still reads the file, and `dvc add` of new content keeps the tags.
    add_model(governed, content=b"weights-2")
    text = governed.read("models/clf.pkl.dvc")
    assert "owner: ana@example.com" in text and "source: s3://raw/2024" in text
    after = governed.archivist("check", "--all", "--json")
    assert after.returncode == 0
    assert json.loads(after.stdout)["violations"] == []
    status = governed.dvc("status")
    assert "models/clf.pkl" not in status.stdout  # up to date


def test_json_output(governed: Repo) -> None:
    add_model(governed)
    proc = governed.archivist("check", "--all", "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["ok"] is False and data["artifacts_checked"] == 1
    assert {v["key"] for v in data["violations"]} == {"owner", "data.source", "retention"}
    assert all(v["file"] == "models/clf.pkl.dvc" and v["line"] == 2 for v in data["violations"])


def test_files_that_declare_nothing_are_ignored(governed: Repo) -> None:
    add_model(governed)  # untagged: a check of everything would fail
    governed.write("train.py", "print('hi')\n")
    proc = governed.archivist("check", "train.py", "README.md")
    assert proc.returncode == 0
    assert "0 artifact(s) checked" in proc.stderr
    assert "models/clf.pkl" not in proc.stdout + proc.stderr


def test_policy_change_checks_everything(governed: Repo) -> None:
    add_model(governed)
    add_model(governed, "models/other.pkl", b"other")
    governed.archivist("tag", "models/other.pkl", *TAGS)
    proc = governed.archivist("check", "archivist.yaml", "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    # Given only the policy, every tracked artifact is judged: the tagged one passes.
    assert report["artifacts_checked"] == 2
    assert {v["artifact"] for v in report["violations"]} == {"models/clf.pkl"}


def test_no_policy_says_init(dvc_repo: Repo) -> None:
    add_model(dvc_repo)
    proc = dvc_repo.archivist("check", "--all")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("archivist: error: no policy: archivist.yaml not found in the "
                                   "working tree (run `archivist init` to write one)")


def test_outside_a_repository(tmp_path: Path) -> None:
    from realrepo import archivist

    proc = archivist("check", "--all", cwd=tmp_path)
    assert proc.returncode == 2
    assert "is not inside a git repository" in proc.stderr


def test_staged_reads_the_index_not_the_working_tree(governed: Repo) -> None:
    add_model(governed)
    governed.git("add", "models/clf.pkl.dvc")
    governed.archivist("tag", "models/clf.pkl", *TAGS)  # tagged on disk, not staged
    on_disk = governed.archivist("check", "--all")
    assert on_disk.returncode == 0
    assert on_disk.stderr.strip() == "archivist: 1 artifact(s) checked, all comply"
    proc = governed.archivist("check", "--staged")
    assert proc.returncode == 1
    assert proc.stdout.startswith("models/clf.pkl.dvc:2: artifact models/clf.pkl: missing "
                                  "required tag 'owner'")
    assert "fix: archivist tag models/clf.pkl owner=..." in proc.stdout


def test_range_names_the_commit_that_bypassed_the_hook(governed: Repo) -> None:
    base = governed.head()
    add_model(governed)
    bad = governed.commit("untagged model (hook skipped)")
    governed.archivist("tag", "models/clf.pkl", *TAGS)
    governed.commit("tag it afterwards")
    proc = governed.archivist("check", "--from-ref", base, "--to-ref", "HEAD")
    assert proc.returncode == 1
    assert proc.stdout.startswith(f"commit {bad[:10]}: models/clf.pkl.dvc:2: artifact "
                                  "models/clf.pkl: missing required tag 'owner'")
    assert "in 2 commit(s) checked" in proc.stdout
    # The range reads each commit's blobs: fixing the working tree changes nothing.
    fixed = governed.archivist("check", "--all")
    assert fixed.returncode == 0
    assert fixed.stderr.strip() == "archivist: 1 artifact(s) checked, all comply"
    clean = governed.archivist("check", "--from-ref", "HEAD~1", "--to-ref", "HEAD")
    assert clean.returncode == 0, clean.stdout
    assert clean.stderr.strip() == "archivist: 1 artifact(s) in 1 commit(s) checked, all comply"


def test_range_with_policy_change_checks_tip(governed: Repo) -> None:
    add_model(governed)
    governed.archivist("tag", "models/clf.pkl", *TAGS)
    governed.commit("tagged model")
    base = governed.head()
    governed.write("archivist.yaml", POLICY + "      reviewer: {}\n")
    governed.commit("policy: require a reviewer", "archivist.yaml")
    proc = governed.archivist("check", "--from-ref", base)
    assert proc.returncode == 1
    assert "missing required tag 'reviewer'" in proc.stdout


def test_range_refuses_unknown_refs(governed: Repo) -> None:
    proc = governed.archivist("check", "--from-ref", "no-such-branch")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("archivist: error: unknown git revision 'no-such-branch' "
                                   "(fetch it first, or check the spelling (git rev-parse "
                                   "--verify))")


def test_require_dvc_refuses_models_in_git(governed: Repo) -> None:
    governed.write("models/raw.bin", b"\x00weights")
    governed.git("add", "models/raw.bin")
    proc = governed.archivist("require-dvc", "--staged")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == (
        "models/raw.bin: committed straight to git, but the policy wants it tracked by DVC "
        "(rule models/**)")
    assert "git rm --cached -- models/raw.bin && dvc add models/raw.bin" in proc.stdout
    governed.write("README.md", "# models\n")
    readme = governed.archivist("require-dvc", "README.md")  # no rule covers it
    assert readme.returncode == 0 and "committed straight to git" not in readme.stdout
    base = governed.head()
    governed.commit("raw model in git")
    ranged = governed.archivist("check", "--from-ref", base)
    assert ranged.returncode == 1 and "models/raw.bin: committed straight to git" in ranged.stdout


def test_pipeline_outputs_registry_and_lock(governed: Repo) -> None:
    governed.write("train.py", "import pathlib\npathlib.Path('models').mkdir(exist_ok=True)\n"
                   "pathlib.Path('models/m.pkl').write_bytes(b'trained')\n")
    governed.dvc("stage", "add", "-q", "-n", "train", "-d", "train.py", "-o", "models/m.pkl",
                 "python train.py")
    governed.dvc("repro", "-q")
    with (governed.root / "dvc.yaml").open("a") as handle:
        handle.write("artifacts:\n  fraud-clf:\n    path: models/m.pkl\n    type: model\n")
    listing = json.loads(governed.archivist("ls", "--json").stdout)
    (row,) = listing["artifacts"]
    assert row["name"] == "fraud-clf" and row["version"].startswith("md5:")
    lock = governed.read("dvc.lock")
    assert row["version"].removeprefix("md5:") in lock
    assert row["complies"] is False
    tagged = governed.archivist("tag", "fraud-clf", *TAGS)
    assert tagged.returncode == 0, tagged.stderr
    assert "in dvc.yaml" in tagged.stdout
    entry = governed.read("dvc.yaml").split("fraud-clf:", 1)[1]
    assert "owner: ana@example.com" in entry  # the tags went to the registry entry
    checked = governed.archivist("check", "dvc.yaml")
    assert checked.returncode == 0, checked.stdout
    assert checked.stderr.strip() == "archivist: 1 artifact(s) checked, all comply"
    # DVC still reads the edited dvc.yaml.
    assert "up to date" in governed.dvc("status").stdout


def test_ls_filters(governed: Repo) -> None:
    add_model(governed, "models/a.pkl", b"a")
    add_model(governed, "models/b.pkl", b"b")
    governed.archivist("tag", "models/a.pkl", *TAGS)
    governed.archivist("tag", "models/b.pkl", "owner=bo@example.com", "data.source=kaggle:x",
                       "type=model")
    by_owner = json.loads(governed.archivist("ls", "--where", "owner=bo@example.com",
                                             "--json").stdout)
    assert [r["path"] for r in by_owner["artifacts"]] == ["models/b.pkl"]
    by_regex = json.loads(governed.archivist("ls", "--where", "data.source~^s3://",
                                             "--json").stdout)
    assert [r["path"] for r in by_regex["artifacts"]] == ["models/a.pkl"]
    typed = governed.archivist("ls", "--type", "model")
    assert "models/b.pkl" in typed.stdout and "models/a.pkl" not in typed.stdout
    bad = governed.archivist("ls", "--where", "owner~[")
    assert bad.returncode == 2 and "bad regular expression" in bad.stderr


def test_init_writes_and_never_overwrites(dvc_repo: Repo) -> None:
    git_repo = dvc_repo  # init fits its policy to a DVC repository
    proc = git_repo.archivist("init", "--template", "minimal")
    assert proc.returncode == 0
    assert "archivist-check" in proc.stdout
    written = git_repo.read("archivist.yaml")
    assert "owner" in written
    again = git_repo.archivist("init")
    assert again.returncode == 2 and "pass --force" in again.stderr
    assert git_repo.read("archivist.yaml") == written  # refused: the file untouched
    assert git_repo.archivist("init", "--template", "regulated", "--force").returncode == 0
    assert "reviewer" in git_repo.read("archivist.yaml")
    unknown = git_repo.archivist("init", "--template", "gold", "--force")
    assert unknown.returncode == 2 and "minimal, regulated, standard" in unknown.stderr
    assert "reviewer" in git_repo.read("archivist.yaml")  # still the regulated one


def test_help_teaches(git_repo: Repo) -> None:
    """Each help shows how the command is used, in examples, and what its exit codes say."""
    teaches = {
        "check": ["  archivist check models/clf.pkl.dvc", "  archivist check --staged",
                  "  archivist check --from-ref origin/main --to-ref HEAD",
                  "--policy-ref origin/main", "exit codes: 0 clean, 1 violations, 2 usage"],
        "require-dvc": ["git rm --cached -- models/big.pkl && dvc add models/big.pkl",
                        "exit codes: 0 clean, 1 files to move to DVC, 2 usage"],
        "tag": ["  archivist tag models/clf.pkl owner=ana@example.com"],
        "ls": ["  archivist ls --where owner=ana@example.com", "  archivist ls --where labels=nlp"],
        "init": ["  minimal ", "  standard ", "  regulated "],
    }
    for command, lines in teaches.items():
        proc = git_repo.archivist(command, "--help")
        assert proc.returncode == 0
        assert proc.stdout.startswith(f"usage: archivist {command}")
        missing = [line for line in lines if line not in proc.stdout]
        assert not missing, f"archivist {command} --help lacks {missing}"
    usage = git_repo.archivist("check", "--bogus")
    assert usage.returncode == 2 and "unrecognized arguments: --bogus" in usage.stderr


def test_check_runs_from_a_subfolder(governed: Repo) -> None:
    add_model(governed)
    proc = governed.archivist("-C", "models", "check", "clf.pkl.dvc")
    assert proc.returncode == 1
    assert proc.stdout.startswith("models/clf.pkl.dvc:2:")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_dvc_file(governed: Repo) -> None:
    add_model(governed)
    (governed.root / "models/clf.pkl.dvc").chmod(0)
    proc = governed.archivist("check", "--all")
    assert proc.returncode == 2 and "cannot read" in proc.stderr
