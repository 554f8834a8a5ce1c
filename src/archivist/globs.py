"""Path globs with ``**``, as policy rules write them (``models/**``, ``data/*.csv``).

A glob matches file names as git stores them, whatever bytes they hold: ``*``, ``?`` and
``**`` cross any character (a newline too: DVC tracks ``models/a.bin\nx``, and a rule that
missed it would be a way round the gate); only ``*`` and ``?`` stop at ``/``.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Regex for a repo-relative glob: ``*`` and ``?`` stay in one folder, ``**`` crosses.

    Compiled with ``re.DOTALL``, so ``.`` (what ``**`` becomes) takes a newline too.
    """
    pattern = pattern.strip().lstrip("/")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(pattern[i]))
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    # "models/**" also matches "models" itself only through the explicit "**" branch above;
    # a pattern naming a folder ("models/") matches everything below it.
    if pattern.endswith("/"):
        out.append(".*")
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def glob_match(pattern: str, path: str) -> bool:
    """True when the repo-relative posix ``path`` matches ``pattern``."""
    return compile_glob(pattern).match(path) is not None
