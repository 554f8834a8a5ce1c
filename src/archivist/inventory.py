"""The artifacts of a tree: which files declare them, parsed and joined."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Sequence

from archivist import parsecache
from archivist.dvcfiles import (
    DVC_LOCK,
    DVC_YAML,
    Artifact,
    declaring_file,
    is_dvc_file,
    merge_registry,
    parse_dvc_file,
    parse_dvc_yaml,
)
from archivist.errors import ConfigError
from archivist.policy import POLICY_FILE, Policy, parse_policy
from archivist.trees import IndexTree, Tree, WorkingTree

# Below this many files to parse, loading the cache costs more than it saves (and the
# hook, checking a few staged files, must not pay for it).
CACHE_MIN_FILES = 200


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
            wanted.add(declaring_file(path) or path)
    if wanted is None:
        todo = declaring_files(paths)
    else:
        # The hook's case: a few files among thousands. Plain string tests first, so the
        # per-path Python calls are for candidates only (30 ms at 10,000 paths otherwise).
        given = {p for p in wanted if is_dvc_file(p)}
        # A given dvc.yaml's artifacts: entries overlay the tags of outputs that .dvc
        # files declare: judged without those files, a tagged output looks untagged.
        registry = any(posixpath.basename(p) == DVC_YAML for p in wanted)
        todo = sorted([p for p in paths if p in given or (registry and is_dvc_file(p))] +
                      [p for p in paths if p.endswith(DVC_YAML) and _is_yaml(p)])
    # Many files: every parse goes through the "tree" cache. A few (the hook's staged
    # files): only the dvc.yaml files, read on every check for their registries and often
    # large, go through a small cache of their own that is cheap to load.
    many = len(todo) >= CACHE_MIN_FILES
    root = tree.cache_root()
    cache = None
    if root is not None and (many or any(_is_yaml(p) for p in todo)):
        cache = parsecache.ParseCache.open(root, "tree" if many else "registries")
    found: list[Artifact] = []
    for path in todo:
        found.extend(_parse_file(tree, path, cache if many or _is_yaml(path) else None))
    if cache is not None:
        cache.save()
    artifacts = merge_registry(found)
    if wanted is not None:
        artifacts = [a for a in artifacts if a.declared_in in wanted or a.tags_in in wanted]
    return artifacts


def _is_yaml(path: str) -> bool:
    return posixpath.basename(path) == DVC_YAML


def _parse_file(tree: Tree, path: str, cache: parsecache.ParseCache | None,
                ) -> Sequence[Artifact]:
    """The artifacts one declaring file holds, from the cache when it has them."""
    is_yaml = _is_yaml(path)
    lock_path = posixpath.join(posixpath.dirname(path), DVC_LOCK)
    key: parsecache.Key | None = None
    if cache is not None:
        # a git tree knows its blob ids: a hit needs no read at all
        # (a dvc.yaml whose lock id is unknown, being absent or a link, is read below)
        sha = tree.blob_id(path)
        lock_sha = tree.blob_id(lock_path) if is_yaml and sha is not None else None
        if sha is not None and (lock_sha is not None or not is_yaml):
            key = (path, sha, lock_sha)
        if key is not None:
            hit = cache.get(key)
            if isinstance(hit, tuple):
                return hit
    data = tree.read(path)
    if data is None:
        return ()
    lock = tree.read(lock_path) if is_yaml else None
    if cache is not None and key is None:
        key = (path, parsecache.blob_id(data),
               parsecache.blob_id(lock) if lock is not None else None)
        hit = cache.get(key)
        if isinstance(hit, tuple):
            return hit
    found = tuple(parse_dvc_yaml(data, path, lock, tree.read) if is_yaml
                  else parse_dvc_file(data, path))
    # A templated dvc.yaml also depends on its params files, which the key does not name.
    if cache is not None and key is not None and not (is_yaml and b"${" in data):
        cache.put(key, found)  # failures raise above: only good parses are kept
    return found


def load_tree_policy(tree: Tree) -> Policy:
    """The policy as ``tree`` holds it; ConfigError when there is none."""
    data = tree.read(POLICY_FILE)
    if data is None:
        hint = "run `archivist init` to write one"
        if tree.root is not None and not isinstance(tree, WorkingTree) and \
                os.path.lexists(os.path.join(tree.root, POLICY_FILE)):
            # written but not recorded where the check reads: the fix is git, not init
            hint = (f"stage it: git add {POLICY_FILE}" if isinstance(tree, IndexTree) else
                    f"commit it: git add {POLICY_FILE} && git commit")
        raise ConfigError(f"no policy: {POLICY_FILE} not found in the {tree.label}", hint)
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
    if repo_path is None:
        raise ConfigError(f"{spec} is not tracked by DVC",
                          "give an output path, its .dvc file, or a dvc.yaml artifact name")
    # Paths are taken from the current folder, as DVC takes them: show where that led.
    shown = spec if repo_path == spec else f"{spec} ({repo_path} in the repository)"
    if any(a.path == spec for a in artifacts):
        raise ConfigError(f"{shown} is not tracked by DVC",
                          f"paths are relative to the current folder: {spec} is the "
                          "artifact's path from the repository root, so run from there "
                          "or give its name")
    raise ConfigError(f"{shown} is not tracked by DVC",
                      f"track it first: dvc add {spec}, or declare it as a stage output "
                      "in dvc.yaml and dvc repro")
