"""``frozen`` records behave as ``dataclass(frozen=True)`` does, for what archivist uses."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from typing import Any

import pytest

from archivist.dvcfiles import Artifact, Version
from archivist.frozen import FrozenInstanceError, field, field_names, frozen, is_frozen, replace


@frozen
class Point:
    x: int
    y: int = 0
    tags: dict[str, Any] = field(default_factory=dict)
    note: str = field(default="", repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class DataPoint:
    x: int
    y: int = 0
    tags: dict[str, Any] = dataclasses.field(default_factory=dict)
    note: str = dataclasses.field(default="", repr=False, compare=False)


def test_construction_repr_eq_hash_as_a_dataclass() -> None:
    for cls in (Point, DataPoint):
        p = cls(1, y=2, note="n")
        assert (p.x, p.y, p.tags, p.note) == (1, 2, {}, "n")
        assert cls(1).tags is not cls(1).tags  # one factory call per instance
        assert p == cls(1, 2, {}, "other note")  # note is not compared
        assert p != cls(1, 3)
        with pytest.raises(TypeError):
            hash(p)  # a dict field: unhashable, as the dataclass is
        assert cls.y == 0 and not hasattr(cls, "tags")
        with pytest.raises(TypeError):
            cls()  # type: ignore[call-arg]
        with pytest.raises(AttributeError):
            p.x = 5  # type: ignore[misc]
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags={})"
    assert repr(DataPoint(1, 2)).endswith("DataPoint(x=1, y=2, tags={})")
    with pytest.raises(FrozenInstanceError):
        Point(1).y = 1  # type: ignore[misc]
    assert Point(1) != DataPoint(1) and Point(1) != (1, 0, {})
    assert hash(Version("md5", "0" * 32, 5)) == hash(("md5", "0" * 32, 5, None))


def test_dataclasses_functions_work_on_records() -> None:
    p = Point(1, 2, {"a": 1}, "n")
    assert dataclasses.is_dataclass(p) and dataclasses.is_dataclass(Point)
    assert [f.name for f in dataclasses.fields(Point)] == ["x", "y", "tags", "note"]
    assert dataclasses.asdict(p) == {"x": 1, "y": 2, "tags": {"a": 1}, "note": "n"}
    assert dataclasses.replace(p, y=5) == Point(1, 5, {"a": 1})
    assert replace(p, y=5) == Point(1, 5, {"a": 1}) and replace(p, y=5).note == "n"
    assert field_names(Artifact) == tuple(f.name for f in dataclasses.fields(Artifact))
    assert is_frozen(Artifact) and not is_frozen(DataPoint) and not is_frozen(p)


def test_records_pickle_and_nest() -> None:
    a = Artifact("m.pkl", "m.pkl.dvc", 2, "m.pkl.dvc", 2, meta={"owner": "ana"},
                 version=Version("md5", "0" * 32, 5))
    back = pickle.loads(pickle.dumps(a))
    assert back == a and back.version == a.version and back.meta == {"owner": "ana"}
    assert dataclasses.asdict(a)["version"] == {"algorithm": "md5", "digest": "0" * 32,
                                                "size": 5, "nfiles": None}


def test_a_default_before_a_required_field_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b'"):
        @frozen
        class Bad:
            a: int = 0
            b: int


def test_the_hook_path_imports_no_dataclasses() -> None:
    code = ("import sys\nimport archivist.cli, archivist.commands.check\n"
            "print([m for m in ('dataclasses', 'inspect') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
