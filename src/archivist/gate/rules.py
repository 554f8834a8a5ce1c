"""Metadata rules: does an artifact carry the tags its policy requires?

Pure: artifacts and a policy in, findings out. The fix each finding suggests is the
``archivist tag`` command that would satisfy it (paths repo-relative, as resolved), followed
for a ``dvc.yaml`` stage output that ``dvc.lock`` does not record yet by ``dvc repro STAGE``.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from collections.abc import Iterable
from typing import Any

from archivist.dvcfiles import Artifact
from archivist.frozen import as_dict, frozen
from archivist.policy import Constraint, Policy, Rule

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@frozen
class Violation:
    """One broken requirement, located where the tag should be written."""

    file: str
    line: int
    artifact: str
    key: str
    problem: str
    rule: str
    fix: str
    commit: str | None = None
    kind: str = "tag"  # "tag": a tag breaks a rule; "stray": a file git should not hold

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        prefix = f"commit {self.commit[:10]}: " if self.commit else ""
        if self.kind == "stray":
            return f"{prefix}{where}: {self.problem} (rule {self.rule})"
        return f"{prefix}{where}: artifact {self.artifact}: {self.problem} (rule {self.rule})"

    def as_dict(self) -> dict[str, Any]:
        return as_dict(self)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0) or (
        isinstance(value, str) and not value.strip())


def _is_date(value: Any) -> bool:
    if isinstance(value, dt.date):
        return True
    if isinstance(value, str):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return False


_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "date": _is_date,
    "email": lambda v: isinstance(v, str) and _EMAIL.match(v) is not None,
    "list": lambda v: isinstance(v, list),
}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def problem_with(value: Any, c: Constraint) -> str | None:
    """Why ``value`` breaks ``c``, or None when it satisfies it."""
    if _empty(value):
        return f"missing required tag {c.key!r}" if value is None else \
            f"required tag {c.key!r} is empty"
    if c.type is not None and not _TYPE_CHECKS[c.type](value):
        return f"tag {c.key!r} = {_text(value)!r} is not of type {c.type}"
    if c.enum is not None and value not in c.enum and _text(value) not in map(_text, c.enum):
        allowed = ", ".join(_text(v) for v in c.enum)
        return f"tag {c.key!r} = {_text(value)!r} is not one of: {allowed}"
    if c.pattern is not None:
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not c.pattern.search(_text(item)):  # RE2: linear time, never hangs
                problem = f"tag {c.key!r} = {_text(item)!r} does not match {c.pattern.pattern!r}"
                if isinstance(item, int | float) and not isinstance(item, bool):
                    # `commit: 0012345` is a number to YAML, which drops the leading zeros.
                    problem += " (YAML read it as a number: quote the value)"
                return problem
    if c.min_length is not None or c.max_length is not None:
        length = len(value) if isinstance(value, list | str) else len(_text(value))
        if c.min_length is not None and length < c.min_length:
            return f"tag {c.key!r} is shorter than {c.min_length}"
        if c.max_length is not None and length > c.max_length:
            return f"tag {c.key!r} is longer than {c.max_length}"
    if c.minimum is not None or c.maximum is not None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"tag {c.key!r} = {_text(value)!r} is not a number"
        if c.minimum is not None and value < c.minimum:
            return f"tag {c.key!r} = {value} is below the minimum {c.minimum}"
        if c.maximum is not None and value > c.maximum:
            return f"tag {c.key!r} = {value} is above the maximum {c.maximum}"
    return None


def _placeholder(c: Constraint) -> str:
    if c.enum:
        return _text(c.enum[0]) if len(c.enum) == 1 else "|".join(_text(v) for v in c.enum)
    return "..."


def fix_command(artifact: Artifact, constraints: Iterable[Constraint]) -> str:
    """The ``archivist tag`` call that would satisfy every constraint given."""
    target = artifact.name if artifact.registered and artifact.name else artifact.path
    pairs = " ".join(f"{c.key}={_placeholder(c)}" for c in constraints)
    command = f"archivist tag {shlex.quote(target)} {pairs}"
    if artifact.stage and artifact.version is None:
        # A stage output dvc.lock does not record yet: DVC records it by running the stage
        # (`dvc add` would refuse, the stage owns the path). Once locked, tags in dvc.yaml
        # need no DVC step: they are not part of the lock.
        command += f" && dvc repro {shlex.quote(artifact.stage)}"
    return command


def check_artifact(artifact: Artifact, policy: Policy,
                   commit: str | None = None) -> list[Violation]:
    """Every requirement ``artifact`` breaks under ``policy``."""
    found: list[Violation] = []
    for rule in policy.rules_for(artifact.path, artifact.type):
        broken = [(c, p) for c in rule.require
                  if (p := problem_with(artifact.tag(c.key), c)) is not None]
        if not broken:
            continue
        fix = fix_command(artifact, [c for c, _ in broken])
        for c, problem in broken:
            if c.hint:
                problem = f"{problem}: {c.hint}"
            found.append(Violation(
                file=artifact.tags_in, line=artifact.tags_line, artifact=artifact.path,
                key=c.key, problem=problem, rule=rule.label, fix=fix, commit=commit,
            ))
    return found


def check_all(artifacts: Iterable[Artifact], policy: Policy,
              commit: str | None = None) -> list[Violation]:
    out: list[Violation] = []
    for artifact in artifacts:
        out.extend(check_artifact(artifact, policy, commit))
    return out


def complies(artifact: Artifact, policy: Policy) -> bool:
    return not check_artifact(artifact, policy)


def rules_covering_path(policy: Policy, path: str) -> list[Rule]:
    """Rules whose path globs cover ``path``: such a file belongs in DVC, not git."""
    return [r for r in policy.rules if r.covers_path(path)]


# ---------------------------------------------------------------- values `archivist tag` writes

_INTEGER = re.compile(r"[-+]?[0-9]+")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DVC_FIELD_TYPES = {"labels": "list", "desc": "string", "type": "string"}


def wanted_type(key: str, rules: Iterable[Rule]) -> tuple[str | None, str | None]:
    """(type, rule label) the rules covering an artifact ask of ``key``: a ``type:``, else
    number when ``min``/``max`` bound it; (None, None) when no rule says.

    Raises ``UsageError`` when two rules ask for different types.
    """
    from archivist.errors import UsageError

    if key in _DVC_FIELD_TYPES:
        return _DVC_FIELD_TYPES[key], None
    found: dict[str, Rule] = {}
    for rule, c in ((r, c) for r in rules for c in r.require):
        if c.key != key:
            continue
        kind = c.type or ("number" if c.minimum is not None or c.maximum is not None else None)
        if kind is not None:
            found.setdefault(kind, rule)
    kinds = set(found)
    if kinds and kinds <= {"string", "email"}:
        kind = "email" if "email" in kinds else "string"  # an email is a stricter string
        return kind, found[kind].label
    if len(kinds) > 1:
        names = ", ".join(f"{k} (rule {r.label})" for k, r in found.items())
        raise UsageError(f"the rules disagree on the type of {key!r}: {names}",
                         "make the rules agree in archivist.yaml")
    if not kinds:
        return None, None
    kind = kinds.pop()
    return kind, found[kind].label


def tag_value(key: str, text: str, kind: str | None, rule: str | None = None) -> Any:
    """What ``archivist tag KEY=TEXT`` stores: a value of ``kind`` (a rule's type), else text.

    Raises ``UsageError`` in one line when ``text`` cannot be that type.
    """
    from archivist.errors import UsageError

    def refuse(what: str, example: str) -> UsageError:
        asks = f"rule {rule} asks" if rule else "the policy asks"
        return UsageError(f"{key}={text}: {text!r} is not {what}, as {asks}",
                          f"write e.g. {key}={example}")

    stripped = text.strip()
    if kind == "integer":
        if not _INTEGER.fullmatch(stripped):
            raise refuse("an integer", "5")
        return int(stripped)
    if kind == "number":
        if not _NUMBER.fullmatch(stripped):
            raise refuse("a number", "0.5")
        if _INTEGER.fullmatch(stripped):
            return int(stripped)
        number = float(stripped)
        if number in (float("inf"), float("-inf")):
            raise refuse("a finite number", "1e300")
        return number
    if kind == "boolean":
        if stripped.lower() not in _BOOLEANS:
            raise refuse("a boolean", "true")
        return _BOOLEANS[stripped.lower()]
    if kind == "date":
        try:
            if not _ISO_DAY.fullmatch(stripped):
                raise ValueError
            return dt.date.fromisoformat(stripped)
        except ValueError:
            raise refuse("a date", "2024-06-30") from None
    if kind == "list":
        return [item.strip() for item in text.split(",") if item.strip()]
    if kind == "email" and _EMAIL.match(text) is None:
        raise refuse("an email address", "ana@example.com")
    return text
