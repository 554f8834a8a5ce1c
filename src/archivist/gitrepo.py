"""Plain-git adapter: every git process archivist starts goes through here.

Argument lists only (never a shell), ``--`` before paths, and ``rev-parse --verify`` to
test refs. Blobs are read in bulk through one ``git cat-file --batch`` process.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from archivist.errors import GitError

# A hook runs with GIT_INDEX_FILE (and, in worktrees, GIT_DIR) set: they are kept on purpose
# so that `git` sees the same index and repository as the commit in progress.


def git(args: Sequence[str], cwd: Path | str, *, input: bytes | None = None,
        check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run ``git ARGS`` in ``cwd``; return stdout as text, or raise GitError with stderr."""
    return git_bytes(args, cwd, input=input, check=check, env=env).decode("utf-8", "replace")


def git_bytes(args: Sequence[str], cwd: Path | str, *, input: bytes | None = None,
              check: bool = True, env: dict[str, str] | None = None) -> bytes:
    full_env = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                              env=full_env, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", "install git") from None
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = message[-1] if message else f"exit {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {detail.removeprefix('fatal: ')}")
    return proc.stdout


def toplevel(start: Path | str = ".") -> Path | None:
    """The work tree root containing ``start``, or None outside a git repository."""
    try:
        out = git(["rev-parse", "--show-toplevel"], start)
    except GitError:
        return None
    return Path(out.strip())


def require_toplevel(start: Path | str = ".") -> Path:
    root = toplevel(start)
    if root is None:
        raise GitError(f"{Path(start).resolve()} is not inside a git repository",
                       "run archivist from a git checkout (git init)")
    return root


def resolve_commit(root: Path, ref: str) -> str:
    """Full SHA of ``ref`` as a commit, or a GitError naming the ref."""
    if ref.startswith("-"):
        raise GitError(f"{ref!r} is not a git revision")
    try:
        return git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
                   root).strip()
    except GitError:
        raise GitError(f"unknown git revision {ref!r}",
                       "fetch it first, or check the spelling (git rev-parse --verify)") from None


def current_branch(root: Path) -> str | None:
    out = git(["symbolic-ref", "--quiet", "--short", "HEAD"], root, check=False).strip()
    return out or None


def ls_files(root: Path, *, untracked: bool = True) -> list[str]:
    """Paths in the index, plus untracked files not ignored (as a user sees the tree)."""
    args = ["ls-files", "-z", "--cached"]
    if untracked:
        args += ["--others", "--exclude-standard"]
    out = git_bytes(args, root)
    seen: dict[str, None] = {}
    for raw in out.split(b"\0"):
        if raw:
            seen[raw.decode("utf-8", "surrogateescape")] = None
    return list(seen)


def ls_tree(root: Path, rev: str) -> list[str]:
    out = git_bytes(["ls-tree", "-r", "-z", "--name-only", "--full-tree", rev], root)
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def staged_files(root: Path) -> list[str]:
    """Paths added, copied or modified in the index against HEAD (what a commit adds)."""
    out = git_bytes(["diff", "--cached", "--name-only", "-z", "--no-renames",
                     "--diff-filter=ACMR"], root)
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


class CatFile:
    """One long-lived ``git cat-file --batch``: read many blobs at one process' cost."""

    def __init__(self, root: Path) -> None:
        self._proc = subprocess.Popen(
            ["git", "cat-file", "--batch"], cwd=root, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )

    def read(self, spec: str) -> bytes | None:
        """Content of ``spec`` (``sha``, ``rev:path``, ``:path``), None when missing."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        if "\n" in spec:
            return None
        self._proc.stdin.write(spec.encode("utf-8", "surrogateescape") + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline()
        if not header or header.endswith(b" missing\n") or header.endswith(b" ambiguous\n"):
            return None
        parts = header.split()
        kind, size = parts[1], int(parts[2])
        data = self._proc.stdout.read(size)
        self._proc.stdout.read(1)  # the newline after the content
        return data if kind == b"blob" else None

    def read_many(self, specs: Iterable[str]) -> dict[str, bytes | None]:
        return {spec: self.read(spec) for spec in specs}

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait()

    def __enter__(self) -> CatFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
