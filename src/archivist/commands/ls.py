"""archivist ls: artifacts, their current version, its release and stages (GTO tags, read
from git alone), and whether their tags comply."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from archivist import gto_tags
from archivist.commands._common import add_json, formatter, repo_root
from archivist.dvcfiles import Artifact
from archivist.errors import ArchivistError, UsageError
from archivist.gate.rules import check_artifact
from archivist.inventory import find_artifact, load_artifacts
from archivist.output import paint, print_json, table
from archivist.policy import POLICY_FILE, Policy, parse_policy
from archivist.retention import plan as retention_plan
from archivist.trees import WorkingTree

HELP = """\
List DVC-tracked artifacts with their current version, the release that pins it (the latest
GTO registration tag, NAME@vX.Y.Z, of that version), the GTO stages in force for the
artifact (`gto show`'s view), and whether their tags satisfy the policy. Filters make tags
searchable:

  archivist ls --where owner=ana@example.com          exact value
  archivist ls --where data.source~'^s3://raw/'       regular expression
  archivist ls --where labels=nlp                     a list that holds nlp
  archivist ls --type model --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ls", help="list artifacts and their compliance", description=HELP,
                       formatter_class=formatter())
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE|KEY~REGEX",
                   help="keep artifacts whose tag matches (repeatable: all must match)")
    p.add_argument("--type", dest="type_", metavar="TYPE", help="keep artifacts of this type")
    add_json(p)
    p.set_defaults(run=run)


def _filters(specs: list[str]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for spec in specs:
        eq, tilde = spec.find("="), spec.find("~")
        if tilde != -1 and (eq == -1 or tilde < eq):
            key, pattern = spec[:tilde], spec[tilde + 1:]
            try:
                out.append((key, re.compile(pattern)))
            except re.error as exc:
                raise UsageError(f"--where {spec!r}: bad regular expression: {exc}") from None
        elif eq != -1:
            out.append((spec[:eq], spec[eq + 1:]))
        else:
            raise UsageError(f"--where {spec!r} is neither KEY=VALUE nor KEY~REGEX")
        if not out[-1][0]:
            raise UsageError(f"--where {spec!r} names no key")
    return out


def _matches(artifact: Artifact, filters: list[tuple[str, Any]]) -> bool:
    for key, want in filters:
        value = artifact.tag(key)
        if value is None:
            return False
        # A list (labels: [nlp, prod]) matches when one of its items does, or all of
        # them written as one (labels=nlp,prod).
        texts = [str(value)]
        if isinstance(value, list | tuple):
            texts = [str(v) for v in value] + [",".join(map(str, value))]
        if isinstance(want, re.Pattern):
            if not any(want.search(t) for t in texts):
                return False
        elif want not in texts:
            return False
    return True


def _resolve(artifacts: list[Artifact], name: str) -> Artifact | None:
    """The current artifact a registry name denotes (its name, tag spelling, or path)."""
    for spec in dict.fromkeys((name, gto_tags.name_to_tag(name), gto_tags.tag_to_name(name))):
        try:
            return find_artifact(artifacts, spec, spec)
        except ArchivistError:
            continue
    return None


def _registry_columns(root: Path, artifacts: list[Artifact],
                      ) -> tuple[dict[tuple[str, str], str], dict[str, dict[str, str]]]:
    """({(path, digest): release tag}, {path: {stage: version}}) from the GTO tags.

    The release of a version is its latest registration; a stage's version is the one GTO
    shows for it now (latest assignment, unassignments and deregistrations applied)."""
    registry = retention_plan.read_registry(root)
    if not registry.events:
        return {}, {}
    order = {event.tag.tag: i for i, event in enumerate(registry.events)}
    registered = registry.registrations()
    wanted: dict[str, set[str]] = {}
    for reg in registered:
        wanted.setdefault(reg.commit, set()).add(reg.name)
    at = retention_plan.artifacts_at(root, wanted)
    releases: dict[tuple[str, str], tuple[int, str]] = {}
    for reg in registered:
        pinned = at.get((reg.commit, reg.name))
        if pinned is None or pinned.version is None:
            continue
        key = (pinned.path, pinned.version.digest)
        rank = order.get(reg.tag, -1)
        if key not in releases or rank > releases[key][0]:
            releases[key] = (rank, reg.tag)
    stages: dict[str, dict[str, str]] = {}
    for use in registry.in_use():
        current = _resolve(artifacts, use.name)
        if current is not None:
            stages.setdefault(current.path, {}).setdefault(use.stage, use.version)
    return {key: tag for key, (_, tag) in releases.items()}, stages


def _row(artifact: Artifact, policy: Policy | None,
         releases: dict[tuple[str, str], str], stages: dict[str, dict[str, str]],
         ) -> dict[str, Any]:
    problems = check_artifact(artifact, policy) if policy else []
    release = releases.get((artifact.path, artifact.version.digest)) \
        if artifact.version else None
    return {
        "path": artifact.path,
        "name": artifact.name,
        "type": artifact.type,
        "version": artifact.version.label if artifact.version else None,
        "release": release,
        "stages": dict(sorted(stages.get(artifact.path, {}).items())),
        "declared_in": artifact.declared_in,
        "complies": not problems,
        "problems": [v.problem for v in problems],
        "tags": artifact.tags(),
    }


def run(args: argparse.Namespace) -> int:
    filters = _filters(args.where)
    root = repo_root()
    tree = WorkingTree(root, git=True)
    policy_bytes = tree.read(POLICY_FILE)
    policy = parse_policy(policy_bytes) if policy_bytes is not None else None
    artifacts = load_artifacts(tree)
    releases, stages = _registry_columns(root, artifacts)
    rows = [_row(a, policy, releases, stages) for a in artifacts
            if (args.type_ is None or a.type == args.type_) and _matches(a, filters)]
    if args.json:
        print_json({"policy": policy is not None, "artifacts": rows})
        return 0
    if not rows:
        print("no artifacts match" if filters or args.type_ else "no DVC-tracked artifacts")
        return 0
    def status(row: dict[str, Any]) -> str:
        if policy is None:
            return "-"
        return paint("ok", "green") if row["complies"] else paint(
            f"{len(row['problems'])} missing/bad", "red")
    def stage_text(row: dict[str, Any]) -> str:
        current = row["release"].partition("@")[2] if row["release"] else None
        return ", ".join(stage if version == current else f"{stage}={version}"
                         for stage, version in row["stages"].items())
    table([(r["path"], r["name"] or "", r["type"] or "", (r["version"] or "")[:16],
            r["release"] or "", stage_text(r), status(r)) for r in rows],
          ["ARTIFACT", "NAME", "TYPE", "VERSION", "RELEASE", "STAGE", "TAGS"])
    return 0
