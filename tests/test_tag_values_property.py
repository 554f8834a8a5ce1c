"""Any text `archivist tag` is given reads back as that text, by DVC and by YAML 1.1 tools."""

from __future__ import annotations

import yaml
from dvc.utils.serialize._yaml import parse_yaml as dvc_parse_yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from archivist.dvcfiles import parse_dvc_file
from archivist.gate.tagedit import edit_tags

DVC_FILE = """\
outs:
- md5: 1f3870be274f6c49b3e31a0c6728957f   # pinned
  size: 1234
  hash: md5
  path: clf.pkl
  meta:
    owner: ana@example.com
"""

# Scalars that YAML readers like to turn into something else, and plain text around them.
TRICKY = st.sampled_from(["yes", "No", "ON", "off", "y", "~", "null", "true", "0012345",
                          "0o17", "0x1f", "1:30", "1e3", ".5", ".inf", "2024-06-30",
                          "2024-06-30 10:00:00", "=", "<<", "-", "- x", "? x", "a: b", "#x",
                          "x #y", "'q'", '"q"', "*a", "&a", "!t", "%x", "@x", "`x", "|", ">",
                          "[a]", "{a: b}", " lead", "trail ", "tab\tin", "ünï", "", "   "])
VALUES = st.one_of(TRICKY, st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]),
                                   max_size=20),
                   st.lists(TRICKY, min_size=1, max_size=3).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES)
@example("\x85")  # NEL: a line break to YAML, a space when written plain
@example("a\u2028b")
def test_any_text_reads_back_as_written(value: str) -> None:
    new, _ = edit_tags(DVC_FILE, "models/clf.pkl.dvc", "models/clf.pkl", None,
                       {"note": value}, [])
    assert dvc_parse_yaml(new, "x")["outs"][0]["meta"]["note"] == value  # DVC, YAML 1.2
    assert yaml.safe_load(new)["outs"][0]["meta"]["note"] == value  # PyYAML, YAML 1.1
    (artifact,) = parse_dvc_file(new, "models/clf.pkl.dvc")
    assert artifact.tag("note") == value  # archivist
    # and nothing else moved: the file gains the note after its last line
    assert new.startswith(DVC_FILE) and new[len(DVC_FILE):].startswith("    note: ")
