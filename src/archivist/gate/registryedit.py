"""Adding a ``dvc.yaml`` ``artifacts:`` entry for an output, as a text edit of a few lines.

The output of a templated stage (``foreach``, ``matrix``, ``${...}``) has no entry of its
own to carry tags: ``models/${item}.pkl`` is every model at once. DVC keeps an artifact's
tags in its ``artifacts:`` entry, so that is where they go; the entry is added (named from
the file's stem, as GTO's name rules allow) and every other line of the file is left as
it was.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection
from typing import Any

from archivist import dvctemplate, yamlload
from archivist.errors import ConfigError
from archivist.gto_tags import NAME_RE  # GTO's (and so DVC's) artifact name


def is_templated_output(text: str, file: str, stage: str | None) -> bool:
    """Whether ``stage`` of the ``dvc.yaml`` ``text`` is written as a template, so its
    outputs cannot carry their own tags."""
    if stage is None:
        return False
    if "@" in stage:
        return True
    data = yamlload.load(text, file)
    stages = data.get("stages") if isinstance(data, dict) else None
    written = stages.get(stage) if isinstance(stages, dict) else None
    return dvctemplate.has_template(written) or \
        (isinstance(written, dict) and "vars" in written)


def artifact_name_for(path: str, taken: Collection[str]) -> str:
    """A valid artifact name from the file's stem (``models/small.pkl`` -> ``small``),
    made unique among ``taken``."""
    stem = posixpath.basename(path).split(".", 1)[0] or posixpath.basename(path)
    name = re.sub(r"[^a-zA-Z0-9_-]+", "-", stem).strip("-_") or "artifact"
    if not NAME_RE.match(name):
        name = "artifact"
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def _quote(value: str) -> str:
    """``value`` as a YAML scalar that reads back as that very string."""
    if yamlload.reads_as_text(value) and not re.search(r"[:#{}\[\],&*!|>'\"%@`]|^[-?\s]|\s$",
                                                        value):
        return value
    return "'" + value.replace("'", "''") + "'"


def add_entry(text: str, file: str, output_path: str) -> tuple[str, str]:
    """``text`` with an ``artifacts:`` entry for ``output_path`` (repo-relative) added,
    and the entry's name. Only new lines are written (and ``artifacts: {}`` becomes a
    block)."""
    data: Any = yamlload.load(text, file)
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a YAML mapping at the top")
    registry = data.get("artifacts")
    if registry is not None and not isinstance(registry, dict):
        raise ConfigError(f"{file}:{data.line_of('artifacts')}: 'artifacts' must be a mapping")
    registry = registry or {}
    rel = posixpath.relpath(output_path, posixpath.dirname(file) or ".")
    name = artifact_name_for(output_path, set(map(str, registry)))
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    top = [i for i, line in enumerate(lines) if re.match(r"artifacts\s*:", line)]
    if not top:
        step = "  "
        block = [f"artifacts:{newline}", f"{step}{name}:{newline}",
                 f"{step * 2}path: {_quote(rel)}{newline}"]
        lines.extend(block)
    else:
        start = top[0]
        rest = lines[start].split(":", 1)[1].split("#", 1)[0].strip()
        end = start + 1
        child_indent = None
        while end < len(lines):
            line = lines[end]
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                indent = len(line) - len(line.lstrip(" "))
                if indent == 0:
                    break
                child_indent = child_indent if child_indent is not None else indent
            end += 1
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1  # blank lines before the next top-level key stay there
        if rest == "{}":
            lines[start] = f"artifacts:{newline}"
        elif rest:
            raise ConfigError(f"{file}:{start + 1}: 'artifacts:' is written inline",
                              "write it as a block mapping, one entry per line")
        step = " " * (child_indent or 2)
        inner = " " * (2 * (child_indent or 2))
        if child_indent is not None:
            # the first entry's own keys show the file's indentation step
            for line in lines[start + 1:end]:
                ind = len(line) - len(line.lstrip(" "))
                if line.strip() and ind > child_indent:
                    inner = " " * ind
                    break
        lines[end:end] = [f"{step}{name}:{newline}", f"{inner}path: {_quote(rel)}{newline}"]
    new_text = "".join(lines)
    after = yamlload.load(new_text, file)
    expected_registry = dict(registry)
    got = after.get("artifacts") if isinstance(after, dict) else None
    if not isinstance(got, dict) or got.get(name) != {"path": rel} or \
            {k: v for k, v in got.items() if k != name} != expected_registry or \
            {k: v for k, v in after.items() if k != "artifacts"} != \
            {k: v for k, v in data.items() if k != "artifacts"}:
        raise ConfigError(f"{file}: cannot add an artifacts: entry for {output_path} "
                          "without changing other lines",
                          f"add it by hand: artifacts: {{{name}: {{path: {rel}}}}}")
    return new_text, name
