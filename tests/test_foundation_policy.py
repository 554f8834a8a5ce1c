"""The policy loader: what it accepts, and one clear line for what it refuses."""

from __future__ import annotations

import datetime as dt

import pytest

from archivist.errors import ConfigError, YAMLFileError
from archivist.globs import glob_match
from archivist.policy import parse_policy
from archivist.templates_dir import policy_templates

DESIGN_POLICY = """\
version: 1
branch: main
remotes: {active: storage, archive: archive}
tags:
  - match: {paths: ["models/**"], types: [model]}
    require:
      owner: {pattern: "^[^@ ]+@[^@ ]+$"}
      data.source: {}
      train.commit: {pattern: "^[0-9a-f]{7,40}$"}
      retention: {enum: [experiment, standard, regulated]}
retention:
  default: standard
  classes:
    experiment: {active: 30d, archive: 1y}
    standard:   {active: 180d, archive: 3y}
    regulated:  {active: 1y, archive: forever}
  releases: regulated
  holds:
    - {path: models/clf.pkl, reason: "legal hold LH-114", until: 2027-12-31}
signing:
  required_for: releases
  identities:
    - {issuer: "https://token.actions.githubusercontent.com",
       identity: "^https://github.com/acme/models/.*$"}
  public_keys: [keys/release.pub]
"""


def test_design_policy_loads_with_every_section() -> None:
    policy = parse_policy(DESIGN_POLICY)
    assert policy.branch == "main"
    assert (policy.remotes.active, policy.remotes.archive) == ("storage", "archive")
    (rule,) = policy.rules
    assert rule.paths == ("models/**",) and rule.types == ("model",)
    assert [c.key for c in rule.require] == ["owner", "data.source", "train.commit", "retention"]
    assert policy.retention is not None
    assert policy.retention.classes["experiment"].active_days == 30
    assert policy.retention.classes["standard"].archive_days == 3 * 365
    assert policy.retention.classes["regulated"].archive_days is None  # forever
    (hold,) = policy.retention.holds
    assert hold.until == dt.date(2027, 12, 31)
    assert hold.applies("models/clf.pkl", dt.date(2027, 1, 1))
    assert not hold.applies("models/clf.pkl", dt.date(2028, 1, 1))
    assert policy.signing is not None and policy.signing.public_keys == ("keys/release.pub",)


def test_retention_only_policy_is_enough() -> None:
    policy = parse_policy("version: 1\nretention:\n  default: short\n  classes:\n"
                          "    short: {active: 2w, archive: 6m}\n")
    assert policy.rules == ()
    assert policy.retention is not None
    assert policy.retention.classes["short"].active_days == 14
    assert policy.retention.classes["short"].archive_days == 180


@pytest.mark.parametrize("name", ["minimal", "standard", "regulated"])
def test_shipped_templates_are_valid(name: str) -> None:
    path = policy_templates()[name]
    policy = parse_policy(path.read_bytes(), str(path))
    assert policy.rules


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\ntagz: []\n", "archivist.yaml:2: unknown key 'tagz' in the policy "
         "(did you mean 'tags'?)"),
        ("version: 1\ntags:\n  - match: {paths: [a]}\n    requir: {owner: {}}\n",
         "archivist.yaml:4: unknown key 'requir' in tags[0] (did you mean 'require'?)"),
        ("version: 1\ntags:\n  - match: {paths: [a]}\n    require:\n      owner: {patern: x}\n",
         "archivist.yaml:5: unknown key 'patern' in the constraint on 'owner' "
         "(did you mean 'pattern'?)"),
        ("version: 2\n", "archivist.yaml:1: unsupported policy version 2"),
        ("version: 1\ntags:\n  - match: {paths: [a]}\n    require:\n"
         "      owner: {pattern: '^[a-'}\n", "is not a valid regular expression"),
        ("version: 1\nretention:\n  classes:\n    standard: {active: soon, archive: 1y}\n",
         "archivist.yaml:4: standard.active 'soon' is not a duration (write 30d, 4w, 6m, 1y)"),
        ("version: 1\nretention:\n  default: gold\n  classes:\n"
         "    standard: {active: 1d, archive: 1y}\n", "retention.default 'gold' is not a class"),
        ("version: 1\ntags:\n  - match: {}\n", "names no paths and no types"),
        ("version: 1\ntags:\n  - match: {paths: [a]}\n    require:\n"
         "      owner: {type: str}\n", "unknown type 'str' for 'owner' (did you mean 'string'?)"),
        ("", "the policy is empty"),
        ("- a\n- b\n", "the policy must be a mapping, not a list"),
    ],
)
def test_policy_errors_name_file_line_and_fix(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy(text)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_malformed_policy_yaml_names_the_line() -> None:
    with pytest.raises(YAMLFileError, match=r"archivist.yaml:3: malformed YAML"):
        parse_policy("version: 1\ntags:\n  - match: {paths: [a]\n")


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(YAMLFileError, match="aliases expand to more than"):
        parse_policy("\n".join(lines) + "\n")


def test_non_utf8_policy() -> None:
    with pytest.raises(YAMLFileError, match=r"not UTF-8 text \(byte 12"):
        parse_policy(b"version: 1\n#\xff\xfe\n")


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("models/**", "models/clf.pkl", True),
        ("models/**", "models/a/b/c.bin", True),
        ("models/**", "modelsx/clf.pkl", False),
        ("models/*.pkl", "models/a/clf.pkl", False),
        ("**/*.onnx", "a/b/m.onnx", True),
        ("**/*.onnx", "m.onnx", True),
        ("data/", "data/x/y.csv", True),
        ("data/?.csv", "data/a.csv", True),
        ("data/[ab].csv", "data/c.csv", False),
    ],
)
def test_globs(pattern: str, path: str, matches: bool) -> None:
    assert glob_match(pattern, path) is matches
