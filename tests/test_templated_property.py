"""``${...}`` interpolation: archivist's reading against DVC's own ``Context`` on random
variables and templates (both give the same value, or both refuse)."""

from __future__ import annotations

from typing import Any

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
