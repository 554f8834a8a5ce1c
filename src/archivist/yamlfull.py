"""The full YAML reader: PyYAML with libyaml, under YAML 1.2's core schema (see ``yamlload``).

``yamlload.load`` reads the plain documents DVC writes without this module (the pre-commit
hook must not pay for PyYAML's import, about 15 ms); everything else comes here: anchors,
aliases, tags, merge keys, multi-line scalars, flow collections over several lines, YAML
1.1 documents, repeated keys and every syntax error, with its line.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml

from archivist.errors import YAMLFileError
from archivist.yamlload import (
    _RESOLVERS_12,
    LinedDict,
    LinedList,
    _bool,
    _float_12,
    _int_12,
    _null,
)

try:  # libyaml is in every PyYAML wheel; the pure-Python parser is the slow fallback.
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - only on source builds without libyaml
    _BaseLoader = yaml.SafeLoader

# Nodes that aliases add beyond those written in the file. Real files use a few anchors
# (shared stage defaults); an alias bomb ("billion laughs") adds billions. The file's own
# size is bounded by MAX_FILE_BYTES, not by a node count: a dvc.yaml with 100,000 outputs
# is large, not hostile.
MAX_ALIAS_EXPANSION = 100_000

_TAG = "tag:yaml.org,2002:"


class _BadValue(yaml.MarkedYAMLError):
    """A scalar the schema resolves to a type it cannot hold (``2027-02-30``)."""


class _DuplicateKey(yaml.MarkedYAMLError):
    """A mapping names the same key twice; ``first`` is the 1-based line of the first."""

    def __init__(self, key: Any, first: int, mark: Any) -> None:
        super().__init__(problem=f"duplicate key {key!r} (first on line {first})",
                         problem_mark=mark)


_SAFE = yaml.constructor.SafeConstructor()  # PyYAML's own builders, for what 1.2 shares


def _timestamp(text: str) -> dt.date | dt.datetime:
    return _SAFE.construct_yaml_timestamp(yaml.ScalarNode(_TAG + "timestamp", text))


def _int_11(text: str) -> int:
    return _SAFE.construct_yaml_int(yaml.ScalarNode(_TAG + "int", text))


def _float_11(text: str) -> float:
    return _SAFE.construct_yaml_float(yaml.ScalarNode(_TAG + "float", text))


# Plain scalars of these tags are built straight from their text, on both paths.
_SCALAR_12 = {_TAG + "null": _null, _TAG + "bool": _bool, _TAG + "int": _int_12,
              _TAG + "float": _float_12, _TAG + "timestamp": _timestamp}
_SCALAR_11 = {**_SCALAR_12, _TAG + "int": _int_11, _TAG + "float": _float_11}


def _scalar_constructor(build: Any) -> Any:
    def construct(loader: Any, node: yaml.ScalarNode) -> Any:
        text = loader.construct_scalar(node)
        try:
            return build(text)
        except (ValueError, OverflowError) as exc:
            # 2027-02-30, or an integer of 5,000 digits: DVC's own reader crashes on these.
            kind = node.tag.rpartition(":")[2]
            problem = f"{text!r} is not a valid date: {exc}" if kind == "timestamp" else \
                f"{text[:40]!r}... is too long for a number"
            raise _BadValue(problem=problem, problem_mark=node.start_mark) from None
    return construct


def _flatten(node: yaml.MappingNode) -> None:
    """Resolve ``<<`` merge keys as ruamel (DVC) does: merged pairs first, in an order where
    a later one wins; so a mapping's own keys beat what it merges, and in ``<<: [*a, *b]``
    ``*a`` beats ``*b``. The count of merged pairs stays on the node (``merged``), so that a
    repeated key is told from a merged one however often the node is merged elsewhere.
    (PyYAML keeps the first pair of each key instead, which loses to DVC on nested merges.)
    """
    merge: list[tuple[yaml.Node, yaml.Node]] = []
    index = 0
    while index < len(node.value):
        key_node, value_node = node.value[index]
        if key_node.tag == _TAG + "merge":
            if merge:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found a second merge key '<<'", key_node.start_mark)
            del node.value[index]
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) \
                else [value_node]
            for source in reversed(sources):
                if not isinstance(source, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"expected a mapping to merge, but found {source.id}",
                        source.start_mark)
                _flatten(source)
                merge.extend(source.value)
        else:
            if key_node.tag == _TAG + "value":
                key_node.tag = _TAG + "str"
            index += 1
    if merge:
        node.value = merge + node.value
        node.merged = len(merge)  # type: ignore[attr-defined]


def _construct_map(loader: Any, node: yaml.MappingNode):  # type: ignore[no-untyped-def]
    data = LinedDict()
    data.line = node.start_mark.line + 1
    yield data
    _flatten(node)
    merged = getattr(node, "merged", 0)  # merged pairs come first; written keys override
    for index, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=False)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "found an unhashable key", key_node.start_mark,
            ) from None
        if index >= merged and key in data and data.lines[key] is not None:
            raise _DuplicateKey(key, data.lines[key], key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=False)
        # a merged key's line is the anchor's: it may repeat, it is not written twice here
        data.lines[key] = key_node.start_mark.line + 1 if index >= merged else None
    for key, line in data.lines.items():
        if line is None:
            data.lines[key] = data.line


def _construct_seq(loader: Any, node: yaml.SequenceNode):  # type: ignore[no-untyped-def]
    data = LinedList()
    data.line = node.start_mark.line + 1
    yield data
    for child in node.value:
        data.append(loader.construct_object(child, deep=False))
        data.lines.append(child.start_mark.line + 1)


def _loader_class(name: str, resolvers: tuple[tuple[str, str, str], ...] | None,
                  scalars: dict[str, Any]) -> type:
    cls: type = type(name, (_BaseLoader,), {})
    if resolvers is not None:
        cls.yaml_implicit_resolvers = {}  # type: ignore[attr-defined]
        for tag, regexp, first in resolvers:
            cls.add_implicit_resolver(  # type: ignore[attr-defined]
                _TAG + tag, re.compile(regexp, re.X),
                [("" if c == "\0" else c) for c in first])
    cls.add_constructor(_TAG + "map", _construct_map)  # type: ignore[attr-defined]
    cls.add_constructor(_TAG + "seq", _construct_seq)  # type: ignore[attr-defined]
    for tag, build in scalars.items():
        cls.add_constructor(tag, _scalar_constructor(build))  # type: ignore[attr-defined]
    return cls


_Loader12 = _loader_class("_Loader12", _RESOLVERS_12, _SCALAR_12)
_Loader11 = _loader_class("_Loader11", None, _SCALAR_11)  # PyYAML's own resolvers are 1.1
_DECLARES_11 = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\n)*%YAML[ \t]+1\.1[ \t]*(?:#[^\n]*)?$",
                          re.M)


def _check_aliases(root: yaml.Node, where: str) -> None:
    """Refuse a node graph whose aliases add more than MAX_ALIAS_EXPANSION nodes, or loop.

    Each distinct node is visited once: the cost is the size of the file, never of the
    expansion.
    """
    sizes: dict[int, int] = {}  # node id -> nodes once every alias below it is expanded
    entered: set[int] = set()  # on the current path, not finished yet
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = [c for pair in node.value for c in pair] \
            if isinstance(node, yaml.MappingNode) else node.value
        if finished:
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            entered.discard(key)
            continue
        if key in sizes:
            continue
        entered.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in entered:
                raise YAMLFileError(f"{where}: YAML aliases refer to themselves",
                                    "remove the recursive '*alias'")
            if id(child) not in sizes:
                stack.append((child, False))
    if sizes[id(root)] - len(sizes) > MAX_ALIAS_EXPANSION:
        raise YAMLFileError(
            f"{where}: YAML aliases expand to more than {MAX_ALIAS_EXPANSION:,} nodes",
            "remove the nested '*alias' references (an alias bomb?)",
        )


# ---------------------------------------------------------------- the fast path
# PyYAML's constructor spends most of a load in its generic Python machinery (generators,
# per-node resolver walks). Nearly every document archivist reads (each .dvc file DVC
# writes, dvc.yaml, the policy) is plain mappings, sequences and untagged scalars: those are
# built straight from libyaml's events, three times faster. Anything else (an anchor, alias,
# explicit tag or merge key, a repeated key, several documents, a value that does not
# construct, a syntax error) returns _SLOW and goes through the full loader, so values,
# lines and error messages are the same either way.

try:
    from yaml.cyaml import CParser as _CParser
except ImportError:  # pragma: no cover - only on source builds without libyaml
    _CParser = None

_SLOW: Any = object()  # "use the full loader"
_NO_KEY: Any = object()  # an open mapping waits for its next key
_MAX_FAST_DEPTH = 100


class _Schema:
    """How plain scalars resolve under one YAML version, with a cache of common values."""

    def __init__(self, loader: type, scalars: dict[str, Any]) -> None:
        self.resolvers: dict[Any, list[tuple[str, Any]]] = \
            loader.yaml_implicit_resolvers  # type: ignore[attr-defined]
        self.scalars = scalars
        self.cache: dict[str, Any] = {}  # keys and common values recur in every .dvc file
        if None in self.resolvers:  # pragma: no cover - a wildcard resolver from a plugin
            raise RuntimeError("unexpected wildcard YAML resolver")

    def plain(self, value: str) -> Any:
        """An unquoted scalar as the full loader resolves it, or _SLOW for the rarer tags."""
        try:
            return self.cache[value]
        except KeyError:
            pass
        result = value
        for tag, regexp in self.resolvers.get(value[:1], ()):
            if regexp.match(value):
                build = self.scalars.get(tag)
                if build is None:
                    result = _SLOW
                else:
                    try:
                        result = build(value)
                    except (ValueError, OverflowError):
                        result = _SLOW  # the full loader reports it, with its line
                break
        if len(value) <= 64:  # names and enum-like values, not descriptions
            if len(self.cache) > 4096:
                self.cache.clear()
            self.cache[value] = result
        return result


_SCHEMA_12 = _Schema(_Loader12, _SCALAR_12)
_SCHEMA_11 = _Schema(_Loader11, _SCALAR_11)

def reads_as_text(value: str) -> bool:
    """True when ``value`` written as a plain scalar reads back as this text under both YAML
    1.2 (DVC) and 1.1 (PyYAML and older tools): ``yes``, ``1:30``, ``0012345``, ``1e3`` do not.
    """
    if value in ("y", "Y", "n", "N"):  # booleans in the YAML 1.1 spec, not in PyYAML
        return False
    for schema in (_SCHEMA_12, _SCHEMA_11):
        for _tag, regexp in schema.resolvers.get(value[:1], ()):
            if regexp.match(value):
                return False
    return True


_SCALAR, _MAP_START, _SEQ_START = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
_MAP_END, _SEQ_END, _DOC_END = yaml.MappingEndEvent, yaml.SequenceEndEvent, yaml.DocumentEndEvent


def _build(next_event: Any) -> Any:
    """The document from libyaml's events, as the full loader would construct it."""
    next_event()  # StreamStartEvent
    event = next_event()
    if type(event) is yaml.StreamEndEvent:
        return None
    if type(event) is not yaml.DocumentStartEvent:
        return _SLOW
    schema = _SCHEMA_11 if event.version == (1, 1) else _SCHEMA_12
    # Names bound locally: this loop runs once per YAML node of every file read.
    scalar, map_start, seq_start, map_end, seq_end = (
        _SCALAR, _MAP_START, _SEQ_START, _MAP_END, _SEQ_END)
    plain, slow, no_key, lined_list = schema.plain, _SLOW, _NO_KEY, LinedList
    stack: list[Any] = []  # open containers, innermost last
    pending: list[Any] = []  # per open container: (key, line) awaiting a value, or _NO_KEY
    parent: Any = None
    root: Any = slow
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
                try:
                    if value in parent:
                        return slow  # a repeated key: the full loader names both lines
                except TypeError:
                    return slow
                pending[-1] = (value, line)
            else:
                parent[key[0]] = value
                parent.lines[key[0]] = key[1]
                pending[-1] = no_key


def _fast_load(text: str) -> Any:
    if _CParser is None:
        return _SLOW
    try:
        return _build(_CParser(text).get_event)
    except Exception:  # a syntax error: the full loader reports it, with its line
        return _SLOW


def _full_load(text: str, where: str) -> Any:
    loader = (_Loader11 if _DECLARES_11.match(text) else _Loader12)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_aliases(node, where)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load(text: str, where: str) -> Any:
    """Parse one YAML document; raise ``YAMLFileError`` naming ``where`` and the line."""
    value = _fast_load(text)
    if value is not _SLOW:
        return value
    try:
        return _full_load(text, where)
    except (_BadValue, _DuplicateKey) as exc:
        line = f":{exc.problem_mark.line + 1}" if exc.problem_mark is not None else ""
        hint = "keep one of them: DVC refuses a repeated key" if isinstance(
            exc, _DuplicateKey) else "fix the value, or quote it to keep it as text"
        raise YAMLFileError(f"{where}{line}: {exc.problem}", hint) from None
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
