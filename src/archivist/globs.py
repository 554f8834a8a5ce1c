"""Path globs with ``**``, as policy rules write them (``models/**``, ``data/*.csv``).

A glob matches file names as git stores them, whatever bytes they hold: ``*``, ``?`` and
``**`` cross any character (a newline too: DVC tracks ``models/a.bin\\nx``, and a rule that
missed it would be a way round the gate); only ``*`` and ``?`` stop at ``/``.

Matching never hangs, whatever the glob and however long the path (git allows any length,
and the range check reads names from commits nobody reviewed yet). A glob whose wildcards
cannot compete for the same characters (at most one ``**`` in all, at most one ``*`` in
each folder name) backtracks at most linearly, and runs on Python's ``re``, the fastest
here; any other (``**/x/**``, ``*a*b``) runs on RE2, whose time is linear by design: on
``re``, ``**/**/**/**/**/**/**/**/x`` took 12 s against a 40-folder path.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Protocol


class GlobMatcher(Protocol):
    def match(self, path: str) -> Any:
        """A match object when the whole ``path`` matches, else None."""


# Neighbours that mean what one of them means alone (``(?:.*/)?.*`` is ``.*``).
_MERGED = {("**/", "**/"): "**/", ("**/", "**"): "**", ("**", "**/"): "**",
           ("**", "**"): "**", ("**", "*"): "**", ("*", "**"): "**"}


def _tokens(pattern: str) -> list[str]:
    """The glob's pieces: ``**/``, ``**``, ``*``, ``?``, ``[...]`` or one plain character;
    neighbouring wildcards that mean no more than one of them are merged into it."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            token, i = "**/", i + 3
        elif pattern.startswith("**", i):
            token, i = "**", i + 2
        elif pattern[i] == "[" and (end := pattern.find("]", i + 1)) != -1:
            token, i = pattern[i:end + 1], end + 1
        else:
            token, i = pattern[i], i + 1
        while out and (out[-1], token) in _MERGED:
            token = _MERGED[(out.pop(), token)]
        out.append(token)
    return out


def _is_linear_on_re(tokens: list[str]) -> bool:
    """At most one ``**`` in all and one ``*`` per folder name: nothing to backtrack over."""
    if sum(t in ("**/", "**") for t in tokens) > 1:
        return False
    stars = 0
    for token in tokens:
        if token in ("/", "**/"):
            stars = 0
        elif token in ("*", "**"):
            stars += 1
            if stars > 1:
                return False
    return True


def _regex(tokens: list[str], folder: bool, end: str) -> str:
    out: list[str] = []
    for token in tokens:
        if token == "**/":
            out.append("(?:.*/)?")
        elif token == "**":
            out.append(".*")
        elif token == "*":
            out.append("[^/]*")
        elif token == "?":
            out.append("[^/]")
        elif len(token) > 1:  # a [class]
            body = token[1:-1].replace("\\", "\\\\")
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
        else:
            out.append(re.escape(token))
    # "models/**" also matches "models" itself only through the explicit "**" branch above;
    # a pattern naming a folder ("models/") matches everything below it.
    if folder:
        out.append(".*")
    return "".join(out) + end


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> GlobMatcher:
    """Matcher for a repo-relative glob: ``*`` and ``?`` stay in one folder, ``**`` crosses.

    Dot-all semantics on either engine, so ``.`` (what ``**`` becomes) takes a newline.
    """
    pattern = pattern.strip().lstrip("/")
    tokens = _tokens(pattern)
    folder = pattern.endswith("/")
    if _is_linear_on_re(tokens):
        return re.compile(_regex(tokens, folder, r"\Z"), re.DOTALL)
    import re2  # only for globs whose wildcards compete (rare): 2-7 ms

    return _Re2Glob(re2.compile("(?s)" + _regex(tokens, folder, r"\z")))


class _Re2Glob:
    """An RE2 matcher that also takes names git holds in no valid UTF-8."""

    __slots__ = ("_compiled",)

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled

    def match(self, path: str) -> Any:
        try:
            return self._compiled.match(path)
        except UnicodeEncodeError:
            # A byte that is not UTF-8 (read with surrogateescape) is one character to
            # ``re``; U+FFFD stands in for it, one for one (no glob can name either).
            return self._compiled.match(
                path.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def glob_match(pattern: str, path: str) -> bool:
    """True when the repo-relative posix ``path`` matches ``pattern``."""
    return compile_glob(pattern).match(path) is not None
