"""Which policy judges the gate: ``--policy-ref``, holds that hold nothing, a policy that
is written but not committed, and files that do not exist."""

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

WEAKENED = POLICY.replace('"models/**"', '"models/clf*"')


def add_model(repo: Repo, rel: str, content: bytes) -> None:
    repo.write(rel, content)
    repo.dvc("add", "-q", rel)


@pytest.fixture
def merge_request(dvc_repo: Repo) -> Repo:
    """main: the policy and a tagged model; branch mr: narrows the rule to models/clf*
    and adds an untagged model the narrowed rule no longer covers."""
    dvc_repo.write("archivist.yaml", POLICY)
    add_model(dvc_repo, "models/clf.pkl", b"classifier")
    assert dvc_repo.archivist("tag", "models/clf.pkl", "owner=ana@example.com").returncode == 0
    dvc_repo.commit("policy and a tagged model")
    dvc_repo.git("switch", "-q", "-c", "mr")
    dvc_repo.write("archivist.yaml", WEAKENED)
    dvc_repo.commit("policy: only classifiers need an owner", "archivist.yaml")
    add_model(dvc_repo, "models/other.pkl", b"untagged weights")
    dvc_repo.commit("an untagged model", "models/other.pkl.dvc", "models/.gitignore")
    return dvc_repo


def test_base_policy_judges_a_merge_request_that_weakens_it(merge_request: Repo) -> None:
    # Judged by its own policy, the request passes: the weakness being closed.
    own = merge_request.archivist("check", "--from-ref", "main", "--to-ref", "HEAD")
    assert own.returncode == 0, own.stdout + own.stderr
    judged = merge_request.archivist("check", "--from-ref", "main", "--to-ref", "HEAD",
                                     "--policy-ref", "main", "--json")
    assert judged.returncode == 1, judged.stdout + judged.stderr
    report = json.loads(judged.stdout)
    assert {(v["artifact"], v["key"]) for v in report["violations"]} == {
        ("models/other.pkl", "owner")}
    # The commit that added it is named, and the rule is the base policy's.
    added = merge_request.git("rev-parse", "HEAD").stdout.strip()
    assert {v["commit"] for v in report["violations"]} <= {added}
    assert {v["rule"] for v in report["violations"]} == {"models/**"}
    text = merge_request.archivist("check", "--from-ref", "main", "--policy-ref", "main")
    assert text.returncode == 1
    assert "artifact models/other.pkl: missing required tag 'owner' (rule models/**)" \
        in text.stdout


def test_policy_change_alone_is_judged_by_the_policy_it_replaces(dvc_repo: Repo) -> None:
    """An untagged model already on main, then a request that only edits the policy to
    stop covering it: judged by main's policy, the tree at the tip still fails."""
    dvc_repo.write("archivist.yaml", POLICY)
    add_model(dvc_repo, "models/old.pkl", b"old weights")
    dvc_repo.commit("policy and an untagged model (hook skipped)")
    dvc_repo.git("switch", "-q", "-c", "mr")
    dvc_repo.write("archivist.yaml", WEAKENED)
    dvc_repo.commit("policy: narrow the rule", "archivist.yaml")
    assert dvc_repo.archivist("check", "--from-ref", "main").returncode == 0
    judged = dvc_repo.archivist("check", "--from-ref", "main", "--policy-ref", "main")
    assert judged.returncode == 1
    assert "artifact models/old.pkl: missing required tag 'owner'" in judged.stdout


def test_policy_ref_in_the_hook_modes(merge_request: Repo) -> None:
    add_model(merge_request, "models/third.pkl", b"third")
    merge_request.git("add", "models/third.pkl.dvc")
    assert merge_request.archivist("check", "--staged").returncode == 0
    staged = merge_request.archivist("check", "--staged", "--policy-ref", "main")
    assert staged.returncode == 1
    assert "artifact models/third.pkl: missing required tag 'owner'" in staged.stdout
    given = merge_request.archivist("check", "models/third.pkl.dvc", "--policy-ref", "main")
    assert given.returncode == 1 and "models/third.pkl" in given.stdout


def test_missing_policy_ref_is_one_line_that_says_fetch(merge_request: Repo) -> None:
    proc = merge_request.archivist("check", "--from-ref", "main", "--policy-ref",
                                   "origin/main")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "origin/main" in lines[0] and "fetch" in lines[0], lines
    assert proc.stdout == ""


def test_policy_ref_without_a_committed_policy(dvc_repo: Repo) -> None:
    base = dvc_repo.head()
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.commit("policy", "archivist.yaml")
    proc = dvc_repo.archivist("check", "--from-ref", base, "--policy-ref", base)
    assert proc.returncode == 2
    assert "no archivist.yaml committed there" in proc.stderr


def test_hold_that_matches_no_artifact_is_a_warning(dvc_repo: Repo) -> None:
    add_model(dvc_repo, "models/clf.pkl", b"classifier")
    dvc_repo.archivist("tag", "models/clf.pkl", "owner=ana@example.com")
    retention = """\
retention:
  default: standard
  classes:
    standard: {active: 30d, archive: 1y}
  holds:
    - {path: models/clf.pkl, reason: "legal hold LH-1"}
    - {path: models/gone.pkl, reason: "legal hold LH-2"}
"""
    dvc_repo.write("archivist.yaml", POLICY + retention)
    proc = dvc_repo.archivist("check", "--all")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, proc.stderr
    assert warnings[0].startswith("archivist: warning: archivist.yaml:12: hold")
    assert "models/gone.pkl" in warnings[0] and "matches no artifact" in warnings[0]
    assert "all comply" in proc.stderr
    as_json = json.loads(dvc_repo.archivist("check", "--all", "--json").stdout)
    assert as_json["ok"] is True and len(as_json["warnings"]) == 1
    # A policy edit checks everything, in the hook too: the warning shows there.
    dvc_repo.git("add", "archivist.yaml", "models")
    hooked = dvc_repo.archivist("check", "archivist.yaml")
    assert hooked.returncode == 0 and "models/gone.pkl" in hooked.stderr
    # In CI, the range that adds the hold warns about it too.
    base = dvc_repo.head()
    dvc_repo.commit("policy with holds")
    ranged = dvc_repo.archivist("check", "--from-ref", base)
    assert ranged.returncode == 0 and "models/gone.pkl" in ranged.stderr


def test_uncommitted_policy_says_commit_it(dvc_repo: Repo) -> None:
    base = dvc_repo.head()
    add_model(dvc_repo, "models/clf.pkl", b"classifier")
    dvc_repo.commit("a model")
    dvc_repo.write("archivist.yaml", POLICY)  # written, never added
    ranged = dvc_repo.archivist("check", "--from-ref", base)
    assert ranged.returncode == 2
    assert ranged.stderr.strip() == (
        "archivist: error: no policy: archivist.yaml not found in the commit "
        f"{dvc_repo.head()[:10]} (commit it: git add archivist.yaml && git commit)")
    staged = dvc_repo.archivist("check", "--staged")
    assert staged.returncode == 2 and "(stage it: git add archivist.yaml)" in staged.stderr
    assert "archivist init" not in ranged.stderr + staged.stderr
    # Not written at all: then init is the advice.
    (dvc_repo.root / "archivist.yaml").unlink()
    fresh = dvc_repo.archivist("check", "--staged")
    assert fresh.returncode == 2 and "archivist init" in fresh.stderr


def test_check_of_a_missing_file_is_an_error(dvc_repo: Repo) -> None:
    dvc_repo.write("archivist.yaml", POLICY)
    dvc_repo.commit("policy", "archivist.yaml")
    proc = dvc_repo.archivist("check", "models/missing.dvc")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "archivist: error: models/missing.dvc: no such file (give the .dvc, dvc.yaml or "
        "dvc.lock file that declares the artifact)"]
    assert "comply" not in proc.stdout + proc.stderr
