"""How archivist gets installed: the Makefile's choice of Python, and the commit the
pre-commit snippet of `archivist init` pins."""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

import pytest
import yaml

from realrepo import PROJECT, init_repo, run


def _fake(folder: Path, name: str, works: bool) -> None:
    """A python on PATH: the real one, or one that fails as a pyenv shim of a version that
    is not selected does (or as a Python older than 3.11 fails the version check)."""
    path = folder / name
    if works:
        path.symlink_to(sys.executable)
    else:
        path.write_text("#!/bin/sh\necho \"pyenv: $0: command not found\" >&2\nexit 127\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _make(tmp_path: Path, fakes: dict[str, bool], *args: str) -> tuple[int, str]:
    folder = tmp_path / "bin"
    folder.mkdir(parents=True)
    for name, works in fakes.items():
        _fake(folder, name, works)
    env = {"PATH": f"{folder}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    proc = run(["make", "--no-print-directory", "-n", "install", f"VENV={tmp_path / 'venv'}",
                *args], PROJECT, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.skipif(not Path("/usr/bin/make").exists() and not Path("/bin/make").exists(),
                    reason="make is not installed")
def test_make_picks_the_newest_python_that_runs(tmp_path: Path) -> None:
    code, out = _make(tmp_path, {"python3.13": False, "python3.12": True, "python3.11": True,
                                 "python3": True})
    assert code == 0, out
    assert re.search(r"^python3\.12 -m venv ", out, re.M), out


@pytest.mark.skipif(not Path("/usr/bin/make").exists() and not Path("/bin/make").exists(),
                    reason="make is not installed")
def test_make_without_a_usable_python_says_so_in_one_line(tmp_path: Path) -> None:
    code, out = _make(tmp_path, {"python3.13": False, "python3.12": False,
                                 "python3.11": False, "python3": False})
    assert code == 2
    lines = out.strip().splitlines()
    assert len(lines) == 1 and "no Python 3.11 or newer" in lines[0], out
    assert "PYTHON=" in lines[0]


@pytest.mark.skipif(not Path("/usr/bin/make").exists() and not Path("/bin/make").exists(),
                    reason="make is not installed")
def test_make_takes_the_python_it_is_given(tmp_path: Path) -> None:
    code, out = _make(tmp_path, {"python3.13": True}, f"PYTHON={sys.executable}")
    assert code == 0, out
    assert f"{sys.executable} -m venv " in out
    code, out = _make(tmp_path / "old", {"old-python": False}, "PYTHON=old-python")
    assert code == 2 and "tried old-python" in out


def test_init_pins_a_commit_that_exists(tmp_path: Path) -> None:
    from archivist.commands.init import installed_source

    repo = init_repo(tmp_path / "repo")
    repo.dvc("init", "-q")  # init writes its policy in a DVC repository only
    proc = run([Path(sys.executable).parent / "archivist", "init", "--json"], repo.root)
    snippet = yaml.safe_load(__import__("json").loads(proc.stdout)["pre_commit_config"])
    entry = snippet["repos"][0]
    assert {h["id"] for h in entry["hooks"]} == {"archivist-check", "archivist-require-dvc"}
    source = installed_source()
    if source is None:
        # pip recorded no origin: the placeholder, and the comment saying what goes there
        assert entry["rev"] == "0" * 40
        return
    where, sha = source
    assert (entry["repo"], entry["rev"]) == (where, sha)
    assert re.fullmatch(r"[0-9a-f]{40}", sha)
    if Path(where).is_dir():  # a local checkout: the commit is there
        run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], Path(where))
