"""archivist require-dvc: refuse files a policy rule covers but git tracks directly."""

from __future__ import annotations

import argparse

from archivist import gitrepo
from archivist.commands._common import add_json, formatter, repo_root, to_repo_path
from archivist.commands.check import render
from archivist.errors import EXIT_OK, EXIT_VIOLATIONS
from archivist.gate import GateResult, stray_files
from archivist.inventory import load_tree_policy
from archivist.output import print_json
from archivist.trees import IndexTree, Tree, WorkingTree

HELP = """\
Refuse a staged file that a policy rule's paths cover (say models/**) but that is being
committed straight to git instead of through DVC. The fix it prints moves the file to DVC:

  git rm --cached -- models/big.pkl && dvc add models/big.pkl

.dvc files, dvc.yaml, dvc.lock, .gitignore and archivist.yaml are always allowed.

exit codes: 0 clean, 1 files to move to DVC, 2 usage or configuration error
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("require-dvc", help="refuse covered files committed straight to git",
                       description=HELP, formatter_class=formatter())
    p.add_argument("files", nargs="*", metavar="FILES", help="files about to be committed")
    p.add_argument("--staged", action="store_true",
                   help="check the files staged in the index (plain git hooks)")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    root = repo_root()
    tree: Tree = IndexTree(root) if args.staged else WorkingTree(root, git=True)
    try:
        policy = load_tree_policy(tree)
    finally:
        tree.close()
    files = [to_repo_path(root, f) for f in args.files]
    if args.staged and not files:
        files = gitrepo.staged_files(root)
    result = GateResult(violations=stray_files(policy, files), files_checked=len(files))
    if args.json:
        print_json({"ok": result.ok, "files_checked": len(files),
                    "violations": [v.as_dict() for v in result.violations]})
    else:
        render(result)
        if not result.ok:
            print(f"archivist: {len(result.violations)} of {len(files)} file(s) belong in DVC, "
                  "not git")
    return EXIT_OK if result.ok else EXIT_VIOLATIONS
