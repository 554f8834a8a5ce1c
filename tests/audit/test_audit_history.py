"""archivist audit on a real DVC repository with dated history: events, findings, figures."""

from __future__ import annotations

import json
from pathlib import Path

from realrepo import archivist

from .auditrepo import AS_OF, AuditRepo


def _by_kind(report: dict, kind: str) -> list[dict]:
    return [f for f in report["findings"] if f["kind"] == kind]


def test_events_oldest_first_with_who_when_and_what(base: AuditRepo) -> None:
    code, report = base.audit_json()
    assert code == 1  # the base history has findings
    events = report["events"]
    assert [(e["date"][:10], e["kind"], e["artifact"], e["author"]) for e in events] == [
        ("2023-01-02", "hold", "models/legal/**", "Ana Lima"),
        ("2023-01-10", "added", "models/clf.pkl", "Ana Lima"),
        ("2023-02-01", "version", "models/clf.pkl", "Bob Stone"),
        ("2023-03-01", "tags", "models/clf.pkl", "Bob Stone"),
        ("2023-03-15", "added", "models/untagged.pkl", "Eve Park"),
        ("2023-09-01", "archive", "models/clf.pkl", "archivist bot"),
        ("2023-10-01", "hold-removed", "models/legal/**", "Carol Diaz"),
        ("2023-11-01", "version", "models/clf.pkl", "Bob Stone"),
    ]
    tags = events[3]
    assert tags["details"]["changes"] == [
        {"key": "owner", "from": "ana@example.com", "to": "bob@example.com"}]
    assert tags["email"] == "bob@example.com"
    assert tags["commit"] == base.sha("HEAD~4")
    assert not tags["by_archivist"]
    archive = events[5]
    assert archive["by_archivist"]
    assert archive["details"]["from"] == "storage" and archive["details"]["to"] == "archive"
    # the archived version is v1, the one Ana added
    assert archive["version"] == events[1]["version"]
    assert archive["commit"] == base.sha("HEAD~2")


def test_findings_name_kind_subject_and_fix(base: AuditRepo) -> None:
    _, report = base.audit_json()
    kinds = [f["kind"] for f in report["findings"]]
    assert kinds == ["noncompliant", "hook-bypassed", "overdue", "policy-weakened",
                     "policy-weakened"]
    noncompliant = _by_kind(report, "noncompliant")[0]
    assert noncompliant["artifact"] == "models/untagged.pkl"
    assert noncompliant["fix"].startswith("archivist tag models/untagged.pkl owner=")
    bypass = _by_kind(report, "hook-bypassed")[0]
    assert bypass["commit"] == base.sha("HEAD~3")
    assert bypass["author"] == "Eve Park <eve@example.com>"
    assert bypass["date"].startswith("2023-03-15")
    overdue = _by_kind(report, "overdue")[0]
    assert overdue["artifact"] == "models/clf.pkl"
    assert "archive was due 2024-01-30" in overdue["problem"]
    weakened = _by_kind(report, "policy-weakened")
    assert {f["author"] for f in weakened} == {"Carol Diaz <carol@example.com>"}
    problems = " | ".join(f["problem"] for f in weakened)
    assert "active window 180d -> 90d" in problems
    assert "removed hold on models/legal/**" in problems


def test_figures(base: AuditRepo) -> None:
    _, report = base.audit_json()
    f = report["figures"]
    assert (f["artifacts"], f["compliant"], f["compliance_rate"]) == (2, 1, 0.5)
    assert f["versions_by_state"] == {"active": 1, "archived": 1, "current": 2}
    # v1 (11 bytes) is in the archive remote; v2 and both current versions in storage
    assert f["bytes_by_remote"] == {"archive (archive)": 11, "storage (active)": 28 + 36 + 13}
    assert f["bytes_by_class"] == {"standard": 11 + 28 + 36 + 13}
    assert f["oldest_overdue"]["due"] == "2024-01-30"
    assert f["overdue"] == 1
    assert f["commits"] == 8


def test_a_clean_history_exits_zero(git_repo) -> None:
    repo = AuditRepo(git_repo.root)
    repo.write("archivist.yaml", "version: 1\ntags:\n  - match: {paths: ['models/**']}\n"
                                 "    require: {owner: {}}\n")
    repo.write("models/m.pkl.dvc", "outs:\n- md5: 0cc175b9c0f1b6a831c399e269772661\n"
                                   "  size: 1\n  hash: md5\n  path: m.pkl\n"
                                   "  meta: {owner: ana@example.com}\n")
    repo.commit("policy and a tagged model")
    proc = repo.audit()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FINDINGS (0)" in proc.stdout and "everything audited is in policy" in proc.stdout
    assert "1 of 1 comply (100.0%)" in proc.stdout


def test_since_and_artifact_narrow_the_report(base: AuditRepo) -> None:
    _, report = base.audit_json("--since", "2023-06-01")
    assert [e["date"][:10] for e in report["events"]] == [
        "2023-09-01", "2023-10-01", "2023-11-01"]
    assert "hook-bypassed" not in {f["kind"] for f in report["findings"]}  # 2023-03-15
    assert report["figures"]["artifacts"] == 2  # figures stay repository-wide
    _, report = base.audit_json("--artifact", "models/untagged.pkl")
    assert {e["artifact"] for e in report["events"]} == {"models/untagged.pkl"}
    assert "overdue" not in {f["kind"] for f in report["findings"]}  # about clf.pkl
    assert "policy-weakened" in {f["kind"] for f in report["findings"]}  # repository-wide
    # a path relative to the current folder, as a user types it
    proc = archivist("audit", "--as-of", AS_OF, "--json", "--artifact", "clf.pkl",
                     cwd=base.root / "models")
    assert {e["artifact"] for e in json.loads(proc.stdout)["events"]} == {"models/clf.pkl"}


def test_markdown_report_for_merge_requests(base: AuditRepo) -> None:
    proc = base.audit("--format", "markdown")
    assert proc.returncode == 1
    text = proc.stdout
    assert text.startswith("## archivist audit")
    assert "| Figure | Value |" in text
    assert "| Kind | About | Problem | By | Date | Fix |" in text
    assert "| hook-bypassed |" in text
    assert "`archivist tag models/untagged.pkl owner=... retention=experiment\\|standard`" \
        in text
    assert "| Date | Commit | Author | Event | Artifact | Version | What |" in text


def test_output_file_is_written_whole_and_format_follows_the_extension(
        base: AuditRepo, tmp_path: Path) -> None:
    target = tmp_path / "out" / "audit.json"
    target.parent.mkdir()
    proc = base.audit("--output", str(target))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "wrote json report" in proc.stderr
    data = json.loads(target.read_text())
    assert set(data) >= {"events", "findings", "figures"}
    assert sorted(p.name for p in target.parent.iterdir()) == ["audit.json"]  # no temp left
    md = tmp_path / "out" / "audit.md"
    assert base.audit("-o", str(md)).returncode == 1
    assert md.read_text().startswith("## archivist audit")


def test_table_is_the_default(base: AuditRepo) -> None:
    proc = base.audit()
    assert proc.returncode == 1
    out = proc.stdout
    assert out.index("Compliance") < out.index("EVENTS (8)") < out.index("FINDINGS (5)")
    assert "[hook-bypassed]" in out and "fix: archivist tag models/untagged.pkl" in out
