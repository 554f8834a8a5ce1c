"""The one exception family archivist raises for things a user can act on.

The core raises these with a message (what went wrong, where) and a hint (how to fix it);
the CLI catches them once and prints a single line. Anything else is a bug and prints a
traceback only under ``--debug``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ArchivistError(Exception):
    """An error the user can fix; ``exit_code`` says how the process ends."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class UsageError(ArchivistError):
    """Bad command-line arguments."""


class ConfigError(ArchivistError):
    """The policy, a DVC file or the repository setup is not usable as it stands."""


class YAMLFileError(ConfigError):
    """A YAML file could not be read: syntax, encoding, size or alias expansion."""


class GitError(ConfigError):
    """git refused a command archivist needed (not a repository, unknown ref...)."""


class IntegrityError(ArchivistError):
    """Content does not match the hash or signature that vouches for it."""

    exit_code = EXIT_VIOLATIONS


class MissingDependency(ConfigError):
    """An optional dependency (dvc, sigstore...) is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"this command needs {package}, which is not installed",
            f"pip install 'archivist[{extra}]'",
        )
