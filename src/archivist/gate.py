"""The metadata gate: check a tree, a set of changed files, or every commit of a range.

Reads through ``Tree`` objects only, so the same checks serve the pre-commit hook (working
tree or index) and the CI gate (each commit's own blobs via ``git cat-file --batch``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from archivist import gitrepo
from archivist.artifacts import is_declaring_file
from archivist.inventory import load_artifacts, load_tree_policy
from archivist.metadata import Violation, check_all, rules_covering_path
from archivist.policy import POLICY_FILE, Policy
from archivist.trees import CommitTree, Tree

# Files that live in git beside DVC outputs by design, whatever a rule's globs cover.
_GIT_SIDE_FILES = (".gitignore", ".dvcignore", ".gitattributes", POLICY_FILE)


@dataclass
class GateResult:
    violations: list[Violation] = field(default_factory=list)
    artifacts_checked: int = 0
    commits_checked: int = 0
    files_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations


def check_tree(tree: Tree, policy: Policy, files: Sequence[str] | None = None,
               commit: str | None = None, all_paths: list[str] | None = None) -> GateResult:
    """Check the artifacts that ``files`` declare (all of them when None or the policy changed)."""
    if files is not None and POLICY_FILE in files:
        files = None
    artifacts = load_artifacts(tree, files, all_paths)
    return GateResult(violations=check_all(artifacts, policy, commit),
                      artifacts_checked=len(artifacts))


def stray_files(policy: Policy, paths: Iterable[str], commit: str | None = None,
                ) -> list[Violation]:
    """Files a rule says belong in DVC that were committed straight to git."""
    found = []
    for path in paths:
        if is_declaring_file(path) or posixpath.basename(path) in _GIT_SIDE_FILES:
            continue
        rules = rules_covering_path(policy, path)
        if rules:
            found.append(Violation(
                file=path, line=0, artifact=path, key="",
                problem="committed straight to git, but the policy wants it tracked by DVC",
                rule=rules[0].label,
                fix=f"git rm --cached -- {path} && dvc add {path}",
                commit=commit, kind="stray",
            ))
    return found


def changed_files_by_commit(root: Path, from_ref: str, to_ref: str) -> list[tuple[str, list[str]]]:
    """(commit, files added or modified) for each commit in FROM..TO, oldest first.

    One ``git log`` process for the whole range; merge commits list no files (their
    parents are in the range and checked themselves).
    """
    out = gitrepo.git_bytes(
        ["log", "--reverse", "--no-renames", "--diff-filter=ACMR", "--name-only", "-z",
         "--format=%x1e%H", f"{from_ref}..{to_ref}", "--"], root)
    commits = []
    for chunk in out.split(b"\x1e"):
        if not chunk:
            continue
        sha, _, rest = chunk.partition(b"\0")
        names = [n.decode("utf-8", "surrogateescape")
                 for n in rest.lstrip(b"\n").split(b"\0") if n]
        commits.append((sha.decode().strip(), names))
    return commits


def check_range(root: Path, from_ref: str, to_ref: str) -> GateResult:
    """Every commit in FROM..TO, each against its own blobs and the policy at TO."""
    base = gitrepo.resolve_commit(root, from_ref)
    tip = gitrepo.resolve_commit(root, to_ref)
    commits = changed_files_by_commit(root, base, tip)
    cat = gitrepo.CatFile(root)
    try:
        tip_tree = CommitTree(root, tip, cat=cat)
        policy = load_tree_policy(tip_tree)
        result = GateResult(commits_checked=len(commits))
        policy_changed = False
        for sha, files in commits:
            relevant = [f for f in files if is_declaring_file(f)]
            if POLICY_FILE in files:
                policy_changed = True
            result.violations.extend(stray_files(policy, files, commit=sha))
            result.files_checked += len(files)
            if not relevant:
                continue
            tree = CommitTree(root, sha, cat=cat)
            sub = check_tree(tree, policy, relevant, commit=sha)
            result.violations.extend(sub.violations)
            result.artifacts_checked += sub.artifacts_checked
        if policy_changed:
            # A changed policy applies to everything already there, judged at the tip.
            sub = check_tree(tip_tree, policy, None, commit=tip)
            seen = {(v.artifact, v.key, v.problem) for v in result.violations}
            result.violations.extend(v for v in sub.violations
                                     if (v.artifact, v.key, v.problem) not in seen)
            result.artifacts_checked += sub.artifacts_checked
        return result
    finally:
        cat.close()
