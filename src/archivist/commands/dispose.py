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

The commit and its event file under .archivist/events/ are the tombstone: which versions,
which object hashes, when, under which rule, and who ran it (Archivist-Event: dispose).

exit codes: 0 ok, 1 a manifest is damaged, 2 usage or configuration error
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dispose", help="delete versions whose archive window is over",
                       description=HELP, formatter_class=formatter())
    p.add_argument("--apply", action="store_true", help="do it (default: dry run)")
    r.add_as_of(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archivist.actions import dispose

    root = repo_root()
    policy = r.retention_policy(root)
    outcome = dispose(root, policy, r.as_of(args), apply=args.apply,
                      progress=r.progress() if args.apply and not args.json else None)
    if r.show_unapplied(outcome, args.json, "dispose of"):
        return 0
    size = r.human_bytes(outcome.nbytes)
    where = ", ".join(f"{n} from {name}" for name, n in outcome.deleted.items())
    print(f"disposed of {len(outcome.items)} version(s), {size}: deleted {where}"
          + (f"; {outcome.kept_shared} object(s) kept (a kept version uses them)"
             if outcome.kept_shared else "")
          + f"; commit {outcome.commit[:10] if outcome.commit else '-'}")
    return 0
