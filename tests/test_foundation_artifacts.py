"""Artifacts and tags from DVC's own files, as text."""

from __future__ import annotations

import pytest

from archivist.dvcfiles import declaring_file, merge_registry, parse_dvc_file, parse_dvc_yaml
from archivist.errors import ConfigError, YAMLFileError
from archivist.gate.rules import check_artifact
from archivist.policy import parse_policy

DVC3 = """\
outs:
- md5: 1f3870be274f6c49b3e31a0c6728957f
  size: 1234
  hash: md5
  path: clf.pkl
  type: model
  desc: fraud classifier
  labels: [fraud, tabular]
  meta:
    owner: ana@example.com
    data:
      source: s3://raw/2024
"""

POLICY = parse_policy("""\
version: 1
tags:
  - match: {paths: ["models/**"], types: [model]}
    require:
      owner: {type: email}
      data.source: {}
      train.commit: {pattern: "^[0-9a-f]{7,40}$"}
      epochs: {type: integer, min: 1}
""")


def test_dvc3_file_output_with_tags() -> None:
    (artifact,) = parse_dvc_file(DVC3, "models/clf.pkl.dvc")
    assert artifact.path == "models/clf.pkl"
    assert artifact.line == 2
    assert artifact.version is not None
    assert artifact.version.label == "md5:1f3870be274f6c49b3e31a0c6728957f"
    assert artifact.version.algorithm == "md5" and not artifact.version.is_dir
    assert artifact.type == "model" and artifact.labels == ("fraud", "tabular")
    assert artifact.tag("data.source") == "s3://raw/2024"
    assert artifact.tag("data.missing") is None
    assert artifact.tags()["owner"] == "ana@example.com"


def test_dvc2_output_hashes_as_dos2unix_and_folders_end_in_dir() -> None:
    (artifact,) = parse_dvc_file("outs:\n- md5: abc.dir\n  path: images\n  nfiles: 3\n",
                                 "data/images.dvc")
    assert artifact.version is not None
    assert artifact.version.algorithm == "md5-dos2unix"
    assert artifact.version.is_dir and artifact.version.nfiles == 3
    assert artifact.path == "data/images"


def test_violations_name_file_line_rule_and_fix() -> None:
    (artifact,) = parse_dvc_file(DVC3, "models/clf.pkl.dvc")
    found = check_artifact(artifact, POLICY)
    rendered = [v.render() for v in found]
    assert rendered == [
        "models/clf.pkl.dvc:2: artifact models/clf.pkl: missing required tag 'train.commit' "
        "(rule models/**)",
        "models/clf.pkl.dvc:2: artifact models/clf.pkl: missing required tag 'epochs' "
        "(rule models/**)",
    ]
    assert found[0].fix == "archivist tag models/clf.pkl train.commit=... epochs=..."


def test_type_gated_rules_skip_other_types() -> None:
    (artifact,) = parse_dvc_file(DVC3.replace("type: model", "type: dataset"),
                                 "models/clf.pkl.dvc")
    assert check_artifact(artifact, POLICY) == []


def test_constraint_kinds() -> None:
    text = DVC3.replace("      source: s3://raw/2024\n",
                        "      source: s3://raw/2024\n    train: {commit: XYZ}\n    epochs: 0\n")
    (artifact,) = parse_dvc_file(text, "models/clf.pkl.dvc")
    problems = [v.problem for v in check_artifact(artifact, POLICY)]
    assert problems == [
        "tag 'train.commit' = 'XYZ' does not match '^[0-9a-f]{7,40}$'",
        "tag 'epochs' = 0 is below the minimum 1",
    ]


def test_dvc_yaml_stages_registry_and_lock() -> None:
    dvc_yaml = """\
stages:
  train:
    cmd: python train.py
    wdir: ..
    outs:
      - ml/models/m.pkl
      - ml/models/n.pkl:
          meta: {owner: bo@example.com}
artifacts:
  fraud-clf:
    path: models/m.pkl
    type: model
    meta: {owner: ana@example.com}
"""
    lock = """\
schema: '2.0'
stages:
  train:
    cmd: python train.py
    outs:
    - path: ml/models/m.pkl
      hash: md5
      md5: 0123456789abcdef0123456789abcdef
      size: 10
"""
    artifacts = {a.path: a for a in parse_dvc_yaml(dvc_yaml, "ml/dvc.yaml", lock)}
    assert set(artifacts) == {"ml/models/m.pkl", "ml/models/n.pkl"}
    m = artifacts["ml/models/m.pkl"]
    assert m.name == "ml:fraud-clf" and m.registered and m.type == "model"
    assert m.tag("owner") == "ana@example.com"
    assert m.tags_line == 10
    assert m.version is not None and m.version.digest.startswith("0123")
    assert artifacts["ml/models/n.pkl"].tag("owner") == "bo@example.com"


def test_registry_entry_names_and_tags_a_dvc_file_output() -> None:
    outputs = parse_dvc_file(DVC3, "models/clf.pkl.dvc")
    registry = parse_dvc_yaml("artifacts:\n  clf:\n    path: models/clf.pkl\n"
                              "    meta: {train: {commit: abcdef1}}\n", "dvc.yaml")
    (joined,) = merge_registry([*outputs, *registry])
    assert joined.name == "clf" and joined.declared_in == "models/clf.pkl.dvc"
    assert joined.tags_in == "dvc.yaml"
    assert joined.tag("train.commit") == "abcdef1"
    assert joined.tag("data.source") == "s3://raw/2024"  # the output's own tags still count


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("outs:\n- md5: x\n  path: ../../etc/passwd\n",
         "models/a.dvc:2: output path '../../etc/passwd' escapes the repository"),
        ("outs:\n- md5: x\n  path: /etc/passwd\n", "is absolute"),
        ("outs: {path: x}\n", "models/a.dvc:1: 'outs' must be a list"),
        ("outs:\n- md5: x\n  path: a\n  meta: [1]\n", "models/a.dvc:2: 'meta' must be a mapping"),
        ("just text\n", "expected a YAML mapping"),
    ],
)
def test_bad_dvc_files(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_dvc_file(text, "models/a.dvc")
    assert message in str(info.value)


def test_malformed_dvc_yaml_names_line() -> None:
    with pytest.raises(YAMLFileError, match=r"^dvc.yaml:3: malformed YAML"):
        parse_dvc_yaml("stages:\n  train:\n    outs: [a\n", "dvc.yaml")


def test_templated_stages_are_resolved_and_unresolvable_ones_refused() -> None:
    text = ("stages:\n  build:\n    foreach: [a, b]\n    do:\n      cmd: x\n"
            "      outs: ['${item}.bin']\n")
    found = parse_dvc_yaml(text, "dvc.yaml")
    assert [(a.path, a.stage, a.line) for a in found] == [
        ("a.bin", "build@a", 6), ("b.bin", "build@b", 6)]
    missing = text + "  fit:\n    cmd: y\n    outs: ['${vars.out}']\n"
    with pytest.raises(ConfigError, match=r"dvc.yaml:7: stage 'fit': could not find 'vars.out'"):
        parse_dvc_yaml(missing, "dvc.yaml", read=lambda path: None)
    with pytest.raises(ConfigError, match=r"dvc.yaml:7: stage 'fit'"):
        parse_dvc_yaml(missing, "dvc.yaml")  # no reader: no params files, still refused


def test_unquoted_all_digit_md5_keeps_its_digest() -> None:
    digits = "12345678901234567890123456789012"
    (artifact,) = parse_dvc_file(f"outs:\n- md5: {digits}\n  hash: md5\n  path: a.bin\n",
                                 "a.bin.dvc")
    assert artifact.version is not None and artifact.version.digest == digits


@pytest.mark.parametrize(("path", "declared_by"), [
    ("models/clf.pkl.dvc", "models/clf.pkl.dvc"),
    ("pipe/dvc.yaml", "pipe/dvc.yaml"),
    ("pipe/dvc.lock", "pipe/dvc.yaml"),  # a lock's versions are its dvc.yaml's outputs'
    ("dvc.lock", "dvc.yaml"),
    (".dvc/config", None),
    ("models/clf.pkl", None),
    ("pipe/xdvc.yaml", None),
])
def test_a_dvc_lock_is_read_as_its_dvc_yaml(path: str, declared_by: str | None) -> None:
    assert declaring_file(path) == declared_by
