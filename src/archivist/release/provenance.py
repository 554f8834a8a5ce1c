"""A released version's provenance: what it was built from, as the release commit says.

Pure: DVC file text in, values out (no git, no DVC, no signature library). For a stage
output, the ``dvc.lock`` beside its ``dvc.yaml`` records the stage that produced it: the
command, each dependency's path and hash, and the params values it ran with. For a
``.dvc``-tracked file or folder there is only the path and hash. With the commit it was
read at, that is the provenance ``archivist release`` puts in the signed statement
(``predicate.archivist.provenance``), and ``archivist verify`` reads again from the tagged
commit and compares: a changed dependency, param or command fails the release.

In the statement, a params value is its JSON text (``3``, ``0.1``, ``"adam"``): the
predicate is a protobuf ``Struct``, whose numbers are doubles, so ``3`` would come back as
``3.0`` and a large integer would lose digits.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from archivist.dvcfiles import DVC_LOCK, Artifact, parse_lock_stages
from archivist.errors import ArchivistError, ConfigError

Kind = Literal["stage", "dvc-file"]


@dataclass(frozen=True)
class Dependency:
    """One dependency of a stage as ``dvc.lock`` records it (its repo path; dependencies
    outside the repository, such as URLs, are not recorded, as lineage keeps none)."""

    path: str
    md5: str | None = None  # with ".dir" for a folder; None when DVC recorded no hash

    def as_dict(self) -> dict[str, str]:
        out = {"path": self.path}
        if self.md5 is not None:
            out["md5"] = self.md5
        return out

    def hash_text(self) -> str:
        return f"md5:{self.md5}" if self.md5 is not None else "no hash recorded"


@dataclass(frozen=True)
class Provenance:
    """What one released version was built from."""

    kind: Kind
    path: str  # the artifact's output path
    md5: str  # its version (".dir" for a folder)
    commit: str  # the commit the release was made from (whose DVC files say all this)
    file: str  # the dvc.lock or .dvc file that records it
    stage: str | None = None
    cmd: str | tuple[str, ...] | None = None  # as DVC runs it (a list joined with " && ")
    deps: tuple[Dependency, ...] = ()
    params: Mapping[str, Any] | None = None  # params file -> {key: JSON text, nested}

    def as_dict(self) -> dict[str, Any]:
        """The form signed in the statement (and shown by ``verify --json``)."""
        out: dict[str, Any] = {"kind": self.kind, "path": self.path, "md5": self.md5,
                               "commit": self.commit, "file": self.file}
        if self.kind == "stage":
            out.update(stage=self.stage, cmd=list(self.cmd) if isinstance(self.cmd, tuple)
                       else self.cmd, deps=[d.as_dict() for d in self.deps],
                       params=_thaw(self.params or {}))
        return out

    def lines(self) -> list[str]:
        """How ``verify`` prints it, one fact a line."""
        if self.kind == "dvc-file":
            return [f"provenance: {self.file} at commit {self.commit[:10]}"]
        cmd = " && ".join(self.cmd) if isinstance(self.cmd, tuple) else self.cmd
        out = [f"provenance: stage {self.stage} ({self.file}) at commit {self.commit[:10]}",
               f"  cmd: {cmd}"]
        out += [f"  dep {d.path} {d.hash_text()}" for d in self.deps]
        for name, values in sorted((self.params or {}).items()):
            out += [f"  param {name}: {key}={value}" for key, value in _leaves(values, "")]
        return out


def _param_text(value: Any) -> str:
    """A params value as exact JSON text (dates, which YAML 1.1 files may hold, as ISO)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _params(value: Any) -> Any:
    """Nested params with every leaf (scalar or list) as its JSON text."""
    if isinstance(value, Mapping):
        return {str(k): _params(v) for k, v in value.items()}
    return _param_text(value)


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    return value


def _leaves(value: Any, prefix: str) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        out: list[tuple[str, str]] = []
        for key in sorted(value):
            out += _leaves(value[key], f"{prefix}{key}.")
        return out
    return [(prefix.rstrip("."), str(value))]


def lock_path(artifact: Artifact) -> str:
    """The ``dvc.lock`` of a stage output's ``dvc.yaml``."""
    return posixpath.join(posixpath.dirname(artifact.declared_in), DVC_LOCK)


def of_artifact(artifact: Artifact, commit: str, lock_text: str | bytes | None,
                yaml_text: str | bytes | None = None) -> Provenance:
    """The provenance of ``artifact``'s version at ``commit``; ``lock_text`` and
    ``yaml_text`` are its ``dvc.lock`` and ``dvc.yaml`` there (stage outputs only), read
    with ``dvcfiles.parse_lock_stages``, the one reader of locks (lineage uses it too).
    ConfigError when the lock does not record the stage (``dvc repro`` and commit it,
    then release)."""
    version = artifact.version
    if version is None:
        raise ConfigError(f"{artifact.path}: DVC records no version")
    if artifact.stage is None:
        return Provenance("dvc-file", artifact.path, version.digest, commit,
                          artifact.declared_in)
    where = lock_path(artifact)
    stages = parse_lock_stages(lock_text, where, yaml_text) if lock_text is not None else []
    entry = next((s for s in stages if s.name == artifact.stage), None)
    if entry is None:
        raise ConfigError(f"{where} records no stage {artifact.stage!r} (the stage that "
                          f"writes {artifact.path})", "dvc repro, commit dvc.lock, and "
                          "release again")
    deps = [Dependency(d.path, d.version.digest if d.version is not None else None)
            for d in entry.deps]
    return Provenance("stage", artifact.path, version.digest, commit, where,
                      stage=artifact.stage, cmd=entry.cmd,
                      deps=tuple(sorted(deps, key=lambda d: d.path)),
                      params=_params(entry.params))


def from_statement(value: Any) -> Provenance:
    """The provenance a signed statement records; ValueError when it is not one."""
    if not isinstance(value, Mapping):
        raise ValueError("not an object")

    def text(key: str, optional: bool = False) -> str | None:
        got = value.get(key)
        if got is None and optional:
            return None
        if not isinstance(got, str):
            raise ValueError(f"{key} is not text")
        return got

    kind = text("kind")
    if kind not in ("stage", "dvc-file"):
        raise ValueError(f"kind {kind!r}")
    common = (str(text("path")), str(text("md5")), str(text("commit")), str(text("file")))
    if kind == "dvc-file":
        return Provenance("dvc-file", *common)
    cmd = value.get("cmd")
    if isinstance(cmd, list) and all(isinstance(c, str) for c in cmd):
        cmd = tuple(cmd)
    elif cmd is not None and not isinstance(cmd, str):
        raise ValueError("cmd is not text")
    raw_deps = value.get("deps")
    if not isinstance(raw_deps, list):
        raise ValueError("deps is not a list")
    deps = []
    for d in raw_deps:
        if not isinstance(d, Mapping) or not all(isinstance(v, str) for v in d.values()) \
                or not isinstance(d.get("path"), str):
            raise ValueError("a dependency is not {path, md5}")
        deps.append(Dependency(d["path"], d.get("md5")))
    params = value.get("params")
    if not isinstance(params, Mapping) or not _all_text(params):
        raise ValueError("params are not text values")
    return Provenance("stage", *common, stage=text("stage"), cmd=cmd,
                      deps=tuple(sorted(deps, key=lambda d: d.path)), params=_thaw(params))


def _all_text(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _all_text(v) for k, v in value.items())
    return isinstance(value, str)


def differences(signed: Provenance, actual: Provenance) -> list[str]:
    """One line per fact the signed provenance records differently from the DVC files of
    the release commit (empty when they agree).

    The commit it was built at is not compared: `archivist push` replays an unpublished
    release commit onto what landed on the remote meanwhile, so its parent changes while
    its DVC files, which hold every fact compared here, stay the same. The signature still
    covers the recorded commit; verify prints it."""
    if dataclasses.replace(signed, commit=actual.commit) == actual:
        return []
    out = []
    for key in ("kind", "path", "md5", "file", "stage", "cmd"):
        mine, theirs = getattr(signed, key), getattr(actual, key)
        if mine != theirs:
            out.append(f"{key} is {_shown(mine)} in the signed provenance, {_shown(theirs)} "
                       f"in {actual.file} at {actual.commit[:10]}")
    signed_deps = {d.path: d for d in signed.deps}
    actual_deps = {d.path: d for d in actual.deps}
    for path in sorted(set(signed_deps) | set(actual_deps)):
        mine_dep, their_dep = signed_deps.get(path), actual_deps.get(path)
        if mine_dep == their_dep:
            continue
        if their_dep is None:
            out.append(f"dependency {path} is signed, but {actual.file} does not list it")
        elif mine_dep is None:
            out.append(f"dependency {path} ({their_dep.hash_text()}) in {actual.file} is "
                       "not in the signed provenance")
        else:
            out.append(f"dependency {path} is signed as {mine_dep.hash_text()}, but "
                       f"{actual.file} records {their_dep.hash_text()}")
    mine_params = dict(_flat(signed.params or {}))
    their_params = dict(_flat(actual.params or {}))
    for key in sorted(set(mine_params) | set(their_params)):
        if mine_params.get(key) != their_params.get(key):
            out.append(f"param {key} is {mine_params.get(key, 'absent')} in the signed "
                       f"provenance, {their_params.get(key, 'absent')} in {actual.file}")
    return out or ["the signed provenance differs from the release commit's DVC files"]


def _flat(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(f"{name}: {key}", value) for name, values in params.items()
            for key, value in _leaves(values, "")]


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return repr(list(value))
    return repr(value)


def read(value: Any) -> Provenance | None:
    """``from_statement`` for a statement that may hold none (a release made before
    provenance was recorded); ArchivistError when it holds one that cannot be read."""
    if value is None:
        return None
    try:
        return from_statement(value)
    except ValueError as exc:
        raise ArchivistError(f"the signed provenance cannot be read: {exc}") from None
