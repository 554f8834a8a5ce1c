"""archivist verify: check release signatures against the governed branch's policy."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from archivist.commands._common import add_json, formatter, repo_root
from archivist.errors import EXIT_OK, EXIT_VIOLATIONS, ConfigError, UsageError
from archivist.output import paint, print_json

HELP = """\
Verify release tags. For each NAME@VERSION tag, read the Sigstore bundle and the DVC files
from the tagged commit (not the working tree), get the bytes of that version as DVC stores
them (local cache, else the active remote, else the archive remote), and check:

  - the signature, and that its key, certificate root or keyless identity is one the
    policy at the head of the governed branch trusts (never the tagged commit's own
    policy: a commit cannot vouch for itself);
  - every file's sha256 against the signed manifest (which file differs, which is extra
    or missing), and every object's md5 against its name: a folder's .dir listing is read
    only when its bytes are the md5 DVC records (a listing rewritten on a remote is
    refused, and removed from the cache as DVC removes a corrupted file);
  - that the tag points at the ledger's release commit: the commit that added the bundle,
    with the Archivist-Event: release trailer, on the governed branch's first-parent
    history (a tag moved onto a copy of that commit fails), and that the bundle names
    this tag, artifact and version;
  - the provenance the statement signs (for a stage output: the stage, its command, each
    dependency's path and md5, the params values, the commit; for a .dvc file: path, md5,
    commit) against the DVC files of the commit the release was made from. A verified
    release prints it, and --json carries it as "provenance".

A malformed bundle is one failure on its tag; every other tag is still verified. With
signing.since in the policy, unsigned tags made before that date (on commits older than
the policy change that set it) are listed as legacy and do not fail; `archivist release
--adopt TAG` signs one in place. --json gives each tag a status: ok, legacy, unsigned,
not-a-release, moved, malformed, untrusted-signer, bad-signature, record-mismatch,
content-mismatch, content-missing.

  archivist verify                      every release tag (same as --all)
  archivist verify clf@v1.2.0
  archivist verify clf                  every release of one artifact
  archivist verify --all --json
  archivist verify --policy-ref origin/main     in CI on a merge request

The policy comes from the governed branch (archivist.yaml's `branch:`, looked up as a local
branch, then origin/BRANCH), never from HEAD in its place: a clone without that branch is
refused (exit 2; fetch it, or pass --policy-ref). In CI on a merge request, pass
--policy-ref origin/main so a policy edited in the request cannot choose its own branch.

Keyless bundles are checked offline, against signing.trust_config when the policy pins one,
else against the production Sigstore trusted root shipped with sigstore-python.

exit codes: 0 all verified (or legacy), 1 any failure, 2 usage or configuration error
(no governed branch here, no credentials for a remote)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="verify release signatures", description=HELP,
                       formatter_class=formatter())
    p.add_argument("tags", nargs="*", metavar="NAME@VERSION",
                   help="release tags, or artifact names for all their releases")
    p.add_argument("--all", action="store_true", help="verify every release tag")
    p.add_argument("--policy-ref", metavar="REV",
                   help="read the policy (and its keys) from REV instead of the governed branch")
    add_json(p)
    p.set_defaults(run=run)


def _select(all_tags: list[str], wanted: list[str]) -> list[str]:
    from archivist.gto_tags import name_to_tag
    from archivist.release.names import parse_release_tag

    chosen: list[str] = []
    for spec in wanted:
        if parse_release_tag(spec) is not None:
            chosen.append(spec)
            continue
        if "@" in spec:
            raise UsageError(f"{spec!r} is not NAME@vX.Y.Z", "e.g. clf@v1.2.0")
        prefix = name_to_tag(spec) + "@"
        matches = [t for t in all_tags if t.startswith(prefix)]
        if not matches:
            raise UsageError(f"no release tags for {spec!r}",
                             "list them with: git tag --list '*@v*'")
        chosen.extend(matches)
    return list(dict.fromkeys(chosen))


def run(args: argparse.Namespace) -> int:
    from archivist.history import governed_policy
    from archivist.policy import POLICY_FILE
    from archivist.release.names import VerifyStatus
    from archivist.release.records import list_release_tags
    from archivist.release.verify import verify_tag

    if args.all and args.tags:
        raise UsageError("give tags or --all, not both")
    root = repo_root()
    # The governed branch is named by HEAD's policy, but its policy is read from the branch
    # itself (never HEAD's: a merge request cannot vouch for itself); refused when absent.
    policy, rev = governed_policy(root, args.policy_ref)
    if policy is None:
        raise ConfigError(f"no {POLICY_FILE} at {rev[:10]} (the governed branch)",
                          "commit a policy with a signing: section")
    if policy.signing is None:
        raise ConfigError(f"{policy.source}: no signing: section",
                          "add signing: with public_keys, certificate_roots or identities")
    all_tags = list_release_tags(root)
    tags = _select(all_tags, args.tags) if args.tags else all_tags
    outcomes = []
    for tag in tags:
        outcome = verify_tag(root, tag, policy, policy_rev=rev)
        outcomes.append(outcome)
        if not args.json:
            _render(outcome)
    failed = [o for o in outcomes if not o.ok]
    if args.json:
        print_json({"ok": not failed, "verified": len(outcomes) - len(failed),
                    "failed": len(failed), "policy_commit": rev,
                    "releases": [_as_json(o) for o in outcomes]})
    elif not outcomes:
        print("no release tags (NAME@vX.Y.Z) to verify")
    else:
        legacy = sum(o.status is VerifyStatus.LEGACY for o in outcomes)
        line = (f"archivist: {len(outcomes) - len(failed)} of {len(outcomes)} release(s) "
                f"verified against the policy at {rev[:10]}"
                + (f" ({legacy} legacy, unsigned)" if legacy else ""))
        print(line, file=sys.stdout if failed else sys.stderr)
    return EXIT_VIOLATIONS if failed else EXIT_OK


def _as_json(outcome: object) -> dict[str, object]:
    from archivist.release.verify import VerifyOutcome

    assert isinstance(outcome, VerifyOutcome)
    built_from = outcome.provenance
    return {**asdict(outcome),
            "provenance": built_from.as_dict() if built_from is not None else None}


def _render(outcome: object) -> None:
    from archivist.release.names import VerifyStatus
    from archivist.release.verify import VerifyOutcome

    assert isinstance(outcome, VerifyOutcome)
    if outcome.status is VerifyStatus.LEGACY:
        print(f"{paint('legacy', 'yellow')}  {outcome.tag}  unsigned, tagged before "
              "signing.since (archivist release --adopt signs it)")
        return
    if outcome.ok:
        print(f"{paint('ok', 'green')}  {outcome.tag}  {outcome.artifact} "
              f"{(outcome.version or '')[:16]}…  signed by {outcome.signer}")
        if outcome.signed_time:
            print(f"    {outcome.signed_time}")
        if outcome.provenance is not None:
            for line in outcome.provenance.lines():
                print(f"    {line}")
        return
    print(f"{paint('FAIL', 'red')}  {outcome.tag}")
    for problem in outcome.problems:
        print(f"  {problem}")
