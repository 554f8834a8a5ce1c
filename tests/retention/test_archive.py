"""archive: copy, read back, delete, commit; on local folders and on S3."""

from __future__ import annotations

import json

from retention.sample import Sample, md5

OLD, NEWER, NOW = b"model v1 " * 1000, b"model v2 " * 1000, b"model v3 " * 1000


def three_versions(sample: Sample) -> tuple[str, str, str]:
    sample.version("models/clf.pkl", OLD, "2020-01-10")
    sample.version("models/clf.pkl", NEWER, "2021-01-10")
    sample.version("models/clf.pkl", NOW, "2022-01-10")
    sample.push_all()
    return md5(OLD), md5(NEWER), md5(NOW)


def test_dry_run_lists_due_versions_and_changes_nothing(sample: Sample) -> None:
    v1, v2, _ = three_versions(sample)
    before = (sample.remotes["storage"].keys(), sample.log_count())
    proc = sample.archivist("archive", "--as-of", "2021-09-01")
    assert proc.returncode == 0, proc.stderr
    assert v1[:12] in proc.stdout and v2[:12] not in proc.stdout  # v2's window is open
    assert "dry run" in proc.stdout
    assert (sample.remotes["storage"].keys(), sample.log_count()) == before
    assert sample.remotes["archive"].keys() == set()


def test_apply_moves_due_versions_and_commits_the_event(sample: Sample) -> None:
    v1, v2, v3 = three_versions(sample)
    proc = sample.archivist("archive", "--apply", "--as-of", "2023-01-01")
    assert proc.returncode == 0, proc.stderr
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    assert storage.oids() == {v3}
    assert archive.oids() == {v1, v2}
    assert archive.intact(v1) and archive.intact(v2)

    log = sample.git("log", "-1", "--format=%s%n%(trailers)").stdout
    assert log.startswith("archive: 2 versions of 1 artifact (policy class standard)")
    assert "Archivist-Event: archive" in log
    assert f"Archivist-Version: md5:{v1}" in log and f"Archivist-Version: md5:{v2}" in log
    assert "Archivist-From: storage" in log and "Archivist-To: archive" in log
    files = sample.git("show", "--name-only", "--format=", "HEAD").stdout.split()
    assert len(files) == 1 and files[0].startswith(".archivist/events/")
    event = json.loads(sample.read(files[0]))
    assert event["event"] == "archive"
    assert [e["version"] for e in event["entries"]] == [f"md5:{v1}", f"md5:{v2}"]
    assert event["entries"][0]["objects"] == [v1]

    plan = json.loads(sample.archivist("plan", "--json", "--as-of", "2023-01-01").stdout)
    states = {i["version"]: (i["state"], i["location"]) for i in plan["items"]}
    assert states[f"md5:{v1}"] == ("archived", "archive")
    assert states[f"md5:{v3}"] == ("current", "active")


def test_second_run_does_nothing_and_commits_nothing(local_sample: Sample) -> None:
    three_versions(local_sample)
    assert local_sample.archivist("archive", "--apply", "--as-of", "2023-01-01").returncode == 0
    head = local_sample.head()
    proc = local_sample.archivist("archive", "--apply", "--as-of", "2023-01-01")
    assert proc.returncode == 0
    assert "nothing is due" in proc.stdout
    assert local_sample.head() == head


def test_dvc_pull_of_the_head_works_after_archive_and_dispose(sample: Sample) -> None:
    three_versions(sample)
    assert sample.archivist("archive", "--apply", "--as-of", "2023-01-01").returncode == 0
    # v1 and v2 are past both windows by 2026 (--apply never takes a future --as-of)
    assert sample.archivist("dispose", "--apply", "--as-of", "2026-01-01").returncode == 0
    sample.drop_cache()
    (sample.root / "models" / "clf.pkl").unlink()
    sample.dvc("pull", "-q", "-r", "storage")
    assert (sample.root / "models" / "clf.pkl").read_bytes() == NOW


def test_json_output_for_machines(local_sample: Sample) -> None:
    v1, _, _ = three_versions(local_sample)
    proc = local_sample.archivist("archive", "--apply", "--json", "--as-of", "2021-09-01")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["applied"] is True and data["commit"] == local_sample.head()
    assert [v["version"] for v in data["versions"]] == [f"md5:{v1}"]
    assert data["deleted"] == {"storage": 1} and data["verified"] == 1
