"""Policy globs: the documented meaning on any name, and no glob that can hang the gate."""

from __future__ import annotations

import subprocess
import sys
import time
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from archivist.globs import glob_match
from realrepo import Repo

PIECES = ["a", "b", ".", "/", "\n", " ", "*", "**", "**/", "?", "[ab]", "[!a]"]
NAME_CHARS = ["a", "b", ".", "/", "\n", " ", "\udc80", "é"]


def reference(pattern: str, path: str) -> bool:
    """The meaning, written the slow and obvious way: ``**/`` any folders (or none), ``**``
    anything, ``*`` anything but ``/``, ``?`` one character but ``/``, ``[...]`` one of
    (``[!...]`` none of), a trailing ``/`` everything below."""
    pattern = pattern.strip().lstrip("/")
    folder = pattern.endswith("/")
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        for piece in ("**/", "**"):
            if pattern.startswith(piece, i):
                tokens.append(piece)
                i += len(piece)
                break
        else:
            end = pattern.find("]", i + 1) if pattern[i] == "[" else -1
            tokens.append(pattern[i:end + 1] if end != -1 else pattern[i])
            i = end + 1 if end != -1 else i + 1

    @cache
    def at(t: int, p: int) -> bool:
        if t == len(tokens):
            return p == len(path) or folder
        token = tokens[t]
        if token == "**/":
            return at(t + 1, p) or any(at(t + 1, q + 1) for q in range(p, len(path))
                                       if path[q] == "/")
        if token == "**":
            return any(at(t + 1, q) for q in range(p, len(path) + 1))
        if token == "*":
            q = p
            while True:
                if at(t + 1, q):
                    return True
                if q == len(path) or path[q] == "/":
                    return False
                q += 1
        if p == len(path):
            return False
        if token == "?":
            return path[p] != "/" and at(t + 1, p + 1)
        if len(token) > 1:
            body = token[1:-1]  # plain characters only in PIECES: no ranges
            negate = body.startswith("!")
            inside = path[p] in body.removeprefix("!")
            return inside != negate and at(t + 1, p + 1)
        return path[p] == token and at(t + 1, p + 1)

    return at(0, 0)


@settings(max_examples=400, deadline=None, database=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join),
       st.lists(st.sampled_from(NAME_CHARS), max_size=10).map("".join))
def test_globs_mean_what_they_say(pattern: str, path: str) -> None:
    assert glob_match(pattern, path) == reference(pattern, path), (pattern, path)


def test_newlines_are_crossed_like_any_character() -> None:
    assert glob_match("models/**", "models/a.bin\nx")
    assert glob_match("models/*", "models/a.bin\nx")
    assert glob_match("models/**/*.pkl", "models/\n/x\n.pkl")
    assert glob_match("models/?", "models/\n")
    assert not glob_match("models/*", "models/a\n/b")  # * still stops at a folder


EVIL = [("**/**/**/**/**/**/**/**/x", "a/" * 2000 + "y"),
        ("*a*a*a*a*a*a*a*a*a*b", "a" * 20000),
        ("**a**a**a**a**a**a**b", "a" * 20000),
        ("**/x/**/y/**/z/**/w", "x/y/z/" * 3000),
        ("models/*/*/*/*.pkl", "models/" + "a" * 20000 + "/b/c/d.pk"),
        ("data/**/*.csv", "data/" + "a/" * 20000 + "b.cs")]


def test_no_glob_backtracks_without_bound() -> None:
    for pattern, path in EVIL:
        start = time.perf_counter()
        assert not glob_match(pattern, path)
        assert time.perf_counter() - start < 0.5, pattern


def test_the_gate_does_not_hang_on_a_hostile_glob_and_name(git_repo: Repo) -> None:
    """A policy glob that makes backtracking regexes exponential, and a committed name built
    to trigger it: the range check answers at once."""
    git_repo.write("archivist.yaml", 'version: 1\ntags:\n  - match: {paths: '
                   '["**/**/**/**/**/**/**/**/**/**/x.bin"]}\n    require: {owner: {}}\n')
    base = git_repo.commit("policy", "archivist.yaml")
    hostile = "a/" * 60 + "y.bin"
    git_repo.write(hostile, b"bytes")
    git_repo.commit("a deep name", hostile)
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "archivist", "check", "--from-ref", base],
                              cwd=git_repo.root, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("archivist check hung on a hostile glob") from None
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert time.perf_counter() - start < 30
    # And the rule still works: the same glob catches a model committed straight to git.
    git_repo.write("deep/er/x.bin", b"bytes")
    git_repo.commit("a covered file in git", "deep/er/x.bin")
    caught = subprocess.run([sys.executable, "-m", "archivist", "check", "--from-ref", base],
                            cwd=git_repo.root, capture_output=True, text=True, timeout=60)
    assert caught.returncode == 1 and "deep/er/x.bin: committed straight to git" in caught.stdout
