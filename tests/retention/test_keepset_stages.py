"""A version a GTO stage holds is in use: never archived or disposed. The registry is made
with the real ``gto`` CLI, and ``gto show --json`` is the oracle for what each stage holds."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from archivist import gto_tags
from realrepo import run

if TYPE_CHECKING:  # the fixtures come from conftest; nothing is imported from it
    from retention.sample import Sample

BIN = Path(sys.executable).parent
NAME = "text-classification"
DVC_YAML = f"artifacts:\n  {NAME}:\n    path: models/model.pkl\n    type: model\n"
Z, A, B, C, D = (f"\0model {n}".encode() * 300 for n in "zabcd")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def dated(day: str) -> dict[str, str]:
    stamp = f"{day}T12:00:00+00:00"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def gto(sample: Sample, *args: str) -> str:
    # GTO orders events by the tagger date, in seconds: one event per second
    time.sleep(1.05 - (time.time() % 1))
    return run([BIN / "gto", *args], sample.root).stdout


def staged(sample: Sample) -> dict[str, str]:
    """digest -> stage, as ``gto show`` says (the oracle)."""
    shown = json.loads(gto(sample, "show", "--json"))
    versions = json.loads(gto(sample, "show", NAME, "--json")) if NAME in shown else []
    commit_of = {v["version"]: v["commit_hexsha"] for v in versions}
    out = {}
    for stage, version in (shown.get(NAME, {}).get("stage") or {}).items():
        if version:
            out[sample.digest("models/model.pkl", commit_of[version])] = stage
    return out


def plan(sample: Sample, as_of: str) -> dict[str, dict[str, object]]:
    proc = sample.archivist("plan", "--json", "--as-of", as_of)
    assert proc.returncode == 0, proc.stderr
    return {i["version"].removeprefix("md5:"): i for i in json.loads(proc.stdout)["items"]}


def in_use(items: dict[str, dict[str, object]]) -> dict[str, str]:
    return {d: str(i["stage"]).split()[1] for d, i in items.items() if i["state"] == "in-use"}


def test_versions_in_a_gto_stage_are_never_archived(local_sample: Sample) -> None:
    sample = local_sample
    sample.write("dvc.yaml", DVC_YAML)
    sample.commit("registry", "dvc.yaml", env=dated("2019-05-01"))
    commits = {}
    for data, day in ((Z, "2019-06-01"), (A, "2020-01-01"), (B, "2020-02-01"),
                      (C, "2020-03-01"), (D, "2020-04-01")):
        commits[data] = sample.version("models/model.pkl", data, day)
    sample.push_all()
    for data, version in ((Z, "v0.9.0"), (A, "v1.0.0"), (B, "v1.1.0"), (C, "v1.2.0")):
        gto(sample, "register", NAME, commits[data], "--version", version)
    gto(sample, "deprecate", NAME, "v0.9.0")  # deregistered: back to its own class
    for version, stage in (("v1.0.0", "prod"), ("v1.1.0", "staging"), ("v1.2.0", "dev")):
        gto(sample, "assign", NAME, "--version", version, "--stage", stage)

    oracle = staged(sample)
    assert oracle == {md5(A): "prod", md5(B): "staging", md5(C): "dev"}
    items = plan(sample, "2021-06-01")
    assert in_use(items) == oracle
    prod_tag = next(t for t in sample.git("tag", "-l").stdout.split() if "#prod#" in t)
    assert items[md5(A)]["stage"] == f"stage prod via {prod_tag}"
    assert f"stage prod via {prod_tag}" in str(items[md5(A)]["reason"])
    assert items[md5(Z)]["retention_class"] == "standard"  # deregistered
    assert items[md5(Z)]["action"] == "archive"

    proc = sample.archivist("archive", "--apply", "--as-of", "2021-06-01",
                            env=dated("2021-06-01"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    for data in (A, B, C, D):  # released a year ago, but in a stage (D: current)
        assert storage.intact(md5(data)) and not archive.has(md5(data))
    assert archive.intact(md5(Z)) and not storage.has(md5(Z))

    # prod moves on: v1.0.0 leaves it and takes the release class like any release
    gto(sample, "assign", NAME, "--version", "v1.1.0", "--stage", "prod")
    gto(sample, "deprecate", NAME, "v1.1.0", "staging")  # unassigned
    oracle = staged(sample)
    assert oracle == {md5(B): "prod", md5(C): "dev"}
    items = plan(sample, "2021-06-01")
    assert in_use(items) == oracle
    assert (items[md5(A)]["state"], items[md5(A)]["action"]) == ("active", "archive")
    assert items[md5(A)]["retention_class"] == "regulated"

    # a deprecated artifact holds no stage and no release: its own class again
    gto(sample, "deprecate", NAME)
    assert staged(sample) == {}
    items = plan(sample, "2021-06-01")
    assert in_use(items) == {}
    assert {items[md5(v)]["retention_class"] for v in (A, B, C)} == {"standard"}


def test_gto_tag_grammar_and_stage_rules_match_gto() -> None:
    parsed = gto_tags.parse("nlp=text-classification#prod!#7")
    assert parsed is not None and (parsed.name, parsed.action, parsed.stage, parsed.counter) \
        == ("nlp:text-classification", gto_tags.Action.UNASSIGN, "prod", 7)
    assert gto_tags.parse("clf@v1.2.0-rc.1+b5").version == "v1.2.0-rc.1+b5"  # type: ignore[union-attr]
    assert gto_tags.parse("clf@v1.2.0!#3").action is gto_tags.Action.DEREGISTER  # type: ignore[union-attr]
    assert gto_tags.parse("clf@deprecated#4").action is gto_tags.Action.DEPRECATE  # type: ignore[union-attr]
    for not_gto in ("clf@1.2.0", "models/clf.pkl@v1.0.0", "v1.0.0", "-clf#prod#1"):
        assert gto_tags.parse(not_gto) is None
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    def tag(name: str, commit: str, minutes: int) -> gto_tags.TagRecord:
        return gto_tags.TagRecord(name, commit, t0 + dt.timedelta(minutes=minutes))

    registry = gto_tags.fold([
        tag("clf@v1.0.0", "c1", 0), tag("clf@v1.1.0", "c2", 1), tag("clf#prod#1", "c1", 2),
        tag("clf#prod#2", "c2", 3), tag("clf#dev#3", "c1", 4), tag("clf#dev!#4", "c1", 5)])
    assert [(u.stage, u.version) for u in registry.in_use()] == [("prod", "v1.1.0")]
    assert [(u.stage, u.version) for u in registry.in_use(versions_per_stage=-1)] == [
        ("prod", "v1.1.0"), ("prod", "v1.0.0")]
    assert {r.version for r in registry.registrations()} == {"v1.0.0", "v1.1.0"}
