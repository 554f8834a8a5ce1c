"""The artifacts of a tree: which files declare them, parsed and joined."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from archivist.artifacts import (
    DVC_LOCK,
    DVC_YAML,
    Artifact,
    is_dvc_file,
    merge_registry,
    parse_dvc_file,
    parse_dvc_yaml,
)
from archivist.errors import ConfigError
from archivist.policy import POLICY_FILE, Policy, parse_policy
from archivist.trees import Tree


def declaring_files(paths: Iterable[str]) -> list[str]:
    return sorted(p for p in paths if is_dvc_file(p) or posixpath.basename(p) == DVC_YAML)


def load_artifacts(tree: Tree, only: Iterable[str] | None = None,
                   all_paths: list[str] | None = None) -> list[Artifact]:
    """Artifacts declared in ``tree``; with ``only``, those whose files are among ``only``.

    Every ``dvc.yaml`` is read even for a subset, since its ``artifacts:`` registry may
    name (and tag) an output that a ``.dvc`` file declares.
    """
    paths = all_paths if all_paths is not None else tree.paths()
    wanted: set[str] | None = None
    if only is not None:
        wanted = set()
        for path in only:
            # a dvc.lock change is a change of its dvc.yaml's versions
            if posixpath.basename(path) == DVC_LOCK:
                path = posixpath.join(posixpath.dirname(path), DVC_YAML)
            wanted.add(path)
    found: list[Artifact] = []
    for path in declaring_files(paths):
        is_yaml = posixpath.basename(path) == DVC_YAML
        if wanted is not None and not is_yaml and path not in wanted:
            continue
        data = tree.read(path)
        if data is None:
            continue
        if is_yaml:
            lock = tree.read(posixpath.join(posixpath.dirname(path), DVC_LOCK))
            found.extend(parse_dvc_yaml(data, path, lock))
        else:
            found.extend(parse_dvc_file(data, path))
    artifacts = merge_registry(found)
    if wanted is not None:
        artifacts = [a for a in artifacts if a.declared_in in wanted or a.tags_in in wanted]
    return artifacts


def load_tree_policy(tree: Tree) -> Policy:
    """The policy as ``tree`` holds it; ConfigError when there is none."""
    data = tree.read(POLICY_FILE)
    if data is None:
        raise ConfigError(f"no policy: {POLICY_FILE} not found in the {tree.label}",
                          "run `archivist init` to write one")
    return parse_policy(data, POLICY_FILE)


def find_artifact(artifacts: list[Artifact], spec: str, repo_path: str | None) -> Artifact:
    """The artifact a user named: registry name, output path, or its ``.dvc`` file.

    ``repo_path`` is ``spec`` as a repo-relative path (None when it cannot be one).
    """
    by_name = [a for a in artifacts if a.name is not None and spec in (a.name,
               a.name.rpartition(":")[2] if ":" in a.name else a.name)]
    if len(by_name) == 1:
        return by_name[0]
    if repo_path is not None:
        by_path = [a for a in artifacts if a.path == repo_path]
        if by_path:
            return by_path[0]
        if is_dvc_file(repo_path):
            declared = [a for a in artifacts if a.declared_in == repo_path]
            if len(declared) == 1:
                return declared[0]
            if len(declared) > 1:
                names = ", ".join(a.path for a in declared)
                raise ConfigError(f"{spec} declares several outputs: {names}",
                                  "name the output path instead")
        inside = [a for a in artifacts if repo_path.startswith(a.path + "/")]
        if inside:
            raise ConfigError(f"{spec} is inside the DVC-tracked folder {inside[0].path}",
                              f"tag the folder: archivist tag {inside[0].path} ...")
    if len(by_name) > 1:
        raise ConfigError(f"artifact name {spec!r} is ambiguous",
                          "use the full name: " + ", ".join(a.name or "" for a in by_name))
    raise ConfigError(f"{spec} is not tracked by DVC",
                      f"track it first: dvc add {spec}" if repo_path else
                      "give an output path, its .dvc file, or a dvc.yaml artifact name")
