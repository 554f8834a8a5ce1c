"""A starter policy fitted to a repository: its branch, its DVC remotes, its artifacts.

A template's rules are written for a layout (``models/**``, ``data/**``) that a given
repository may not have; a rule that matches nothing makes ``check`` say "all comply"
about an artifact nobody governs. So the template is edited as text (its comments stay):
``branch:`` is the branch checked out, ``remotes.active`` is DVC's default remote (with a
second remote as the archive, or a comment saying how to add one), and a rule whose paths
match none of the repository's artifacts is pointed at where its kind of artifact really
is. Everything here reads text and returns text.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from archivist.dvcfiles import Artifact
from archivist.globs import glob_match

# Suffixes of serialised models in the common frameworks (DVC's own examples use .pkl).
MODEL_SUFFIXES = frozenset({
    ".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".h5", ".hdf5", ".keras",
    ".onnx", ".pb", ".tflite", ".safetensors", ".model", ".bin", ".cbm", ".ubj", ".mlmodel",
})

_SECTION = re.compile(r"""^\s*\[\s*(?P<q>['"]?)(?P<name>.*?)(?P=q)\s*\]\s*(?:#.*)?$""")
_REMOTE_SECTION = re.compile(r"""^remote\s+"(?P<name>[^"]+)"$""")
_OPTION = re.compile(r"^\s*(?P<key>[A-Za-z0-9_.-]+)\s*=\s*(?P<value>.*?)\s*$")


@dataclass(frozen=True)
class DvcRemotes:
    """The remotes a repository's DVC config names, and its default (``core.remote``)."""

    names: tuple[str, ...]
    default: str | None


def read_dvc_config(texts: Iterable[str]) -> DvcRemotes:
    """Remotes and default remote from ``.dvc/config`` then ``.dvc/config.local`` (later
    files win, as in DVC). The format is DVC's configobj INI: ``['remote "name"']``."""
    names: list[str] = []
    default: str | None = None
    for text in texts:
        section: str | None = None
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith(("#", ";")):
                continue
            head = _SECTION.match(line)
            if head:
                section = head["name"].strip()
                remote = _REMOTE_SECTION.match(section)
                if remote and remote["name"] not in names:
                    names.append(remote["name"])
                continue
            option = _OPTION.match(line)
            if option and section == "core" and option["key"] == "remote":
                value = option["value"].split(" #", 1)[0].strip().strip("'\"")
                default = value or None
    return DvcRemotes(tuple(names), default)


def kind_of(artifact: Artifact) -> str:
    """"model" or "data": what a starter rule about models or data would mean."""
    if artifact.type is not None:
        return "model" if artifact.type.lower() == "model" else "data"
    parts = artifact.path.lower().split("/")
    if any("model" in part for part in parts[:-1]):
        return "model"
    suffix = posixpath.splitext(parts[-1])[1]
    return "model" if suffix in MODEL_SUFFIXES else "data"


def _globs_for(paths: Sequence[str]) -> list[str]:
    """One glob per folder holding these artifacts (``dir/**``); a file at the root by
    its own name."""
    globs: list[str] = []
    for path in sorted(paths):
        folder = posixpath.dirname(path)
        glob = f"{folder}/**" if folder else path
        if glob not in globs:
            globs.append(glob)
    return globs


_RULE = re.compile(r"^(?P<lead>\s*-\s*match:\s*\{\s*paths:\s*)\[(?P<paths>[^\]]*)\]"
                   r"(?P<types>\s*,\s*types:\s*\[(?P<tlist>[^\]]*)\])?(?P<rest>\s*\}.*)$")


def _items(flow: str) -> list[str]:
    return [item.strip().strip("'\"") for item in flow.split(",") if item.strip()]


def _flow(items: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def tailor(template: str, *, branch: str | None, remotes: DvcRemotes,
           artifacts: Sequence[Artifact]) -> tuple[str, list[str]]:
    """The template fitted to the repository, and notes on what could not be fitted."""
    notes: list[str] = []
    lines = template.splitlines(keepends=True)
    out: list[str] = []
    have_branch = any(re.match(r"branch\s*:", line) for line in lines)
    for line in lines:
        if branch and re.match(r"branch\s*:", line):
            comment = re.search(r"\s+#.*$", line.rstrip("\n"))
            line = f"branch: {branch}" + (comment.group(0) if comment else "") + "\n"
        elif re.match(r"remotes\s*:", line):
            line = _remotes_line(remotes, notes)
        elif _RULE.match(line.rstrip("\n")):
            line = _rule_line(line, artifacts, notes)
        out.append(line)
        if branch and not have_branch and re.match(r"version\s*:", line):
            out.append(f"branch: {branch}                      # the governed history\n")
    return "".join(out), notes


def _remotes_line(remotes: DvcRemotes, notes: list[str]) -> str:
    active = remotes.default
    if active is None and len(remotes.names) == 1:
        active = remotes.names[0]
    if active is None:
        notes.append("no DVC default remote: set one (dvc remote default NAME) and write "
                     "it under remotes.active")
        return ("# remotes: {active: REMOTE, archive: ARCHIVE}   "
                "# DVC remote names from .dvc/config\n")
    others = [n for n in remotes.names if n != active]
    archive = "archive" if "archive" in others else (others[0] if len(others) == 1 else None)
    if archive is not None:
        return f"remotes: {{active: {active}, archive: {archive}}}   # DVC remote names\n"
    notes.append("no second DVC remote for the archive: add one (dvc remote add archive "
                 "URL) and name it under remotes.archive")
    return (f"remotes:\n  active: {active}                # DVC's default remote\n"
            "  # archive: ARCHIVE              # a second DVC remote: dvc remote add archive URL\n")


def _rule_line(line: str, artifacts: Sequence[Artifact], notes: list[str]) -> str:
    m = _RULE.match(line.rstrip("\n"))
    assert m is not None
    globs = _items(m["paths"])
    types = _items(m["tlist"]) if m["types"] else []
    kind = "model" if any("model" in g for g in globs) else \
        "data" if any("data" in g for g in globs) else None
    newline = line[len(line.rstrip("\n")):]
    hits = [a for a in artifacts if any(glob_match(g, a.path) for g in globs)]
    if not hits and kind is not None:
        hits = [a for a in artifacts if kind_of(a) == kind]
        if not hits:
            notes.append(f"no {kind} artifact found yet: the rule for {', '.join(globs)} "
                         "matches nothing until one is added there")
            return line
        globs = _globs_for([a.path for a in hits])
    elif not hits:
        return line
    types_part = m["types"] or ""
    if types and not any(a.type in types for a in hits):
        types_part = ""  # none declares that type: the rule would match nothing again
    return f"{m['lead']}{_flow(globs)}{types_part}{m['rest']}{newline}"
