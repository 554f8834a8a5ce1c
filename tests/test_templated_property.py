"""``${...}`` interpolation: archivist's reading against DVC's own ``Context`` on random
variables and templates (both give the same value, or both refuse)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivist import dvctemplate

KEYS = st.sampled_from(["a", "b", "model", "lr", "item", "x y"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5),
                    st.sampled_from([0.5, 1.0, 2.5e-3]), st.sampled_from(["s", "m", "", "a b"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)), max_leaves=8)
CONTEXTS = st.dictionaries(KEYS, VALUES, max_size=4)
REFS = st.lists(st.one_of(KEYS, st.sampled_from(["0", "1", "-1", " 0 ", "9"])),
                min_size=1, max_size=3)


@st.composite
def expressions(draw: Any) -> str:
    parts = draw(REFS)
    expr = parts[0]
    for part in parts[1:]:
        expr += draw(st.sampled_from([f".{part}", f"[{part}]"]))
    return draw(st.sampled_from([expr, expr, "a..b", "", "a[0", "a]"]))


@st.composite
def templates(draw: Any) -> str:
    pieces = draw(st.lists(st.one_of(
        st.sampled_from(["models/", ".pkl", "-", "\\${esc}", " "]),
        expressions().map(lambda e: "${" + e + "}")), min_size=1, max_size=4))
    return "".join(pieces)


def dvc_resolve(data: dict[str, Any], template: str, key: str | None) -> tuple[str, Any]:
    from dvc.parsing.context import Context, ContextError
    from dvc.parsing.interpolate import ParseError, check_expression

    try:
        check_expression(template)
        return "ok", Context(data).resolve_str(template, key=key)
    except (ParseError, ContextError):
        return "error", None


def archivist_resolve(data: dict[str, Any], template: str, key: str | None,
                      ) -> tuple[str, Any]:
    context = dvctemplate.Context(lambda path: None)
    context.data = dvctemplate._convert(data, "vars")
    try:
        dvctemplate.check_syntax(template)
        return "ok", context.resolve_str(template, key=key)
    except dvctemplate.TemplateError:
        return "error", None


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=CONTEXTS, template=templates(), key=st.sampled_from(["outs", "cmd", None]))
def test_interpolation_agrees_with_dvc(data: dict[str, Any], template: str,
                                       key: str | None) -> None:
    assert archivist_resolve(data, template, key) == dvc_resolve(data, template, key)


FOREACH_DATA = st.one_of(
    st.lists(st.one_of(st.booleans(), st.integers(-3, 3), st.sampled_from(["a", "b c", "1.5"]),
                       st.sampled_from([0.5, 2.0])), min_size=1, max_size=4),
    st.lists(st.dictionaries(st.sampled_from(["name", "n"]), st.sampled_from(["x", "y", 1]),
                             min_size=1, max_size=2), min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(["small", "large", "x1"]),
                    st.one_of(st.integers(0, 3), st.dictionaries(
                        st.sampled_from(["name", "n"]), st.sampled_from(["p", "q"]),
                        min_size=1, max_size=2)), min_size=1, max_size=3),
)
MATRIX_DATA = st.dictionaries(
    st.sampled_from(["model", "dev", "cfg"]),
    st.lists(st.one_of(st.booleans(), st.sampled_from(["cpu", "gpu", 3, 0.5]),
                       st.dictionaries(st.just("lr"), st.integers(0, 2), min_size=1)),
             min_size=1, max_size=3),
    min_size=1, max_size=2)


@pytest.fixture(scope="module")
def dvc_repo_object(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from dvc.repo import Repo

    root = tmp_path_factory.mktemp("dvcrepo")
    return Repo.init(str(root), no_scm=True)


def _dvc_stages(repo: Any, d: dict[str, Any]) -> dict[str, Any] | None:
    from dvc.exceptions import DvcException
    from dvc.parsing import DataResolver

    try:
        return DataResolver(repo, repo.root_dir, d).resolve()["stages"]
    except DvcException:
        return None


def _archivist_stages(d: dict[str, Any]) -> dict[str, Any] | None:
    resolver = dvctemplate.Resolver(d, "dvc.yaml", lambda path: None)
    found: dict[str, Any] = {}
    try:
        for name, definition in d["stages"].items():
            for stage in resolver.stages(name, definition):
                found[stage.name] = stage.definition
    except dvctemplate.TemplateError:
        return None
    return found


@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(foreach=FOREACH_DATA, matrix=MATRIX_DATA, from_vars=st.booleans())
def test_generated_stage_names_and_outputs_agree_with_dvc(
        dvc_repo_object: Any, foreach: Any, matrix: dict[str, Any], from_vars: bool) -> None:
    if isinstance(foreach, dict):
        out = "out/${key}.bin"
    elif any(isinstance(v, dict) for v in foreach):
        out = "out/rows.bin"  # the names are what differs: stage@0, stage@1
    else:
        out = "out/each-${item}.bin"
    d: dict[str, Any] = {"stages": {
        "each": {"foreach": "${fe}" if from_vars else foreach,
                 "do": {"cmd": "run", "outs": [out]}},
        "grid": {"matrix": {k: f"${{mx.{k}}}" for k in matrix} if from_vars else matrix,
                 "cmd": "grid", "outs": ["grid/${key}.bin"]},
    }}
    if from_vars:
        d["vars"] = [{"fe": foreach, "mx": matrix}]
    ours = _archivist_stages(d)
    assert ours == _dvc_stages(dvc_repo_object, d)
    assert ours is not None  # these templates all resolve: the names are compared
