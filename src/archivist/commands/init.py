"""archivist init: write a starter archivist.yaml and show how to install the hooks."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from archivist import gitrepo, initpolicy
from archivist.commands._common import add_json, formatter, repo_root
from archivist.errors import ConfigError, UsageError
from archivist.inventory import load_artifacts
from archivist.output import print_json
from archivist.policy import POLICY_FILE, parse_policy
from archivist.templates_dir import policy_templates, templates_dir
from archivist.trees import WorkingTree

HELP = """\
Write archivist.yaml at the repository root from a template, and print the
.pre-commit-config.yaml entry that installs the hooks.

  minimal    every model has an owner
  standard   owner, provenance and a retention class on models and data (default)
  regulated  full provenance, long retention, keyless signatures from CI

The policy is fitted to the repository: `branch:` is the branch checked out,
`remotes.active` is DVC's default remote (a second remote, if any, is the archive), and a
rule whose paths match none of the repository's artifacts is pointed at where its kind of
artifact is (a model at the root, model.pkl, gets a rule for model.pkl, not models/**).
Run it in a DVC repository (after `dvc init`). Never overwrites an existing policy
without --force.
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
    if not (root / ".dvc").is_dir():
        raise UsageError(f"{root} is not a DVC repository (no .dvc/ folder)",
                         "run `dvc init` first")
    target = root / POLICY_FILE
    if target.exists() and not args.force:
        raise ConfigError(f"{POLICY_FILE} exists already", "pass --force to overwrite it")
    template = templates[args.template].read_text(encoding="utf-8")
    parse_policy(template, f"template {args.template}")  # a shipped template must be valid
    configs = [p.read_text(encoding="utf-8", errors="replace")
               for p in (root / ".dvc" / "config", root / ".dvc" / "config.local")
               if p.is_file()]
    text, notes = initpolicy.tailor(
        template, branch=gitrepo.current_branch(root),
        remotes=initpolicy.read_dvc_config(configs),
        artifacts=load_artifacts(WorkingTree(root, git=True)))
    parse_policy(text, POLICY_FILE)  # what is written must be valid too
    target.write_text(text, encoding="utf-8")
    snippet = pin_snippet((templates_dir() / "pre-commit-config.yaml").read_text(
        encoding="utf-8"))
    if args.json:
        print_json({"policy": POLICY_FILE, "template": args.template,
                    "pre_commit_config": snippet, "notes": notes})
        return 0
    print(f"wrote {POLICY_FILE} from the {args.template!r} template", file=sys.stderr)
    for note in notes:
        print(f"  note: {note}", file=sys.stderr)
    print("Add this to .pre-commit-config.yaml, then run `pre-commit install`:\n")
    print(snippet.rstrip())
    return 0


def installed_source() -> tuple[str, str] | None:
    """(repository, full commit sha) this archivist was installed from, when pip recorded a
    git URL and commit (PEP 610's direct_url.json) or a local git checkout; else None."""
    from importlib import metadata

    try:
        text = metadata.distribution("archivist").read_text("direct_url.json")
        info = json.loads(text or "null")
    except (metadata.PackageNotFoundError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("url"), str):
        return None
    url: str = info["url"]
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and isinstance(vcs.get("commit_id"),
                                                                       str):
        return url, vcs["commit_id"]
    if isinstance(info.get("dir_info"), dict) and url.startswith("file://"):
        folder = Path(unquote(urlparse(url).path))
        if gitrepo.toplevel(folder) != folder.resolve():
            return None
        sha = gitrepo.git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], folder,
                          check=False).strip()
        return (str(folder), sha) if re.fullmatch(r"[0-9a-f]{40,64}", sha) else None
    return None


def pin_snippet(snippet: str) -> str:
    """The pre-commit snippet naming the repository and commit this archivist came from;
    the template's placeholders (and the comment saying what to put there) otherwise."""
    source = installed_source()
    if source is None:
        return snippet
    repo, sha = source
    snippet = re.sub(r"(?m)^(\s*- repo: ).*$", lambda m: m.group(1) + repo, snippet, count=1)
    return re.sub(r"(?m)^(\s*rev: ).*$", lambda m: m.group(1) + sha, snippet, count=1)
