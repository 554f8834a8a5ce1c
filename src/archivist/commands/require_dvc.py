"""archivist require-dvc: refuse files a policy rule covers but git tracks directly."""

from __future__ import annotations

import argparse

from archivist.commands._common import add_json, formatter, repo_root, to_repo_path
from archivist.errors import EXIT_OK, EXIT_VIOLATIONS
from archivist.gate.check import require_dvc
from archivist.output import print_json, render_violations, require_dvc_json, require_dvc_summary

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
    p.add_argument("--policy-ref", metavar="REV",
                   help="judge by the archivist.yaml committed at REV")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    root = repo_root()
    files = [to_repo_path(root, f) for f in args.files]
    result = require_dvc(root, files, staged=args.staged, policy_ref=args.policy_ref)
    if args.json:
        print_json(require_dvc_json(result))
    else:
        render_violations(result)
        closing = require_dvc_summary(result)
        if closing:
            print(closing)
    return EXIT_OK if result.ok else EXIT_VIOLATIONS
