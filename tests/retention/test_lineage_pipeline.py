"""Lineage on a real pipeline: ``dvc repro`` of two small Python stages (prepare -> train)
whose dataset changes across dated commits, with real local active/archive remotes.

DVC is the oracle for what each version was built from (``dvc.lock`` at each commit,
``dvc status``) and for whether a restored pipeline is whole (``dvc pull`` and
``dvc repro --dry`` in a fresh clone); the remotes are looked at directly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from realrepo import BIN, run
from retention.sample import dated, md5

if TYPE_CHECKING:  # the fixtures come from conftest; nothing is imported from it
    from retention.sample import Sample

PREPARE = """\
import pathlib
out = pathlib.Path("data/prepared")
out.mkdir(parents=True, exist_ok=True)
(out / "rows.txt").write_text(pathlib.Path("data/raw.csv").read_text().upper())
"""
TRAIN = """\
import pathlib, yaml
lr = yaml.safe_load(open("params.yaml"))["lr"]
pathlib.Path("models").mkdir(exist_ok=True)
rows = pathlib.Path("data/prepared/rows.txt").read_text()
pathlib.Path("models/clf.pkl").write_text(f"model lr={lr} on {rows}")
"""
DVC_YAML = """\
stages:
  prepare:
    cmd: python src/prepare.py
    deps: [src/prepare.py, data/raw.csv]
    outs: [data/prepared]
  train:
    cmd: python src/train.py
    deps: [src/train.py, data/prepared]
    params: [lr]
    outs: [models/clf.pkl]
artifacts:
  clf: {path: models/clf.pkl, type: model}
"""
RAW = [f"id,value\n{n},{n * 7}\n".encode() for n in range(1, 5)]


def _commit(sample: Sample, message: str, day: str) -> str:
    sample.git("add", "-A")
    sample.git("commit", "-q", "--no-verify", "-m", message, env=dated(day))
    return sample.head()


def pipeline(sample: Sample) -> dict[str, str]:
    """Three runs of the pipeline on three datasets (v1 released as clf@v1.0.0), then a
    fourth dataset committed without `dvc repro`: the lock still says v3. Every version
    pushed to the active remote."""
    sample.write("src/prepare.py", PREPARE)
    sample.write("src/train.py", TRAIN)
    sample.write("dvc.yaml", DVC_YAML)
    commits = {}
    for n, day in ((1, "2020-01-01"), (2, "2020-03-01"), (3, "2020-06-01")):
        sample.write("params.yaml", f"lr: 0.{n}\n")
        sample.write("data/raw.csv", RAW[n - 1])
        sample.dvc("add", "-q", "data/raw.csv")
        sample.dvc("repro", "-q")
        commits[f"v{n}"] = _commit(sample, f"run {n}", day)
        sample.dvc("push", "-q", "-r", "storage")
    sample.git("tag", "clf@v1.0.0", commits["v1"])
    sample.write("data/raw.csv", RAW[3])
    sample.dvc("add", "-q", "data/raw.csv")
    commits["v4"] = _commit(sample, "new data, not reproduced yet", "2020-09-01")
    sample.dvc("push", "-q", "-r", "storage")
    return commits


def lock_at(sample: Sample, rev: str) -> dict[str, Any]:
    return yaml.safe_load(sample.git("show", f"{rev}:dvc.lock").stdout)["stages"]


def deps(lock: dict[str, Any], stage: str) -> dict[str, str]:
    return {d["path"]: d["md5"] for d in lock[stage]["deps"]}


def out(lock: dict[str, Any], stage: str) -> str:
    return lock[stage]["outs"][0]["md5"]


def plan(sample: Sample, as_of: str) -> dict[tuple[str, str], dict[str, Any]]:
    proc = sample.archivist("plan", "--json", "--as-of", as_of)
    assert proc.returncode == 0, proc.stderr
    return {(i["path"], i["version"].removeprefix("md5:")): i
            for i in json.loads(proc.stdout)["items"]}


def test_plan_keeps_the_data_a_released_model_was_trained_on(local_sample: Sample) -> None:
    sample = local_sample
    commits = pipeline(sample)
    v1 = lock_at(sample, commits["v1"])
    raw1, prep1, model1 = deps(v1, "prepare")["data/raw.csv"], out(v1, "prepare"), \
        out(v1, "train")
    assert raw1 == md5(RAW[0])  # DVC's own record of what prepare read
    items = plan(sample, "2020-12-01")
    # model v1 is released (regulated: active a year); its inputs stay active with it
    assert items[("models/clf.pkl", model1)]["release"] == "clf@v1.0.0"
    assert items[("models/clf.pkl", model1)]["action"] == "keep"
    raw = items[("data/raw.csv", raw1)]
    prep = items[("data/prepared", prep1)]
    for item in (raw, prep):
        assert (item["state"], item["action"]) == ("active", "keep"), item
        assert item["kept_for"]["why"] == "release clf@v1.0.0"
        assert item["kept_for"]["chain"][-1] == ["models/clf.pkl", f"md5:{model1}"]
        assert item["kept_for"]["needs"] == "active"
    assert raw["kept_for"]["chain"][0] == ["data/prepared", f"md5:{prep1}"]
    assert f"kept: input of data/prepared md5:{prep1[:12]}.dir, an input of " \
           f"models/clf.pkl md5:{model1[:12]} (release clf@v1.0.0)" in raw["reason"]
    text = sample.archivist("plan", "--as-of", "2020-12-01").stdout
    assert f"kept: input of models/clf.pkl md5:{model1[:12]} (release clf@v1.0.0)" in text

    # the current model was trained on v3 of the data, which a newer commit replaced
    # without a repro: DVC says prepare is out of date, and the lock's v3 stays kept
    status = json.loads(sample.dvc("status", "--json").stdout)
    assert {"changed deps": {"data/raw.csv": "modified"}} in status["prepare"]
    head = lock_at(sample, "HEAD")
    raw3 = deps(head, "prepare")["data/raw.csv"]
    assert raw3 == md5(RAW[2]) != md5(RAW[3])
    items = plan(sample, "2021-06-01")  # raw v3's own active window ended 2021-02-28
    assert items[("data/raw.csv", raw3)]["action"] == "keep"
    assert items[("data/raw.csv", raw3)]["kept_for"]["why"] == "current"

    # archive obeys it: the remotes hold what the plan says
    proc = sample.archivist("archive", "--apply", "--as-of", "2020-12-01")
    assert proc.returncode == 0, proc.stderr
    v2 = lock_at(sample, commits["v2"])
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    for digest in (raw1, model1):
        assert storage.intact(digest) and not archive.has(digest)
    assert storage.has(prep1) and not archive.has(prep1)
    # model v2 was due, nothing kept is built from its inputs: they went with it
    for digest in (out(v2, "train"), deps(v2, "prepare")["data/raw.csv"],
                   out(v2, "prepare")):
        assert archive.intact(digest) and not storage.has(digest)


def test_without_lineage_the_inputs_go_by_their_own_dates(local_sample: Sample) -> None:
    sample = local_sample
    commits = pipeline(sample)
    sample.write("archivist.yaml", sample.read("archivist.yaml").replace(
        "  releases: regulated\n", "  releases: regulated\n  lineage: false\n"))
    _commit(sample, "retention.lineage: false", "2020-10-01")
    raw1 = deps(lock_at(sample, commits["v1"]), "prepare")["data/raw.csv"]
    item = plan(sample, "2020-12-01")[("data/raw.csv", raw1)]
    assert item["action"] == "archive" and item["kept_for"] is None


def _tree_nodes(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {node["path"]: node}
    for child in node["inputs"]:
        out.update(_tree_nodes(child))
    return out


def test_lineage_prints_the_tree_dvc_lock_records(local_sample: Sample) -> None:
    sample = local_sample
    commits = pipeline(sample)
    for rev in ("HEAD", commits["v1"]):
        lock = lock_at(sample, rev)
        proc = sample.archivist("lineage", "models/clf.pkl", "--rev", rev, "--json")
        assert proc.returncode == 0, proc.stderr
        tree = json.loads(proc.stdout)
        assert tree["version"] == f"md5:{out(lock, 'train')}"
        assert (tree["stage"], tree["cmd"]) == ("train", lock["train"]["cmd"])
        assert tree["params"] == lock["train"]["params"]
        assert {c["path"]: c["version"].removeprefix("md5:") for c in tree["inputs"]} == \
            deps(lock, "train")
        prep = next(c for c in tree["inputs"] if c["path"] == "data/prepared")
        assert {c["path"]: c["version"].removeprefix("md5:") for c in prep["inputs"]} == \
            deps(lock, "prepare")
        nodes = _tree_nodes(tree)
        assert nodes["src/train.py"]["tracked"] is False  # git's, not DVC's
        assert nodes["data/raw.csv"]["tracked"] is True
    # at HEAD the lock's dataset is v3, not the v4 the .dvc file now names: as DVC says
    tree = json.loads(sample.archivist("lineage", "clf", "--json").stdout)
    raw = _tree_nodes(tree)["data/raw.csv"]
    assert raw["version"] == f"md5:{md5(RAW[2])}" and raw["state"] == "active"
    assert sample.digest("data/raw.csv") == md5(RAW[3])
    # a revision off the governed branch: its own lock is read for the top
    sample.git("switch", "-q", "-c", "experiment")
    sample.write("params.yaml", "lr: 0.9\n")
    sample.dvc("repro", "-q")
    experiment = _commit(sample, "try lr 0.9", "2020-10-01")
    sample.git("switch", "-q", "main")
    lock = lock_at(sample, experiment)
    tree = json.loads(sample.archivist("lineage", "models/clf.pkl", "--rev", "experiment",
                                       "--json").stdout)
    assert tree["version"] == f"md5:{out(lock, 'train')}" and tree["state"] is None
    assert tree["params"] == {"params.yaml": {"lr": 0.9}} and tree["commit"] == experiment
    assert {c["path"]: c["version"].removeprefix("md5:") for c in tree["inputs"]} == \
        deps(lock, "train")
    prep = next(c for c in tree["inputs"] if c["path"] == "data/prepared")
    assert prep["how"] == "at-build" and prep["state"] is None  # never on main
    text = sample.archivist("lineage", "models/clf.pkl", "--as-of", "2020-12-01").stdout
    assert "built by stage train" in text and "python src/train.py" in text
    assert f"data/raw.csv md5:{md5(RAW[2])[:12]}  [active, keep]" in text
    assert "src/prepare.py" in text and "[not tracked by DVC]" in text


def _clone_and_pull(sample: Sample, tmp_path: Path, rev: str, name: str,
                    ) -> tuple[Any, Path]:
    clone = tmp_path / name
    run(["git", "clone", "-q", str(sample.root), str(clone)], tmp_path)
    run(["git", "checkout", "-q", rev], clone)
    pulled = run([BIN / "dvc", "pull"], clone, check=False)
    return pulled, clone


def test_restore_with_inputs_brings_the_whole_pipeline_back(local_sample: Sample,
                                                            tmp_path: Path) -> None:
    sample = local_sample
    commits = pipeline(sample)
    proc = sample.archivist("archive", "--apply", "--as-of", "2020-12-01")
    assert proc.returncode == 0, proc.stderr
    v2 = lock_at(sample, commits["v2"])
    versions = {"models/clf.pkl": out(v2, "train"), "data/prepared": out(v2, "prepare"),
                "data/raw.csv": deps(v2, "prepare")["data/raw.csv"]}
    storage = sample.remotes["storage"]
    assert not any(storage.has(d) for d in versions.values())  # all three archived
    pulled, _ = _clone_and_pull(sample, tmp_path, commits["v2"], "before")
    assert pulled.returncode != 0  # DVC cannot fetch that revision now

    before = sample.head()
    proc = sample.archivist("restore", "models/clf.pkl", "--rev", commits["v2"],
                            "--with-inputs", "--as-of", "2020-12-02")
    assert proc.returncode == 0, proc.stderr
    # one commit, one entry per version
    assert sample.git("rev-list", "--count", f"{before}..HEAD").stdout.strip() == "1"
    trailers = sample.git("log", "-1", "--format=%(trailers:key=Archivist-Artifact,"
                          "valueonly)").stdout.split()
    assert sorted(trailers) == sorted(versions)
    for digest in versions.values():
        assert storage.intact(digest)

    pulled, clone = _clone_and_pull(sample, tmp_path, commits["v2"], "after")
    assert pulled.returncode == 0, pulled.stderr
    dvc = BIN / "dvc"
    status = run([dvc, "status"], clone).stdout
    assert "Data and pipelines are up to date." in status
    dry = run([dvc, "repro", "--dry"], clone).stdout
    assert "Running stage" not in dry and "didn't change, skipping" in dry
    assert (clone / "models/clf.pkl").read_text().startswith("model lr=0.2")

    items = plan(sample, "2020-12-03")
    for path, digest in versions.items():
        assert items[(path, digest)]["state"] == "restored", (path, items[(path, digest)])


def test_restore_with_inputs_refuses_when_an_input_was_disposed_of(local_sample: Sample,
                                                                    ) -> None:
    sample = local_sample
    commits = pipeline(sample)
    sample.write("archivist.yaml", sample.read("archivist.yaml").replace(
        "  releases: regulated\n", "  releases: regulated\n  lineage: false\n"))
    _commit(sample, "retention.lineage: false", "2020-10-01")
    for command in ("dispose", "archive"):  # the data went by its own dates; the model
        proc = sample.archivist(command, "--apply", "--as-of", "2024-01-01")  # is archived
        assert proc.returncode == 0, proc.stderr
    v1 = lock_at(sample, commits["v1"])
    raw1, prep1, model1 = deps(v1, "prepare")["data/raw.csv"], out(v1, "prepare"), \
        out(v1, "train")
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    for digest in (raw1, prep1):
        assert not storage.has(digest) and not archive.has(digest)
    assert archive.intact(model1) and not storage.has(model1)

    head = sample.head()
    proc = sample.archivist("restore", "models/clf.pkl", "--rev", commits["v1"],
                            "--with-inputs", "--as-of", "2024-01-02")
    assert proc.returncode == 1
    assert f"data/prepared md5:{prep1}, an input of models/clf.pkl md5:{model1}, was " \
           "disposed of (and 1 more input(s))" in proc.stderr
    assert sample.head() == head and not storage.has(model1)  # nothing restored
    proc = sample.archivist("restore", "models/clf.pkl", "--rev", commits["v1"],
                            "--as-of", "2024-01-02")  # the model alone still comes back
    assert proc.returncode == 0, proc.stderr
    assert storage.intact(model1)
