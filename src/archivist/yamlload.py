"""Fast, safe YAML reading with line numbers (libyaml through PyYAML).

ruamel.yaml is ten times slower at reading, so it is kept for round-trip edits only
(see ``metadata``). Mappings and sequences come back as ``LinedDict``/``LinedList``: plain
containers that also remember the 1-based line of each key or item, for messages like
``models/m.pkl.dvc:3: ...``.
"""

from __future__ import annotations

from typing import Any

import yaml

from archivist.errors import YAMLFileError

try:  # libyaml is in every PyYAML wheel; the pure-Python parser is the slow fallback.
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - only on source builds without libyaml
    _BaseLoader = yaml.SafeLoader

# A DVC file holds tens of nodes; a policy a few hundred. Anything past this after alias
# expansion is an alias bomb ("billion laughs"), not a configuration.
MAX_EXPANDED_NODES = 200_000
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


class _LinedLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    pass


def _construct_map(loader: _LinedLoader, node: yaml.MappingNode):  # type: ignore[no-untyped-def]
    data = LinedDict()
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=False)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "found an unhashable key", key_node.start_mark,
            ) from None
        data[key] = loader.construct_object(value_node, deep=False)
        data.lines[key] = key_node.start_mark.line + 1


def _construct_seq(loader: _LinedLoader, node: yaml.SequenceNode):  # type: ignore[no-untyped-def]
    data = LinedList()
    data.line = node.start_mark.line + 1
    yield data
    for child in node.value:
        data.append(loader.construct_object(child, deep=False))
        data.lines.append(child.start_mark.line + 1)


_LinedLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LinedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def _check_expansion(value: Any, where: str) -> None:
    """Refuse documents whose aliases expand past MAX_EXPANDED_NODES, or loop."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(obj: Any) -> int:
        if not isinstance(obj, dict | list):
            return 1
        key = id(obj)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise YAMLFileError(f"{where}: YAML aliases refer to themselves",
                                "remove the recursive '*alias'")
        in_progress.add(key)
        children = obj.values() if isinstance(obj, dict) else obj
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_EXPANDED_NODES:
                raise YAMLFileError(
                    f"{where}: YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes",
                    "remove the nested '*alias' references (an alias bomb?)",
                )
        in_progress.discard(key)
        sizes[key] = total
        return total

    size(value)


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


# ---------------------------------------------------------------- the fast path
# PyYAML's constructor spends most of a load in its generic Python machinery (generators,
# per-node resolver walks). Nearly every document archivist reads (each .dvc file DVC
# writes, dvc.yaml, the policy) is plain mappings, sequences and untagged scalars: those are
# built straight from libyaml's events, three times faster. Anything else (an anchor, alias,
# explicit tag or merge key, several documents, an unusual scalar type, a syntax error)
# returns _SLOW and goes through the full loader, so values, lines and error messages are
# the same either way.

try:
    from yaml.cyaml import CParser as _CParser
except ImportError:  # pragma: no cover - only on source builds without libyaml
    _CParser = None

_SLOW: Any = object()  # "use the full loader"
_NO_KEY: Any = object()  # an open mapping waits for its next key
_MAX_FAST_DEPTH = 100
_RESOLVERS: dict[Any, list[tuple[str, Any]]] = _LinedLoader.yaml_implicit_resolvers
_SCALARS = yaml.constructor.SafeConstructor()
_FAST_TAGS = frozenset("tag:yaml.org,2002:" + t
                       for t in ("null", "bool", "int", "float", "timestamp"))
if None in _RESOLVERS:  # pragma: no cover - a wildcard resolver registered by some plugin
    _CParser = None


_plain_cache: dict[str, Any] = {}  # keys and common values recur in every .dvc file


def _plain_scalar(value: str) -> Any:
    """An unquoted scalar as SafeLoader resolves it, or _SLOW for the rarer types."""
    try:
        return _plain_cache[value]
    except KeyError:
        pass
    result = value
    for tag, regexp in _RESOLVERS.get(value[:1], ()):
        if regexp.match(value):
            result = _SCALARS.yaml_constructors[tag](_SCALARS, yaml.ScalarNode(tag, value)) \
                if tag in _FAST_TAGS else _SLOW
            break
    if len(value) <= 64:  # names and enum-like values, not descriptions
        if len(_plain_cache) > 4096:
            _plain_cache.clear()
        _plain_cache[value] = result
    return result


_SCALAR, _MAP_START, _SEQ_START = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
_MAP_END, _SEQ_END, _DOC_END = yaml.MappingEndEvent, yaml.SequenceEndEvent, yaml.DocumentEndEvent


def _build(next_event: Any) -> Any:
    """The document from libyaml's events, as ``_LinedLoader`` would construct it."""
    next_event()  # StreamStartEvent
    event = next_event()
    if type(event) is yaml.StreamEndEvent:
        return None
    if type(event) is not yaml.DocumentStartEvent:
        return _SLOW
    # Names bound locally: this loop runs once per YAML node of every file read.
    scalar, map_start, seq_start, map_end, seq_end = (
        _SCALAR, _MAP_START, _SEQ_START, _MAP_END, _SEQ_END)
    plain, slow, no_key, lined_list = _plain_scalar, _SLOW, _NO_KEY, LinedList
    stack: list[Any] = []  # open containers, innermost last
    pending: list[Any] = []  # per open container: (key, line) awaiting a value, or _NO_KEY
    parent: Any = None
    root: Any = slow
    nodes = 0
    while True:
        event = next_event()
        kind = type(event)
        if kind is scalar:
            if event.anchor is not None or event.tag is not None:
                return slow
            value = plain(event.value) if event.implicit[0] else event.value
            if value is slow:
                return slow
            line = event.start_mark.line + 1
        elif kind is map_start or kind is seq_start:
            if event.anchor is not None or event.tag is not None or \
                    len(stack) >= _MAX_FAST_DEPTH:
                return slow
            parent = LinedDict() if kind is map_start else lined_list()
            parent.line = event.start_mark.line + 1
            stack.append(parent)
            pending.append(no_key)
            continue
        elif kind is map_end or kind is seq_end:
            value = stack.pop()
            pending.pop()
            line = value.line
            parent = stack[-1] if stack else None
        elif kind is _DOC_END:
            return root if type(next_event()) is yaml.StreamEndEvent else slow
        else:  # an alias
            return slow
        nodes += 1
        if parent is None:
            root = value
        elif type(parent) is lined_list:
            parent.append(value)
            parent.lines.append(line)
        else:
            key = pending[-1]
            if key is no_key:
                if isinstance(value, dict | list):
                    return slow  # a complex key
                pending[-1] = (value, line)
            else:
                parent[key[0]] = value
                parent.lines[key[0]] = key[1]
                pending[-1] = no_key
        if nodes > MAX_EXPANDED_NODES:
            return slow  # the full loader says why


def _fast_load(text: str) -> Any:
    if _CParser is None:
        return _SLOW
    try:
        return _build(_CParser(text).get_event)
    except Exception:  # a syntax error: the full loader reports it, with its line
        return _SLOW


def load(text: str | bytes, where: str) -> Any:
    """Parse one YAML document; raise ``YAMLFileError`` naming ``where`` and the line."""
    if isinstance(text, bytes):
        text = decode(text, where)
    value = _fast_load(text)
    if value is not _SLOW:
        return value
    try:
        value = yaml.load(text, Loader=_LinedLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # At end of input (an unclosed bracket) the problem mark points past the last line;
        # the context mark shows where the unfinished construct began.
        if exc.context_mark is not None and mark is not None and \
                mark.line >= text.count("\n") and mark.line > exc.context_mark.line:
            mark = exc.context_mark
        last_line = max(1, len(text.splitlines()))
        line = f":{min(mark.line + 1, last_line)}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise YAMLFileError(f"{where}{line}: malformed YAML: {problem}",
                            "fix the syntax at that line") from None
    except yaml.YAMLError as exc:
        raise YAMLFileError(f"{where}: malformed YAML: {exc}", "fix the syntax") from None
    except RecursionError:
        raise YAMLFileError(f"{where}: YAML nested too deeply", "flatten the file") from None
    _check_expansion(value, where)
    return value
