"""`archivist tag` edits in place: every byte it was not asked to change stays."""

from __future__ import annotations

import difflib

import pytest

from archivist.gate.tagedit import edit_tags, guess_indent
from realrepo import Repo

COMMENTED_DVC = """\
# Fraud classifier, retrained weekly.   See docs/models.md
outs:
- md5: 1f3870be274f6c49b3e31a0c6728957f   # pinned by the release
  size: 1234
  hash: md5
  path: clf.pkl
  desc: 'Fraud classifier: "v2" features'
  meta:
    owner: "ana@example.com"     # on call this quarter
    data:
      source: 's3://raw/2024'
      rows: 120000
    zeta: last
"""

COMMENTED_DVC_YAML = """\
# pipeline for the fraud model
stages:
    train:                       # four-space indentation, on purpose
        cmd: python train.py --epochs 10
        deps:
            - train.py
        outs:
            - models/clf.pkl       # the model
            - models/report.json:
                  cache: false
artifacts:
    clf:
        path: models/clf.pkl
        type: model   # registry entry
"""


def added_lines(old: str, new: str) -> list[str]:
    diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
    assert not [d for d in diff if d.startswith("- ")], "a line was removed or rewritten"
    return [d[2:] for d in diff if d.startswith("+ ")]


def test_set_nested_keys_keeps_every_other_byte() -> None:
    new, _ = edit_tags(COMMENTED_DVC, "models/clf.pkl.dvc", "models/clf.pkl", None,
                       {"data.version": "2024-06", "retention": "regulated"}, [])
    assert added_lines(COMMENTED_DVC, new) == ["      version: 2024-06", "    retention: regulated"]


def test_changing_a_value_touches_only_its_line() -> None:
    new, _ = edit_tags(COMMENTED_DVC, "models/clf.pkl.dvc", "models/clf.pkl", None,
                       {"owner": "bo@example.com"}, [])
    old_lines, new_lines = COMMENTED_DVC.splitlines(), new.splitlines()
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    # ruamel keeps the comment in its column, so the padding before it absorbs the change.
    assert changed == [('    owner: "ana@example.com"     # on call this quarter',
                        '    owner: "bo@example.com"      # on call this quarter')]


def test_unset_removes_only_that_key_and_empty_parents() -> None:
    new, removed = edit_tags(COMMENTED_DVC, "models/clf.pkl.dvc", "models/clf.pkl", None, {},
                             ["zeta", "nope"])
    assert removed == ["zeta"]
    diff = [d for d in difflib.ndiff(COMMENTED_DVC.splitlines(), new.splitlines())
            if d[:1] in "+-"]
    assert diff == ["-     zeta: last"]


def test_dvc_yaml_with_four_space_indent() -> None:
    assert guess_indent(COMMENTED_DVC_YAML) == (4, 4)
    new, _ = edit_tags(COMMENTED_DVC_YAML, "dvc.yaml", "models/clf.pkl", "clf",
                       {"owner": "ana@example.com"}, [])
    assert added_lines(COMMENTED_DVC_YAML, new) == ["        meta:",
                                                    "            owner: ana@example.com"]
    new2, _ = edit_tags(COMMENTED_DVC_YAML, "dvc.yaml", "models/report.json", None,
                        {"owner": "ana@example.com"}, [])
    assert added_lines(COMMENTED_DVC_YAML, new2) == ["                  meta:",
                                                     "                      owner: ana@example.com"]


@pytest.mark.parametrize("value", ["10", "true", "null", "2024-01-01", "a: b", "#x"])
def test_values_stay_text(value: str) -> None:
    from archivist.dvcfiles import parse_dvc_file

    new, _ = edit_tags(COMMENTED_DVC, "models/clf.pkl.dvc", "models/clf.pkl", None,
                       {"note": value}, [])
    (artifact,) = parse_dvc_file(new, "models/clf.pkl.dvc")
    assert artifact.tag("note") == value


def test_round_trip_on_a_real_repository(dvc_repo: Repo) -> None:
    dvc_repo.write("models/clf.pkl", b"weights")
    dvc_repo.dvc("add", "-q", "models/clf.pkl")
    original = dvc_repo.read("models/clf.pkl.dvc")
    commented = "# our model\n" + original.replace("hash: md5", "hash: md5  # DVC 3")
    dvc_repo.write("models/clf.pkl.dvc", commented)
    proc = dvc_repo.archivist("tag", "models/clf.pkl.dvc", "owner=ana@example.com",
                              "labels=fraud,tabular")
    assert proc.returncode == 0, proc.stderr
    new = dvc_repo.read("models/clf.pkl.dvc")
    assert added_lines(commented, new) == ["  meta:", "    owner: ana@example.com",
                                           "  labels:", "  - fraud", "  - tabular"]
    # DVC accepts the file (it rejects unknown keys on an output) and sees no change.
    assert "up to date" in dvc_repo.dvc("status").stdout
