"""archivist approve: sign an approval (or a review) of the exact plan a dispose would run."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from archivist.commands import _retention as r
from archivist.commands._common import add_json, formatter, repo_root

if TYPE_CHECKING:
    from archivist.authority.records import PlannedDeletion

HELP = """\
Compute the dispose plan exactly as `archivist dispose --apply` would (the committed
policy, the history walked afresh, every due version's objects listed on the remotes),
and commit a signed approval of it: the plan's digest (sha256 over the exact versions
and objects it would delete, and from which remote), who approves, what the signature
means, and the date. Nothing on any remote changes.

  archivist approve dispose                      approve what is due today
  archivist approve dispose --meaning review     record a review (it counts toward nothing)
  archivist approve dispose data/raw             the plan of `dispose --apply data/raw`
  archivist approve dispose --as-of 2026-11-30   the plan as on that day (not after today)

With authority: in archivist.yaml, `dispose --apply` deletes only a plan whose digest has
the approvals authority.may.dispose asks for (approvals: N), signed by N distinct
principals who hold one of its roles, and names them in its commit (Archivist-Plan,
Archivist-Approval). A plan that changed since (a new version became due) has another
digest: it needs new approvals. Approving needs what disposing needs: git set up to sign
(gpg.format ssh, user.signingkey), a key the committed signers file names, a role that
may dispose, and read access to the remotes. Push the approval (archivist push) so the
one who disposes sees it.

exit codes: 0 approved (or nothing is due), 2 usage or configuration error (no
            authority: section, signing not set up, a signer without a role that may
            dispose, dirty policy, wrong branch)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("approve", help="sign an approval of the current dispose plan",
                       description=HELP, formatter_class=formatter())
    p.add_argument("action", choices=["dispose"], help="what to approve (dispose)")
    r.add_targets(p)
    r.add_as_of(p)
    p.add_argument("--meaning", choices=["approval", "review"], default="approval",
                   help="what the signature means (default approval; a review is "
                   "recorded but counts toward no approval)")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archivist import gitrepo, ledger
    from archivist.authority import actor, approvals
    from archivist.authority.records import Meaning
    from archivist.errors import ConfigError
    from archivist.output import print_json
    from archivist.retention.apply import dispose

    root = repo_root()
    policy = r.retention_policy(root, committed=True)
    if policy.authority is None:
        raise ConfigError(f"{policy.source} has no authority: section: dispose needs no "
                          "approvals, and nobody is named to give them",
                          "add authority: (signers, roles, may.dispose with approvals); "
                          "see docs/authority.md")
    as_of = r.as_of(args)
    captured: list[PlannedDeletion] = []

    def capture(deletions: Sequence[PlannedDeletion]) -> None:
        captured.extend(deletions)
        return None  # the plan only: nothing deleted, nothing recorded

    outcome = dispose(root, policy, as_of, apply=True, authorize=capture,
                      targets=r.targets(root, args.artifacts))
    if not args.json:
        r.warn(outcome.warnings)
        r.warn([f"not in the plan: {line}" for line in outcome.problems])
    if not captured:
        if args.json:
            print_json({"approved": False, "plan": None, "versions": []})
        else:
            print("dispose: nothing is due: nothing to approve")
        return 0
    signer = actor.require(root, policy, "dispose")
    assert signer is not None
    meaning = Meaning(args.meaning)
    head = gitrepo.resolve_commit(root, "HEAD")
    event = approvals.approval_event(
        captured, meaning=meaning, approver=signer.principal, key=signer.key, as_of=as_of,
        branch=policy.branch or gitrepo.current_branch(root) or "", head=head)
    commit = ledger.record(root, event, sign=True)
    state = approvals.approvals_for(root, policy, outcome.plan or "")
    if args.json:
        print_json({"approved": meaning is Meaning.APPROVAL, "meaning": meaning.value,
                    "plan": outcome.plan, "commit": commit, "approver": signer.principal,
                    "key": signer.key, "approvals": len(state.counted),
                    "needed": state.needed,
                    "versions": [{"artifact": d.artifact, "version": d.version,
                                  "remote": d.remote, "objects": len(d.objects)}
                                 for d in sorted(set(captured))]})
        return 0
    r.plan_table(outcome.items, reasons=False)
    verb = "approved" if meaning is Meaning.APPROVAL else "reviewed"
    print(f"{verb} dispose plan {outcome.plan} ({len(set(captured))} version(s)) as "
          f"{signer.principal}; commit {commit[:10]}; {len(state.counted)} of "
          f"{state.needed} approval(s); push it: archivist push")
    return 0
