"""The metadata gate: check a tree, a set of changed files, or every commit of a range.

Decides what is read and against which policy; returns values (``GateResult``) and prints
nothing. Reads through ``Tree`` objects only, so the same checks serve the pre-commit hook
(working tree or index) and the CI gate (each commit's own blobs via ``git cat-file``).
Two gates, kept apart as the hooks install them: ``check_files``/``check_range`` judge the
tags of the artifacts; ``require_dvc`` refuses files a rule says belong in DVC (the range
check does both, since CI runs only it).

Which policy judges: by default the one the checked tree holds (the index, the working
tree, the tip of the range). With ``policy_ref`` (``--policy-ref origin/main`` in CI),
the policy committed at that revision judges every commit, so a merge request cannot
weaken the rules that judge it: a policy change is judged by the policy it replaces.
"""

from __future__ import annotations

import os
import posixpath
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from archivist import gitrepo
from archivist.dvcfiles import DVC_LOCK, DVC_YAML, Artifact, is_declaring_file
from archivist.errors import ConfigError, GitError, UsageError
from archivist.gate.rules import Violation, check_all, rules_covering_path
from archivist.inventory import load_artifacts, load_tree_policy
from archivist.policy import POLICY_FILE, Policy, parse_policy
from archivist.trees import CommitTree, IndexTree, Tree, WorkingTree

if TYPE_CHECKING:  # range mode only; the hooks never import it
    from archivist.authority.judge import AuthorityFinding

# Files that live in git beside DVC outputs by design, whatever a rule's globs cover.
_GIT_SIDE_FILES = (".gitignore", ".dvcignore", ".gitattributes", POLICY_FILE)


class GateResult:
    """What a gate found. A plain class, not a dataclass: every commit's hook imports it,
    and building a dataclass costs the import more than this whole module."""

    __slots__ = ("artifacts_checked", "authority", "authority_enforced", "commits_checked",
                 "files_checked", "violations", "warnings")

    def __init__(self, violations: list[Violation] | None = None, artifacts_checked: int = 0,
                 commits_checked: int = 0, files_checked: int = 0,
                 warnings: list[str] | None = None) -> None:
        self.violations = violations if violations is not None else []
        self.artifacts_checked = artifacts_checked
        self.commits_checked = commits_checked
        self.files_checked = files_checked
        self.warnings = warnings if warnings is not None else []  # never change the verdict
        self.authority: list[AuthorityFinding] = []  # range mode: signatures, roles, approvals
        self.authority_enforced = False  # some commit was judged under ``authority:``

    @property
    def ok(self) -> bool:
        return not self.violations and not self.authority


def check_tree(tree: Tree, policy: Policy, files: Sequence[str] | None = None,
               commit: str | None = None, all_paths: list[str] | None = None) -> GateResult:
    """Check the artifacts that ``files`` declare (all of them when None or the policy changed).

    When every artifact was read, holds that match none of them are warnings.
    """
    if files is not None and POLICY_FILE in files:
        files = None
    artifacts = load_artifacts(tree, files, all_paths)
    result = GateResult(violations=check_all(artifacts, policy, commit),
                        artifacts_checked=len(artifacts))
    if files is None:
        result.warnings.extend(hold_warnings(policy, artifacts))
    return result


def hold_warnings(policy: Policy, artifacts: Iterable[Artifact]) -> list[str]:
    """One line per hold of ``policy`` that can hold none of ``artifacts``.

    Judged by path (and hash form) only: a hold on a version that is no longer current is
    as it should be, and only the history knows those versions (the audit checks them).
    """
    if policy.retention is None or not policy.retention.holds:
        return []
    from archivist.retention.decide import unmatched_holds  # only when there are holds to judge

    return [f"{found.message} (it holds nothing: write the output path as DVC names it, "
            "and a full hash)" for found in unmatched_holds(policy, artifacts)
            if found.problem in ("no-artifact", "short-hash")]


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
                fix=f"git rm --cached -- {shlex.quote(path)} && dvc add {shlex.quote(path)}",
                commit=commit, kind="stray",
            ))
    return found


def policy_at(root: Path, ref: str, cat: gitrepo.CatFile | None = None) -> Policy:
    """The policy committed at ``ref`` (``--policy-ref``): never a working-tree edit.

    Raises ConfigError (exit 2) when ``ref`` is not here or holds no policy.
    """
    try:
        sha = gitrepo.resolve_commit(root, ref)
    except GitError:
        raise ConfigError(f"--policy-ref {ref}: no such commit in this clone",
                          "fetch it first: git fetch origin "
                          f"{ref.removeprefix('origin/')}") from None
    own = cat is None
    reader = cat or gitrepo.CatFile(root)
    try:
        data = reader.read(f"{sha}:{POLICY_FILE}")
    finally:
        if own:
            reader.close()
    if data is None:
        raise ConfigError(f"--policy-ref {ref}: no {POLICY_FILE} committed there",
                          "give the base branch that holds the reviewed policy")
    return parse_policy(data, f"{POLICY_FILE} at {ref}")


def _open_tree(root: Path, staged: bool) -> Tree:
    return IndexTree(root) if staged else WorkingTree(root, git=True)


def _missing(root: Path, tree: Tree, files: Sequence[str]) -> list[str]:
    """Given files that are neither in ``tree`` nor on disk: a typo, not a clean check."""
    known: set[str] | None = None
    out = []
    for path in files:
        if os.path.lexists(os.path.join(root, path)):
            continue
        if known is None:
            known = set(tree.paths())
        if path not in known:
            out.append(path)
    return out


def _names_registry(files: Sequence[str]) -> bool:
    """A ``dvc.yaml`` (or its lock) among ``files``: its ``artifacts:`` entries overlay the
    tags of outputs that ``.dvc`` files declare, so those must be read too."""
    return any(posixpath.basename(f) in (DVC_YAML, DVC_LOCK) for f in files)


def _declaring_paths(tree: Tree, files: Sequence[str]) -> list[str]:
    """What a check of ``files`` reads besides them: every ``dvc.yaml`` (its registry may
    tag their outputs), and with a ``dvc.yaml`` among them every file (the outputs its
    entries name). Looked up, not listed, in the common case: a few files among
    thousands."""
    if _names_registry(files):
        return list(dict.fromkeys([*tree.paths(), *files]))
    return list(dict.fromkeys([*tree.named(DVC_YAML), *files]))


def check_files(root: Path, files: Sequence[str] | None = None, *, staged: bool = False,
                policy_ref: str | None = None) -> GateResult:
    """The tag check of the hooks: ``files`` (repo-relative), else what is staged
    (``staged``), else every artifact; in the index (``staged``) or the working tree.

    A given file that does not exist is a UsageError: checking nothing is not a pass.
    """
    tree = _open_tree(root, staged)
    try:
        if files:
            missing = _missing(root, tree, files)
            if missing:
                raise UsageError(f"{missing[0]}: no such file" + (
                    f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                    "give the .dvc, dvc.yaml or dvc.lock file that declares the artifact")
            chosen: list[str] | None = list(files)
        elif staged:
            chosen = gitrepo.staged_files(root)
        else:
            chosen = None
        if chosen is not None and not staged:
            # Given files, only the dvc.yaml registries matter besides them: the tracked
            # ones are enough, and skip git's walk of every ignored DVC output. (The
            # pre-commit framework's file list says what changed: no `git diff` either.)
            # A policy among them checks every tracked artifact.
            everything = POLICY_FILE in chosen or _names_registry(chosen)
            tracked = gitrepo.ls_files(root, untracked=False) if everything \
                else gitrepo.tracked_named(root, DVC_YAML)
            paths = list(dict.fromkeys([*tracked, *chosen]))
        elif chosen is not None and POLICY_FILE not in chosen:
            paths = _declaring_paths(tree, chosen)
        else:
            paths = tree.paths()
        policy = policy_at(root, policy_ref) if policy_ref else load_tree_policy(tree)
        return check_tree(tree, policy, chosen, all_paths=paths)
    finally:
        tree.close()


def require_dvc(root: Path, files: Sequence[str] | None = None, *, staged: bool = False,
                policy_ref: str | None = None) -> GateResult:
    """Files (given, else staged) that a rule covers but git holds directly."""
    tree = _open_tree(root, staged)
    try:
        policy = policy_at(root, policy_ref) if policy_ref else load_tree_policy(tree)
    finally:
        tree.close()
    chosen = list(files) if files else (gitrepo.staged_files(root) if staged else [])
    return GateResult(violations=stray_files(policy, chosen), files_checked=len(chosen))


def check_range(root: Path, from_ref: str, to_ref: str,
                policy_ref: str | None = None) -> GateResult:
    """Every commit in FROM..TO, each against its own blobs, and (``authority:``) the
    signature and rights of every archivist record, policy change and release tag there.

    The policy is the one at TO, or with ``policy_ref`` the one committed there (for every
    commit, and for the whole tree at TO when the range changes the policy).
    """
    base = gitrepo.resolve_commit(root, from_ref)
    tip = gitrepo.resolve_commit(root, to_ref)
    commits = gitrepo.changed_files_by_commit(root, base, tip)
    cat = gitrepo.CatFile(root)
    try:
        tip_tree = CommitTree(root, tip, cat=cat)
        # The tip's own policy is read even when another judges: a range that leaves a
        # broken archivist.yaml behind is a configuration error, whatever judges it.
        tip_policy = load_tree_policy(tip_tree)
        policy = policy_at(root, policy_ref, cat) if policy_ref else tip_policy
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
            sub = check_tree(tree, policy, relevant, commit=sha,
                             all_paths=_declaring_paths(tree, relevant))
            result.violations.extend(sub.violations)
            result.artifacts_checked += sub.artifacts_checked
        if policy_changed:
            # A changed policy applies to everything already there, judged at the tip;
            # the holds worth a warning are the ones the range leaves in place.
            artifacts = load_artifacts(tip_tree)
            seen = {(v.artifact, v.key, v.problem) for v in result.violations}
            result.violations.extend(v for v in check_all(artifacts, policy, tip)
                                     if (v.artifact, v.key, v.problem) not in seen)
            result.artifacts_checked += len(artifacts)
            result.warnings.extend(hold_warnings(tip_policy, artifacts))
    finally:
        cat.close()
    # Who signed what, under the policy at each commit's parent (authority:); imported
    # here so the hooks never load it.
    from archivist.authority.verify import judge_range

    report = judge_range(root, base, tip)
    result.authority = report.findings
    result.authority_enforced = report.enforced
    return result
