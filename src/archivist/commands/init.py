"""archivist init: write a starter archivist.yaml and show how to install the hooks."""

from __future__ import annotations

import argparse
import sys

from archivist.commands._common import add_json, formatter, repo_root
from archivist.errors import ConfigError, UsageError
from archivist.output import print_json
from archivist.policy import POLICY_FILE, parse_policy
from archivist.templates_dir import policy_templates, templates_dir

HELP = """\
Write archivist.yaml at the repository root from a template, and print the
.pre-commit-config.yaml entry that installs the hooks.

  minimal    every model has an owner
  standard   owner, provenance and a retention class on models and data (default)
  regulated  full provenance, long retention, keyless signatures from CI

Never overwrites an existing policy without --force.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="write a starter policy", description=HELP,
                       formatter_class=formatter())
    p.add_argument("--template", default="standard", metavar="NAME",
                   help="minimal, standard or regulated (default: standard)")
    p.add_argument("--force", action="store_true", help="overwrite an existing archivist.yaml")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    templates = policy_templates()
    if args.template not in templates:
        raise UsageError(f"no template {args.template!r}",
                         "choose one of " + ", ".join(templates))
    root = repo_root()
    target = root / POLICY_FILE
    if target.exists() and not args.force:
        raise ConfigError(f"{POLICY_FILE} exists already", "pass --force to overwrite it")
    text = templates[args.template].read_text(encoding="utf-8")
    parse_policy(text, f"template {args.template}")  # a shipped template must be valid
    target.write_text(text, encoding="utf-8")
    snippet = (templates_dir() / "pre-commit-config.yaml").read_text(encoding="utf-8")
    if args.json:
        print_json({"policy": POLICY_FILE, "template": args.template,
                    "pre_commit_config": snippet})
        return 0
    print(f"wrote {POLICY_FILE} from the {args.template!r} template", file=sys.stderr)
    print("Add this to .pre-commit-config.yaml, then run `pre-commit install`:\n")
    print(snippet.rstrip())
    return 0
