"""archivist archive: move versions past their active window to the archive remote."""

from __future__ import annotations

import argparse

from archivist.commands import _retention as r
from archivist.commands._common import add_json, formatter, repo_root

HELP = """\
Move the versions whose active window is over from the active DVC remote to the archive
remote (remotes: in archivist.yaml). Without --apply, prints what it would do and changes
nothing.

  archivist archive                       what is due (dry run)
  archivist archive --apply               copy, verify, delete, commit
  archivist archive --apply --jobs 8      more parallel transfers
  archivist archive --as-of 2027-01-01    what will be due on that day
  archivist archive --apply models/clf.pkl only this artifact (paths or artifacts: names)

With --apply, each due version's objects (a folder's .dir manifest and every file it
lists) are copied to the archive remote, read back there and hashed; only then are they
deleted from the active remote (an output's own remote:, else the policy's), sparing
every object that a version which stays active, or an output retention leaves alone,
still uses. Then one commit records it (trailers Archivist-Event: archive, -Artifact,
-Version, -From, -To, and a file under .archivist/events/). Nothing due: no commit.
Interrupted at any point, a rerun finishes the job. A version whose objects are in no
configured remote (never pushed, or only ever on another remote) is reported, one line
each, and left where it is; the other due versions are still archived (exit 1 then).

With --apply, the policy is archivist.yaml as committed on the governed branch (an
uncommitted edit is refused), --as-of cannot be after today, and the two remotes must be
two places (not one folder or bucket prefix under two names, nor one inside the other).

Objects that a repository of remotes.shared_with still keeps (its own plan, read at its
branch head) stay on the remote; one that cannot be read stops deletion from the remotes
it may use, in one line (exit 1).

exit codes: 0 ok, 1 a copy does not match its hash (nothing deleted), or a version's
            objects are in no configured remote (the others are archived),
            2 usage or configuration error (dirty index or policy, wrong branch, unknown
            remote, one place under two remote names, missing credentials)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("archive", help="move expired versions to the archive remote",
                       description=HELP, formatter_class=formatter())
    p.add_argument("--apply", action="store_true", help="do it (default: dry run)")
    p.add_argument("--jobs", "-j", type=r.jobs, default=r.DEFAULT_JOBS, metavar="N",
                   help=f"parallel transfers (default {r.DEFAULT_JOBS})")
    r.add_targets(p)
    r.add_as_of(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archivist.retention.apply import archive

    root = repo_root()
    policy = r.run_policy(root, args)
    outcome = archive(root, policy, r.as_of(args), apply=args.apply, jobs=args.jobs,
                      progress=r.progress() if args.apply and not args.json else None,
                      targets=r.targets(root, args.artifacts))
    code = 1 if outcome.problems or outcome.refused else 0
    if r.show_problems(outcome, args, "not archived", "archived nothing") or \
            r.show_unapplied(outcome, args.json, "archive"):
        return code
    size = r.human_bytes(outcome.nbytes)
    deleted = sum(outcome.deleted.values())
    print(f"archived {len(outcome.items)} version(s), {size}: {outcome.copied} object(s) "
          f"copied, {outcome.verified} verified, {deleted} deleted from the active remote"
          + (f", {outcome.kept_shared} kept (shared with versions that stay active)"
             if outcome.kept_shared else "")
          + f"; commit {outcome.commit[:10] if outcome.commit else '-'}")
    return code
