"""The line reader (``yamlload``) and the full reader (``yamlfull``: libyaml) agree.

Whatever the line reader returns must be exactly what the full reader returns: the same
values of the same types, the same line of every key and item. Anything else it must hand
over (``_Unsure``), never guess. Checked on every YAML file of this repository and on
generated documents full of YAML's traps (1.1 booleans, octals, sexagesimals, comments,
quotes, indicators, indentless sequences).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivist import yamlfull, yamlload
from archivist.errors import YAMLFileError
from archivist.yamlload import LinedDict, LinedList

PROJECT = Path(__file__).resolve().parent.parent


def lines_read(text: str) -> Any:
    try:
        return yamlload._read_lines(text)
    except yamlload._Unsure:
        return yamlload._Unsure


def assert_same(ours: Any, theirs: Any, where: str = "") -> None:
    assert type(ours) is type(theirs), f"{where}: {ours!r} vs {theirs!r}"
    if isinstance(ours, LinedDict):
        assert list(ours) == list(theirs), where
        assert ours.line == theirs.line, f"{where}: line {ours.line} vs {theirs.line}"
        assert ours.lines == theirs.lines, where
        for key in ours:
            assert_same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, LinedList):
        assert len(ours) == len(theirs), where
        assert (ours.line, ours.lines) == (theirs.line, theirs.lines), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(ours, float) and math.isnan(ours):
        assert math.isnan(theirs), where
    else:
        assert ours == theirs, f"{where}: {ours!r} vs {theirs!r}"


def check_agrees(text: str) -> bool:
    """True when the line reader read ``text`` itself (and agreed)."""
    ours = lines_read(text)
    try:
        theirs = yamlfull.load(text, "doc")
    except YAMLFileError:
        assert ours is yamlload._Unsure, f"the line reader accepted a bad document:\n{text}"
        return False
    if ours is yamlload._Unsure:
        return False
    assert_same(ours, theirs, "doc")
    return True


def repository_yaml() -> list[Path]:
    found = []
    for folder in ("templates", "tests", "docs", "benchmarks", ".github"):
        for path in sorted((PROJECT / folder).rglob("*")):
            if path.is_file() and (path.suffix in (".yaml", ".yml", ".dvc") or
                                   path.name == "dvc.lock"):
                found.append(path)
    return found


def test_every_yaml_file_of_the_repository() -> None:
    files = repository_yaml()
    read_here = sum(check_agrees(p.read_text(encoding="utf-8", errors="replace"))
                    for p in files)
    assert files and read_here, (read_here, len(files))


DOCS = {
    "dvc 3 output": """\
outs:
- md5: 0123456789abcdef0123456789abcdef
  size: 5
  hash: md5
  path: clf.pkl
  meta:
    owner: ana@example.com
    data:
      source: s3://raw/2024   # where it came from
    retention: standard
""",
    "a policy": """\
version: 1
branch: main
# the rules
tags:
  - match: {paths: ["models/**"], types: [model]}
    require:
      owner: {pattern: "^[^@ ]+@[^@ ]+$"}
      data.source: {}
      train.commit: {pattern: "^[0-9a-f]{7,40}$"}
      retention: {enum: [experiment, standard, regulated]}
retention:
  default: standard
  holds:
    - {path: models/clf.pkl, reason: "legal hold LH-114", until: 2027-12-31}
signing:
  since: 2026-06-01
  public_keys: [keys/release.pub]
""",
    "1.1 traps": "a: yes\nb: 017\nc: 0o17\nd: 1:30\ne: 1e3\nf: .inf\ng: ~\nh: null\n"
                 "i: 0x1F\nj: -.5\nk: +12\nl: 1_000\nm: True\nn: 'yes'\no: \"0o17\"\n",
    "quotes": "a: 'it''s'\nb: \"tab\\there \\\"q\\\" \\x41\\u00e9\"\nc: 'a # not a comment'\n"
              "d: \"x\" # comment\n",
    "plain oddities": "a: a#b\nb: a, b\nc: x:y\nd: -1\ne: -x\nf: a]\ng: ?x\nh:\ni: # c\n",
    "nested sequences": "a:\n  - x\n  - - y\nb: 1\n",
    "indentless": "a:\n- 1\n- b: 2\n  c:\n  - 3\nd: 4\n",
    "four spaces": "a:\n    b:\n        - c\n        - d: 1\n          e: 2\n    f: 3\n",
}

BAD = ["a: 1\n a2: 2\n", "a: b: c\n", "a: [1, 2\n", "a: 'x\n", "a: 1\na: 2\n", "a:\n- 1\n b: 2\n",
       "a: {b: 1, b: 2}\n", "- a\nb: 1\n", "a: \"\\q\"\n", "a: [1, 2,]\n", "a: 2027-02-30\n",
       "a: |\n  text\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "%YAML 1.1\n---\na: yes\n",
       "a: 1\n\tb: 2\n", "a: caf\u00e9\n", "a: 1\r\nb: 2\r\n", "a: x\n  y\n", "? a\n: b\n",
       "a: 1\n---\nb: 2\n", "- \n- 1\n", "a: {b}\n", "a: [b: 1]\n", "a:b\n", "'a': 1\n",
       "a: 1 # c\n  # deeper comment\nb: 2\n", "a: " + "9" * 5000 + "\n",
       "k" * 1100 + ": 1\n"]


@pytest.mark.parametrize("name", sorted(DOCS))
def test_documents_read_here_agree(name: str) -> None:
    check_agrees(DOCS[name])


def test_the_hook_documents_are_read_here() -> None:
    assert check_agrees(DOCS["dvc 3 output"]) and check_agrees(DOCS["a policy"])
    assert check_agrees(DOCS["1.1 traps"]) and check_agrees(DOCS["indentless"])


@pytest.mark.parametrize("text", BAD)
def test_odd_or_malformed_documents_agree_or_go_to_the_full_reader(text: str) -> None:
    check_agrees(text)
    try:
        expected: Any = yamlfull.load(text, "f.yaml")
    except YAMLFileError as exc:
        with pytest.raises(YAMLFileError) as raised:
            yamlload.load(text, "f.yaml")
        assert str(raised.value) == str(exc)  # the same message, line included
    else:
        assert_same(yamlload.load(text, "f.yaml"), expected)


SCALARS = ["x", "yes", "no", "on", "017", "0o17", "0x1f", "1:30", "1e3", "1.5", ".inf", "-.inf",
           ".nan", "~", "null", "Null", "true", "False", "2027-12-31", "2027-2-3", "-1", "+1",
           "1_000", "a#b", "a #b", "a, b", "x:y", "-x", "?x", "a]", "'q'", "'it''s'",
           '"d\\"q"', '"\\x41"', "s3://raw/2024", "ana@example.com", "[a, 1, 'b']", "{}", "[]",
           "{a: 1, b: [x, 'y']}", "{a: {b: c}}", "[{a: 1}, [2]]", "0", "00", "-0", "1.", "._1",
           "=", "<<", "a: b", "", "# c", "@x", "`x", "|", ">", "&a x", "*a", "!t x", "%x",
           "[?x]", "{a: ?x}", "[-x, :x]", "[a#b, 'c']", "{a: -1, b: [-.5]}", "[x ]",
           "models/**", "^[0-9a-f]{7,40}$", '"^[0-9a-f]{7,40}$"', "12345678901234567890"]
KEYS = ["a", "md5", "data.source", "models/clf.pkl", "1", "true", "y", "key_2", "a-b"]


@st.composite
def documents(draw: st.DrawFn) -> str:
    step = draw(st.sampled_from([2, 4]))

    def block(depth: int, indent: int) -> list[str]:
        if depth > 2 or draw(st.integers(0, 3)) == 0:
            kind = "map"
        else:
            kind = draw(st.sampled_from(["map", "seq"]))
        out: list[str] = []
        pad = " " * indent
        for key in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True)):
            nested = depth < 3 and draw(st.integers(0, 2)) == 0
            comment = draw(st.sampled_from(["", "", " # note"]))
            if kind == "map":
                if nested:
                    inner = indent if draw(st.booleans()) else indent + step
                    child = block(depth + 1, inner)
                    if inner == indent and not child[0].lstrip().startswith("-"):
                        child = block(depth + 1, indent + step)
                    out += [f"{pad}{key}:{comment}", *child]
                else:
                    out.append(f"{pad}{key}: {draw(st.sampled_from(SCALARS))}{comment}")
            elif nested:
                child = block(depth + 1, indent + 2)
                first = child[0][indent + 2:]
                out += [f"{pad}- {first}", *child[1:]]
            else:
                out.append(f"{pad}- {draw(st.sampled_from(SCALARS))}{comment}")
            if draw(st.integers(0, 5)) == 0:
                out.append(draw(st.sampled_from(["", "# comment", pad + "  # deeper"])))
        return out

    return "\n".join(block(0, 0)) + "\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_documents_agree(text: str) -> None:
    check_agrees(text)


def test_a_plain_dvc_file_and_policy_load_without_pyyaml() -> None:
    code = ("import sys\nfrom archivist import yamlload, policy\n"
            f"data = yamlload.load({DOCS['dvc 3 output']!r}, 'x.dvc')\n"
            f"p = policy.parse_policy({DOCS['a policy']!r})\n"
            "print(data['outs'][0]['meta']['owner'], len(p.rules), 'yaml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["ana@example.com", "1", "False"]
