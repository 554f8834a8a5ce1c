"""archivist restore: bring an archived version back into the active remote."""

from __future__ import annotations

import argparse

from archivist.commands import _retention as r
from archivist.commands._common import add_json, formatter, repo_root
from archivist.errors import ConfigError, UsageError
from archivist.output import print_json

HELP = """\
Copy one version of each artifact named back from the archive remote into the active remote, so
that `dvc pull` finds it again. Every object is hashed on the way: a mismatch restores
nothing, makes no commit, and exits 1 naming the object.

  archivist restore models/clf.pkl --rev v1.2            the version at a git revision
  archivist restore models/clf.pkl --rev 3f2a1c9~1       the one a commit replaced
  archivist restore models/clf.pkl --version md5:1f38... a version from `archivist plan`
  archivist restore clf --rev v1.2 --until 2026-12-31    keep it active until then
  archivist restore models/a.pkl models/b.pkl --rev v1.2  several artifacts, one commit each
  archivist restore models/clf.pkl --rev v1.2 --with-inputs   and all it was built from

--with-inputs also brings back every version the artifact was built from, transitively,
as the dvc.lock of its commits records it (`archivist lineage ARTIFACT` shows the tree),
in the same commit, so that `dvc pull` and `dvc repro` at that revision find the whole
pipeline. An input that was disposed of restores nothing (exit 1).

The version stays active until --until (default: its class's active window from today),
then falls due for archiving again. A version the ledger places in the active remote is
looked for there first (one listing): "nothing to restore" only when all of it is there,
else what is missing is copied from the archive. One commit records each restore
(Archivist-Event: restore, Archivist-Until: DATE). Only objects missing from the active
remote are copied (an output's own remote:, else the policy's); an interrupted restore is
finished by a rerun from any clone. The policy is archivist.yaml as committed on the
governed branch, and --as-of cannot be after today.

exit codes: 0 ok, 1 damaged or missing object (nothing restored),
            2 usage or configuration error
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restore", help="bring an archived version back",
                       description=HELP, formatter_class=formatter())
    p.add_argument("artifacts", nargs="+", metavar="ARTIFACT",
                   help="output path, its .dvc file, or a dvc.yaml artifact name")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--rev", metavar="REV", help="the version at this git revision "
                       "(default HEAD)")
    which.add_argument("--version", dest="version", metavar="md5:HASH",
                       help="the version by its hash, as `archivist plan` shows it")
    p.add_argument("--until", metavar="DATE", help="keep it active until this day")
    p.add_argument("--with-inputs", action="store_true",
                   help="also every version it was built from (dvc.lock), one commit")
    r.add_as_of(p)
    add_json(p)
    p.set_defaults(run=run)


def _resolve(args: argparse.Namespace, name: str, root, plan_versions) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    _, artifact = r.artifact_at(root, name, args.rev)
    if args.version:
        wanted = args.version if args.version.startswith("md5:") else f"md5:{args.version}"
        found = [v for p, v in plan_versions if p == artifact.path and v.startswith(wanted)]
        if len(found) != 1:
            raise UsageError(f"{artifact.path} has {'no' if not found else 'several'} "
                             f"version(s) matching {args.version}",
                             "see `archivist plan` for its versions")
        return artifact.path, found[0]
    if artifact.version is None:
        raise ConfigError(f"{artifact.path} has no recorded version at {args.rev or 'HEAD'}",
                          "run `dvc repro` / `dvc add` and commit first")
    return artifact.path, artifact.version.label


def run(args: argparse.Namespace) -> int:
    from archivist.retention.apply import restore
    from archivist.retention.plan import build_plan

    root = repo_root()
    policy = r.retention_policy(root, committed=True)
    as_of = r.as_of(args)
    until = r.parse_date(args.until, "--until") if args.until else None
    if args.version and len(args.artifacts) > 1:
        raise UsageError("--version names one version of one artifact",
                         "restore one artifact per --version, or use --rev")
    versions = [(i.path, i.version) for i in build_plan(root, policy, as_of)] \
        if args.version else []
    wanted = [_resolve(args, name, root, versions) for name in args.artifacts]
    outcomes = []
    for path, version in dict.fromkeys(wanted):
        outcome = restore(root, policy, path, version, as_of=as_of, until=until,
                          progress=r.progress() if not args.json else None,
                          with_inputs=args.with_inputs)
        outcomes.append(outcome)
        if args.json:
            continue
        r.warn(outcome.warnings)
        if outcome.applied:
            keys = [(i.path, i.version) for i in outcome.items]
            for key in keys:
                if key != (path, version):
                    print(f"restored input {key[0]} {key[1]} to the active remote")
            what = f"{path} {version}" if (path, version) in keys else \
                f"the inputs of {path} {version}"
            print(f"restored {what} to the active remote ({outcome.copied} "
                  f"object(s) copied, {outcome.verified} verified, "
                  f"{r.human_bytes(outcome.nbytes)}); active until {outcome.until}; commit "
                  f"{outcome.commit[:10] if outcome.commit else '-'}")
    if args.json:
        print_json(r.outcome_json(outcomes[0]) if len(outcomes) == 1
                   else [r.outcome_json(o) for o in outcomes])
    return 0
