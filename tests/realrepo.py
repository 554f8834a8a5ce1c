"""Helpers shared by every test: real git repositories, real DVC, the real CLI.

Tests import these from here (``from realrepo import Repo``), never from ``conftest``:
pytest loads several conftest modules under that one name, so ``conftest`` may be
another folder's by the time a test module is imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # Real git, but never the developer's own config or hooks.
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env.setdefault("GIT_AUTHOR_NAME", "Test Author")
    env.setdefault("GIT_AUTHOR_EMAIL", "author@example.com")
    env.setdefault("GIT_COMMITTER_NAME", "Test Author")
    env.setdefault("GIT_COMMITTER_EMAIL", "author@example.com")
    env["DVC_NO_ANALYTICS"] = "1"
    env["NO_COLOR"] = "1"
    env.pop("CI", None)
    if extra:
        env.update(extra)
    return env


def run(cmd: Sequence[str | Path], cwd: Path, *, check: bool = True,
        env: dict[str, str] | None = None, input: str | None = None,
        ) -> subprocess.CompletedProcess[str]:
    """Run a real program (git, dvc, archivist, pre-commit) and capture its output."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          env=_env(env), input=input, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def archivist(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
              input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``archivist`` console script, as a user runs it (never raises)."""
    return run([BIN / "archivist", *args], cwd, check=False, env=env, input=input)


class Repo:
    """A real git repository in a temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str, env: dict[str, str] | None = None, check: bool = True,
            ) -> subprocess.CompletedProcess[str]:
        return run(["git", *args], self.root, env=env, check=check)

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([BIN / "dvc", *args], self.root, check=check)

    def archivist(self, *args: str | Path, env: dict[str, str] | None = None,
                  ) -> subprocess.CompletedProcess[str]:
        return archivist(*args, cwd=self.root, env=env)

    def write(self, rel: str, content: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def commit(self, message: str, *paths: str, env: dict[str, str] | None = None,
               no_verify: bool = True) -> str:
        self.git("add", "--", *(paths or ["."]))
        args = ["commit", "-q", "-m", message]
        if no_verify:
            args.append("--no-verify")
        self.git(*args, env=env)
        return self.git("rev-parse", "HEAD").stdout.strip()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()


def have(program: str) -> bool:
    return shutil.which(program) is not None


def init_repo(root: Path) -> Repo:
    """``git init`` on branch main, with a test identity and a README (not committed)."""
    root.mkdir(parents=True, exist_ok=True)
    repo = Repo(root)
    repo.git("init", "-q", "-b", "main")
    repo.git("config", "user.name", "Test Author")
    repo.git("config", "user.email", "author@example.com")
    repo.git("config", "commit.gpgsign", "false")
    repo.write("README.md", "sample\n")
    return repo
