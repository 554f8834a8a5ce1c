"""Outputs retention leaves alone, on plain values: DVC's fields read from the files,
no item for them, and the same bytes elsewhere kept; an output's own remote on its item."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from archivist.dvcfiles import Artifact, Version, parse_dvc_file, parse_dvc_yaml
from archivist.policy import parse_policy
from archivist.retention.decide import VersionRecord, decide, left_alone, left_alone_records

POLICY = parse_policy("""\
version: 1
remotes: {active: storage, archive: archive}
retention:
  default: standard
  classes:
    standard: {active: 180d, archive: 3y}
""", "archivist.yaml")
AS_OF = dt.date(2030, 1, 1)  # every superseded version is due for disposal
KINDS = ("plain", "no-cache", "no-push", "repo", "url", "remote")


def art(path: str, kind: str = "plain") -> Artifact:
    fields: dict[str, object] = {
        "no-cache": {"cache": False}, "no-push": {"push": False}, "repo": {"imported": "repo"},
        "url": {"imported": "url"}, "remote": {"remote": "side"}}.get(kind, {})
    return Artifact(path=path, declared_in=f"{path}.dvc", line=1, tags_in=f"{path}.dvc",
                    tags_line=1, **fields)  # type: ignore[arg-type]


def rec(path: str, digest: str, kind: str = "plain", *, current: bool = False,
        ) -> VersionRecord:
    return VersionRecord(path=path, version=Version("md5", digest, size=3),
                         artifact=art(path, kind), current=current,
                         superseded=None if current else dt.date(2020, 1, 1),
                         superseded_by=None if current else "c0ffee",
                         ended_by=None if current else "replaced")


def test_dvc_fields_are_read_from_dvc_files_and_dvc_yaml() -> None:
    repo_import = parse_dvc_file(
        "md5: 1\nfrozen: true\ndeps:\n- path: data/src.bin\n  repo:\n    url: ../src\n"
        "    rev_lock: abc\nouts:\n- md5: aa\n  hash: md5\n  path: imported.bin\n",
        "imported.bin.dvc")[0]
    url_import = parse_dvc_file(
        "deps:\n- md5: bb\n  path: /data/u.bin\nouts:\n- md5: bb\n  path: u.bin\n", "u.bin.dvc")[0]
    added = parse_dvc_file("outs:\n- md5: cc\n  path: m.bin\n  push: false\n"
                           "  remote: side\n", "m.bin.dvc")[0]
    staged = {a.path: a for a in parse_dvc_yaml(
        "stages:\n  s:\n    cmd: x\n    outs:\n    - a.txt:\n        cache: false\n"
        "    - b.bin:\n        remote: side\n    - c.bin\n", "dvc.yaml")}
    assert (repo_import.imported, url_import.imported, added.imported) == ("repo", "url", None)
    assert (added.push, added.remote, added.cache) == (False, "side", True)
    assert (staged["a.txt"].cache, staged["b.bin"].remote, staged["c.bin"].cache) == \
        (False, "side", True)
    assert left_alone(staged["c.bin"]) is None and left_alone(staged["b.bin"]) is None
    assert "in git" in str(left_alone(staged["a.txt"]))
    assert "source" in str(left_alone(repo_import)) and "source" in str(left_alone(url_import))
    assert "never sent to a remote" in str(left_alone(added))


def test_no_item_for_outputs_left_alone_and_their_bytes_stay() -> None:
    records = [rec("gen.txt", "a" * 32, "no-cache"), rec("gen.txt", "b" * 32, "no-cache",
                                                         current=True),
               rec("models/m.bin", "c" * 32), rec("models/m.bin", "d" * 32, current=True),
               # the same bytes as the import's old version, in a planned output
               rec("copy.bin", "e" * 32), rec("u.bin", "e" * 32, "url"),
               rec("side.bin", "f" * 32, "remote")]
    items = decide(records, POLICY, [], AS_OF)
    assert sorted({i.path for i in items}) == ["copy.bin", "models/m.bin", "side.bin"]
    by = {(i.path, i.digest): i for i in items}
    assert by[("models/m.bin", "c" * 32)].action == "dispose"
    kept = by[("copy.bin", "e" * 32)]
    assert kept.action == "keep" and "same bytes as u.bin" in kept.reason
    assert by[("side.bin", "f" * 32)].remote == "side"
    assert by[("side.bin", "f" * 32)].action == "dispose"
    assert by[("models/m.bin", "c" * 32)].remote is None
    alone = left_alone_records(records)
    assert [(a.path, a.current) for a in alone] == [("gen.txt", False), ("gen.txt", True),
                                                   ("u.bin", False)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a.bin", "b.bin", "c.bin"]),
                          st.sampled_from(["1" * 32, "2" * 32, "3" * 32]),
                          st.sampled_from(KINDS), st.booleans()),
                max_size=8, unique_by=lambda t: (t[0], t[1])))
def test_nothing_left_alone_is_planned_nor_its_bytes_deleted(
        rows: list[tuple[str, str, str, bool]]) -> None:
    records = [rec(path, digest, kind, current=current) for path, digest, kind, current in rows]
    # one artifact has one kind of output across its versions, as in one dvc file
    first = {}
    for r in records:
        first.setdefault(r.path, r.artifact)
    records = [dataclasses.replace(r, artifact=dataclasses.replace(first[r.path]))
               for r in records]
    items = decide(records, POLICY, [], AS_OF)
    alone = {(r.path, r.version.digest) for r in records if left_alone(r.artifact)}
    alone_digests = {d for _, d in alone}
    assert not alone & {(i.path, i.digest) for i in items}
    assert len(items) + len(alone) == len(records)
    for item in items:
        if item.action != "keep":
            assert item.digest not in alone_digests
