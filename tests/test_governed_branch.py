"""One resolver for the governed branch: every command reads the same branch, and a clone
that lacks it is refused in one line (exit 2), never judged by HEAD in its place."""

from __future__ import annotations

import pytest

from realrepo import Repo

POLICY = """\
version: 1
{branch}retention:
  default: standard
  classes:
    standard: {{active: 30d, archive: 1y}}
"""


def _policy(repo: Repo, branch: str | None) -> None:
    repo.write("archivist.yaml", POLICY.format(branch=f"branch: {branch}\n" if branch else ""))
    repo.write("models/m.bin", b"m")
    repo.dvc("add", "-q", "models/m.bin")
    repo.git("add", "-A")
    repo.commit("policy and a model")


@pytest.mark.parametrize("command", [["plan"], ["audit"]])
def test_a_missing_governed_branch_is_refused_not_replaced_by_head(dvc_repo, command) -> None:
    _policy(dvc_repo, "trunk")
    proc = dvc_repo.archivist(*command)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "the governed branch 'trunk' is not in this clone" in line
    assert "git fetch origin trunk" in line and "--policy-ref origin/trunk" in line
    # once the branch is there, the same command reads it
    dvc_repo.git("branch", "trunk")
    assert dvc_repo.archivist(*command).returncode in (0, 1)


def test_a_detached_head_governs_nothing_when_the_policy_names_no_branch(dvc_repo) -> None:
    _policy(dvc_repo, None)
    assert dvc_repo.archivist("plan").returncode == 0  # the branch HEAD is on: main
    dvc_repo.git("switch", "-q", "--detach", "HEAD")
    proc = dvc_repo.archivist("plan")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "HEAD is detached" in proc.stderr and "--policy-ref" in proc.stderr
