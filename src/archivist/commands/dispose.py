"""archivist dispose: delete versions whose archive window is over, and keep a tombstone."""

from __future__ import annotations

import argparse

from archivist.commands import _retention as r
from archivist.commands._common import add_json, formatter, repo_root

HELP = """\
Delete the versions past their active and archive windows from wherever they are (active
or archive remote). Never an object that a kept version uses, never a held version, never
a class with `archive: forever`. Without --apply, prints what it would do.

  archivist dispose                       what is due (dry run)
  archivist dispose --apply               delete and commit the tombstone
  archivist dispose --as-of 2030-01-01    what will be due on that day
  archivist dispose --apply data/raw      only this artifact (paths or artifacts: names)

The commit and its event file under .archivist/events/ are the tombstone: which versions,
which object hashes, when, under which rule, and who ran it (Archivist-Event: dispose).
The disposed objects also leave this machine's DVC cache (never one a kept version or the
working tree uses); other clones may still hold copies, and the record says so.

With --apply, the policy is archivist.yaml as committed on the governed branch (an
uncommitted edit is refused), and --as-of cannot be after today. Interrupted, or its
commit never pushed, a rerun from any clone finishes the job.

A version never archived whose objects are in no configured remote (never pushed, or
only ever on another remote) is reported, one line each, and stays recorded as it was:
no tombstone claims archivist disposed of it.

With authority: in archivist.yaml, --apply first checks (nothing touched otherwise) that
git will sign the tombstone for a principal whose role may dispose, then lists the
remotes and deletes only when the plan's digest has the approvals authority.may.dispose
asks for, from distinct principals holding its roles (`archivist approve dispose`); a plan
that changed since needs new approvals. The signed commit names them (Archivist-Plan,
Archivist-Approval). See docs/authority.md.

Objects that a repository of remotes.shared_with still keeps (its own plan, read at its
branch head) stay on the remote; one that cannot be read stops deletion from the remotes
it may use, in one line (exit 1).

exit codes: 0 ok, 1 a version's manifest is damaged, or its objects are in no configured
            remote (the others are still disposed of), or the plan lacks its approvals
            (nothing deleted),
            2 usage or configuration error (dirty policy, future --as-of with --apply,
            two remote names for one place, missing credentials, signing not set up or a
            signer whose role may not dispose)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dispose", help="delete versions whose archive window is over",
                       description=HELP, formatter_class=formatter())
    p.add_argument("--apply", action="store_true", help="do it (default: dry run)")
    r.add_targets(p)
    r.add_as_of(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archivist.retention.apply import dispose

    root = repo_root()
    policy = r.run_policy(root, args)
    outcome = dispose(root, policy, r.as_of(args), apply=args.apply,
                      progress=r.progress() if args.apply and not args.json else None,
                      targets=r.targets(root, args.artifacts))
    code = 1 if outcome.problems or outcome.refused else 0
    if r.show_problems(outcome, args, "not disposed of", "disposed of nothing") or \
            r.show_unapplied(outcome, args.json, "dispose of"):
        return code
    size = r.human_bytes(outcome.nbytes)
    where = ", ".join(f"{n} from {name}" for name, n in outcome.deleted.items())
    print(f"disposed of {len(outcome.items)} version(s), {size}: deleted {where}"
          + (f", {outcome.cache_removed} from the local DVC cache" if outcome.cache_removed
             else "")
          + (f"; {outcome.kept_shared} object(s) kept (a kept version uses them)"
             if outcome.kept_shared else "")
          + (f"; plan {outcome.plan} (approvals in the commit's trailers)"
             if outcome.plan else "")
          + f"; commit {outcome.commit[:10] if outcome.commit else '-'}")
    return code
