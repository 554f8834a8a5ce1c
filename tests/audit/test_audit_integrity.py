"""Ledger tampering, each integrity finding on its own copy of the base repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realrepo import BIN, run

from .auditrepo import AuditRepo, findings, remote_object, version_at, when


def _event_file(repo: AuditRepo) -> str:
    files = sorted((repo.root / ".archivist" / "events").glob("*.json"))
    assert len(files) == 1
    return files[0].relative_to(repo.root).as_posix()


def _only(report: dict, kind: str) -> dict:
    found = [f for f in report["findings"] if f["kind"] == kind]
    assert len(found) == 1, report["findings"]
    return found[0]


def test_untouched_ledger_has_no_integrity_finding(base: AuditRepo) -> None:
    _, report = base.audit_json()
    assert not [f for f in report["findings"] if f["kind"].startswith("ledger-")]


def test_event_file_edited_after_it_was_added(fresh: AuditRepo) -> None:
    path = _event_file(fresh)
    data = json.loads(fresh.read(path))
    data["entries"][0]["to"] = "nowhere"
    fresh.write(path, json.dumps(data, indent=2) + "\n")
    sha = fresh.commit_as("tidy the ledger", "2024-02-02", "eve", path)
    code, report = fresh.audit_json()
    assert code == 1
    finding = _only(report, "ledger-edited")
    assert finding["subject"] == path
    assert finding["commit"] == sha
    assert finding["author"] == "Eve Park <eve@example.com>"
    assert finding["date"].startswith("2024-02-02")
    assert f"git checkout {sha[:10]}^ -- {path}" in finding["fix"]


def test_event_file_deleted(fresh: AuditRepo) -> None:
    path = _event_file(fresh)
    fresh.git("rm", "-q", "--", path)
    fresh.git("commit", "-q", "--no-verify", "-m", "less clutter", env=when("2024-02-03", "eve"))
    sha = fresh.sha("HEAD")
    _, report = fresh.audit_json()
    finding = _only(report, "ledger-deleted")
    assert (finding["subject"], finding["commit"]) == (path, sha)
    # the event it recorded is still told, from the commit that added it
    assert "archive" in [e["kind"] for e in report["events"]]


def test_trailers_that_disagree_with_their_event_file(fresh: AuditRepo) -> None:
    original = json.loads(fresh.read(_event_file(fresh)))
    forged = dict(original, entries=[dict(original["entries"][0], version="md5:" + "0" * 32)])
    fresh.write(".archivist/events/20240301T000000Z-archive-forged.json", json.dumps(forged))
    message = ("archive: 1 version\n\nArchivist-Event: archive\n"
               "Archivist-Artifact: models/clf.pkl\n"
               f"Archivist-Version: {original['entries'][0]['version']}\n"
               "Archivist-From: storage\nArchivist-To: archive\n")
    fresh.git("add", "--", ".archivist/events")
    fresh.git("commit", "-q", "--no-verify", "-m", message, env=when("2024-03-01", "eve"))
    sha = fresh.sha("HEAD")
    _, report = fresh.audit_json()
    finding = _only(report, "ledger-mismatch")
    assert finding["commit"] == sha
    assert "artifacts and versions differ" in finding["problem"]
    assert "md5:" + "0" * 32 in finding["problem"]


def test_trailers_without_an_event_file(fresh: AuditRepo) -> None:
    fresh.git("commit", "-q", "--allow-empty", "--no-verify", "-m",
              "dispose: 1 version\n\nArchivist-Event: dispose\n"
              "Archivist-Artifact: models/clf.pkl\nArchivist-Version: md5:abc\n",
              env=when("2024-03-02", "eve"))
    sha = fresh.sha("HEAD")
    _, report = fresh.audit_json()
    finding = _only(report, "ledger-mismatch")
    assert finding["commit"] == sha
    assert "no event file" in finding["problem"]


def test_event_file_without_trailers(fresh: AuditRepo) -> None:
    fresh.write(".archivist/events/20240303T000000Z-dispose-handmade.json",
                json.dumps({"schema": 1, "event": "dispose", "entries": []}))
    sha = fresh.commit_as("add an event by hand", "2024-03-03", "eve", ".archivist")
    _, report = fresh.audit_json()
    finding = _only(report, "ledger-mismatch")
    assert finding["commit"] == sha
    assert "without Archivist trailers" in finding["problem"]


def test_policy_made_unreadable(fresh: AuditRepo) -> None:
    fresh.write("archivist.yaml", fresh.read("archivist.yaml") + "retension: {}\n")
    sha = fresh.commit_as("typo", "2024-03-04", "bob", "archivist.yaml")
    # the audit reads the head's policy first: it refuses a broken one with exit 2 ...
    proc = fresh.audit()
    assert proc.returncode == 2
    assert "unknown key 'retension'" in proc.stderr and "Traceback" not in proc.stderr
    # ... and once it is fixed, the history still shows the commit that broke it
    fresh.write("archivist.yaml", fresh.read("archivist.yaml").replace("retension: {}\n", ""))
    fresh.commit_as("fix typo", "2024-03-05", "bob", "archivist.yaml")
    _, report = fresh.audit_json()
    finding = _only(report, "policy-invalid")
    assert finding["commit"] == sha and "retension" in finding["problem"]


def test_release_tag_without_a_bundle(fresh: AuditRepo) -> None:
    fresh.git("tag", "-a", "clf@v1.0.0", "-m", "Registering artifact clf version v1.0.0")
    _, report = fresh.audit_json()
    finding = _only(report, "release")
    assert (finding["subject"], finding["status"]) == ("clf@v1.0.0", "unsigned")
    # GTO's own answer: the tag registers clf v1.0.0, a release a registry would serve
    shown = json.loads(run([BIN / "gto", "show", "--json"], fresh.root).stdout)
    assert shown["clf"]["version"] == "v1.0.0"
    figures = report["figures"]
    assert (figures["releases"], figures["releases_signed"], figures["releases_verified"]) \
        == (1, 0, 0)


def test_deep_reads_objects_back(fresh: AuditRepo) -> None:
    _, report = fresh.audit_json("--deep")
    assert not [f for f in report["findings"] if f["kind"].startswith("object-")]
    assert report["deep"] is True
    archived = json.loads(fresh.read(_event_file(fresh)))["entries"][0]["version"]
    digest = archived.removeprefix("md5:")
    obj = (fresh.root.parent / "remotes" / "archive" / "files" / "md5" / digest[:2] / digest[2:])
    assert obj.is_file()
    obj.chmod(0o644)
    obj.write_bytes(b"bit rot\n")
    _, report = fresh.audit_json("--deep")
    corrupt = _only(report, "object-corrupt")
    assert corrupt["subject"] == f"archive:{digest}" and corrupt["artifact"] == "models/clf.pkl"
    obj.unlink()
    _, report = fresh.audit_json("--deep", "--sample", "5")
    missing = _only(report, "object-missing")
    assert missing["subject"] == f"archive:{digest}"
    assert "dvc push -r archive" in missing["fix"]


def test_deep_checks_current_versions_and_says_where_bytes_figures_come_from(
        fresh: AuditRepo) -> None:
    """The current version's object deleted from storage by hand: without --deep the bytes
    figure says it is the ledger's; --deep finds the object missing and counts what it found."""
    current = version_at(fresh, "HEAD")
    stored = remote_object(fresh, "storage", current)
    _, before = fresh.audit_json()
    assert before["figures"]["bytes_source"] == "ledger"
    assert "Bytes per remote (from the ledger, not looked at)" in fresh.audit().stdout
    _, deep = fresh.audit_json("--deep")
    assert deep["figures"]["bytes_source"] == "found"
    assert deep["figures"]["bytes_by_remote"] == before["figures"]["bytes_by_remote"]
    assert not [f for f in deep["findings"] if f["kind"].startswith("object-")]

    assert stored.is_file()
    stored.chmod(0o644)
    stored.unlink()
    # DVC's own answer: the remote lacks what the cache has
    assert json.loads(fresh.dvc("status", "-c", "--json", "models/clf.pkl.dvc").stdout) \
        == {"models/clf.pkl": "new"}
    _, report = fresh.audit_json("--deep")
    missing = _only(report, "object-missing")
    assert missing["subject"] == f"storage:{current.removeprefix('md5:')}"
    assert missing["artifact"] == "models/clf.pkl"
    size = len(b"weights v3, the longest of them all\n")
    found = report["figures"]["bytes_by_remote"]["storage (active)"]
    assert found == before["figures"]["bytes_by_remote"]["storage (active)"] - size
    assert "Bytes per remote (found on the remotes)" in fresh.audit("--deep").stdout
    # without --deep nothing is read: the figure is still the ledger's, and says so
    _, again = fresh.audit_json()
    assert again["figures"]["bytes_by_remote"] == before["figures"]["bytes_by_remote"]
    assert not findings(again, "object-missing")


def test_bad_input_gets_one_line_and_exit_2(base: AuditRepo, tmp_path: Path) -> None:
    cases = [
        (["--since", "last week"], "not a date"),
        (["--sample", "10"], "--sample goes with --deep"),
        (["--sample", "-3", "--deep"], "not a positive whole number"),
        (["--rev", "no-such-branch"], "unknown git revision"),
        (["--artifact", "models/nope.pkl"], "no artifact at that path"),
        (["--format", "pdf"], "invalid choice"),
        (["--json", "--format", "html"], "contradict"),
        (["--output", str(tmp_path / "missing" / "a.html")], "does not exist"),
    ]
    for args, message in cases:
        proc = base.audit(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_outside_a_repository_or_without_a_policy(tmp_path: Path, git_repo) -> None:
    from realrepo import archivist

    proc = archivist("audit", cwd=tmp_path)
    assert proc.returncode == 2 and "not inside a git repository" in proc.stderr
    proc = archivist("audit", cwd=git_repo.root)
    assert proc.returncode == 2 and "archivist.yaml not found" in proc.stderr


@pytest.mark.s3
def test_deep_without_credentials_names_the_remote(fresh: AuditRepo, s3_server) -> None:
    """The archive remote on S3, its credentials not configured (a fork's CI job)."""
    fresh.dvc("remote", "modify", "archive", "url", "s3://archive/audit-no-creds")
    fresh.dvc("remote", "modify", "archive", "endpointurl", s3_server.endpoint)
    nowhere = str(fresh.root.parent / "no-such-file")
    env = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "",
           "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": nowhere,
           "AWS_CONFIG_FILE": nowhere}
    proc = fresh.audit("--deep", env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "'archive'" in lines[0] and s3_server.secret_key not in proc.stderr
    # without --deep the audit reads only git: the remote is never asked
    assert fresh.audit(env=env).returncode == 1
