"""archivist plan: every version of every artifact, its retention state and what is due."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from archivist.commands import _retention as r
from archivist.commands._common import add_json, formatter, repo_root
from archivist.output import print_json

if TYPE_CHECKING:
    from archivist.policy import Policy
    from archivist.retention.forecast import Forecast

HELP = """\
Show every version of every DVC-tracked artifact on the governed branch (first-parent
history of `branch:` in archivist.yaml, default the current branch) with its state
(current, active, archived, restored, held, disposed), the action retention calls for
(keep, archive, dispose), why, and when it falls due.

  archivist plan                          what is due today
  archivist plan --as-of 2027-01-01       what will be due on that day
  archivist plan --due                    only versions with something to do
  archivist plan models/clf.pkl clf       only these artifacts (paths or artifacts: names)
  archivist plan --json | jq '.items[] | select(.action == "archive")'
  archivist plan --forecast               when each version falls due, under this policy
  archivist plan --forecast --json        the same dates, and each version's phases

A version's clock starts at the commit that replaced or deleted it; the current version
never expires. --forecast gives every version's future dates: ARCHIVE DUE (it leaves the
active remote), DISPOSE DUE (it is deleted everywhere), "-" where none falls due (current,
in use by a GTO stage, held without an end, kept forever, already done), with the hold,
release or stage that decides it. Reads git only: no remote is contacted, nothing
changes. It may use archivist's parse cache (what --apply obeys is always read afresh).

With remotes.shared_with, each shared repository's branch is fetched (git, read only)
and planned too: a due version whose content one of them keeps where its action would
delete names it ("kept by ../feature-store ..."; kept_by in --json), and one that cannot
be read is a warning (--apply will delete nothing from the remotes it may use).

exit codes: 0 ok, 2 usage or configuration error
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="show retention state and what is due",
                       description=HELP, formatter_class=formatter())
    r.add_targets(p)
    r.add_as_of(p)
    p.add_argument("--due", action="store_true", help="only versions to archive or dispose")
    p.add_argument("--no-reasons", action="store_true", help="leave out the REASON column")
    p.add_argument("--forecast", action="store_true",
                   help="every version's future dates (archive due, dispose due) under "
                        "the current policy")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archivist.retention.apply import target_paths
    from archivist.retention.decide import summarize
    from archivist.retention.plan import build_plan_details

    root = repo_root()
    policy = r.retention_policy(root)
    if args.forecast:
        return _forecast(root, policy, args)
    plan = build_plan_details(root, policy, r.as_of(args), fresh=False)
    kept_by: dict[tuple[str, str], list] = {}
    if policy.remotes.shared_with:  # other repositories on the same remotes
        from archivist.retention.shared import annotate

        kept_by = annotate(root, policy, plan)
    if args.artifacts:
        paths = target_paths(plan, r.targets(root, args.artifacts))
        plan.items = [i for i in plan.items if i.path in paths]
    items = [i for i in plan.items if i.action != "keep"] if args.due else plan.items
    counts = summarize(plan.items)
    if args.json:
        print_json({"as_of": plan.as_of, "branch": plan.branch, "head": plan.head,
                    "summary": counts, "items": [
                        {**r.item_json(i), **({"kept_by": [v.as_json() for v in kept_by[
                            (i.path, i.version)]]} if (i.path, i.version) in kept_by else {})}
                        for i in items],
                    "warnings": plan.warnings})
        return 0
    r.warn(plan.warnings)
    if items:
        r.plan_table(items, reasons=not args.no_reasons)
    due_bytes = sum(i.size or 0 for i in plan.items if i.action != "keep")
    print(f"{len(plan.items)} version(s) on {plan.branch} as of {plan.as_of}: "
          f"{counts['archive']} to archive, {counts['dispose']} to dispose, "
          f"{counts['keep']} kept ({r.human_bytes(due_bytes)} due)",
          file=sys.stdout if items else sys.stderr)
    return 0


def _forecast(root: Path, policy: Policy, args: argparse.Namespace) -> int:
    from archivist.output import table
    from archivist.retention.apply import target_paths
    from archivist.retention.plan import build_forecast

    plan, rows = build_forecast(root, policy, r.as_of(args))
    if args.artifacts:
        paths = target_paths(plan, r.targets(root, args.artifacts))
        rows = [f for f in rows if f.path in paths]
    if args.due:
        rows = [f for f in rows if f.archive_due or f.dispose_due]
    if args.json:
        print_json({"as_of": plan.as_of, "branch": plan.branch, "head": plan.head,
                    "items": [f.as_dict() for f in rows], "warnings": plan.warnings})
        return 0
    r.warn(plan.warnings)

    def day(value: dt.date | None) -> str:
        return value.isoformat() if value else "-"

    def why(f: Forecast) -> str:
        parts = [p for p in (f.note, f"release {f.release}" if f.release else "",
                             f"waiting: {f.waiting}" if f.waiting else "") if p]
        return "; ".join(parts)

    body = [[f.path, r.short_version(f.version), f.state, f.retention_class or "-",
             day(f.superseded), day(f.archive_due)
             + (" (overdue)" if f.action == "archive" else ""),
             day(f.dispose_due) + (" (overdue)" if f.action == "dispose" else "")]
            + ([why(f)] if not args.no_reasons else []) for f in rows]
    headers = ["ARTIFACT", "VERSION", "STATE", "CLASS", "SUPERSEDED", "ARCHIVE DUE",
               "DISPOSE DUE"]
    if body:
        table(body, headers + ([] if args.no_reasons else ["WHY"]))
    print(f"forecast of {len(rows)} version(s) on {plan.branch} from {plan.as_of}, under "
          f"the policy as it is now", file=sys.stdout if body else sys.stderr)
    return 0
