"""archivist audit: who did what to which artifact, and what is out of policy."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

from archivist.commands._common import formatter, repo_root, to_repo_path
from archivist.dates import cli_date
from archivist.errors import EXIT_OK, EXIT_VIOLATIONS, ConfigError, GitError, UsageError

HELP = """\
Read the whole story back from git and say what is out of policy.

  archivist audit                                   table on the terminal
  archivist audit --format markdown >> "$GITHUB_STEP_SUMMARY"
  archivist audit --output audit.html               one self-contained HTML page
  archivist audit --json --since 2025-01-01         events and findings for machines
  archivist audit --artifact models/clf.pkl         one artifact's timeline
  archivist audit --deep --sample 500               also read objects back from remotes
  archivist audit --rev HEAD --policy-ref origin/main   a merge request

Every report starts with figures (compliance rate, versions by state, bytes held per
remote and per retention class, releases signed and verified, the oldest overdue item),
then lists events oldest first (archive, restore, dispose, hold, release commits and the
version and tag changes people committed), every disposed version's record (what it was,
why it went, and with --deep whether any copy remains on the configured remotes), and
findings, each with a one-line fix:

  noncompliant          artifact at the head whose tags break the policy
  hook-bypassed         commit on the branch that broke the policy when it was made
  release               release tag without a bundle, or whose signature does not verify
  release-unchecked     release tags that could not be verified at all
  trust-unreadable      key, root or trust file of the judging policy is not in its commit
  release-tag-missing   the ledger records a release whose tag is gone
  release-tag-moved     release tag on another commit than the ledger's release commit
  overdue               version due for archive or disposal and not yet moved
  disposal-not-due      disposal the plan at its parent commit did not call for
  restore-beyond-window restore kept active past its class's active window
  unknown-version       archivist event for a version the branch never had
  hold-unmatched        hold that matches no artifact version on the branch
  backdated-commit      commit dated before an earlier commit of the branch
  future-commit         commit dated in the future
  ledger-edited         event file under .archivist/events/ changed after it was added
  ledger-deleted        event file deleted after it was added
  ledger-mismatch       archivist commit whose trailers and event file disagree, or a
                        person's commit dressed as one
  policy-weakened       commit that shortened retention, removed a required tag or a hold
  policy-invalid        commit that left archivist.yaml unreadable
  object-missing        (--deep) object the ledger places in a remote is not there
  object-corrupt        (--deep) object in a remote does not match its hash
  disposed-present      (--deep) object of a disposed version still on a remote

With authority: in the policy (each commit judged by the signers file and the policy at
its parent; every event then says who signed it, in which role, meaning what):

  unsigned              archivist record, release tag or policy change not validly signed
  unknown-signer        signed by a key the signers file does not allow (then)
  unauthorized          the signer holds no role allowed to do it
  self-authorized       allowed only by the key or role the same commit adds
  missing-approval      dispose without its approvals from distinct principals, for its plan
  forged-record         a person's commit dressed as an archivist record (not believed)

Each past commit is judged against the policy it carried; the head against the policy
at --rev; release signatures against the policy at --policy-ref (the governed branch).
--since and --artifact narrow events and findings (repository-wide findings stay);
figures always describe the whole repository. Without --deep only git is read.

exit codes: 0 no findings, 1 findings, 2 usage or configuration error
"""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (write YYYY-MM-DD)") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="report events and findings from the git history",
                       description=HELP, formatter_class=formatter())
    p.add_argument("--format", choices=("table", "json", "markdown", "html"),
                   help="report format (default: table, or what --output's extension says)")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write the report to FILE (atomically) instead of stdout")
    p.add_argument("--since", type=_date, metavar="DATE",
                   help="only events and findings from DATE (YYYY-MM-DD) on")
    p.add_argument("--artifact", metavar="PATH",
                   help="only this artifact's events and findings (its output path)")
    p.add_argument("--deep", action="store_true",
                   help="read every object the ledger places in a remote back and check "
                        "its hash (needs DVC and the remotes' credentials)")
    p.add_argument("--sample", type=_positive, metavar="N",
                   help="with --deep: read back N objects chosen at random (the same N for "
                        "the same commit)")
    p.add_argument("--as-of", metavar="DATE",
                   help="the day overdue is judged on (default: today, UTC)")
    p.add_argument("--rev", metavar="REV",
                   help="the commit whose first-parent history is audited (default: the "
                        "policy's branch, else HEAD; in CI on a merge request: HEAD)")
    p.add_argument("--policy-ref", metavar="REF",
                   help="the commit whose policy and trust files judge release signatures, "
                        "as for verify (default: the governed branch; on a merge request: "
                        "the base, e.g. origin/main)")
    p.set_defaults(run=run)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` whole or not at all: a crash never leaves half a report."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"--output {path}: folder {folder} does not exist",
                         "create it first, or write elsewhere")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    from archivist.audit.collect import collect, finish
    from archivist.audit.judge import filter_audit
    from archivist.audit.report import format_for, render
    from archivist.inventory import load_tree_policy
    from archivist.policy import Policy
    from archivist.trees import CommitTree

    if args.sample is not None and not args.deep:
        raise UsageError("--sample goes with --deep", "add --deep, or drop --sample")
    if args.json and args.format not in (None, "json"):
        raise UsageError(f"--json and --format {args.format} contradict each other")
    fmt = "json" if args.json else args.format
    if fmt is None:
        fmt = (format_for(args.output) if args.output else None) or "table"
    output = Path(args.output) if args.output else None
    if output is not None and output.is_dir():
        raise UsageError(f"--output {output} is a folder", "give a file name, e.g. audit.html")
    root = repo_root()
    as_of = cli_date(args.as_of, "--as-of") if args.as_of else dt.datetime.now(dt.UTC).date()
    from archivist import gitrepo, history

    def policy_at(rev: str) -> Policy:
        tree = CommitTree(root, gitrepo.resolve_commit(root, rev))
        try:
            return load_tree_policy(tree)
        finally:
            tree.close()

    rev = args.rev
    policy = policy_at(rev or "HEAD")
    if rev is None:
        rev = history.governed_branch(root, policy.branch).removeprefix("refs/heads/")
        if gitrepo.resolve_commit(root, rev) != gitrepo.resolve_commit(root, "HEAD"):
            policy = policy_at(rev)
    # Releases are judged by the reviewed policy, never by the one under audit: a merge
    # request that adds its own key must not vouch for its own release.
    if args.policy_ref is not None:
        policy_rev = gitrepo.resolve_commit(root, args.policy_ref)
    else:
        try:
            policy_rev = gitrepo.resolve_commit(root, history.governed_branch(root, policy.branch))
        except GitError as exc:
            raise ConfigError(exc.message, f"fetch it (git fetch origin {policy.branch}), or "
                              "pass --policy-ref with the base branch") from None
    release_policy = policy_at(policy_rev)
    artifact = to_repo_path(root, args.artifact).rstrip("/") if args.artifact else None
    audit = collect(root, policy, rev=rev, as_of=as_of, deep=args.deep,
                    sample=args.sample, release_policy=release_policy, policy_rev=policy_rev)
    if artifact is not None:
        known = ({e.artifact for e in audit.events} | {f.artifact for f in audit.findings}
                 | set(audit.tracked))
        if artifact not in known and not any(a and a.startswith(artifact + "/")
                                             for a in known):
            raise UsageError(f"--artifact {args.artifact}: no artifact at that path in the "
                             f"history of {rev}", "give an output path as `archivist ls` "
                             "shows it")
    if artifact is not None or args.since is not None:
        filter_audit(audit, args.since, artifact)
    finish(audit)
    stream = sys.stdout if output is None else None
    text = render(audit, fmt, stream=stream)
    if output is not None:
        write_atomically(output, text)
        print(f"archivist: wrote {fmt} report to {output} ({len(audit.findings)} finding(s))",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK if audit.ok else EXIT_VIOLATIONS
