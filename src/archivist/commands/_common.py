"""Helpers shared by commands: finding the repository, turning user paths into repo paths."""

from __future__ import annotations

import argparse
import os
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


def formatter() -> type[argparse.HelpFormatter]:
    return argparse.RawDescriptionHelpFormatter
