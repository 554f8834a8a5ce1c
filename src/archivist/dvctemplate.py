"""DVC's ``dvc.yaml`` templating, read as DVC reads it (dvc is not imported).

``vars:`` (inline mappings, and params files: ``params.yaml`` next to ``dvc.yaml`` by
default, then ``file``, ``file:key1,key2``), ``${a.b[0]}`` interpolation, ``foreach:``/
``do:`` stages (named ``stage@key``: the item itself for a list of scalars, its index for a
list of mappings or lists, the key for a mapping) and ``matrix:`` stages (named
``stage@v1-v2``, ``stage@name0`` for a mapping or list value), each with its own ``wdir``
and ``vars``. The rules follow ``dvc/parsing`` (DVC 3): a redefined variable is an error,
``item``/``key`` may not be redefined by a stage's ``vars``, only strings, numbers and
booleans go into a string (a mapping into ``cmd`` only, as ``--key value`` flags), and
``\\${`` is a literal ``${``.

Params files are read as YAML (any other suffix), JSON (``.json``) or TOML (``.toml``).
Python params files (``.py``), which DVC reads by evaluating their assignments, are refused
with a message rather than guessed at.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from itertools import product
from typing import Any

from archivist import yamlload
from archivist.errors import ArchivistError, ConfigError
from archivist.frozen import frozen

# json, shlex, copy and tomllib are imported where used: `archivist check` imports this
# module on every commit, and most pipelines are not templated.

DEFAULT_PARAMS_FILE = "params.yaml"
JOIN = "@"

# DVC's own pattern: ``${`` not preceded by a backslash, up to the first ``}``.
KEYCRE = re.compile(r"(?<!\\)\$\{(?P<inner>.*?)\}")
# DVC's grammar (pyparsing there): word ( "." word | "[" word "]" )*, word = no ".[]".
_EXPR = re.compile(r"[^.\[\]]+(?:\.[^.\[\]]+|\[[^.\[\]]+\])*")
_PRIMITIVES = (int, float, str, bytes, bool)

Reader = Callable[[str], "bytes | None"]


class TemplateError(Exception):
    """A template that DVC cannot resolve either (the message says what)."""


class _Node:
    """A value taken from the context whole (``foreach: ${models}``): DVC names stages
    from such values with ``str()``, and from written ones with its own ``to_str``."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _unwrap(value: Any) -> Any:
    if isinstance(value, _Node):
        return _unwrap(value.value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def has_template(value: Any) -> bool:
    """Whether any string (key or value) inside ``value`` contains ``${``."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, Mapping):
        return any(has_template(k) or has_template(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return False


def to_str(value: Any, config: Mapping[str, Any] | None = None) -> str:
    """DVC's ``to_str``: booleans as ``true``/``false``, mappings as ``--key value`` flags."""
    if isinstance(value, _Node):
        inner = value.value
        return to_str(inner, config) if isinstance(inner, dict) else str(inner)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _dict_to_flags(value, config or {})
    return str(value)


def _flat(d: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in d.items():
        if isinstance(value, Mapping) and value:
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _dict_to_flags(obj: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    import shlex

    result = ""
    for k, v in _flat(obj):
        if isinstance(v, bool):
            if v:
                result += f"--{k} "
            elif config.get("bool", "store_true") == "boolean_optional":
                result += f"--no-{k} "
        elif isinstance(v, str):
            result += f"--{k} {shlex.quote(v)} "
        elif isinstance(v, (list, tuple)):
            for n, i in enumerate(v):
                if isinstance(i, str):
                    i = shlex.quote(i)
                elif isinstance(i, (list, dict)):
                    raise TemplateError(f"cannot interpolate nested iterable in '{k}'")
                if config.get("list", "nargs") == "append":
                    result += f"--{k} {i} "
                else:
                    result += f"{i} " if n > 0 else f"--{k} {i} "
        else:
            result += f"--{k} {v} "
    return result.rstrip()


def parse_expr(inner: str) -> str:
    """``a.b[0]`` as the dotted key ``a.b.0``; TemplateError on bad syntax."""
    if not _EXPR.fullmatch(inner):
        raise TemplateError(f"bad expression ${{{inner}}}")
    return inner.replace("[", ".").replace("]", "")


def check_syntax(value: Any) -> None:
    """Every ``${...}`` inside ``value`` parses (DVC checks before resolving)."""
    if isinstance(value, str):
        for match in KEYCRE.finditer(value):
            parse_expr(match["inner"])
    elif isinstance(value, Mapping):
        for k, v in value.items():
            check_syntax(k)
            check_syntax(v)
    elif isinstance(value, list):
        for v in value:
            check_syntax(v)


def _convert(value: Any, where: str) -> Any:
    """A params value as DVC's context holds it: mappings keep string keys only."""
    if value is None or isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, dict):
        return {str(k): _convert(v, where) for k, v in value.items() if isinstance(k, str)}
    if isinstance(value, list):
        return [_convert(v, where) for v in value]
    raise TemplateError(f"unsupported value of type '{type(value).__name__}' in '{where}'")


def _merge(into: dict[str, Any], update: Mapping[str, Any], source: str) -> None:
    for key, val in update.items():
        if isinstance(into.get(key), dict) and isinstance(val, dict):
            _merge(into[key], val, source)
        elif key in into:
            raise TemplateError(f"cannot redefine '{key}' from '{source}' as it already "
                                "exists")
        else:
            into[key] = val


def load_params(data: bytes, path: str) -> Any:
    """A params file's content, by its suffix as DVC chooses the reader."""
    suffix = posixpath.splitext(path)[1].lower()
    if suffix == ".py":
        raise TemplateError(f"'{path}': Python params files are not read by archivist")
    try:
        if suffix == ".json":
            import json

            return json.loads(data.decode("utf-8"))
        if suffix == ".toml":
            import tomllib

            return tomllib.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TemplateError(f"'{path}' is not valid: {exc}") from None
    try:
        return yamlload.load(data, path)
    except ArchivistError as exc:
        raise TemplateError(str(exc)) from None


class Context:
    """The variables a stage is resolved with (DVC's ``Context``)."""

    def __init__(self, read: Reader) -> None:
        self.read = read
        self.data: dict[str, Any] = {}
        self.imports: dict[str, list[str] | None] = {}
        self.reserved: set[str] = set()

    def clone(self) -> Context:
        import copy

        new = Context(self.read)
        new.data = copy.deepcopy(self.data)
        new.imports = copy.deepcopy(self.imports)
        new.reserved = set(self.reserved)
        return new

    def _merge_update(self, update: Mapping[str, Any], source: str) -> None:
        clash = sorted(k for k in self.reserved if k in update)
        if clash:
            raise TemplateError(f"attempted to modify reserved key(s) {', '.join(clash)} "
                                f"in '{source}'")
        _merge(self.data, update, source)

    def merge_from(self, item: str, wdir: str) -> None:
        file, _, keys_str = item.partition(":")
        path = posixpath.normpath(posixpath.join(wdir, file))
        keys = [k for k in keys_str.split(",") if k] if keys_str else None
        if path in self.imports:
            imported = self.imports[path]
            if not keys and imported is None:
                return  # the same whole file twice is allowed
            if not keys and isinstance(imported, list):
                raise TemplateError(f"cannot load '{item}' as it's partially loaded already")
            if keys and imported is None:
                raise TemplateError(f"cannot partially load '{item}' as it's already loaded")
            if isinstance(imported, list) and keys and set(keys) & set(imported):
                raise TemplateError(f"cannot load '{item}' as it's partially loaded already")
        if path == ".." or path.startswith("../") or path.startswith("/"):
            raise TemplateError(f"'{path}' is outside the repository")
        raw = self.read(path)
        if raw is None:
            raise TemplateError(f"'{path}' does not exist")
        data = load_params(raw, path)
        if not isinstance(data, Mapping):
            raise TemplateError(f"expected a dictionary, got '{type(data).__name__}' in "
                                f"file '{path}'")
        if keys:
            missing = [k for k in keys if k not in data]
            if missing:
                raise TemplateError(f"could not find '{missing[0]}' in '{path}'")
            data = {k: data[k] for k in keys}
        self._merge_update(_convert(dict(data), path), item)
        if path not in self.imports:
            self.imports[path] = keys
        elif keys:
            self.imports[path] = [*(self.imports[path] or []), *keys]

    def load_vars(self, vars_: Any, wdir: str, stage: str = "",
                  default: str | None = None) -> None:
        if default is not None and self.read(posixpath.join(wdir, default)) is not None:
            self.merge_from(default, wdir)
        if not isinstance(vars_, list):
            raise TemplateError("'vars' must be a list")
        for index, item in enumerate(vars_):
            if isinstance(item, str):
                self.merge_from(item, wdir)
            elif isinstance(item, dict):
                source = f"{stage}{'.' if stage else ''}vars[{index}]"
                self._merge_update(_convert(item, source), source)
            else:
                raise TemplateError("each entry of 'vars' must be a file name or a mapping")

    def select(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            part = part.strip()
            try:
                if isinstance(node, _Node):
                    node = node.value
                if isinstance(node, dict):
                    node = node[part]
                elif isinstance(node, list):
                    node = node[int(part)]
                else:
                    raise KeyError(part)
            except (LookupError, ValueError):
                raise TemplateError(f"could not find '{key}'") from None
        return node

    def resolve(self, src: Any, key: str | None = None, unwrap: bool = True,
                config: Mapping[str, Any] | None = None) -> Any:
        if isinstance(src, dict):
            return {self.resolve(k, key, unwrap, config): self.resolve(v, key, unwrap, config)
                    for k, v in src.items()}
        if isinstance(src, list):
            return [self.resolve(v, key, unwrap, config) for v in src]
        if isinstance(src, str):
            return self.resolve_str(src, key, unwrap, config)
        return src

    def resolve_str(self, src: str, key: str | None = None, unwrap: bool = True,
                    config: Mapping[str, Any] | None = None) -> Any:
        matches = list(KEYCRE.finditer(src))
        if len(matches) == 1 and matches[0].group(0) == src:
            value = self.select(parse_expr(matches[0]["inner"]))
            _validate(_unwrap(value), key)
            return _unwrap(value) if unwrap else _Node(value)
        index, buf = 0, ""
        for match in matches:
            start, end = match.span(0)
            value = _unwrap(self.select(parse_expr(match["inner"])))
            _validate(value, key)
            buf += src[index:start] + to_str(value, config)
            index = end
        buf += src[index:]
        return buf.replace("\\${", "${")


def _validate(value: Any, key: str | None) -> None:
    if value is None or isinstance(value, _PRIMITIVES):
        return
    if key is not None and "foreach" not in key:
        if isinstance(value, dict) and key == "cmd":
            return
        raise TemplateError(f"cannot interpolate data of type '{type(value).__name__}'")


def _is_map_or_seq(value: Any) -> bool:
    if isinstance(value, _Node):
        value = value.value
    return isinstance(value, (dict, list))


@frozen
class Stage:
    """One stage as DVC runs it: its name, its definition with every ``${...}`` replaced,
    and the definition it came from (for line numbers)."""

    name: str
    definition: dict[str, Any]
    template: Mapping[str, Any]


class Resolver:
    """The stages of one ``dvc.yaml`` (``path``), with params read through ``read``."""

    def __init__(self, data: Mapping[str, Any], path: str, read: Reader) -> None:
        self.path = path
        self.wdir = posixpath.dirname(path)
        self.read = read
        self.vars = data.get("vars", [])
        self._context: Context | None = None

    @property
    def context(self) -> Context:
        if self._context is None:  # read params files only when a template needs them
            if has_template(self.vars):
                raise TemplateError("'vars': interpolating is not allowed")
            context = Context(self.read)
            context.load_vars(self.vars if self.vars is not None else [], self.wdir,
                              default=DEFAULT_PARAMS_FILE)
            self._context = context
        return self._context

    def stages(self, name: str, definition: Any) -> list[Stage]:
        """The stages one ``stages:`` entry makes (one, or one per foreach/matrix key)."""
        if not isinstance(definition, dict):
            raise TemplateError("a stage must be a mapping")
        if "matrix" in definition:
            return self._matrix(name, definition)
        if "foreach" in definition:
            return self._foreach(name, definition)
        if not has_template(definition) and "vars" not in definition:
            return [Stage(name, definition, definition)]
        check_syntax(definition)
        return [self._entry(name, definition, self.context)]

    def _entry(self, name: str, template: Mapping[str, Any], context: Context) -> Stage:
        definition = dict(template)
        wdir = self.wdir
        if definition.get("wdir"):
            wdir = posixpath.join(self.wdir, to_str(context.resolve_str(
                str(definition["wdir"]))))
        vars_ = definition.pop("vars", [])
        if vars_:
            if has_template(vars_):
                raise TemplateError(f"'stages.{name}.vars': interpolating is not allowed")
            context = context.clone()
            context.load_vars(vars_, posixpath.normpath(wdir) if wdir else "", stage=name)
        resolved = {key: _unwrap(context.resolve(value, key=key))
                    for key, value in definition.items()}
        return Stage(name, resolved, template)

    def _foreach(self, name: str, definition: Mapping[str, Any]) -> list[Stage]:
        if "do" not in definition:
            raise TemplateError("a foreach stage needs 'do:'")
        template = definition["do"]
        if not isinstance(template, dict):
            raise TemplateError("'do' must be a mapping")
        check_syntax(template)
        context = self.context
        data = definition["foreach"]
        check_syntax(data)
        iterable = context.resolve(data, unwrap=False)
        inner = iterable.value if isinstance(iterable, _Node) else iterable
        if not isinstance(inner, (dict, list)):
            raise TemplateError(f"'stages.{name}.foreach': expected list/dictionary, got "
                                f"{type(inner).__name__}")
        from_context = isinstance(iterable, _Node)
        keyed: dict[str, Any] = {}
        if isinstance(inner, dict):
            for k, v in inner.items():
                keyed[to_str(k)] = v
        elif any(_is_map_or_seq(v) for v in inner):
            keyed = {str(i): v for i, v in enumerate(inner)}
        else:
            for v in inner:
                keyed[str(v if not isinstance(v, _Node) else v.value) if from_context
                      or isinstance(v, _Node) else to_str(v)] = v
        stages = []
        for key, value in keyed.items():
            temp = {"item": value}
            if isinstance(inner, dict):
                temp["key"] = key
            stages.append(self._with_temp(f"{name}{JOIN}{key}", template, temp))
        return stages

    def _matrix(self, name: str, definition: Mapping[str, Any]) -> list[Stage]:
        template = {k: v for k, v in definition.items() if k != "matrix"}
        check_syntax(template)
        context = self.context
        check_syntax(definition["matrix"])
        resolved = context.resolve(definition["matrix"], unwrap=False)
        whole = isinstance(resolved, _Node)
        if whole:
            resolved = resolved.value
        if not isinstance(resolved, dict):
            raise TemplateError(f"'stages.{name}.matrix': expected a dictionary")
        axes: dict[str, list[tuple[int, Any]]] = {}
        for axis, values in resolved.items():
            taken = whole or isinstance(values, _Node)
            if isinstance(values, _Node):
                values = values.value
            if not isinstance(values, (list, str, dict)):
                raise TemplateError(f"'stages.{name}.matrix.{axis}': expected a list")
            # values taken from the context are named with str(), as DVC's nodes are
            axes[axis] = [(i, _Node(v) if taken else v) for i, v in enumerate(values)]
        stages = []
        for combination in product(*axes.values()):
            item: dict[str, Any] = {}
            fragments = []
            for axis, (i, v) in zip(axes, combination, strict=True):
                item[axis] = v
                fragments.append(f"{axis}{i}" if _is_map_or_seq(v) else to_str(v))
            key = "-".join(fragments)
            stages.append(self._with_temp(f"{name}{JOIN}{key}", template,
                                          {"key": key, "item": item}))
        return stages

    def _with_temp(self, name: str, template: Mapping[str, Any],
                   temp: dict[str, Any]) -> Stage:
        context = self.context.clone()
        for k, v in temp.items():
            context.data[k] = _unwrap(v)
        context.reserved.update(temp)
        return self._entry(name, template, context)


def resolve_error(path: str, line: int, what: str, exc: TemplateError) -> ConfigError:
    """The one line a user sees for a template DVC could not resolve either."""
    return ConfigError(f"{path}:{line}: {what}: {exc}",
                       "fix the template so that `dvc stage list --all` resolves it")
