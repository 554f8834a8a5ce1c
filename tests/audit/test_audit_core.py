"""The pure decisions behind the audit, on plain values."""

from __future__ import annotations

import datetime as dt

from archivist.audit.collect import judge_release
from archivist.audit.judge import (
    bytes_by_remote,
    describe_tag_changes,
    disposal_problem,
    event_file_problems,
    expected_locations,
    foreign_changes,
    ledger_locations,
    people_events,
    policy_weakenings,
    restore_problem,
    tag_changes,
    unknown_version_findings,
)
from archivist.audit.model import AuditEvent, CommitInfo
from archivist.dvcfiles import Artifact, Version
from archivist.ledger import EventEntry, LedgerCommit, read_event
from archivist.policy import Remotes, parse_policy
from archivist.release.names import VerifyStatus
from archivist.retention.decide import PlanItem

BASE = """\
version: 1
tags:
  - match: {paths: ["models/**"]}
    require: {owner: {}, retention: {enum: [standard, regulated]}}
retention:
  default: standard
  classes:
    standard: {active: 180d, archive: 3y}
    regulated: {active: 1y, archive: forever}
  releases: regulated
  holds:
    - {path: models/a.pkl, reason: "LH-1", until: 2030-01-01}
    - {path: models/b.pkl, reason: "LH-2", until: 2020-01-01}
"""
ON = dt.date(2024, 1, 1)


def weakened(new_text: str | None) -> list[str]:
    new = parse_policy(new_text) if new_text is not None else None
    return policy_weakenings(parse_policy(BASE), new, ON)


def test_same_or_stricter_policy_is_not_weaker() -> None:
    assert weakened(BASE) == []
    stricter = BASE.replace("active: 180d", "active: 1y").replace(
        "require: {owner: {}", "require: {owner: {}, data.source: {}")
    assert weakened(stricter) == []
    # a rule that now covers more paths still requires the tag
    assert weakened(BASE.replace('paths: ["models/**"]', 'paths: ["**"]')) == []


def test_each_weakening_is_named() -> None:
    assert weakened(BASE.replace("active: 180d", "active: 30d")) == [
        "retention class 'standard': active window 180d -> 30d"]
    assert weakened(BASE.replace("archive: forever", "archive: 5y")) == [
        "retention class 'regulated': archive window forever -> 1825d"]
    assert weakened(BASE.replace(", retention: {enum: [standard, regulated]}", "")) == [
        "removed required tag 'retention' (rule models/**)"]
    assert weakened(BASE.replace('    - {path: models/a.pkl, reason: "LH-1", until: '
                                 "2030-01-01}\n", "")) == [
        "removed hold on models/a.pkl (LH-1)"]
    assert weakened(BASE.replace("until: 2030-01-01", "until: 2025-01-01")) == [
        "hold on models/a.pkl now ends 2025-01-01 (was 2030-01-01)"]
    assert weakened(BASE.replace("releases: regulated", "releases: standard")) == [
        "release class 'regulated' (active 365d, archive forever) -> 'standard' "
        "(active 180d, archive 1095d)"]
    assert weakened(None) == [
        "deleted archivist.yaml: every required tag, retention window and hold with it"]


def test_an_expired_hold_may_go_quietly() -> None:
    assert weakened(BASE.replace('    - {path: models/b.pkl, reason: "LH-2", until: '
                                 "2020-01-01}\n", "")) == []


def _artifact(meta: dict, digest: str = "a" * 32) -> Artifact:
    return Artifact(path="models/m.pkl", declared_in="models/m.pkl.dvc", line=2,
                    tags_in="models/m.pkl.dvc", tags_line=2, meta=meta,
                    version=Version("md5", digest))


def test_tag_changes_from_what_to_what() -> None:
    before = _artifact({"owner": "a@x.io", "data": {"source": "s3://a"}, "old": "1"})
    after = _artifact({"owner": "b@x.io", "data": {"source": "s3://a"}, "new": ["x", "y"]})
    changes = tag_changes(before, after)
    assert changes == [("new", None, ["x", "y"]), ("old", "1", None),
                       ("owner", "a@x.io", "b@x.io")]
    assert describe_tag_changes(changes) == "+new=x,y; -old (was 1); owner: a@x.io -> b@x.io"


def test_people_events_split_version_and_tag_changes() -> None:
    info = CommitInfo("c" * 40, "Ana", "ana@x.io", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "s")
    before = _artifact({"owner": "a@x.io"})
    after = _artifact({"owner": "b@x.io"}, digest="b" * 32)
    kinds = [e.kind for e in people_events(info, [(before, after), (None, before),
                                                  (after, None)])]
    assert kinds == ["version", "tags", "added", "removed"]


def _commit(trailers: list[tuple[str, str]]) -> LedgerCommit:
    return LedgerCommit(sha="d" * 40, author="bot", email="bot@x.io",
                        date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), subject="archive: 1",
                        trailers=tuple(trailers), changes=())


TRAILERS = [("Archivist-Event", "archive"), ("Archivist-Artifact", "models/m.pkl"),
            ("Archivist-Version", "md5:1"), ("Archivist-From", "storage"),
            ("Archivist-To", "archive")]
DOCUMENT = {"schema": 1, "event": "archive", "time": "2024-01-01T00:00:00+00:00",
            "actor": "bot <bot@x.io>", "rule": None,
            "entries": [{"artifact": "models/m.pkl", "version": "md5:1", "from": "storage",
                         "to": "archive"}]}


def test_a_ledger_event_reads_its_file_first_and_its_trailers_else() -> None:
    commit = _commit([*TRAILERS, ("Archivist-Rule", "class standard"),
                      ("Archivist-Until", "2024-06-01")])
    from_file = read_event(commit, dict(DOCUMENT, entries=[
        dict(DOCUMENT["entries"][0], objects=3, bytes=12)]))
    assert from_file.kind == "archive" and from_file.until == "2024-06-01"
    assert from_file.rule == "class standard"  # the file has none: the trailer's
    assert from_file.entries == (EventEntry("models/m.pkl", "md5:1", "storage", "archive",
                                            {"objects": 3, "bytes": 12}),)
    # what the retention plan reads (trailers only), and a file with no entries list
    for document in (None, {"entries": "?"}, []):
        assert read_event(commit, document).entries == (EventEntry("models/m.pkl", "md5:1"),)
    assert read_event(commit, dict(DOCUMENT, rule="class regulated")).rule == \
        "class regulated"


def test_event_file_agreeing_with_its_trailers() -> None:
    assert event_file_problems(_commit(TRAILERS), DOCUMENT) == []


def test_event_file_disagreeing_with_its_trailers() -> None:
    assert event_file_problems(_commit(TRAILERS), dict(DOCUMENT, event="dispose")) == [
        "trailer says 'archive', event file says 'dispose'"]
    moved = dict(DOCUMENT, entries=[dict(DOCUMENT["entries"][0], to="elsewhere")])
    assert event_file_problems(_commit(TRAILERS), moved) == [
        "Archivist-To: trailers ['archive'], event file ['elsewhere']"]
    assert event_file_problems(_commit(TRAILERS), []) == ["the event file is not a JSON object"]


def _event(kind: str, source: str | None, target: str | None) -> AuditEvent:
    details = {k: v for k, v in (("from", source), ("to", target)) if v}
    return AuditEvent(kind=kind, commit="e" * 40, author="bot", email="", date=dt.datetime(
        2024, 1, 1, tzinfo=dt.UTC), artifact="m", version="md5:1", summary="",
        by_archivist=True, details=details)


def test_ledger_locations_replay_the_moves() -> None:
    assert ledger_locations([_event("archive", "storage", "archive")]) == {
        ("m", "md5:1"): {"archive"}}
    assert ledger_locations([_event("archive", "storage", "archive"),
                             _event("restore", "archive", "storage")]) == {
        ("m", "md5:1"): {"archive", "storage"}}
    assert ledger_locations([_event("archive", "storage", "archive"),
                             _event("dispose", "archive", None)]) == {}


def _item(state: str, action: str, klass: str = "standard") -> PlanItem:
    return PlanItem(path="models/m.pkl", version="md5:" + "a" * 32, state=state, action=action,
                    reason=f"{state} for a reason", due=None, retention_class=klass, size=1,
                    location="archive")


def test_an_output_with_its_own_remote_is_expected_and_counted_there() -> None:
    roles = Remotes(active="storage", archive="cold")
    shared = PlanItem(path="models/m.pkl", version="md5:" + "a" * 32, state="active",
                      action="keep", reason="", due=None, retention_class="standard", size=5,
                      location="active")
    own = PlanItem(path="data/big", version="md5:" + "b" * 32 + ".dir", state="active",
                   action="keep", reason="", due=None, retention_class="standard", size=7,
                   location="active", remote="bulk")
    archived = PlanItem(path="data/big", version="md5:" + "c" * 32 + ".dir", state="archived",
                        action="keep", reason="", due=None, retention_class="standard",
                        size=11, location="archive", remote="bulk")

    assert expected_locations([shared, own, archived], {}, roles) == {
        ("models/m.pkl", shared.version): {"storage"}, ("data/big", own.version): {"bulk"},
        ("data/big", archived.version): {"cold"}}
    assert bytes_by_remote([shared, own, archived], roles) == {
        "bulk (active)": 7, "cold (archive)": 11, "storage (active)": 5}
    # without remotes named by the policy, a plan location stays a role, as DVC resolves it
    assert Remotes(None, None).remote_of("active", default="storage") == "storage"
    assert bytes_by_remote([shared], Remotes(None, None)) == {"active": 5}


def test_a_disposal_is_due_only_when_the_plan_said_dispose() -> None:
    assert disposal_problem(_item("archived", "dispose")) is None
    assert disposal_problem(None) is None  # unknown-version reports a version never seen
    for state, action in (("held", "keep"), ("current", "keep"), ("archived", "keep"),
                          ("active", "archive")):
        problem = disposal_problem(_item(state, action))
        assert problem is not None and state in problem


def test_a_restore_may_last_one_active_window() -> None:
    policy = parse_policy(BASE)  # standard: active 180d
    on = dt.date(2024, 1, 1)
    item = _item("archived", "keep")
    assert restore_problem(item, policy, on, "2024-06-29") is None  # 180 days on
    assert restore_problem(item, policy, on, "2024-06-30") is not None
    assert restore_problem(item, policy, on, "9999-12-31") is not None
    assert restore_problem(item, policy, on, None) is not None  # forever
    assert restore_problem(item, policy, on, "someday") is not None
    assert restore_problem(_item("archived", "keep", "regulated"), policy, on,
                           "2024-12-31") is None  # 1y
    assert restore_problem(None, policy, on, "9999-12-31") is None  # unknown-version's


def test_archivist_commits_only_its_own_records() -> None:
    assert foreign_changes("archive", [".archivist/events/x.json"]) == []
    assert foreign_changes("release", [".archivist/events/x.json",
                                       ".archivist/signatures/clf/v1.0.0.sig"]) == []
    assert len(foreign_changes("archive", [".archivist/events/x.json", "m.pkl.dvc"])) == 1
    assert len(foreign_changes("purge", [".archivist/events/x.json"])) == 1


def test_an_event_must_follow_the_version_it_names() -> None:
    order = {"c1": 0, "c2": 1, "c3": 2}
    seen = {("m", "md5:1"): 1}

    def event(commit: str, version: str) -> AuditEvent:
        return AuditEvent(kind="archive", commit=commit, author="bot", email="b@x.io",
                          date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), artifact="m",
                          version=version, summary="", by_archivist=True)

    found = unknown_version_findings([event("c1", "md5:1"), event("c2", "md5:1"),
                                      event("c3", "md5:1"), event("c3", "md5:2")], seen, order)
    assert [(f.kind, f.commit, f.subject) for f in found] == [
        ("unknown-version", "c1", "m md5:1"), ("unknown-version", "c3", "m md5:2")]


def test_what_the_audit_makes_of_each_verify_status() -> None:
    def judge(status: VerifyStatus, deep: bool = False, moved: bool = False) -> str:
        return judge_release(status, deep=deep, moved_in_ledger=moved)

    assert judge(VerifyStatus.OK) == "verified"
    assert judge(VerifyStatus.LEGACY) == "legacy"
    # git only: bytes it could not read are said, not judged; --deep reads them
    assert judge(VerifyStatus.CONTENT_MISSING) == "unchecked"
    assert judge(VerifyStatus.CONTENT_MISSING, deep=True) == "finding"
    for status in (VerifyStatus.UNSIGNED, VerifyStatus.MALFORMED, VerifyStatus.MOVED,
                   VerifyStatus.UNTRUSTED_SIGNER, VerifyStatus.CONTENT_MISMATCH):
        assert judge(status) == "finding"
        assert judge(status, moved=True) == "covered"  # the ledger's finding says it
