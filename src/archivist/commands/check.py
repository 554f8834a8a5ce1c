"""archivist check: the metadata gate the pre-commit hook and CI run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from archivist import gitrepo
from archivist.commands._common import add_json, formatter, repo_root, to_repo_path
from archivist.errors import EXIT_OK, EXIT_VIOLATIONS, UsageError
from archivist.gate import GateResult, check_range, check_tree, stray_files
from archivist.inventory import load_tree_policy
from archivist.metadata import Violation
from archivist.trees import IndexTree, Tree, WorkingTree

HELP = """\
Check that DVC-tracked artifacts carry the tags archivist.yaml requires.

  archivist check models/clf.pkl.dvc      the artifacts these files declare
  archivist check --all                   every artifact in the working tree
  archivist check --staged                what `git commit` would record (plain git hooks)
  archivist check --from-ref origin/main --to-ref HEAD
                                          every commit in the range, each from its own
                                          blobs, against the policy at --to-ref (CI)

With no FILES and no mode, checks everything, like --all. A change to archivist.yaml
checks everything too. Never touches the network.

exit codes: 0 clean, 1 violations, 2 usage or configuration error
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check artifacts' tags against the policy",
                       description=HELP, formatter_class=formatter())
    p.add_argument("files", nargs="*", metavar="FILES",
                   help=".dvc, dvc.yaml, dvc.lock or archivist.yaml files (others ignored)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--all", action="store_true", help="check every artifact")
    mode.add_argument("--staged", action="store_true",
                      help="read the index instead of the working tree")
    p.add_argument("--from-ref", metavar="REV", help="check each commit after REV ...")
    p.add_argument("--to-ref", metavar="REV", help="... up to REV (default HEAD)")
    add_json(p)
    p.set_defaults(run=run)


def render(result: GateResult, *, stream: Any = None) -> None:
    """One line per problem; after each artifact's lines, the one command that fixes them."""
    from archivist.output import paint  # with json: only a check that finds something

    stream = stream or sys.stdout
    groups: dict[tuple[str | None, str], list[Violation]] = {}
    for v in result.violations:
        groups.setdefault((v.commit, v.artifact), []).append(v)
    for items in groups.values():
        for v in items:
            stream.write(paint(v.render(), "red", stream) + "\n")
        stream.write(f"  fix: {items[-1].fix}\n")


def summary(result: GateResult) -> str:
    scope = f"{result.artifacts_checked} artifact(s)"
    if result.commits_checked:
        scope += f" in {result.commits_checked} commit(s)"
    if result.ok:
        return f"archivist: {scope} checked, all comply"
    artifacts = len({(v.commit, v.artifact) for v in result.violations})
    return (f"archivist: {len(result.violations)} violation(s) in {artifacts} artifact(s); "
            f"{scope} checked")


def as_json(result: GateResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "artifacts_checked": result.artifacts_checked,
        "commits_checked": result.commits_checked,
        "violations": [v.as_dict() for v in result.violations],
    }


def _files_mode(args: argparse.Namespace) -> GateResult:
    root = repo_root()
    tree: Tree = IndexTree(root) if args.staged else WorkingTree(root, git=True)
    try:
        if args.staged and not args.files:
            files: list[str] | None = gitrepo.staged_files(root)
        elif args.files and not args.all:
            files = [to_repo_path(root, f) for f in args.files]
        else:
            files = None
        if files is not None and not args.staged:
            # Given files, only the dvc.yaml registries matter besides them: the tracked
            # list is enough, and skips git's walk of every ignored DVC output.
            paths = list(dict.fromkeys([*gitrepo.ls_files(root, untracked=False), *files]))
        else:
            paths = tree.paths()
        policy = load_tree_policy(tree)
        result = check_tree(tree, policy, files, all_paths=paths)
        if args.staged:
            result.violations.extend(stray_files(policy, files or []))
        return result
    finally:
        tree.close()


def run(args: argparse.Namespace) -> int:
    if args.to_ref and not args.from_ref:
        raise UsageError("--to-ref needs --from-ref", "give the base, e.g. --from-ref origin/main")
    if args.from_ref:
        if args.files or args.all or args.staged:
            raise UsageError("--from-ref checks commits; it takes no FILES, --all or --staged")
        result = check_range(repo_root(), args.from_ref, args.to_ref or "HEAD")
    else:
        result = _files_mode(args)
    if args.json:
        from archivist.output import print_json

        print_json(as_json(result))
    else:
        render(result)
        print(summary(result), file=sys.stderr if result.ok else sys.stdout)
    return EXIT_OK if result.ok else EXIT_VIOLATIONS

