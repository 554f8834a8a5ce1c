"""Edit tags in ``.dvc`` and ``dvc.yaml`` files in place, keeping every other byte.

ruamel.yaml's round-trip mode keeps comments, key order and quoting, but it still rewrites
lines nobody asked to change (it re-indents sequences to one style, re-spaces flow maps,
re-wraps folded scalars). So the edit is made twice in ruamel's own words, once without
the change and once with it; the difference between those two dumps is exactly the edit,
and only that difference is spliced into the original text. Every other line stays as the
user wrote it, and the result must read back (as DVC reads it) as ruamel's full dump does.

Strings are written so that DVC, archivist and YAML 1.1 readers all read back the text
given: ``yes``, ``NO``, ``0012345``, ``1:30`` are quoted.
"""

from __future__ import annotations

import difflib
import io
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from archivist import yamlload
from archivist.dvcfiles import DVC_TAG_FIELDS, join_repo_path
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


def _nothing() -> None:
    return None


def _entry(doc: Any, file: str, artifact_path: str,
           registry_name: str | None) -> tuple[Any, Callable[[], None]]:
    """The mapping that holds the artifact's tags (created when a stage output is a bare
    path), and a function that turns an output left with no fields back into a bare path."""
    base = posixpath.dirname(file)
    if registry_name is not None:
        registry = doc.get("artifacts") or {}
        entry = registry.get(registry_name)
        if entry is None:
            raise ConfigError(f"{file}: no artifact named {registry_name!r}")
        return entry, _nothing
    if "outs" in doc and "stages" not in doc:  # a .dvc file
        items, index = _find_output(doc["outs"], base, artifact_path, file)
        if items is not None:
            return items[index], _nothing
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
            if isinstance(item, Mapping) and "path" in item:
                return item, _nothing
            from ruamel.yaml.comments import CommentedMap

            if isinstance(item, str):
                name = item
                wrapper = CommentedMap()
                wrapper[name] = CommentedMap()
                items[index] = wrapper
            else:
                name = next(iter(item))
                if item[name] is None:
                    item[name] = CommentedMap()

            def collapse(items: Any = items, index: int = index, name: str = name) -> None:
                spec = items[index][name]
                if isinstance(spec, Mapping) and len(spec) == 0:
                    items[index] = name  # no fields left: a bare path, not `path: {}`

            return items[index][name], collapse
    raise ConfigError(f"{file}: declares no output {artifact_path!r}")


_YAML_BREAKS = frozenset("\x85\u2028\u2029")


def _scalar(value: Any) -> Any:
    """``value`` as ruamel should write it: a string that would read back as something else
    (``yes``, ``0012345``, ``2024-01-01``) single-quoted, anything else as it is."""
    if isinstance(value, str):
        if any(c in _YAML_BREAKS or not c.isprintable() for c in value):
            # NEL, LS, PS are line breaks to YAML: written plain or single-quoted they read
            # back as a space; double quotes escape them (\N, \L, \P)
            from ruamel.yaml.scalarstring import DoubleQuotedScalarString

            return DoubleQuotedScalarString(value)
        if not yamlload.reads_as_text(value):
            from ruamel.yaml.scalarstring import SingleQuotedScalarString

            return SingleQuotedScalarString(value)
        return value
    if isinstance(value, list):
        from ruamel.yaml.comments import CommentedSeq

        seq = CommentedSeq()
        seq.extend(_scalar(item) for item in value)
        return seq
    return value


def _set(entry: Any, key: str, value: Any) -> None:
    from ruamel.yaml.comments import CommentedMap

    value = _scalar(value)
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
    # drop maps left empty, up to and including meta: no `meta: {}` is left behind
    for depth in range(len(trail) - 1, 0, -1):
        if len(trail[depth]) == 0:
            del trail[depth - 1][parts[depth - 1]]
    return True


def coerce(key: str, value: str) -> Any:
    """``labels=a,b`` is a list; everything else stays the string the user typed."""
    if key == "labels":
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _dump(y: Any, doc: Any) -> str:
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_comment(line: str) -> bool:
    """A blank or comment-only line: no meaning in block context, so it may stay or move."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _insert(out: list[str], lines: list[str]) -> None:
    """Append inserted lines, above the comment and blank lines that close ``out`` (ruamel
    hangs a following comment on the last key, and would put new keys under it)."""
    content = [line for line in lines if not _is_comment(line)]
    if not content:
        out += lines
        return
    column = _indent(content[0])
    at = len(out)
    while at > 0 and _is_comment(out[at - 1]) and (
            not out[at - 1].strip() or _indent(out[at - 1]) <= column):
        at -= 1
    if at == 0:
        at = len(out)
    out[at:at] = lines


def splice(old: str, base: str, new: str) -> str:
    """``old`` with only the changes that turn ``base`` into ``new``.

    ``base`` and ``new`` are one dumper's output without and with the edit, so their
    difference is the edit alone; ruamel's rewrites of untouched lines show only between
    ``old`` and ``base``, and are left out. Where the edit falls on lines ruamel rewrote
    (a re-spaced flow map being given a key), those lines take ruamel's form.
    """
    old_lines = old.splitlines(keepends=True)
    base_lines = base.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    # The edit as deletions of base lines and insertions before a base line.
    deleted: set[int] = set()
    inserted: dict[int, list[str]] = {}
    edits = difflib.SequenceMatcher(None, base_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in edits.get_opcodes():
        if tag == "equal":
            continue
        gone = range(i1, i2)
        content = [k for k in gone if not _is_comment(base_lines[k])]
        if content and tag == "delete":
            # A removed key takes its own lines; the comment lines ruamel hung on it that
            # stand at its level or outside (a section's closing comment) stay.
            column = min(_indent(base_lines[k]) for k in content)
            gone = [k for k in gone if k <= content[-1] or not (
                not base_lines[k].strip() or _indent(base_lines[k]) <= column)]
        deleted.update(gone)
        if j1 < j2:
            inserted.setdefault(i1, []).extend(new_lines[j1:j2])
    out: list[str] = []
    blocks = difflib.SequenceMatcher(None, old_lines, base_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in blocks.get_opcodes():
        _insert(out, inserted.get(j1, []))  # at a block's start: after the block before
        touched = any(k in deleted for k in range(j1, j2)) or \
            any(k in inserted for k in range(j1 + 1, j2))
        if tag != "equal" and not touched:
            out += old_lines[i1:i2]  # ruamel rewrote these, the edit did not: the user's lines
            continue
        for k in range(j1, j2):
            if k > j1:
                _insert(out, inserted.get(k, []))
            if k not in deleted:
                out.append(old_lines[i1 + k - j1] if tag == "equal" else base_lines[k])
    _insert(out, inserted.get(len(base_lines), []))
    return "".join(out)


def edit_tags(text: str, file: str, artifact_path: str, registry_name: str | None,
              updates: Mapping[str, Any], removals: Sequence[str]) -> tuple[str, list[str]]:
    """New text of ``file`` with tags set and removed; also the keys actually unset.

    ``updates`` holds typed values (see ``metadata.tag_value``); a string for ``labels`` is
    split at commas.
    """
    y = _yaml(text)
    base = _dump(y, y.load(text))
    doc = y.load(text)
    entry, collapse = _entry(doc, file, artifact_path, registry_name)
    for key, value in updates.items():
        _set(entry, key, coerce(key, value) if isinstance(value, str) else value)
    removed = [key for key in removals if _unset(entry, key)]
    collapse()
    full = _dump(y, doc)
    wanted = yamlload.load(full, file)  # what we wrote must read back
    if full == base:
        return text, removed
    spliced = splice(text, base, full)
    try:
        if yamlload.load(spliced, file) == wanted:
            return spliced, removed
    except ConfigError:
        pass
    return full, removed  # the spliced text would not mean the same: ruamel's whole dump
