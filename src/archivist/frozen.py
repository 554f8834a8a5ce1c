"""Frozen value classes for the hook path, without the import cost of ``dataclasses``.

``@frozen`` does what ``@dataclass(frozen=True)`` does for the plain records archivist
defines on the path of ``archivist check`` (policy, DVC outputs, violations): an
``__init__`` with the annotated fields in order and their defaults, ``__repr__``,
``__eq__`` and ``__hash__`` over the compared fields, and no assignment after
construction. It exists because the pre-commit hook pays for every import on each commit:
``import dataclasses`` brings ``inspect`` (with ``ast``, ``dis``, ``tokenize``), about
12 ms here, and each frozen dataclass then costs about 1 ms to create (six generated
methods, each compiled from source), against 0.1 ms for a class made here (one compiled
``__init__``).

The classes stay dataclasses to the rest of the code: ``dataclasses.fields``, ``replace``,
``asdict`` and ``is_dataclass`` work on them, through a ``__dataclass_fields__`` built on
first use (only then is ``dataclasses`` imported). Not supported, because nothing here
uses them: inheritance between records, ``order``, ``init=False``, ``__post_init__``.
Instances pickle as dataclass instances do (their ``__dict__``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_MISSING: Any = object()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record (as ``dataclasses.FrozenInstanceError``)."""


class _Spec:
    """What ``field()`` says about one field."""

    __slots__ = ("compare", "default", "factory", "repr")

    def __init__(self, default: Any = _MISSING, factory: Any = _MISSING, repr: bool = True,
                 compare: bool = True) -> None:
        self.default, self.factory, self.repr, self.compare = default, factory, repr, compare


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | Any = _MISSING,
          repr: bool = True, compare: bool = True) -> Any:
    """A field's default, factory, and whether repr and comparisons use it."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Spec(default, default_factory, repr, compare)


class _DataclassFields:
    """``__dataclass_fields__``, built the first time anything asks for it."""

    def __get__(self, obj: Any, owner: type) -> dict[str, Any]:
        fields = owner.__dict__.get("_frozen_dataclass_fields")
        if fields is None:
            import dataclasses

            specs: dict[str, _Spec] = owner.__dict__["_frozen_specs"]
            annotations = owner.__annotations__
            shadow = dataclasses.make_dataclass(owner.__name__, [
                (name, annotations[name], dataclasses.field(
                    default=spec.default if spec.default is not _MISSING else dataclasses.MISSING,
                    default_factory=spec.factory if spec.factory is not _MISSING
                    else dataclasses.MISSING,
                    repr=spec.repr, compare=spec.compare))
                for name, spec in specs.items()], frozen=True)
            fields = shadow.__dataclass_fields__  # type: ignore[attr-defined]
            type.__setattr__(owner, "_frozen_dataclass_fields", fields)
        return fields


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    if not names:
        return lambda obj: ()
    return operator.attrgetter(*names)  # type: ignore[return-value]


def _init_source(specs: dict[str, _Spec]) -> str:
    params, body = ["self"], ["    _d = self.__dict__"]
    for name, spec in specs.items():
        if spec.factory is not _MISSING:
            params.append(f"{name}=_MISSING")
            body.append(f"    _d[{name!r}] = _factory_{name}() if {name} is _MISSING else {name}")
        else:
            params.append(f"{name}=_default_{name}" if spec.default is not _MISSING else name)
            body.append(f"    _d[{name!r}] = {name}")
    return f"def __init__({', '.join(params)}) -> None:\n" + "\n".join(body) + "\n"


def frozen(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen record of its annotated fields (see the module's doc)."""
    annotations = cls.__annotations__  # records do not inherit
    specs: dict[str, _Spec] = {}
    seen_default = False
    for name in annotations:
        value = cls.__dict__.get(name, _MISSING)
        spec = value if isinstance(value, _Spec) else _Spec(default=value)
        has_default = spec.default is not _MISSING or spec.factory is not _MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {name!r} follows default argument")
        seen_default = seen_default or has_default
        specs[name] = spec
        if isinstance(value, _Spec):  # as dataclasses: the default stays, a field() goes
            if spec.default is not _MISSING:
                setattr(cls, name, spec.default)
            else:
                delattr(cls, name)
    namespace: dict[str, Any] = {"_MISSING": _MISSING}
    for name, spec in specs.items():
        namespace[f"_default_{name}"] = spec.default
        namespace[f"_factory_{name}"] = spec.factory
    exec(_init_source(specs), namespace)  # our own source, as dataclasses does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    shown = [n for n, s in specs.items() if s.repr]
    compared = _getter([n for n, s in specs.items() if s.compare])
    qualname = cls.__qualname__

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{qualname}({inner})"

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(compared(self))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self: Any, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    for method in (init, __repr__, __eq__, __hash__, __setattr__, __delattr__):
        if method is not init:
            method.__qualname__ = f"{qualname}.{method.__name__}"
        type.__setattr__(cls, method.__name__, method)
    type.__setattr__(cls, "_frozen_specs", specs)
    type.__setattr__(cls, "__match_args__", tuple(specs))
    type.__setattr__(cls, "__dataclass_fields__", _DataclassFields())
    return cls


def is_frozen(cls: Any) -> bool:
    """True for a class made by ``frozen`` (checked without importing ``dataclasses``)."""
    return isinstance(cls, type) and "_frozen_specs" in cls.__dict__


def field_names(cls: type) -> tuple[str, ...]:
    """The fields of a ``frozen`` class, in order."""
    return tuple(cls.__dict__["_frozen_specs"])


def replace(obj: T, **changes: Any) -> T:
    """A copy of ``obj`` with ``changes`` (``dataclasses.replace``, without its import)."""
    for name in field_names(type(obj)):
        if name not in changes:
            changes[name] = obj.__dict__[name]
    return type(obj)(**changes)


def as_dict(obj: Any) -> dict[str, Any]:
    """The fields of ``obj`` and their values, not copied (enough for flat records)."""
    return {name: obj.__dict__[name] for name in field_names(type(obj))}
