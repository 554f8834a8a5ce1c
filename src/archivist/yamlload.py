"""Fast, safe YAML reading with line numbers, as DVC reads it.

DVC reads its files with ruamel.yaml's safe loader, which follows YAML 1.2's core schema:
``yes``/``no``/``on``/``off`` are strings, ``017`` is 17 and ``0o17`` is 15, ``1e3`` is a
float, ``1:30`` is a string (no base-60 numbers). PyYAML follows YAML 1.1 and reads all of
those differently, so the full reader (``yamlfull``: libyaml through PyYAML) swaps PyYAML's
resolvers and number constructors for ruamel's 1.2 ones (a document that says ``%YAML 1.1``
is read by 1.1 rules, as ruamel does). ruamel.yaml itself is ten times slower at reading,
so it is kept for round-trip edits only (see ``tagedit``). Like DVC, a mapping with the
same key twice is refused (PyYAML silently keeps the last one, while a reviewer reads the
first).

Mappings and sequences come back as ``LinedDict``/``LinedList``: plain containers that also
remember the 1-based line of each key or item, for messages like ``models/m.pkl.dvc:3: ...``.

The documents the pre-commit hook reads (a ``.dvc`` file as DVC writes it, a policy) are
nearly always the same few shapes: block mappings and sequences of simple keys, plain or
quoted one-line scalars, one-line flow collections, comments. ``load`` reads those line by
line here, without importing PyYAML (about 15 ms of every commit); at the first thing
outside that subset (an anchor, a tag, a multi-line scalar, a tab, a non-ASCII character, a
timestamp, a repeated key, anything odd or malformed) it hands the whole text to
``yamlfull``, so values, lines and error messages are the same either way
(``tests/test_yaml_lines.py`` holds the two readers to the same answers).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from archivist.errors import YAMLFileError

MAX_FILE_BYTES = 16 * 1024 * 1024


class LinedDict(dict):
    """A mapping that remembers where it and each of its keys stand (1-based lines)."""

    __slots__ = ("line", "lines")

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class LinedList(list):
    """A sequence that remembers where it and each of its items stand (1-based lines)."""

    __slots__ = ("line", "lines")

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


# ---------------------------------------------------------------- the YAML 1.2 core schema
# ruamel.yaml's VersionedResolver for 1.2 (what DVC's loader uses), regex for regex.

_RESOLVERS_12: tuple[tuple[str, str, str], ...] = (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("float", r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", "-+0123456789."),
    ("int", r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", "-+0123456789"),
    ("merge", r"^(?:<<)$", "<"),
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN\0"),
    ("timestamp", r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
        (?:[Tt]|[\ \t]+)[0-9][0-9]?
        :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
        (?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", "0123456789"),
    ("value", r"^(?:=)$", "="),
)


def _int_12(text: str) -> int:
    """ruamel's 1.2 integer: ``_`` separators, 0b/0o/0x prefixes, decimal otherwise."""
    digits = text.replace("_", "")
    sign = -1 if digits[0] == "-" else 1
    digits = digits.lstrip("+-")
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)


def _float_12(text: str) -> float:
    digits = text.replace("_", "").lower()
    sign = -1.0 if digits[0] == "-" else 1.0
    digits = digits.lstrip("+-")
    if digits == ".inf":
        return sign * float("inf")
    if digits == ".nan":
        return float("nan")
    return sign * float(digits)


def _null(text: str) -> None:
    return None


def _bool(text: str) -> bool:
    return text.lower() in ("true", "yes", "on", "y")


def decode(data: bytes, where: str) -> str:
    """UTF-8 text of ``data``, or a one-line error that names the byte offset."""
    if len(data) > MAX_FILE_BYTES:
        raise YAMLFileError(f"{where}: file is larger than {MAX_FILE_BYTES // 2**20} MiB",
                            "is this really a DVC or policy file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YAMLFileError(
            f"{where}: not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r})",
            "save the file as UTF-8",
        ) from None




# ---------------------------------------------------------------- the line reader
# Anything it does not read exactly as libyaml + the 1.2 schema would raises _Unsure, and
# the full reader takes the whole text. It never reports an error itself.

class _Unsure(Exception):
    """Outside the subset read here: the full reader decides."""


_BUILDERS = {"bool": _bool, "int": _int_12, "float": _float_12, "null": _null}
_PLAIN: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # first character -> resolvers
for _tag, _regexp, _first in _RESOLVERS_12:
    _compiled = re.compile(_regexp, re.X)
    for _char in _first:
        _PLAIN.setdefault("" if _char == "\0" else _char, []).append((_tag, _compiled))
del _tag, _regexp, _first, _compiled, _char

_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.\-/]*):(?: +|$)")  # a simple key and its colon
_UNSAFE = re.compile(r"[^\n\x20-\x7e]")  # tabs, CR, control and non-ASCII characters
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")  # a plain scalar may not start with these
_FLOW_END = frozenset(",]}")
_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_HEX = {"x": 2, "u": 4, "U": 8}
_plain_cache: dict[str, Any] = {}


def _resolve(text: str) -> Any:
    """An unquoted scalar as the 1.2 core schema reads it (a timestamp or ``<<``: unsure)."""
    try:
        return _plain_cache[text]
    except KeyError:
        pass
    value: Any = text
    for tag, regexp in _PLAIN.get(text[:1], ()):
        if regexp.match(text):
            build = _BUILDERS.get(tag)
            if build is None and tag == "timestamp" and len(text) == 10:
                build = _date  # 2027-12-31 (a time of day: the full reader)
            if build is None:
                raise _Unsure
            try:
                value = build(text)
            except (ValueError, OverflowError):
                raise _Unsure from None
            break
    if len(text) <= 64 and len(_plain_cache) < 4096:
        _plain_cache[text] = value
    return value


def _date(text: str) -> dt.date:
    return dt.date(int(text[:4]), int(text[5:7]), int(text[8:]))


def _plain_ok(text: str) -> bool:
    """A plain scalar's text that means only itself (not a key, comment or indicator)."""
    if not text or text[-1] == ":" or ": " in text or " #" in text:
        return False
    first = text[0]
    return first not in _INDICATORS or (first in "-?:" and len(text) > 1 and text[1] != " ")


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """The quoted scalar starting at ``text[pos]`` and the position after it (one line)."""
    quote = text[pos]
    out: list[str] = []
    i = pos + 1
    while True:
        end = text.find(quote, i) if quote == "'" else _next_of(text, i, '"\\')
        if end < 0:
            raise _Unsure  # continues on the next line: folded, read by the full reader
        out.append(text[i:end])
        if quote == "'":
            if text.startswith("''", end):
                out.append("'")
                i = end + 2
                continue
            return "".join(out), end + 1
        if text[end] == '"':
            return "".join(out), end + 1
        code = text[end + 1:end + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i = end + 2
        elif code in _HEX:
            digits = text[end + 2:end + 2 + _HEX[code]]
            if len(digits) != _HEX[code] or not all(c in "0123456789abcdefABCDEF"
                                                    for c in digits):
                raise _Unsure
            char = int(digits, 16)
            if 0xD800 <= char <= 0xDFFF or char > 0x10FFFF:
                raise _Unsure
            out.append(chr(char))
            i = end + 2 + _HEX[code]
        else:
            raise _Unsure


def _next_of(text: str, start: int, chars: str) -> int:
    found = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(found) if found else -1


def _rest_is_comment(text: str, pos: int) -> bool:
    rest = text[pos:]
    stripped = rest.lstrip(" ")
    return not stripped or (stripped[0] == "#" and len(stripped) < len(rest))


def _flow(text: str, pos: int, line: int) -> tuple[Any, int]:
    """The flow collection or scalar at ``text[pos]`` (one line) and the position after it."""
    while text.startswith(" ", pos):
        pos += 1
    char = text[pos:pos + 1]
    if char in ("[", "{"):
        mapping = char == "{"
        container: Any = LinedDict() if mapping else LinedList()
        container.line = line
        close = "}" if mapping else "]"
        pos += 1
        first = True
        while True:
            while text.startswith(" ", pos):
                pos += 1
            if text.startswith(close, pos):
                if not first and text[pos - 1:pos] == ",":
                    raise _Unsure  # a trailing comma
                return container, pos + 1
            if not first:
                if not text.startswith(",", pos):
                    raise _Unsure
                pos += 1
                while text.startswith(" ", pos):
                    pos += 1
                if text.startswith(close, pos):
                    raise _Unsure
            first = False
            if mapping:
                key, pos = _flow_plain(text, pos, key=True)
                if not text.startswith(": ", pos):
                    raise _Unsure
                if key in container:
                    raise _Unsure  # a repeated key: the full reader names both lines
                value, pos = _flow(text, pos + 2, line)
                container[key] = value
                container.lines[key] = line
            else:
                value, pos = _flow(text, pos, line)
                if text.startswith(":", pos):
                    raise _Unsure  # a single-pair mapping inside a sequence
                container.append(value)
                container.lines.append(line)
    if char in ("'", '"'):
        return _quoted(text, pos)
    return _flow_plain(text, pos, key=False)


def _flow_plain(text: str, pos: int, key: bool) -> tuple[Any, int]:
    end = pos
    while end < len(text) and text[end] not in _FLOW_END and text[end] not in "[{" and \
            not text.startswith(": ", end) and not (key and text.startswith(":", end)):
        end += 1
    raw = text[pos:end].rstrip(" ")
    if not _plain_ok(raw) or ":" in raw or raw[0] == "?" or \
            (end < len(text) and text[end] in "[{"):
        # in a flow, "?" always starts a key; libyaml versions differ on a colon inside
        raise _Unsure
    value = _resolve(raw)
    if key and not isinstance(value, str):
        raise _Unsure
    return value, pos + len(raw)


def _inline(text: str, line: int) -> Any:
    """The value written after ``key: `` or ``- `` on one line, a comment allowed after."""
    if text[0] in "[{'\"":
        value, end = _flow(text, 0, line)
        if not _rest_is_comment(text, end):
            raise _Unsure
        return value
    cut = text.find(" #")
    raw = (text[:cut] if cut >= 0 else text).rstrip(" ")
    if not _plain_ok(raw):
        raise _Unsure
    return _resolve(raw)


class _Lines:
    """The document's meaningful lines: (1-based number, indent, text without the indent)."""

    def __init__(self, text: str) -> None:
        self.items: list[tuple[int, int, str]] = []
        for number, raw in enumerate(text.split("\n"), 1):
            body = raw.lstrip(" ")
            if not body or body[0] == "#":
                continue
            if body.startswith(("---", "...", "%")) or len(body) > 1000:
                raise _Unsure  # document markers, directives; keys past libyaml's 1,024
            self.items.append((number, len(raw) - len(body), body.rstrip(" ")))
        self.at = 0

    def peek(self) -> tuple[int, int, str] | None:
        return self.items[self.at] if self.at < len(self.items) else None


def _is_item(body: str) -> bool:
    return body == "-" or body.startswith("- ")


def _block(lines: _Lines, indent: int) -> Any:
    here = lines.peek()
    assert here is not None
    return _sequence(lines, indent) if _is_item(here[2]) else _mapping(lines, indent)


def _after_scalar(lines: _Lines, indent: int) -> None:
    """A scalar ends its line: a deeper line next would continue it (or be an error)."""
    following = lines.peek()
    if following is not None and following[1] > indent:
        raise _Unsure


def _mapping(lines: _Lines, indent: int) -> LinedDict:
    mapping = LinedDict()
    mapping.line = lines.items[lines.at][0]
    while (here := lines.peek()) is not None and here[1] == indent:
        number, _, body = here
        if _is_item(body):
            raise _Unsure
        match = _KEY.match(body)
        if match is None:
            raise _Unsure
        key = _resolve(match.group(1))
        if not isinstance(key, str) or key in mapping:
            raise _Unsure
        rest = body[match.end():]
        lines.at += 1
        if rest and rest[0] != "#":
            mapping[key] = _inline(rest, number)
            _after_scalar(lines, indent)
        else:
            following = lines.peek()
            if following is not None and following[1] > indent:
                mapping[key] = _block(lines, following[1])
            elif following is not None and following[1] == indent and _is_item(following[2]):
                mapping[key] = _sequence(lines, indent)  # `outs:` then `- md5: ...`
            else:
                mapping[key] = None
        mapping.lines[key] = number
    return mapping


def _sequence(lines: _Lines, indent: int) -> LinedList:
    sequence = LinedList()
    sequence.line = lines.items[lines.at][0]
    while (here := lines.peek()) is not None and here[1] == indent and _is_item(here[2]):
        number, _, body = here
        rest = body[1:].lstrip(" ")
        if not rest or rest[0] == "#" or _is_item(rest):
            raise _Unsure  # an empty item, or a sequence in a sequence on one line
        column = indent + len(body) - len(rest)
        if _KEY.match(rest):
            # `- key: value`: a mapping whose keys stand at the column of the first one
            lines.items[lines.at] = (number, column, rest)
            value: Any = _mapping(lines, column)
            following = lines.peek()
            if following is not None and following[1] > indent:
                raise _Unsure
        else:
            lines.at += 1
            value = _inline(rest, number)
            _after_scalar(lines, indent)
        sequence.append(value)
        sequence.lines.append(number)
    return sequence


def _read_lines(text: str) -> Any:
    """The document read line by line; _Unsure when the full reader must decide."""
    if _UNSAFE.search(text):
        raise _Unsure
    lines = _Lines(text)
    first = lines.peek()
    if first is None:
        return None  # only comments and blank lines: an empty document
    value = _block(lines, first[1])
    if lines.peek() is not None:
        raise _Unsure  # a line at an indent that closes nothing open: malformed
    return value


def load(text: str | bytes, where: str) -> Any:
    """Parse one YAML document; raise ``YAMLFileError`` naming ``where`` and the line."""
    if isinstance(text, bytes):
        text = decode(text, where)
    try:
        return _read_lines(text)
    except (_Unsure, RecursionError):
        pass
    from archivist import yamlfull

    return yamlfull.load(text, where)


def reads_as_text(value: str) -> bool:
    """True when ``value`` written as a plain scalar reads back as this text under both YAML
    1.2 (DVC) and 1.1 (PyYAML and older tools): ``yes``, ``1:30``, ``0012345``, ``1e3`` do not.
    """
    from archivist import yamlfull

    return yamlfull.reads_as_text(value)
