"""Records that are not what they claim: forged or early disposals and restores, events for
versions that never were, commits dated out of order, holds that hold nothing.

Each test tampers with its own copy of the base repository (auditrepo.py tells its
history) the way a person with push access could, and reads the remotes where bytes matter.
"""

from __future__ import annotations

import json

from .auditrepo import (
    AuditRepo,
    findings,
    forge_event,
    kinds_and_subjects,
    remote_object,
    version_at,
    when,
)


def _archived_v1(repo: AuditRepo) -> str:
    """clf v1, which the base history archived on 2023-09-01."""
    return version_at(repo, "HEAD~5")


def test_disposal_not_due_under_the_parents_policy(fresh: AuditRepo) -> None:
    v1, v2 = _archived_v1(fresh), version_at(fresh, "HEAD~1")
    # v1: replaced 2023-02-01, class standard (active 90d, archive 3y): disposal due
    # 2026-05-02. A real dispose on that day is in order.
    proc = fresh.archivist("dispose", "--apply", "--as-of", "2026-06-01",
                           env=when("2026-06-01", "bot"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not remote_object(fresh, "archive", v1).exists()
    _, report = fresh.audit_json("--as-of", "2026-06-02")
    assert not findings(report, "disposal-not-due")
    # v2 (replaced 2023-11-01) is not due before 2027-01-30: a tombstone for it is forged,
    # and the audit says so, naming the commit
    forged = forge_event(fresh, "dispose", [{"artifact": "models/clf.pkl", "version": v2,
                                             "from": "storage"}], "2026-06-03", "eve")
    code, report = fresh.audit_json("--as-of", "2026-06-04")
    assert code == 1
    assert kinds_and_subjects(report, "disposal-not-due") == {
        ("disposal-not-due", f"models/clf.pkl {v2}")}
    assert findings(report, "disposal-not-due")[0]["commit"] == forged
    # the forgery is otherwise perfect: no integrity finding gives it away
    assert not findings(report, "ledger-mismatch", "ledger-edited", "unknown-version")
    # --deep: the forged tombstone's bytes are still in storage; the real one's are gone
    assert remote_object(fresh, "storage", v2).is_file()
    _, report = fresh.audit_json("--as-of", "2026-06-04", "--deep")
    assert kinds_and_subjects(report, "disposed-present") == {
        ("disposed-present", f"storage:{v2.removeprefix('md5:')}")}


def test_disposal_of_a_held_version(fresh: AuditRepo) -> None:
    v1 = _archived_v1(fresh)
    policy = fresh.read("archivist.yaml").replace(
        "  holds: []\n",
        '  holds:\n    - {path: models/clf.pkl, reason: "legal hold LH-7", until: 2027-12-31}\n')
    fresh.write("archivist.yaml", policy)
    fresh.commit_as("legal hold on the classifier", "2026-05-01", "carol", "archivist.yaml")
    # due by its windows on 2026-06-01, but held: `dispose --as-of 2028-01-01` would have
    # deleted it; so does a forged tombstone
    forge_event(fresh, "dispose", [{"artifact": "models/clf.pkl", "version": v1,
                                    "from": "archive"}], "2026-06-01", "eve")
    _, report = fresh.audit_json("--as-of", "2026-06-02")
    found = findings(report, "disposal-not-due")
    assert [f["subject"] for f in found] == [f"models/clf.pkl {v1}"]
    assert "held" in found[0]["problem"]


def test_restore_beyond_the_active_window(fresh: AuditRepo) -> None:
    v1 = _archived_v1(fresh)
    proc = fresh.archivist("restore", "models/clf.pkl", "--version", v1, "--as-of",
                           "2024-02-01", env=when("2024-02-01", "bot"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert remote_object(fresh, "storage", v1).is_file()
    _, report = fresh.audit_json("--as-of", "2024-02-02")
    assert not findings(report, "restore-beyond-window", "ledger-mismatch")
    # "restore until 9999-12-31" would keep v1 forever; class standard allows 90 days
    forged = forge_event(fresh, "restore",
                         [{"artifact": "models/clf.pkl", "version": v1, "from": "archive",
                           "to": "storage", "until": "9999-12-31"}], "2024-03-01", "eve",
                         extra_trailers=(("Archivist-Until", "9999-12-31"),))
    _, report = fresh.audit_json("--as-of", "2024-03-02")
    assert kinds_and_subjects(report, "restore-beyond-window") == {
        ("restore-beyond-window", f"models/clf.pkl {v1}")}
    assert findings(report, "restore-beyond-window")[0]["commit"] == forged
    assert not findings(report, "ledger-mismatch")


def test_event_for_a_version_that_never_existed(fresh: AuditRepo) -> None:
    ghost = "md5:" + "5" * 32
    forged = forge_event(fresh, "archive", [{"artifact": "models/clf.pkl", "version": ghost,
                                             "from": "storage", "to": "archive"}],
                         "2024-03-01", "eve")
    _, report = fresh.audit_json()
    assert kinds_and_subjects(report, "unknown-version") == {
        ("unknown-version", f"models/clf.pkl {ghost}")}
    assert findings(report, "unknown-version")[0]["commit"] == forged


def test_a_persons_commit_dressed_as_an_archivist_action(fresh: AuditRepo) -> None:
    v2 = version_at(fresh, "HEAD~1")
    # a consistent "archive" record that also rewrites a DVC file in the same commit
    dvc_file = fresh.read("models/clf.pkl.dvc").replace("bob@example.com", "eve@example.com")
    fresh.write("models/clf.pkl.dvc", dvc_file)
    mixed = forge_event(fresh, "archive", [{"artifact": "models/clf.pkl", "version": v2,
                                            "from": "storage", "to": "archive"}],
                        "2024-03-01", "eve", also=("models/clf.pkl.dvc",))
    # an event file that agrees with its trailers but lacks what archivist always writes
    bare = {"event": "archive", "entries": [{"artifact": "models/clf.pkl", "version": v2,
                                             "from": "storage", "to": "archive"}]}
    fresh.write(".archivist/events/20240302T000000Z-archive-bare.json", json.dumps(bare))
    fresh.git("add", "--", ".archivist/events")
    fresh.git("commit", "-q", "--no-verify", "-m",
              "archive: 1 version\n\nArchivist-Event: archive\n"
              f"Archivist-Artifact: models/clf.pkl\nArchivist-Version: {v2}\n"
              "Archivist-From: storage\nArchivist-To: archive\n", env=when("2024-03-02", "eve"))
    bare_sha = fresh.sha("HEAD")
    # and a made-up kind of event
    odd = forge_event(fresh, "purge", [{"artifact": "models/clf.pkl", "version": v2}],
                      "2024-03-03", "eve")
    _, report = fresh.audit_json()
    assert {f["commit"] for f in findings(report, "ledger-mismatch")} == {mixed, bare_sha, odd}


def test_commit_dates_out_of_order_or_in_the_future(fresh: AuditRepo) -> None:
    fresh.write("README.md", "one\n")
    backdated = fresh.commit_as("notes", "2020-01-01", "eve", "README.md")
    fresh.write("README.md", "two\n")
    # git takes no ISO date past 2099; its raw form goes further (here: 2286-11-20)
    far = {**when("2024-01-01", "eve"), "GIT_AUTHOR_DATE": "@9999999999 +0000",
           "GIT_COMMITTER_DATE": "@9999999999 +0000"}
    future = fresh.commit("more notes", "README.md", env=far)
    fresh.write("README.md", "three\n")
    fresh.commit_as("and more", "2024-04-01", "bob", "README.md")  # after all real dates
    # git's own record of the committer dates, newest first
    dates = fresh.git("log", "-4", "--format=%cs").stdout.split()
    assert dates == ["2024-04-01", "2286-11-20", "2020-01-01", "2023-11-01"]
    code, report = fresh.audit_json()
    assert code == 1
    assert kinds_and_subjects(report, "backdated-commit", "future-commit") == {
        ("backdated-commit", backdated), ("future-commit", future)}


def test_hold_that_holds_nothing(fresh: AuditRepo) -> None:
    lines = fresh.read("archivist.yaml").replace("  holds: []\n", "").splitlines()
    holds = [
        '    - {path: models/clf.pkl, reason: "LH-1"}',  # holds every clf version
        '    - {path: models/retired.pkl, reason: "LH-2"}',  # never tracked
        '    - {path: models/clf.pkl, version: "md5:' + "0" * 32 + '", reason: "LH-3"}',
        '    - {path: models/gone.pkl, reason: "LH-4", until: 2020-01-01}',  # expired
    ]
    fresh.write("archivist.yaml", "\n".join([*lines, "  holds:", *holds]) + "\n")
    fresh.commit_as("holds", "2024-04-01", "carol", "archivist.yaml")
    first = len(lines) + 2  # the line of the first hold
    _, report = fresh.audit_json()
    assert kinds_and_subjects(report, "hold-unmatched") == {
        ("hold-unmatched", f"archivist.yaml:{first + 1}"),
        ("hold-unmatched", f"archivist.yaml:{first + 2}")}
    # the hold that matches does hold: retention's own plan says so
    plan = json.loads(fresh.archivist("plan", "--json", "--as-of", "2024-06-01").stdout)
    held = {i["version"] for i in plan["items"] if i["state"] == "held"}
    assert _archived_v1(fresh) in held
