"""Edit tags in ``.dvc`` and ``dvc.yaml`` files in place, keeping every other byte.

ruamel.yaml's round-trip mode keeps comments, key order and quoting; the file's own
indentation is measured first so that untouched lines are written back as they were.
"""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from archivist import yamlload
from archivist.artifacts import DVC_TAG_FIELDS, join_repo_path
from archivist.errors import ConfigError, UsageError


def guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, sequence dash offset) the file already uses; DVC's (2, 0) by default.

    ruamel's own guess reports the sequence indent, not the mapping one, and re-indenting a
    file rewrites every line the user did not ask to change.
    """
    mapping: int | None = None
    offset: int | None = None
    opener: int | None = None  # column of the key of the last "key:" line that opens a block
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        column = len(raw) - len(raw.lstrip(" "))
        if opener is not None and column >= opener:
            if stripped.startswith("- ") or stripped == "-":
                offset = column - opener if offset is None else offset
            elif column > opener:
                mapping = column - opener if mapping is None else mapping
        if mapping is not None and offset is not None:
            break
        body = re.sub(r"\s+#.*$", "", stripped)
        key_column = len(re.match(r"^ *(?:- +)*", raw).group(0))  # type: ignore[union-attr]
        opener = key_column if body.endswith(":") else None
    return mapping or 2, offset or 0


def _yaml(text: str):  # type: ignore[no-untyped-def]
    from ruamel.yaml import YAML

    mapping, offset = guess_indent(text)
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap long lines the user wrote
    y.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return y


def _find_output(items: Any, base: str, artifact_path: str, file: str) -> tuple[Any, Any]:
    """(container, key) of the entry for ``artifact_path`` in an outs-like list."""
    if not isinstance(items, list):
        return None, None
    for i, item in enumerate(items):
        if isinstance(item, str):
            raw = item
        elif isinstance(item, Mapping) and "path" in item:
            raw = item["path"]
        elif isinstance(item, Mapping) and len(item) == 1:
            raw = next(iter(item))
        else:
            continue
        if isinstance(raw, str) and "${" not in raw and \
                join_repo_path(base, raw, file, 0) == artifact_path:
            return items, i
    return None, None


def _entry(doc: Any, file: str, artifact_path: str, registry_name: str | None) -> Any:
    """The mapping that holds the artifact's tags, created when a stage output is a bare path."""
    base = posixpath.dirname(file)
    if registry_name is not None:
        registry = doc.get("artifacts") or {}
        entry = registry.get(registry_name)
        if entry is None:
            raise ConfigError(f"{file}: no artifact named {registry_name!r}")
        return entry
    if "outs" in doc and "stages" not in doc:  # a .dvc file
        items, index = _find_output(doc["outs"], base, artifact_path, file)
        if items is not None:
            return items[index]
    for stage in (doc.get("stages") or {}).values():
        if not isinstance(stage, Mapping):
            continue
        stage_base = base
        wdir = stage.get("wdir")
        if isinstance(wdir, str) and wdir not in ("", "."):
            stage_base = join_repo_path(base, wdir, file, 0, folder=True)
        for field in ("outs", "metrics", "plots"):
            items, index = _find_output(stage.get(field), stage_base, artifact_path, file)
            if items is None:
                continue
            item = items[index]
            if isinstance(item, str):
                from ruamel.yaml.comments import CommentedMap

                spec = CommentedMap()
                wrapper = CommentedMap()
                wrapper[item] = spec
                items[index] = wrapper
                return spec
            key = next(iter(item))
            if item[key] is None:
                from ruamel.yaml.comments import CommentedMap

                item[key] = CommentedMap()
            return item[key]
    raise ConfigError(f"{file}: declares no output {artifact_path!r}")


def _set(entry: Any, key: str, value: Any) -> None:
    from ruamel.yaml.comments import CommentedMap

    if key in DVC_TAG_FIELDS:
        entry[key] = value
        return
    node = entry
    parts = ["meta", *key.split(".")]
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = CommentedMap()
            node[part] = child
        elif not isinstance(child, Mapping):
            raise UsageError(f"cannot set {key!r}: {part!r} already holds a value, not a map",
                             f"unset {part} first")
        node = child
    node[parts[-1]] = value


def _unset(entry: Any, key: str) -> bool:
    if key in DVC_TAG_FIELDS:
        return entry.pop(key, None) is not None
    parts = ["meta", *key.split(".")]
    trail = [entry]
    for part in parts[:-1]:
        child = trail[-1].get(part)
        if not isinstance(child, Mapping):
            return False
        trail.append(child)
    if parts[-1] not in trail[-1]:
        return False
    del trail[-1][parts[-1]]
    # drop maps left empty, up to and including meta
    for depth in range(len(trail) - 1, 0, -1):
        if len(trail[depth]) == 0:
            del trail[depth - 1][parts[depth - 1]]
    return True


def coerce(key: str, value: str) -> Any:
    """``labels=a,b`` is a list; everything else stays the string the user typed."""
    if key == "labels":
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def edit_tags(text: str, file: str, artifact_path: str, registry_name: str | None,
              updates: Mapping[str, str], removals: Sequence[str]) -> tuple[str, list[str]]:
    """New text of ``file`` with tags set and removed; also the keys actually unset."""
    y = _yaml(text)
    doc = y.load(text)
    entry = _entry(doc, file, artifact_path, registry_name)
    for key, value in updates.items():
        _set(entry, key, coerce(key, value))
    removed = [key for key in removals if _unset(entry, key)]
    out = io.StringIO()
    y.dump(doc, out)
    new_text = out.getvalue()
    yamlload.load(new_text, file)  # what we wrote must read back
    return new_text, removed
