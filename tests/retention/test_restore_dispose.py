"""restore and dispose against real remotes; holds, releases and forever classes."""

from __future__ import annotations

import json
import shutil

from retention.remotes_helpers import (
    DISPOSE_AS_OF,
    M1,
    A,
    B,
    C,
    D,
    E,
    cache_oids,
    disposal_history,
    disposed_objects,
    last_event,
)
from retention.sample import Sample, md5, object_key

OLD, NEWER, NOW = b"\0old" * 500, b"\0newer" * 500, b"\0now" * 500
REG1 = b"\0reg1"


def archived_history(sample: Sample, as_of: str = "2023-01-01") -> tuple[str, str, str]:
    sample.version("models/clf.pkl", OLD, "2020-01-10")
    sample.version("models/clf.pkl", NEWER, "2021-01-10")
    sample.version("models/clf.pkl", NOW, "2022-01-10")
    sample.push_all()
    proc = sample.archivist("archive", "--apply", "--as-of", as_of)
    assert proc.returncode == 0, proc.stderr
    return md5(OLD), md5(NEWER), md5(NOW)


def test_restore_brings_a_version_back_and_records_until(sample: Sample) -> None:
    v1, _, _ = archived_history(sample)
    proc = sample.archivist("restore", "models/clf.pkl", "--rev", "HEAD~3",
                            "--as-of", "2023-01-02", "--until", "2023-06-01")
    assert proc.returncode == 0, proc.stderr
    assert sample.remotes["storage"].intact(v1)
    log = sample.git("log", "-1", "--format=%s%n%(trailers)").stdout
    assert "Archivist-Event: restore" in log and f"Archivist-Version: md5:{v1}" in log
    assert "Archivist-From: archive" in log and "Archivist-To: storage" in log
    assert "Archivist-Until: 2023-06-01" in log
    plan = json.loads(sample.archivist("plan", "--json", "--as-of", "2023-03-01").stdout)
    item = next(i for i in plan["items"] if i["version"] == f"md5:{v1}")
    assert (item["state"], item["action"], item["due"]) == ("restored", "keep", "2023-06-01")
    # once the date passes it is due for archiving again
    plan = json.loads(sample.archivist("plan", "--json", "--as-of", "2023-06-02").stdout)
    item = next(i for i in plan["items"] if i["version"] == f"md5:{v1}")
    assert item["action"] == "archive"


def test_restore_of_a_damaged_archive_copy_restores_nothing(sample: Sample) -> None:
    v1, _, _ = archived_history(sample)
    sample.remotes["archive"].write(object_key(v1), b"tampered")
    head = sample.head()
    proc = sample.archivist("restore", "models/clf.pkl", "--version", f"md5:{v1[:10]}")
    assert proc.returncode == 1
    assert v1 in proc.stderr and "nothing was restored" in proc.stderr
    assert not sample.remotes["storage"].has(v1)
    assert sample.head() == head


def test_restore_of_a_version_in_the_active_remote_does_nothing(local_sample: Sample) -> None:
    archived_history(local_sample)
    head = local_sample.head()
    proc = local_sample.archivist("restore", "models/clf.pkl")
    assert proc.returncode == 0
    assert "nothing to restore" in proc.stderr and local_sample.head() == head


def test_dispose_deletes_everywhere_and_leaves_a_tombstone(sample: Sample) -> None:
    v1, v2, v3 = archived_history(sample)
    proc = sample.archivist("dispose", "--apply", "--as-of", "2024-08-01")
    assert proc.returncode == 0, proc.stderr
    # v1: replaced 2021-01-10, +180d +3y (1095 d) = 2024-07-08 -> gone; v2 not until 2025
    assert not sample.remotes["archive"].has(v1) and not sample.remotes["storage"].has(v1)
    assert sample.remotes["archive"].intact(v2) and sample.remotes["storage"].intact(v3)
    log = sample.git("log", "-1", "--format=%s%n%(trailers)").stdout
    assert log.startswith("dispose: 1 version of 1 artifact")
    assert f"Archivist-Version: md5:{v1}" in log and "Archivist-Rule: archive window" in log
    name = sample.git("show", "--name-only", "--format=", "HEAD").stdout.split()[0]
    event = json.loads(sample.read(name))
    assert event["actor"] == "Test Author <author@example.com>"
    assert event["entries"][0]["objects"] == [v1]
    assert event["entries"][0]["due"] == "2024-07-08"
    # the plan now reports it disposed, and nothing more is due that day
    again = sample.archivist("dispose", "--apply", "--as-of", "2024-08-01")
    assert "nothing is due" in again.stdout


def test_holds_and_forever_classes_are_never_disposed(local_sample: Sample) -> None:
    policy = local_sample.read("archivist.yaml") + (
        "  holds:\n    - {path: models/clf.pkl, reason: legal hold LH-114, until: 2031-12-31}\n")
    local_sample.write("archivist.yaml", policy)
    local_sample.commit("legal hold", "archivist.yaml")
    local_sample.version("models/reg.pkl", REG1, "2020-01-10")
    local_sample.write("models/reg.pkl.dvc", local_sample.read("models/reg.pkl.dvc").replace(
        "  path: reg.pkl", "  path: reg.pkl\n  meta:\n    retention: regulated"))
    local_sample.commit("regulated", "models/reg.pkl.dvc")
    v1, _, _ = archived_history(local_sample)
    local_sample.version("models/reg.pkl", b"\0reg2", "2022-02-01")
    local_sample.push_all()
    plan = json.loads(local_sample.archivist("plan", "--json", "--as-of", "2030-01-01").stdout)
    held = next(i for i in plan["items"] if i["version"] == f"md5:{v1}")
    assert held["state"] == "held" and held["action"] == "keep"
    assert "legal hold LH-114" in held["reason"]
    reg = next(i for i in plan["items"] if i["version"] == f"md5:{md5(REG1)}")
    assert reg["retention_class"] == "regulated" and reg["action"] == "archive"
    proc = local_sample.archivist("dispose", "--apply", "--as-of", "2026-06-01")
    assert "nothing is due" in proc.stdout, proc.stderr
    assert local_sample.remotes["storage"].intact(v1)  # a hold froze it where it was
    # after the hold ends, the held version goes; the regulated one never does
    plan = json.loads(local_sample.archivist("plan", "--json", "--as-of", "2090-01-01").stdout)
    actions = {i["version"]: i["action"] for i in plan["items"]}
    assert actions[f"md5:{v1}"] == "dispose"
    assert actions[f"md5:{md5(REG1)}"] == "archive"


def test_release_tag_pins_the_release_class(local_sample: Sample) -> None:
    local_sample.write("dvc.yaml", "artifacts:\n  clf:\n    path: models/clf.pkl\n"
                       "    type: model\n")
    local_sample.commit("register clf", "dvc.yaml")
    local_sample.version("models/clf.pkl", OLD, "2020-01-10")
    local_sample.git("tag", "-a", "clf@v1.0.0", "-m", "release")
    local_sample.version("models/clf.pkl", NEWER, "2021-01-10")
    plan = json.loads(local_sample.archivist("plan", "--json", "--as-of", "2040-01-01").stdout)
    item = next(i for i in plan["items"] if i["version"] == f"md5:{md5(OLD)}")
    assert item["release"] == "clf@v1.0.0" and item["retention_class"] == "regulated"
    assert item["action"] == "archive"  # regulated: archive forever, never disposed


def test_dispose_cleans_the_local_cache_but_never_what_is_kept(local_sample: Sample) -> None:
    v = disposal_history(local_sample)
    assert disposed_objects(v) <= cache_oids(local_sample)  # `dvc add` left them there
    # the working tree brings M1's bytes back, not committed yet: its cache copy must stay
    local_sample.write("models/m.bin", M1)
    local_sample.dvc("add", "-q", "models/m.bin")
    local_sample.git("restore", "--staged", "--", "models/m.bin.dvc")
    proc = local_sample.archivist("dispose", "--apply", "--as-of", DISPOSE_AS_OF)
    assert proc.returncode == 0, proc.stderr
    assert "3 from the local DVC cache" in proc.stdout
    cache = cache_oids(local_sample)
    assert not cache & (disposed_objects(v) - {v["m1"]})
    assert {v["v2"], v["v3"], md5(A), md5(D), md5(E), v["m2"], v["m1"]} <= cache
    assert not local_sample.remotes["archive"].has(v["m1"])  # gone from the remotes still
    event = last_event(local_sample)
    assert set(event["details"]["local_cache"]["removed"]) == {v["v1"], md5(B), md5(C)}
    assert "may still hold copies" in event["details"]["copies_elsewhere"]
    assert "other clones" in local_sample.git("log", "-1", "--format=%b").stdout.lower()
    # DVC itself: the head still checks out from this cache alone
    shutil.rmtree(local_sample.root / "data")
    local_sample.dvc("checkout", "-q", "data.dvc")
    assert (local_sample.root / "data" / "e").read_bytes() == E
