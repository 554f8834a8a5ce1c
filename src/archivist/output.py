"""Printing helpers for the CLI: tables for people, JSON for machines, colour on terminals."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from typing import Any, TextIO


def _default(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def print_json(data: Any, stream: TextIO | None = None) -> None:
    """One JSON document on stdout (dates as ISO strings, dataclasses as objects)."""
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
