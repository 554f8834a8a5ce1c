"""archivist reads DVC files as DVC does: YAML 1.2's core schema, through ruamel's rules.

The oracle is DVC's own reader (``dvc.utils.serialize._yaml.parse_yaml``, ruamel.yaml's safe
loader) on the same text.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from dvc.utils.serialize._yaml import YAMLFileCorruptedError
from dvc.utils.serialize._yaml import parse_yaml as dvc_parse_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivist import yamlload
from archivist.errors import YAMLFileError
from realrepo import Repo

TRICKY = [
    # YAML 1.1 booleans are strings in 1.2
    "yes", "no", "Yes", "NO", "on", "off", "On", "OFF", "y", "n", "Y", "N",
    "true", "True", "TRUE", "false", "False", "FALSE",
    "~", "null", "Null", "NULL",
    # integers: no 1.1 octal, 0o octal, separators, prefixes
    "0", "00", "017", "0012345", "09", "0o17", "0o8", "0x1F", "0x_1", "0b101", "1_000",
    "1__2", "_1", "+12", "-12", "+0", "-0", "0x", "0o", "0b", "20240101",
    # no base-60 numbers
    "1:30", "1:30:00", "190:20:30.15", "10:00:00",
    # floats: exponents without a dot are floats in 1.2
    "1.5", "1e3", "1E5", "-1E5", "1.e5", "1.0e3", "1e-3", "1.0e+3", "1.0E-3", ".5", "-.5",
    "+.5", "08.5", "1_0.5", "0.5_0", "0.0", ".inf", "-.inf", "+.inf", ".Inf", ".INF",
    ".nan", ".NaN", "1e", "3.14.15",
    # dates and times
    "2024-01-01", "2024-1-1", "2024-01-01T10:00:00", "2024-01-01t10:00:00Z",
    "2024-01-01 10:00:00", "2024-01-01T10:00:00+02:00", "2024-01-01T10:00:00.5-05:30",
    # hashes as DVC writes them, and things that look like numbers but are not
    "1f3870be274f6c49b3e31a0c6728957f", "12345678901234567890123456789012",
    "4f98f59e877e", "1.2.3", "v1", "0.1.0", "s3://bucket/key", "a: b", "NO_COLOR",
]


def plain(value: Any) -> Any:
    """The data without container classes, with NaN comparable to itself."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dt.datetime):  # ruamel names a fixed offset ('Z'), PyYAML does not
        return ("datetime", value.isoformat())
    return (type(value).__name__, value)


def both(text: str) -> tuple[Any, Any]:
    """(DVC's reading, archivist's reading) of ``text``; an error reads as "error"."""
    try:
        theirs = plain(dvc_parse_yaml(text, "dvc.yaml"))
    except Exception:
        theirs = "error"
    try:
        ours = plain(yamlload.load(text, "dvc.yaml"))
    except YAMLFileError:
        ours = "error"
    return theirs, ours


@pytest.mark.parametrize("scalar", TRICKY)
def test_scalar_reads_as_dvc_reads_it(scalar: str) -> None:
    theirs, ours = both(f"stages:\n  train:\n    meta:\n      k: {scalar}\n      {scalar}: k\n")
    assert ours == theirs
    # inside a flow sequence too, and through the full loader (an anchor forces it)
    theirs, ours = both(f"a: [{scalar}, x]\nb: &anchor {scalar}\nc: *anchor\n")
    assert ours == theirs


def test_the_words_that_changed_meaning() -> None:
    data = yamlload.load("approved: yes\ncountry: NO\nmode: on\ncommit: 0012345\n"
                         "octal: 0o17\nclock: 1:30\nsci: 1e3\n", "x.dvc")
    assert data == {"approved": "yes", "country": "NO", "mode": "on", "commit": 12345,
                    "octal": 15, "clock": "1:30", "sci": 1000.0}


def test_a_yaml_1_1_document_is_read_by_1_1_rules_as_ruamel_does() -> None:
    text = "%YAML 1.1\n---\napproved: yes\nmode: 017\nclock: 1:30\n"
    theirs, ours = both(text)
    assert ours == theirs == {("str", "approved"): ("bool", True),
                              ("str", "mode"): ("int", 15), ("str", "clock"): ("int", 90)}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="0123456789_-+.:eEoxbTtZ ~yYnN", min_size=1, max_size=14))
def test_random_scalars_read_as_dvc_reads_them(scalar: str) -> None:
    text = f"k: {scalar}\n"
    theirs, ours = both(text)
    assert ours == theirs, text


@pytest.mark.parametrize(
    ("text", "line", "first"),
    [
        ("version: 1\nremotes: {active: storage}\nbranch: main\nremotes: {active: other}\n",
         4, 2),
        ("stages:\n  train:\n    cmd: a\n  train:\n    cmd: b\n", 4, 2),
        ("outs:\n- md5: 1f3870be274f6c49b3e31a0c6728957f\n  path: a.bin\n  meta:\n"
         "    owner: a@b.c\n    owner: c@d.e\n", 6, 5),
    ],
)
def test_a_repeated_key_is_an_error_naming_both_lines(text: str, line: int, first: int) -> None:
    with pytest.raises(YAMLFileCorruptedError):  # DVC itself refuses it
        dvc_parse_yaml(text, "dvc.yaml")
    with pytest.raises(YAMLFileError) as info:
        yamlload.load(text, "some.yaml")
    message = str(info.value)
    assert message.startswith(f"some.yaml:{line}: duplicate key ")
    assert f"first on line {first}" in message and "\n" not in message


def test_a_merge_key_may_be_overridden() -> None:
    text = "base: &base {cmd: a, wdir: x}\nstages:\n  s:\n    <<: *base\n    cmd: b\n"
    theirs, ours = both(text)
    assert ours == theirs
    assert yamlload.load(text, "dvc.yaml")["stages"]["s"] == {"cmd": "b", "wdir": "x"}


@pytest.mark.parametrize("text", [
    "a: &a {x: 1}\nb: &b {<<: *a, x: 2}\nc: {<<: *b, y: 3}\n",  # a merged merge: x is 2
    "c: {<<: &b {<<: &a {x: 1}, x: 2}, x: 3}\nd: *b\ne: *a\n",
    "a: &a {x: 1}\nb: {<<: [*a, {x: 5, z: 1}], x: 2}\nc: {<<: [*a, {x: 5, z: 1}]}\n",
    "a: &a {x: 1}\nb: {<<: *a, <<: *a}\n",  # a second merge key: refused by both
    "a: &a [1]\nb: {<<: *a}\n",  # only mappings merge
])
def test_merges_resolve_as_dvc_resolves_them(text: str) -> None:
    theirs, ours = both(text)
    assert ours == theirs


POLICY = """\
version: 1
branch: main
remotes: {active: storage}
tags:
  - match: {paths: ["models/**"]}
    require:
      approved: {enum: ["yes", "no"]}
      country: {pattern: "^[A-Z]{2}$"}
"""


def test_check_reads_yes_and_no_as_dvc_does(git_repo: Repo) -> None:
    git_repo.write("archivist.yaml", POLICY)
    git_repo.write("models/clf.pkl.dvc",
                   "outs:\n- md5: 1f3870be274f6c49b3e31a0c6728957f\n  size: 3\n  hash: md5\n"
                   "  path: clf.pkl\n  meta:\n    approved: yes\n    country: NO\n")
    git_repo.commit("model and policy")
    meta = dvc_parse_yaml(git_repo.read("models/clf.pkl.dvc"), "x")["outs"][0]["meta"]
    assert meta == {"approved": "yes", "country": "NO"}  # what DVC sees
    proc = git_repo.archivist("check", "--all")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 artifact(s) checked" in proc.stderr + proc.stdout


def test_check_refuses_a_second_remotes_section(git_repo: Repo) -> None:
    git_repo.write("archivist.yaml", POLICY + "remotes: {active: elsewhere}\n")
    git_repo.commit("policy")
    proc = git_repo.archivist("check", "--all")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("archivist: error: archivist.yaml:9: duplicate key 'remotes' "
                           "(first on line 3)"), line


def test_an_impossible_date_is_one_line_naming_file_and_line(git_repo: Repo) -> None:
    git_repo.write("archivist.yaml", POLICY)
    git_repo.write("models/clf.pkl.dvc",
                   "outs:\n- md5: 1f3870be274f6c49b3e31a0c6728957f\n  path: clf.pkl\n"
                   "  meta:\n    approved: 'yes'\n    country: NO\n    trained: 2027-02-30\n")
    git_repo.commit("model and policy")
    proc = git_repo.archivist("check", "--all")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "models/clf.pkl.dvc:7: '2027-02-30' is not a valid date" in line
    assert "Traceback" not in proc.stderr
