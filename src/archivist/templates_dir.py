"""Where the shipped templates are: inside the wheel, or beside the source in a checkout."""

from __future__ import annotations

from pathlib import Path

from archivist.errors import ConfigError


def templates_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent.parent / "templates"):
        if (candidate / "policies").is_dir():
            return candidate
    raise ConfigError("archivist's templates are missing from this installation",
                      "reinstall archivist")


def policy_templates() -> dict[str, Path]:
    return {p.stem: p for p in sorted((templates_dir() / "policies").glob("*.yaml"))}
