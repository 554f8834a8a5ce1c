"""archivist lineage: the tree of what one version was built from, with each one's state."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from archivist.commands import _retention as r
from archivist.commands._common import add_json, formatter, repo_root
from archivist.output import print_json

if TYPE_CHECKING:
    from archivist.retention.lineage import TreeNode

HELP = """\
Show what one version of an artifact was built from, transitively: for a stage output, the
dependencies, params and command that the dvc.lock of its commit records; for each
dependency that DVC tracks here (an earlier stage's output, a .dvc dataset), its own
inputs in turn, and its retention state (current, active, archived, disposed ...) as
`archivist plan` gives it. Files git tracks (code, params files) are leaves.

  archivist lineage models/clf.pkl                 the version at HEAD
  archivist lineage clf --rev v1.2                 the version at a revision
  archivist lineage models/clf.pkl --json | jq '.inputs[].path'

Retention keeps every input at least as long, and as available, as the most demanding
version built from it (retention.lineage, on by default); `archivist restore ARTIFACT
--with-inputs` brings a version back with all of it. Reads git only; nothing changes.

exit codes: 0 ok, 2 usage or configuration error
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lineage", help="show what a version was built from",
                       description=HELP, formatter_class=formatter())
    p.add_argument("artifact", metavar="ARTIFACT",
                   help="output path, its .dvc file, or a dvc.yaml artifact name")
    p.add_argument("--rev", metavar="REV", help="the version at this git revision "
                   "(default HEAD)")
    r.add_as_of(p)
    add_json(p)
    p.set_defaults(run=run)


def _state(node: TreeNode) -> str:
    if not node.tracked:
        return "not tracked by DVC"
    if node.how not in ("exact", "root"):
        where = {"at-build": "no version of it on the branch has this hash",
                 "inside": "a file inside a tracked folder",
                 "holds": "a folder holding tracked artifacts"}[node.how]
        return (f"{where}; keeps {len(node.stands_for)} tracked version(s) current at "
                "that commit")
    if node.item is None:
        return "not planned (left alone, or never on the branch)"
    item = node.item
    text = f"{item.state}, {item.action}"
    if item.location == "archive" and item.state not in ("archived", "disposed"):
        text += ", in the archive"
    return text


def _label(node: TreeNode) -> str:
    from archivist.retention.lineage import short

    version = short(node.version.label) if node.version is not None else "(no hash)"
    return f"{node.path} {version}"


def _lines(node: TreeNode, prefix: str, last: bool, top: bool) -> list[str]:
    branch = "" if top else ("└── " if last else "├── ")
    text = f"{prefix}{branch}{_label(node)}  [{_state(node)}]"
    if node.repeated:
        text += " (shown above)"
    out = [text]
    inner = prefix + ("" if top else ("    " if last else "│   "))
    build = node.build
    if build is not None:
        out.append(f"{inner}  built by stage {build.stage} ({build.lock} at "
                   f"{build.commit[:10]}): {build.cmd}")
        for file, values in build.params.items():
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            out.append(f"{inner}  params {file}: {shown}")
    elif node.tracked and not node.repeated and top:
        out.append(f"{inner}  not built by a stage: a dataset DVC tracks as it is")
    for i, child in enumerate(node.children):
        out.extend(_lines(child, inner, i == len(node.children) - 1, False))
    return out


def _json(node: TreeNode) -> dict[str, Any]:
    item = node.item
    build = node.build
    return {
        "path": node.path,
        "version": node.version.label if node.version is not None else None,
        "tracked": node.tracked, "how": node.how,
        "state": item.state if item else None, "action": item.action if item else None,
        "location": item.location if item else None, "repeated": node.repeated,
        "stage": build.stage if build else None, "cmd": build.cmd if build else None,
        "lock": build.lock if build else None, "commit": build.commit if build else None,
        "params": build.params if build else {},
        "stands_for": [{"path": p, "version": f"md5:{d}"} for p, d in node.stands_for],
        "inputs": [_json(c) for c in node.children],
    }


def run(args: argparse.Namespace) -> int:
    from archivist.errors import ConfigError
    from archivist.retention import lineage
    from archivist.retention.plan import build_at, build_plan_details

    root = repo_root()
    policy = r.retention_policy(root)
    commit, artifact = r.artifact_at(root, args.artifact, args.rev)
    if artifact.version is None:
        raise ConfigError(f"{artifact.path} has no recorded version at {args.rev or 'HEAD'}",
                          "run `dvc repro` / `dvc add` and commit first")
    plan = build_plan_details(root, policy, r.as_of(args), fresh=False, with_lineage=True)
    graph = plan.lineage or lineage.Graph()
    node = (artifact.path, artifact.version.digest)
    position = plan.positions.get(commit)
    build = None
    if node not in graph.builds or position is None:
        build = build_at(root, plan, artifact, commit)
    tree = lineage.tree(graph, plan.items, node, artifact.version, position, build)
    if args.json:
        print_json({"head": plan.head, "branch": plan.branch, "rev": commit,
                    "as_of": plan.as_of, **_json(tree), "warnings": plan.warnings})
        return 0
    r.warn(plan.warnings)
    print("\n".join(_lines(tree, "", True, True)))
    return 0
