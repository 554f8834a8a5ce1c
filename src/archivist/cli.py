"""Command-line entry point: parse arguments, run one command, print, exit.

Each command lives in ``archivist/commands/<name>.py`` with ``register(subparsers)``,
which adds its parser and sets ``run``. Command modules import their heavy dependencies
(dvc, sigstore) inside ``run`` only, so that ``archivist check`` stays fast.

Exit codes: 0 ok, 1 policy violations or failed verification, 2 usage or configuration
error, 3 internal error (a bug: rerun with --debug), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from archivist import __version__
from archivist.commands._common import HelpFormatter
from archivist.errors import EXIT_INTERRUPTED, EXIT_USAGE, ArchivistError

EXIT_BUG = 3

# The order `archivist --help` lists them in; modules found beyond these come after.
COMMAND_ORDER = ("init", "check", "require-dvc", "tag", "ls", "plan", "lineage", "archive",
                 "restore", "dispose", "approve", "release", "verify", "push", "audit")

EPILOG = """\
exit codes: 0 ok, 1 policy violations or failed verification, 2 usage or
configuration error, 3 internal error (rerun with --debug), 130 interrupted.

Start with `archivist init`, then `archivist check --all`.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"archivist: error: {message} (see `{self.prog} --help`)\n")


def _command_modules() -> list[str]:
    import archivist.commands as pkg

    # A directory listing, not pkgutil: its import (with importlib.util) costs the hook
    # more than the listing itself.
    found = sorted({name.rsplit(".", 1)[0] for folder in pkg.__path__
                    for name in os.listdir(folder)
                    if name.endswith(".py") and not name.startswith("_")})
    order = {name.replace("-", "_"): i for i, name in enumerate(COMMAND_ORDER)}
    return sorted(found, key=lambda n: (order.get(n, len(order)), n))


def _named_command(argv: Sequence[str], modules: Sequence[str]) -> str | None:
    """The command module ``argv`` names, when that is plain without argparse.

    Only that module is then imported: every command's imports would otherwise be paid by
    each run of the others, and the pre-commit hook runs ``check`` on every commit. Any
    doubt (help, an abbreviated option, an unknown name) returns None: the full parser.
    """
    args = iter(argv)
    for arg in args:
        if arg == "-C":
            next(args, None)
        elif arg == "--debug" or (arg.startswith("-C") and len(arg) > 2):
            continue
        elif arg.startswith("-") or "_" in arg:
            return None
        else:
            name = arg.replace("-", "_")
            return name if name in modules else None
    return None


def _build_parser(modules: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="archivist",
        description="Git-native governance for ML artifacts tracked with DVC: metadata "
        "gates, signed releases, retention as code.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"archivist {__version__}")
    parser.add_argument("-C", dest="directory", metavar="DIR", type=Path,
                        help="run as if started in DIR (like git -C)")
    parser.add_argument("--debug", action="store_true",
                        help="print a traceback for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in modules:
        module = importlib.import_module(f"archivist.commands.{name}")
        module.register(sub)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (for help, docs and completion)."""
    return _build_parser(_command_modules())


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    modules = _command_modules()
    named = _named_command(argv, modules)
    parser = _build_parser([named] if named else modules)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.directory is not None:
            os.chdir(args.directory)
        return int(args.run(args) or 0)
    except ArchivistError as exc:
        sys.stdout.flush()
        hint = f" ({exc.hint})" if exc.hint else ""
        print(f"archivist: error: {exc.message}{hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("archivist: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader (head, less) went away: nothing left to say to it.
        sys.stderr.close()
        return 0
    except OSError as exc:
        if args.debug:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        print(f"archivist: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug: say so in one line, traceback only on request
        if args.debug:
            raise
        print(f"archivist: internal error: {type(exc).__name__}: {exc} "
              "(rerun with --debug for the traceback, and report it)", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
