"""archivist push: publish the ledger commits and release tags in one atomic push."""

from __future__ import annotations

import argparse
from pathlib import Path

from archivist.commands._common import add_json, formatter, repo_root
from archivist.errors import EXIT_OK, UsageError
from archivist.output import print_json

HELP = """\
Push the current branch (the policy's branch:) with the release tags on its new commits,
and delete request tags, in one `git push --atomic`: either everything lands or nothing.

When the remote branch moved meanwhile (someone pushed), the local archivist commits are
replayed on top of it (their event files and bundles are new files, so they never
conflict), each release tag moves with its commit, and the push is tried again, up to
--attempts times. Only archivist's own ledger commits are ever replayed, and a release
tag moves only when the artifact still has the version that was signed; otherwise the
push is refused and nothing is pushed. No event record is lost: the commits stay on the
local branch, and --bundle FILE also keeps them in a file when the push fails for good.

  archivist push                                       CI, after archive/dispose --apply
  archivist push --delete-tag release/clf/v1.2.0       after archivist release
  archivist push --remote https://host/group/repo.git --bundle unpushed.bundle

exit codes: 0 pushed (or nothing to push), 1 refused by the remote or overtaken on every
attempt, 2 usage or configuration error (no remote, no credentials, a commit that is not
archivist's own)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("push", help="push ledger commits and release tags atomically",
                       description=HELP, formatter_class=formatter())
    p.add_argument("--remote", default="origin", metavar="REMOTE",
                   help="remote name or URL (default: origin)")
    p.add_argument("--tag", dest="tags", action="append", default=[], metavar="TAG",
                   help="also push this local tag (repeatable; tags on new commits go anyway)")
    p.add_argument("--delete-tag", action="append", default=[], metavar="TAG",
                   help="delete this tag on the remote in the same push (repeatable)")
    p.add_argument("--attempts", type=int, default=5, metavar="N",
                   help="pushes to try before giving up (default: 5)")
    p.add_argument("--bundle", type=Path, metavar="FILE",
                   help="when the push fails, write the unpushed commits and tags here")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archivist.ledgerpush import push_ledger

    if not 1 <= args.attempts <= 50:
        raise UsageError(f"--attempts {args.attempts} is out of range", "give 1 to 50")
    result = push_ledger(repo_root(), args.remote, delete_tags=args.delete_tag,
                         extra_tags=args.tags, attempts=args.attempts, bundle=args.bundle)
    if args.json:
        print_json(result.as_dict())
        return EXIT_OK
    if result.status == "up-to-date":
        print(f"{result.remote} has {result.branch} and its tags already: nothing to push")
        return EXIT_OK
    what = [f"{result.branch} ({result.commits} commit(s))"]
    what += result.tags
    what += [f"deleted {t}" for t in result.deleted_tags]
    print(f"pushed to {result.remote}: {', '.join(what)}")
    if result.replayed:
        print(f"  {result.replayed} ledger commit(s) replayed on what landed meanwhile "
              f"(attempt {result.attempts})")
    return EXIT_OK
