"""Printing helpers for the CLI: tables for people, JSON for machines, colour on terminals."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the gate's types, for the renderers below (no import at run time)
    from archivist.gate.check import GateResult


def _default(value: Any) -> Any:
    from dataclasses import asdict, is_dataclass  # only when JSON is printed

    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def print_json(data: Any, stream: TextIO | None = None) -> None:
    """One JSON document on stdout (dates as ISO strings, dataclasses as objects)."""
    import json  # only when JSON is asked for: a clean hook run never pays for it

    stream = stream or sys.stdout
    # One write: json.dump writes token by token, which an unbuffered stdout
    # (PYTHONUNBUFFERED) turns into one system call each.
    stream.write(json.dumps(data, indent=2, default=_default, ensure_ascii=False) + "\n")


def use_color(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def paint(text: str, color: str, stream: TextIO | None = None) -> str:
    codes = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2"}
    if not use_color(stream):
        return text
    return f"\033[{codes[color]}m{text}\033[0m"


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str],
          stream: TextIO | None = None) -> None:
    """A plain aligned table; the last column is never padded."""
    stream = stream or sys.stdout
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r]
                                           for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(widths[i]) if i < len(row) - 1 else c
                         for i, c in enumerate(row))
        stream.write((paint(line, "bold", stream) if n == 0 else line).rstrip() + "\n")


def is_interactive(stream: TextIO | None = None) -> bool:
    """Progress bars only on a terminal, and never in CI."""
    stream = stream or sys.stderr
    if os.environ.get("CI"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def human_bytes(n: int | None) -> str:
    """``1.5 MiB``; ``-`` when the size is not known."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


# Control characters a file name may hold (git allows all but NUL and "/"), printed as
# escapes: a name with a newline must not split a finding, or fake a line of its own.
_CONTROL = {i: f"\\x{i:02x}" for i in range(32)} | {10: "\\n", 9: "\\t", 13: "\\r", 127: "\\x7f"}


def printable(text: str) -> str:
    """``text`` with control characters as escapes (``a.bin\\nx``), for one-line output."""
    return text.translate(_CONTROL) if not text.isprintable() else text


# ---------------------------------------------------------------- the gate (check, require-dvc)


def render_violations(result: GateResult, stream: TextIO | None = None) -> None:
    """One line per problem; after each artifact's lines, the one command that fixes them."""
    stream = stream or sys.stdout
    groups: dict[tuple[str | None, str], list[Any]] = {}
    for v in result.violations:
        groups.setdefault((v.commit, v.artifact), []).append(v)
    for items in groups.values():
        for v in items:
            stream.write(paint(printable(v.render()), "red", stream) + "\n")
        stream.write(f"  fix: {printable(items[-1].fix)}\n")
    for f in result.authority:  # who signed what, under the policy at the parent
        stream.write(paint(printable(f.render()), "red", stream) + "\n")
        stream.write(f"  signer: {printable(f.signer or 'none')}; rule: {printable(f.rule)}\n")
        stream.write(f"  fix: {printable(f.fix)}\n")


def render_warnings(result: GateResult, stream: TextIO | None = None) -> None:
    """Warnings on stderr: they inform, and never change the exit code."""
    stream = stream or sys.stderr
    for line in result.warnings:
        stream.write(paint(f"archivist: warning: {printable(line)}", "yellow", stream) + "\n")


def gate_summary(result: GateResult) -> str:
    """The closing line of ``archivist check``."""
    scope = f"{result.artifacts_checked} artifact(s)"
    if result.commits_checked:
        scope += f" in {result.commits_checked} commit(s)"
    if result.authority_enforced:
        scope += ", signatures and roles"
    if result.ok:
        return f"archivist: {scope} checked, all comply"
    artifacts = len({(v.commit, v.artifact) for v in result.violations})
    authority = (f", {len(result.authority)} authority finding(s)" if result.authority
                 else "")
    return (f"archivist: {len(result.violations)} violation(s) in {artifacts} artifact(s)"
            f"{authority}; {scope} checked")


def gate_json(result: GateResult) -> dict[str, Any]:
    """``archivist check --json`` (``authority`` only where a commit was judged by it)."""
    out = {
        "ok": result.ok,
        "artifacts_checked": result.artifacts_checked,
        "commits_checked": result.commits_checked,
        "violations": [v.as_dict() for v in result.violations],
        "warnings": list(result.warnings),
    }
    if result.authority_enforced or result.authority:
        out["authority"] = [f.as_dict() for f in result.authority]
    return out


def require_dvc_summary(result: GateResult) -> str | None:
    """The closing line of ``archivist require-dvc`` (None when all is well)."""
    if result.ok:
        return None
    return (f"archivist: {len(result.violations)} of {result.files_checked} file(s) belong "
            "in DVC, not git")


def require_dvc_json(result: GateResult) -> dict[str, Any]:
    return {"ok": result.ok, "files_checked": result.files_checked,
            "violations": [v.as_dict() for v in result.violations]}
