"""What the retention commands (plan, archive, restore, dispose) share: dates, the policy,
progress bars and how a plan prints."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from archivist.errors import UsageError
from archivist.output import human_bytes, is_interactive, print_json, table
from archivist.policy import Policy, load_policy
from archivist.retention.decide import PlanItem

DEFAULT_JOBS = 4


def parse_date(text: str, option: str) -> dt.date:
    """A date option's value, or one line and exit 2 (a typo, 2027-02-30, year 9999)."""
    from archivist.dates import cli_date

    return cli_date(text, option)


def add_targets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("artifacts", nargs="*", metavar="ARTIFACT",
                        help="only these artifacts: output paths, their .dvc files, or "
                        "dvc.yaml artifacts: names (default: all)")


def targets(root: Path, names: Sequence[str]) -> list[tuple[str, ...]]:
    """Each target's readings, as typed first: a path relative to the current folder (made
    repo-relative), or a dvc.yaml ``artifacts:`` name as written."""
    from archivist.commands._common import to_repo_path

    out = []
    for name in names:
        try:
            rel = to_repo_path(root, name)
        except UsageError:
            rel = None
        out.append((name, rel) if rel and rel != name else (name,))
    return out


def artifact_at(root: Path, name: str, rev: str | None) -> tuple[str, Any]:
    """The commit ``rev`` names (default HEAD) and the artifact ``name`` denotes there (an
    output path, its .dvc file, or a dvc.yaml artifacts: name); UsageError when none."""
    from archivist import gitrepo
    from archivist.commands._common import to_repo_path
    from archivist.inventory import find_artifact, load_artifacts
    from archivist.trees import CommitTree

    commit = gitrepo.resolve_commit(root, rev or "HEAD")
    try:
        repo_path: str | None = to_repo_path(root, name)
    except UsageError:
        repo_path = None
    tree = CommitTree(root, commit)
    try:
        return commit, find_artifact(load_artifacts(tree), name, repo_path)
    finally:
        tree.close()


def add_as_of(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", metavar="DATE",
                        help="decide as on this day (YYYY-MM-DD; default: today, UTC)")


def as_of(args: argparse.Namespace) -> dt.date:
    if args.as_of:
        return parse_date(args.as_of, "--as-of")
    return dt.datetime.now(dt.UTC).date()


def retention_policy(root: Path, *, committed: bool = False) -> Policy:
    """The policy with its ``retention:`` section. ``committed``: as the governed branch's
    commit has it (what archive, restore and dispose --apply obey; a working-tree edit is
    refused); else the working tree's, with a warning when that differs from the commit."""
    from archivist.errors import ConfigError

    if committed:
        from archivist.retention.apply import committed_policy

        policy = committed_policy(root)
    else:
        policy = load_policy(root)
    if policy.retention is None:
        raise ConfigError(f"{policy.source}: no 'retention:' section",
                          "add retention: {default: standard, classes: {standard: "
                          "{active: 180d, archive: 3y}}}; see docs/retention.md")
    return policy


def dry_run_policy_warning(root: Path) -> None:
    """Say so when a dry run follows a policy edit that --apply would not obey."""
    from archivist.errors import GitError
    from archivist.retention.apply import policy_edited

    try:
        edited = policy_edited(root)
    except GitError:
        return
    if edited:
        warn(["archivist.yaml has uncommitted changes: this dry run follows them, but "
              "--apply obeys only the committed policy"])


def run_policy(root: Path, args: argparse.Namespace) -> Policy:
    """The policy archive or dispose obeys: the committed one with ``--apply``; a dry run
    follows the working tree's, and says so when that differs."""
    policy = retention_policy(root, committed=args.apply)
    if not args.apply and not args.json:
        dry_run_policy_warning(root)
    return policy


def show_problems(outcome: Any, args: argparse.Namespace, undone: str, nothing: str) -> bool:
    """Print the versions an action left undone (``undone: ...`` each); True when
    ``--apply`` did nothing at all, which is then all there is to say."""
    if args.json:
        return False
    warn(outcome.refused)  # a shared repository that could not be read: one line each
    warn([f"{undone}: {line}" for line in outcome.problems])
    if args.apply and (outcome.problems or outcome.refused) and not outcome.applied:
        left = max(len(outcome.problems), len(outcome.items) if outcome.refused else 0)
        print(f"{nothing}: {left} version(s) left as they are")
        return True
    return False


def short_version(version: str) -> str:
    digest = version.removeprefix("md5:")
    suffix = ".dir" if digest.endswith(".dir") else ""
    return f"md5:{digest.removesuffix('.dir')[:12]}{suffix}"


def item_json(item: PlanItem) -> dict[str, Any]:
    return asdict(item)


def plan_table(items: Sequence[PlanItem], *, reasons: bool = True) -> None:
    rows = []
    for i in items:
        row = [i.path, short_version(i.version), i.state, i.action,
               i.due.isoformat() if i.due else "-", i.retention_class or "-",
               human_bytes(i.size)]
        if reasons:
            row.append(i.reason)
        rows.append(row)
    headers = ["ARTIFACT", "VERSION", "STATE", "ACTION", "DUE", "CLASS", "SIZE"]
    table(rows, headers + (["REASON"] if reasons else []))


def warn(lines: Sequence[str]) -> None:
    for line in lines:
        print(f"archivist: warning: {line}", file=sys.stderr)


class BarProgress:
    """Two tqdm bars (bytes and objects) on a terminal; nothing anywhere else."""

    def __init__(self) -> None:
        self._bytes: Any = None
        self._objects: Any = None

    def start(self, label: str, objects: int, nbytes: int | None) -> None:
        from tqdm import tqdm

        self._bytes = tqdm(total=nbytes, unit="B", unit_scale=True, unit_divisor=1024,
                           desc=label, file=sys.stderr, leave=False, position=0)
        self._objects = tqdm(total=objects, unit="obj", desc="objects", file=sys.stderr,
                             leave=False, position=1)

    def advance(self, nbytes: int) -> None:
        if self._bytes is not None:
            self._bytes.update(nbytes)

    def object_done(self) -> None:
        if self._objects is not None:
            self._objects.update(1)

    def close(self) -> None:
        for bar in (self._objects, self._bytes):
            if bar is not None:
                bar.close()
        self._bytes = self._objects = None


def progress() -> Any:
    """A progress reporter: bars on a terminal, silence in CI and pipes."""
    if is_interactive(sys.stderr):
        return BarProgress()
    from archivist.retention.apply import Progress

    return Progress()


def jobs(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def outcome_json(outcome: Any) -> dict[str, Any]:
    """What an archive, dispose or restore did (or would do), for machines."""
    return {
        "event": outcome.kind, "applied": outcome.applied, "commit": outcome.commit,
        "versions": [item_json(i) for i in outcome.items], "bytes": outcome.nbytes,
        "copied": outcome.copied, "verified": outcome.verified, "deleted": outcome.deleted,
        "kept_shared": outcome.kept_shared, "warnings": outcome.warnings,
        "problems": outcome.problems, "refused": outcome.refused,
        "cache_removed": outcome.cache_removed,
        **({"until": outcome.until} if outcome.until else {}),
        **({"plan": outcome.plan} if outcome.plan else {}),
    }


def show_unapplied(outcome: Any, as_json: bool, verb: str) -> bool:
    """Print what needs no summary of work done (JSON, nothing due, a dry run); True if
    that was all there is to say."""
    if as_json:
        print_json(outcome_json(outcome))
        return True
    warn(outcome.warnings)
    if not outcome.items:
        print(f"{outcome.kind}: nothing is due")
        return True
    plan_table(outcome.items, reasons=True)
    if not outcome.applied:
        print(f"would {verb} {len(outcome.items)} version(s), {human_bytes(outcome.nbytes)} "
              "(dry run: rerun with --apply)")
        return True
    return False
