"""archivist tag: set or remove an artifact's tags where DVC keeps them."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from archivist.commands._common import add_json, formatter, repo_root, to_repo_path
from archivist.errors import ArchivistError, ConfigError, UsageError
from archivist.gate import registryedit
from archivist.gate.rules import check_artifact, tag_value, wanted_type
from archivist.gate.tagedit import edit_tags
from archivist.inventory import find_artifact, load_artifacts
from archivist.output import print_json
from archivist.policy import POLICY_FILE, parse_policy
from archivist.trees import WorkingTree

HELP = """\
Set or remove tags on a DVC-tracked artifact, in the file where DVC keeps them: the output
entry of its .dvc file, its dvc.yaml stage output, or its dvc.yaml `artifacts:` entry
(which wins when there is one). Comments, key order and quoting are kept; DVC still reads
the file, and keeps the tags when `dvc add` runs again.

  archivist tag models/clf.pkl owner=ana@example.com data.source=s3://raw/2024
  archivist tag models/clf.pkl.dvc retention=regulated
  archivist tag clf --unset train.commit          (a dvc.yaml artifacts: name)

Dotted keys make nested maps under `meta:` (data.source -> meta: {data: {source: ...}});
desc, type and labels (comma-separated) are DVC's own fields. A value is written as the
type the policy's rule for that key asks (integer, number, boolean, date, list: epochs=5
becomes `epochs: 5`), and refused when it cannot be one; without a type it is text, quoted
where YAML would read it as something else (approved=yes, commit=0012345). Only the lines
of the edited entry change.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tag", help="set or remove an artifact's tags",
                       description=HELP, formatter_class=formatter())
    p.add_argument("artifact", metavar="ARTIFACT",
                   help="output path, its .dvc file, or a dvc.yaml artifact name")
    p.add_argument("pairs", nargs="*", metavar="KEY=VALUE", help="tags to set")
    p.add_argument("--unset", action="append", default=[], metavar="KEY",
                   help="remove a tag (repeatable)")
    add_json(p)
    p.set_defaults(run=run)


def _parse_pairs(pairs: list[str]) -> dict[str, str]:
    updates: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise UsageError(f"{pair!r} is not KEY=VALUE", "write e.g. owner=ana@example.com")
        updates[key] = value
    return updates


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` whole or not at all: a crash never leaves half a DVC file."""
    mode = path.stat().st_mode
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    updates = _parse_pairs(args.pairs)
    if not updates and not args.unset:
        raise UsageError("nothing to do", "give KEY=VALUE pairs or --unset KEY")
    root = repo_root()
    tree = WorkingTree(root, git=True)
    # A broken policy is reported before anything is written.
    policy_bytes = tree.read(POLICY_FILE)
    policy = parse_policy(policy_bytes) if policy_bytes is not None else None
    try:
        repo_path = to_repo_path(root, args.artifact)
    except ArchivistError:
        repo_path = None
    artifact = find_artifact(load_artifacts(tree), args.artifact, repo_path)
    target = root / artifact.tags_in
    if target.is_symlink():
        raise ConfigError(f"{artifact.tags_in}: is a symlink", "tag the real file")
    text = target.read_bytes()
    try:
        old_text = text.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{artifact.tags_in}: not UTF-8 text", "save it as UTF-8") from None
    registry = None
    if artifact.registered and artifact.tags_in.endswith("dvc.yaml") and artifact.name:
        registry = artifact.name.rpartition(":")[2]
    base_text = old_text
    if updates and registry is None and registryedit.is_templated_output(
            old_text, artifact.tags_in, artifact.stage):
        # a templated output's tags live in an artifacts: entry (added for it), as in DVC
        base_text, registry = registryedit.add_entry(old_text, artifact.tags_in,
                                                     artifact.path)
    # The rules that will judge the artifact (its type as this very command leaves it).
    type_ = updates.get("type", artifact.type) if "type" not in args.unset else None
    rules = policy.rules_for(artifact.path, type_) if policy is not None else []
    typed = {key: tag_value(key, text, *wanted_type(key, rules))
             for key, text in updates.items()}
    new_text, removed = edit_tags(base_text, artifact.tags_in, artifact.path, registry,
                                  typed, args.unset)
    missing = [k for k in args.unset if k not in removed]
    if new_text != old_text:
        _write_atomically(target, new_text)
    # Re-read and re-check, so the user learns at once what the policy still wants.
    remaining = []
    if policy is not None:
        fresh = find_artifact(load_artifacts(tree), args.artifact, repo_path)
        remaining = check_artifact(fresh, policy)
    if args.json:
        print_json({"artifact": artifact.path, "file": artifact.tags_in, "set": updates,
                    "unset": removed, "not_found": missing,
                    "violations": [v.as_dict() for v in remaining]})
        return 0
    changed = list(updates) + [f"-{k}" for k in removed]
    if changed:
        print(f"{artifact.path}: {', '.join(changed)} in {artifact.tags_in}")
    for key in missing:
        print(f"{artifact.path}: no tag {key!r} to unset", file=sys.stderr)
    for v in remaining:
        print(f"  still: {v.problem} (rule {v.rule})")
    return 0
