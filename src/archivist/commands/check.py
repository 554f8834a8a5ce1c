"""archivist check: the metadata gate the pre-commit hook and CI run (parse, call, print)."""

from __future__ import annotations

import argparse
import sys

from archivist.commands._common import add_json, formatter, repo_root, to_repo_path
from archivist.errors import EXIT_OK, EXIT_VIOLATIONS, UsageError
from archivist.gate.check import check_files, check_range
from archivist.output import gate_json, gate_summary, render_violations, render_warnings

HELP = """\
Check that DVC-tracked artifacts carry the tags archivist.yaml requires.

  archivist check models/clf.pkl.dvc      the artifacts these files declare
  archivist check --all                   every artifact in the working tree
  archivist check --staged                what `git commit` would record (plain git hooks)
  archivist check --from-ref origin/main --to-ref HEAD
                                          every commit in the range, each from its own
                                          blobs, against the policy at --to-ref (CI)
  archivist check --from-ref origin/main --policy-ref origin/main
                                          the same, judged by the base branch's policy:
                                          a merge request cannot weaken its own gate

With no FILES and no mode, checks everything, like --all. A change to archivist.yaml
checks everything too. The range check also refuses files a rule covers that were
committed straight to git (require-dvc does that for the hooks). A hold in the policy
that matches no artifact is a warning (stderr; the exit code is unchanged). Never touches
the network.

With authority: in the policy, the range check also verifies, for every archivist commit,
approval, release tag and change of archivist.yaml or the signers file, git's signature
against the signers file of the commit's parent (at the commit's time) and that the
signer holds a role the parent's policy lets do it. Findings (exit 1): unsigned,
unknown-signer, unauthorized, self-authorized, missing-approval, forged-record (a person's
commit dressed as an archivist record). docs/authority.md says how to set it up.

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
    p.add_argument("--policy-ref", metavar="REV",
                   help="judge by the archivist.yaml committed at REV (the base branch in "
                        "CI), not the one being checked")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.to_ref and not args.from_ref:
        raise UsageError("--to-ref needs --from-ref", "give the base, e.g. --from-ref origin/main")
    root = repo_root()
    if args.from_ref:
        if args.files or args.all or args.staged:
            raise UsageError("--from-ref checks commits; it takes no FILES, --all or --staged")
        result = check_range(root, args.from_ref, args.to_ref or "HEAD",
                             policy_ref=args.policy_ref)
    else:
        files = None if args.all else [to_repo_path(root, f) for f in args.files]
        result = check_files(root, files, staged=args.staged, policy_ref=args.policy_ref)
    render_warnings(result)
    if args.json:
        from archivist.output import print_json

        print_json(gate_json(result))
    else:
        render_violations(result)
        print(gate_summary(result), file=sys.stderr if result.ok else sys.stdout)
    return EXIT_OK if result.ok else EXIT_VIOLATIONS
