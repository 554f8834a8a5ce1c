"""Artifacts and their metadata, read from DVC's own files as text (dvc is not imported).

Sources: the ``outs`` of ``.dvc`` files, the ``outs``/``metrics``/``plots`` of ``dvc.yaml``
stages (versions from ``dvc.lock``), and ``dvc.yaml`` ``artifacts:`` entries, which name an
artifact and may carry its tags. Where an ``artifacts:`` entry and an output share a path
they are one artifact: the entry's tags overlay the output's, and ``archivist tag`` writes
to the entry.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from typing import Any

from archivist import dvctemplate, yamlload
from archivist.errors import ConfigError
from archivist.frozen import field, frozen, replace
from archivist.yamlload import LinedDict, LinedList

DVC_YAML = "dvc.yaml"
DVC_LOCK = "dvc.lock"
DVC_SUFFIX = ".dvc"
_OUT_FIELDS = ("outs", "metrics", "plots")


def is_dvc_file(path: str) -> bool:
    """A ``.dvc`` file (not the ``.dvc/`` folder's contents)."""
    return path.endswith(DVC_SUFFIX) and not path.startswith(".dvc/") and "/.dvc/" not in path


def is_pipeline_file(path: str) -> bool:
    name = posixpath.basename(path)
    return name in (DVC_YAML, DVC_LOCK)


def is_declaring_file(path: str) -> bool:
    """Files that can declare artifacts: ``*.dvc``, ``dvc.yaml``, ``dvc.lock``."""
    return is_dvc_file(path) or is_pipeline_file(path)


def declaring_file(path: str) -> str | None:
    """The file whose parse declares ``path``'s artifacts: a ``.dvc`` file itself, and for
    a ``dvc.yaml`` or a ``dvc.lock`` (whose versions are its ``dvc.yaml``'s) the folder's
    ``dvc.yaml``; None for any other path."""
    if is_dvc_file(path):
        return path
    if is_pipeline_file(path):
        return posixpath.join(posixpath.dirname(path), DVC_YAML)
    return None


@frozen
class Version:
    """One content hash of an artifact, as DVC records it."""

    algorithm: str  # "md5", or "md5-dos2unix" for DVC 2 outputs (no ``hash: md5`` line)
    digest: str  # hex; a folder's ends in ".dir"
    size: int | None = None
    nfiles: int | None = None

    @property
    def is_dir(self) -> bool:
        return self.digest.endswith(".dir")

    @property
    def label(self) -> str:
        """``md5:<hex>``: how versions are named in plans, trailers and the audit."""
        return f"md5:{self.digest}"


@frozen
class Artifact:
    """One DVC output (or registry entry), with where its tags live."""

    path: str  # repo-relative posix path of the output
    declared_in: str  # the .dvc or dvc.yaml file that declares the output
    line: int  # line of the output entry in declared_in
    tags_in: str  # the file whose entry holds the tags (declared_in, or the dvc.yaml entry)
    tags_line: int
    name: str | None = None  # dvc.yaml artifacts: name (GTO's, with "dir:" for nested files)
    stage: str | None = None
    type: str | None = None
    desc: str | None = None
    labels: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    version: Version | None = None
    registered: bool = False  # named by a dvc.yaml artifacts: entry
    # How DVC stores the output's bytes (its own fields; retention leaves some alone):
    cache: bool = True  # False: ``cache: false``, the bytes are in git
    push: bool = True  # False: ``push: false``, never sent to a remote
    remote: str | None = None  # the output's own ``remote:``
    imported: str | None = None  # "repo" (dvc import), "url" (import-url), "db"

    def tag(self, dotted: str) -> Any:
        """The value at a dotted key (``data.source``), or None when absent.

        ``desc``, ``type`` and ``labels`` are DVC's own output fields; every other key is
        looked up under ``meta``.
        """
        if dotted == "desc":
            return self.desc
        if dotted == "type":
            return self.type
        if dotted == "labels":
            return list(self.labels) if self.labels else None
        node: Any = self.meta
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def tags(self) -> dict[str, Any]:
        """All tags as one flat ``{dotted.key: value}`` map (DVC fields included)."""
        flat: dict[str, Any] = {}
        for key in DVC_TAG_FIELDS:
            value = self.tag(key)
            if value is not None:
                flat[key] = value
        _flatten(self.meta, "", flat)
        return flat


DVC_TAG_FIELDS = ("type", "desc", "labels")


def _flatten(node: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            _flatten(value, dotted + ".", out)
        else:
            out[dotted] = value


def _plain(value: Any) -> Any:
    """Lined containers to plain ones, so artifacts compare and serialise simply."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def join_repo_path(base_dir: str, path: Any, where: str, line: int, *,
                   folder: bool = False) -> str:
    """Normalise an output path relative to its file's folder; refuse escapes.

    With ``folder`` (a ``wdir``), the repository root itself is allowed and returned as "".
    """
    if not isinstance(path, str) or not path.strip():
        raise ConfigError(f"{where}:{line}: output path must be a non-empty string",
                          "write path: <file or folder>")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":") or "\\" in path:
        raise ConfigError(f"{where}:{line}: output path {path!r} is absolute or not posix",
                          "use a path relative to the file, inside the repository")
    joined = posixpath.normpath(posixpath.join(base_dir, path))
    if folder and joined == ".":
        return ""
    if joined == ".." or joined.startswith("../") or joined == ".":
        raise ConfigError(f"{where}:{line}: output path {path!r} escapes the repository",
                          "keep DVC outputs inside the repository")
    return joined


def _version(entry: Mapping[str, Any]) -> Version | None:
    digest = entry.get("md5")
    if isinstance(digest, int) and not isinstance(digest, bool) and len(str(digest)) == 32:
        # An all-digit md5 written unquoted reads as a YAML integer; without a leading zero
        # its decimal text is the digest itself.
        digest = str(digest)
    if not isinstance(digest, str) or not digest:
        return None
    # DVC 3 writes "hash: md5"; DVC 2 files lack it and hash text with dos2unix.
    algorithm = "md5" if entry.get("hash") == "md5" else "md5-dos2unix"
    size = entry.get("size")
    nfiles = entry.get("nfiles")
    return Version(algorithm=algorithm, digest=digest,
                   size=size if isinstance(size, int) else None,
                   nfiles=nfiles if isinstance(nfiles, int) else None)


def _labels(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, str) and value:
        return (value,)
    return ()


def _storage_fields(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An output's ``cache``, ``push`` and ``remote`` as DVC reads them (default: cached,
    pushed, the default remote)."""
    remote = entry.get("remote")
    return {"cache": entry.get("cache") is not False, "push": entry.get("push") is not False,
            "remote": str(remote) if isinstance(remote, str) and remote else None}


def _import_kind(data: Mapping[str, Any], outs: list[Any]) -> str | None:
    """What a ``.dvc`` file imports, as DVC's ``Stage.is_import`` tells (no ``cmd``, one
    dependency, one output): "repo", "db" or "url"; None when it imports nothing."""
    deps = data.get("deps")
    if data.get("cmd") or not isinstance(deps, list) or len(deps) != 1 or len(outs) != 1:
        return None
    dep = deps[0]
    if isinstance(dep, dict) and "repo" in dep:
        return "repo"
    if isinstance(dep, dict) and "db" in dep:
        return "db"
    return "url"


def _tag_fields(entry: Mapping[str, Any], where: str, line: int) -> dict[str, Any]:
    meta = entry.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise ConfigError(f"{where}:{line}: 'meta' must be a mapping",
                          "write meta: {owner: you@example.com}")
    type_ = entry.get("type")
    desc = entry.get("desc")
    return {
        "type": str(type_) if type_ is not None else None,
        "desc": str(desc) if desc is not None else None,
        "labels": _labels(entry.get("labels")),
        "meta": _plain(meta) if meta else {},
    }


def _require_mapping(data: Any, where: str) -> LinedDict:
    if data is None:
        empty = LinedDict()
        empty.line = 1
        return empty
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a YAML mapping at the top",
                          "is this a DVC file?")
    return data  # type: ignore[return-value]


def parse_dvc_file(text: str | bytes, path: str) -> list[Artifact]:
    """The outputs a ``.dvc`` file declares (``path`` is its repo-relative name)."""
    data = _require_mapping(yamlload.load(text, path), path)
    outs = data.get("outs")
    if outs is None:
        return []
    if not isinstance(outs, list):
        raise ConfigError(f"{path}:{data.line_of('outs')}: 'outs' must be a list",
                          "see `dvc add` for the format")
    base = posixpath.dirname(path)
    wdir = data.get("wdir")
    if isinstance(wdir, str) and wdir:
        base = join_repo_path(base, wdir, path, data.line_of("wdir"), folder=True)
    artifacts = []
    imported = _import_kind(data, outs)
    for i, entry in enumerate(outs):
        line = outs.line_of(i) if isinstance(outs, LinedList) else 1
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}:{line}: each entry of 'outs' must be a mapping",
                              "see `dvc add` for the format")
        out_path = entry.get("path")
        if isinstance(out_path, str) and "://" in out_path:
            continue  # an external output (s3://...) is not part of the repository
        artifacts.append(Artifact(
            path=join_repo_path(base, out_path, path, line),
            declared_in=path, line=line, tags_in=path, tags_line=line,
            version=_version(entry), **_tag_fields(entry, path, line),
            **_storage_fields(entry), imported=imported,
        ))
    return artifacts


def _line(node: Any, key: Any, default: int) -> int:
    """The line of ``key`` in a lined container, else ``default`` (resolved copies)."""
    if isinstance(node, (LinedDict, LinedList)):
        try:
            return node.line_of(key)
        except (KeyError, IndexError, TypeError):
            return default
    return default


def _stage_outputs(stage: Any, stage_name: str, base: str, where: str, line: int,
                   template: Any = None,
                   ) -> Iterable[tuple[str, str, int, dict[str, Any]]]:
    """(repo path, path as written, line, options) of each output of one stage.

    ``stage`` is the stage as DVC runs it (templates resolved); ``template`` the mapping
    it was written as, for line numbers.
    """
    if not isinstance(stage, dict):
        raise ConfigError(f"{where}:{line}: stage {stage_name!r} must be a mapping")
    template = stage if template is None else template
    wdir = stage.get("wdir")
    if wdir is not None and not isinstance(wdir, str):
        wdir = str(wdir)
    if isinstance(wdir, str) and wdir not in ("", "."):
        base = join_repo_path(base, wdir, where, _line(template, "wdir", line), folder=True)
    for field_name in _OUT_FIELDS:
        items = stage.get(field_name)
        if items is None:
            continue
        fline = _line(template, field_name, line)
        if not isinstance(items, list):
            raise ConfigError(f"{where}:{fline}: {stage_name}.{field_name} must be a list")
        written = template.get(field_name) if isinstance(template, dict) else None
        for i, item in enumerate(items):
            iline = _line(written, i, fline)
            if isinstance(item, str):
                out_path, spec = item, {}
            elif isinstance(item, dict) and len(item) == 1:
                out_path, spec = next(iter(item.items()))
                spec = spec if isinstance(spec, dict) else {}
            else:
                raise ConfigError(f"{where}:{iline}: cannot read output of stage {stage_name!r}",
                                  "write '- path' or '- path: {options}'")
            if not isinstance(out_path, str) or "://" in out_path:
                continue
            yield join_repo_path(base, out_path, where, iline), out_path, iline, spec


def _lock_versions(lock_text: str | bytes | None,
                   lock_path: str) -> dict[tuple[str, str], Version]:
    """{(stage, path as the lock writes it): version}; paths stay relative to the stage's wdir."""
    if lock_text is None:
        return {}
    data = _require_mapping(yamlload.load(lock_text, lock_path), lock_path)
    versions: dict[tuple[str, str], Version] = {}
    stages = data.get("stages")
    if not isinstance(stages, dict):
        return versions
    for stage_name, stage in stages.items():
        if not isinstance(stage, dict):
            continue
        for field_name in _OUT_FIELDS:
            for entry in stage.get(field_name) or ():
                if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                    version = _version(entry)
                    if version is not None:
                        versions[(str(stage_name), posixpath.normpath(entry["path"]))] = version
    return versions


def artifact_name(dvc_yaml_path: str, name: str) -> str:
    """GTO's name for a registry entry: ``name`` at the root, ``dir:name`` below it."""
    folder = posixpath.dirname(dvc_yaml_path)
    return f"{folder}:{name}" if folder else name


def _no_params(path: str) -> bytes | None:
    return None


def resolved_stages(data: LinedDict, path: str,
                    read: dvctemplate.Reader | None = _no_params,
                    ) -> Iterable[tuple[dvctemplate.Stage, int]]:
    """Each stage of a ``dvc.yaml`` as DVC runs it (``train@small`` for a foreach
    entry), with the line of the entry it comes from; ConfigError when a template does
    not resolve. ``read`` gives a params file's bytes by repo path (None: no such file);
    without it there are no params files.
    """
    stages = data.get("stages")
    if stages is None:
        return
    if not isinstance(stages, dict):
        raise ConfigError(f"{path}:{data.line_of('stages')}: 'stages' must be a mapping")
    resolver = dvctemplate.Resolver(data, path, read or _no_params)
    for stage_name, stage in stages.items():
        sline = stages.line_of(stage_name)
        if not isinstance(stage, dict):
            raise ConfigError(f"{path}:{sline}: stage {stage_name!r} must be a mapping")
        try:
            generated = resolver.stages(str(stage_name), stage)
        except dvctemplate.TemplateError as exc:
            raise dvctemplate.resolve_error(path, sline, f"stage {stage_name!r}",
                                            exc) from None
        for one in generated:
            yield one, sline


def parse_dvc_yaml(text: str | bytes, path: str, lock_text: str | bytes | None = None,
                   read: dvctemplate.Reader | None = None) -> list[Artifact]:
    """Stage outputs and ``artifacts:`` entries of a ``dvc.yaml`` (versions from its lock).

    Templated stages (``foreach``, ``matrix``, ``${...}``) are resolved as DVC does, with
    params files (``params.yaml``, ``vars:``) read through ``read``; one that does not
    resolve is a ConfigError naming it (never left out).
    """
    data = _require_mapping(yamlload.load(text, path), path)
    base = posixpath.dirname(path)
    versions = _lock_versions(lock_text, posixpath.join(base, DVC_LOCK))
    by_path: dict[str, Artifact] = {}
    for stage, sline in resolved_stages(data, path, read):
        for out_path, raw, oline, spec in _stage_outputs(stage.definition, stage.name, base,
                                                         path, sline, stage.template):
            by_path[out_path] = Artifact(
                path=out_path, declared_in=path, line=oline, tags_in=path, tags_line=oline,
                stage=stage.name,
                version=versions.get((stage.name, posixpath.normpath(raw))),
                **_tag_fields(spec, path, oline), **_storage_fields(spec),
            )
    registry = data.get("artifacts")
    if registry is not None:
        if not isinstance(registry, dict):
            raise ConfigError(f"{path}:{data.line_of('artifacts')}: 'artifacts' must be a mapping")
        if dvctemplate.has_template(registry):
            registry = _resolve_registry(data, registry, path, read)
        for name, entry in registry.items():
            aline = registry.line_of(name)
            if not isinstance(entry, dict):
                raise ConfigError(f"{path}:{aline}: artifact {name!r} must be a mapping",
                                  "write path: and optionally type:, desc:, labels:, meta:")
            out_path = registry_path(base, entry.get("path"), path, entry.line_of("path"))
            fields = _tag_fields(entry, path, aline)
            prior = by_path.get(out_path)
            full_name = artifact_name(path, str(name))
            if prior is not None:
                by_path[out_path] = overlay(prior, full_name, path, aline, fields)
            else:
                by_path[out_path] = Artifact(
                    path=out_path, declared_in=path, line=aline, tags_in=path, tags_line=aline,
                    name=full_name, registered=True, **fields,
                )
    return list(by_path.values())


def _resolve_registry(data: LinedDict, registry: LinedDict, path: str,
                      read: dvctemplate.Reader | None) -> LinedDict:
    """``artifacts:`` with its ``${...}`` replaced (DVC resolves names and entries too);
    each entry keeps the line it was written on."""
    resolver = dvctemplate.Resolver(data, path, read or _no_params)
    out = LinedDict()
    out.line = registry.line
    lines: dict[str, int] = {}
    for name, entry in registry.items():
        aline = registry.line_of(name)
        try:
            dvctemplate.check_syntax(name)
            dvctemplate.check_syntax(entry)
            new_name = resolver.context.resolve(name) if dvctemplate.has_template(name) \
                else name
            if not isinstance(new_name, str):
                raise dvctemplate.TemplateError(
                    f"expected str, got {type(new_name).__name__}")
            value = resolver.context.resolve(entry)
        except dvctemplate.TemplateError as exc:
            raise dvctemplate.resolve_error(path, aline, f"artifact {name!r}", exc) from None
        if isinstance(value, dict) and isinstance(entry, LinedDict):
            lined = LinedDict()
            lined.update(value)
            lined.line = entry.line
            lined.lines = {k: entry.line_of(k) if k in entry else aline for k in value}
            value = lined
        out[new_name] = value
        lines[new_name] = aline
    out.lines = lines
    return out


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def overlay(output: Artifact, name: str, tags_in: str, tags_line: int,
            fields: Mapping[str, Any]) -> Artifact:
    """An output seen through its registry entry: the entry's tags win, and it holds them."""
    return replace(
        output, name=name, registered=True, tags_in=tags_in, tags_line=tags_line,
        type=fields["type"] if fields["type"] is not None else output.type,
        desc=fields["desc"] if fields["desc"] is not None else output.desc,
        labels=fields["labels"] or output.labels,
        meta=_deep_merge(output.meta, fields["meta"]),
    )


def merge_registry(artifacts: Iterable[Artifact]) -> list[Artifact]:
    """Join registry-only entries onto the ``.dvc`` outputs they name (same path)."""
    outputs: dict[str, Artifact] = {}
    registry: list[Artifact] = []
    for artifact in artifacts:
        if artifact.registered and artifact.declared_in == artifact.tags_in \
                and artifact.stage is None and artifact.version is None:
            registry.append(artifact)
        else:
            outputs[artifact.path] = artifact
    for entry in registry:
        target = outputs.get(entry.path)
        if target is None:
            outputs[entry.path] = entry
            continue
        fields = {"type": entry.type, "desc": entry.desc, "labels": entry.labels,
                  "meta": entry.meta}
        outputs[entry.path] = overlay(target, entry.name or "", entry.tags_in,
                                      entry.tags_line, fields)
    return sorted(outputs.values(), key=lambda a: a.path)


def is_url(path: Any) -> bool:
    """``s3://bucket/m.pt``: a location outside the repository (GTO allows it)."""
    if not isinstance(path, str):
        return False
    scheme, sep, rest = path.partition("://")
    return bool(sep and rest and scheme.isascii() and scheme.isalnum() and
                scheme[:1].isalpha())


def registry_path(base_dir: str, path: Any, where: str, line: int) -> str:
    """An ``artifacts:`` entry's path: a URL as written, else as ``join_repo_path``."""
    if is_url(path):
        return path
    return join_repo_path(base_dir, path, where, line)


# ---------------------------------------------------------------- what a dvc.lock says a
# stage was built from (lineage)


@frozen
class LockedPath:
    """A dependency or output of a locked stage: its repo path and the hash DVC recorded
    (None when it recorded none: a URL's etag, a dependency DVC could not hash)."""

    path: str
    version: Version | None


@frozen
class LockedStage:
    """One stage of a ``dvc.lock``: what it ran, on what, and what it made."""

    name: str  # "train", "train@small" for a foreach entry
    cmd: str  # a list of commands joined with " && ", as DVC runs them one after another
    deps: tuple[LockedPath, ...]
    params: Mapping[str, Mapping[str, Any]]  # params file (repo path) -> {key: value}
    outs: tuple[LockedPath, ...]


def _stage_wdirs(yaml_text: str | bytes | None, yaml_path: str) -> dict[str, str]:
    """{stage name: wdir} as a ``dvc.yaml`` writes it (a lock does not record it).

    Only plain strings: a templated ``wdir`` is rare, and a dependency left at the wrong
    path resolves to no tracked version (nothing kept for it, which the caller says)."""
    if yaml_text is None:
        return {}
    try:
        data = yamlload.load(yaml_text, yaml_path)
    except ConfigError:
        return {}
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return {}
    return {str(name): stage["wdir"] for name, stage in stages.items()
            if isinstance(stage, dict) and isinstance(stage.get("wdir"), str)
            and "${" not in stage["wdir"]}


def _locked_paths(entries: Any, base: str, where: str) -> tuple[LockedPath, ...]:
    out = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        raw = entry["path"]
        if is_url(raw):
            continue  # outside the repository: nothing here keeps it
        try:
            path = join_repo_path(base, raw, where, 1)
        except ConfigError:
            continue  # escapes the repository
        out.append(LockedPath(path, _version(entry)))
    return tuple(out)


def parse_lock_stages(lock_text: str | bytes, lock_path: str,
                      yaml_text: str | bytes | None = None) -> list[LockedStage]:
    """Every stage a ``dvc.lock`` records, with repo-relative paths.

    Lock paths are relative to the stage's ``wdir``, which only the ``dvc.yaml`` beside it
    (``yaml_text``) records. Raises ConfigError when the lock is no YAML mapping."""
    data = _require_mapping(yamlload.load(lock_text, lock_path), lock_path)
    folder = posixpath.dirname(lock_path)
    wdirs = _stage_wdirs(yaml_text, posixpath.join(folder, DVC_YAML))
    stages = data.get("stages")
    out: list[LockedStage] = []
    if not isinstance(stages, dict):
        return out
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            continue
        name = str(name)
        wdir = wdirs.get(name, wdirs.get(name.partition("@")[0], ""))
        base = folder
        if wdir:
            try:
                base = join_repo_path(folder, wdir, lock_path, 1, folder=True)
            except ConfigError:
                continue
        cmd = stage.get("cmd")
        params: dict[str, dict[str, Any]] = {}
        raw_params = stage.get("params")
        if isinstance(raw_params, dict):
            for file, values in raw_params.items():
                try:
                    file_path = join_repo_path(base, str(file), lock_path, 1)
                except ConfigError:
                    continue
                params[file_path] = _plain(values) if isinstance(values, dict) else {}
        out.append(LockedStage(
            name=name,
            cmd=" && ".join(str(c) for c in cmd) if isinstance(cmd, list) else str(cmd or ""),
            deps=_locked_paths(stage.get("deps"), base, lock_path),
            params=params,
            outs=tuple(p for f in _OUT_FIELDS
                       for p in _locked_paths(stage.get(f), base, lock_path)),
        ))
    return out
