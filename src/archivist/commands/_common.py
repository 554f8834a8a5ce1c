"""Helpers shared by commands: finding the repository, turning user paths into repo paths."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from archivist import gitrepo
from archivist.errors import UsageError


def repo_root() -> Path:
    """The git work tree archivist runs in."""
    return gitrepo.require_toplevel(Path.cwd())


def to_repo_path(root: Path, user_path: str) -> str:
    """A path as the user typed it (relative to the cwd) as a repo-relative posix path."""
    absolute = Path(os.path.abspath(user_path))
    try:
        rel = absolute.relative_to(root)
    except ValueError:
        raise UsageError(f"{user_path}: is outside the repository {root}",
                         "give paths inside the repository") from None
    text = rel.as_posix()
    return "" if text == "." else text


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for machines")


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing ``shutil``.

    argparse imports ``shutil`` (and with it ``bz2`` and ``lzma``, 2-3 ms) to size its help
    the first time an option is added, on every run of every command; the pre-commit hook
    never prints help. Same answer: ``COLUMNS``, else stdout's terminal, else 80.
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's raw-description formatter, told its width (see ``terminal_columns``)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)


def formatter() -> type[argparse.HelpFormatter]:
    return HelpFormatter
