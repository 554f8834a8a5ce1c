"""The authority judge on plain values: what each kind of commit needs, and from whom."""

from __future__ import annotations

import datetime as dt

from archivist.authority.judge import (
    Approval,
    CommitFacts,
    Judged,
    TagFacts,
    count_approvals,
    judge_commit,
    judge_tag,
)
from archivist.authority.records import FindingKind
from archivist.authority.signatures import SignatureCheck, SignatureStatus
from archivist.policy import parse_policy

from .authrepo import POLICY

AUTHORITY = parse_policy(POLICY).authority
T = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
EVENT = ("A", ".archivist/events/x.json")


def facts(sha: str = "c" * 40, trailers: tuple[tuple[str, str], ...] = (),
          changes: tuple[tuple[str, str], ...] = (EVENT,)) -> CommitFacts:
    return CommitFacts(sha=sha, author="A <a@x>", date=T, subject="s", trailers=trailers,
                       changes=changes, parent="p" * 40)


def good(who: str, sha: str = "c" * 40) -> SignatureCheck:
    return SignatureCheck(sha, SignatureStatus.GOOD, f"{who}@example.com", "SHA256:k")


def found(j: Judged) -> list[FindingKind]:
    return [f.kind for f in judge_commit(j).findings]


def test_without_authority_everything_is_believed() -> None:
    verdict = judge_commit(Judged(facts(trailers=(("Archivist-Event", "dispose"),)), None,
                                  None))
    assert verdict.findings == [] and verdict.believed


def test_a_bad_signature_is_no_signature() -> None:
    bad = SignatureCheck("c" * 40, SignatureStatus.BAD, None, "SHA256:k")
    assert found(Judged(facts(trailers=(("Archivist-Event", "archive"),)), AUTHORITY,
                        bad)) == [FindingKind.UNSIGNED]


def test_a_hold_record_needs_the_policy_role() -> None:
    record = facts(trailers=(("Archivist-Event", "hold"),))
    assert found(Judged(record, AUTHORITY, good("bot"))) == [FindingKind.UNAUTHORIZED]
    assert found(Judged(record, AUTHORITY, good("carl"))) == []


def test_people_commits_need_nothing_unless_they_change_the_policy() -> None:
    person = facts(changes=(("M", "models/clf.pkl.dvc"),))
    assert found(Judged(person, AUTHORITY, None)) == []
    policy = facts(changes=(("M", "archivist.yaml"),))
    assert found(Judged(policy, AUTHORITY, None)) == [FindingKind.UNSIGNED]
    signers = facts(changes=(("M", ".archivist/allowed_signers"),))
    assert found(Judged(signers, AUTHORITY, good("carl"))) == []


def test_an_approval_by_a_role_that_may_not_dispose_counts_for_nothing() -> None:
    plan = "sha256:" + "1" * 64
    approvals = {}
    for n, who in enumerate(("carl", "ana")):
        sha = str(n) * 40
        approvals[sha] = Approval(facts(sha, (
            ("Archivist-Event", "approval"), ("Archivist-Meaning", "approval"),
            ("Archivist-Approves", "dispose"), ("Archivist-Plan", plan))), good(who, sha),
            before=True)
    dispose = facts(trailers=(("Archivist-Event", "dispose"), ("Archivist-Plan", plan),
                              *(("Archivist-Approval", s) for s in approvals)))
    verdict = judge_commit(Judged(dispose, AUTHORITY, good("carl"), approvals=approvals))
    assert [f.kind for f in verdict.findings] == [FindingKind.MISSING_APPROVAL]
    assert "ana@example.com, who holds no role of may.dispose" in verdict.findings[0].problem
    assert not verdict.believed


def test_one_rule_counts_approvals_and_says_why_the_others_do_not() -> None:
    """count_approvals is what the client asks before it deletes and what the judge asks
    after: one principal each, good signature, a role of may.dispose, meaning approval,
    this exact plan, before the dispose."""
    plan, other = "sha256:" + "1" * 64, "sha256:" + "2" * 64

    def approval(n: int, check: SignatureCheck | None, *, meaning: str = "approval",
                 of: str = plan, before: bool = True) -> tuple[str, Approval]:
        sha = str(n) * 40
        return sha, Approval(facts(sha, (
            ("Archivist-Event", "approval"), ("Archivist-Meaning", meaning),
            ("Archivist-Approves", "dispose"), ("Archivist-Plan", of))),
            check or SignatureCheck(sha, SignatureStatus.UNKNOWN_SIGNER, None, "SHA256:e"),
            before=before)

    named = [approval(1, good("carl", "1" * 40)), approval(2, good("carl", "2" * 40)),
             approval(3, good("dora", "3" * 40), meaning="review"),
             approval(4, good("ana", "4" * 40)), approval(5, None),
             approval(6, good("dora", "6" * 40), of=other),
             approval(7, good("dora", "7" * 40), before=False), ("8" * 40, None)]
    count = count_approvals(AUTHORITY, plan, named)
    assert count.counted == {"carl@example.com": "1" * 40}
    assert count.problems == [
        "approval 2222222222 is by carl@example.com again (already 1111111111): a second "
        "approval by the same principal; approvals count distinct principals",
        "approval 3333333333 by dora@example.com: meaning review, not approval",
        "approval 4444444444 is by ana@example.com, who holds no role of may.dispose "
        "(compliance)",
        "approval 5555555555 has no good signature (unknown-signer, by "
        ".archivist/allowed_signers at its parent)",
        f"approval 6666666666 is for plan {other[:19]}..., not this one {plan[:19]}... "
        "(the plan changed after it was approved)",
        "approval 7777777777 is not before the dispose",
        "approval 8888888888 is not a commit here"]
    # the judge of a dispose naming them reports the same lines
    dispose = facts(trailers=(("Archivist-Event", "dispose"), ("Archivist-Plan", plan),
                              *(("Archivist-Approval", s) for s, _ in named)))
    verdict = judge_commit(Judged(dispose, AUTHORITY, good("carl"),
                                  approvals={s: a for s, a in named if a is not None}))
    [finding] = verdict.findings
    assert finding.kind is FindingKind.MISSING_APPROVAL
    assert all(line in finding.problem for line in count.problems)


def test_trailers_without_an_event_are_a_forged_record() -> None:
    person = facts(trailers=(("Archivist-Plan", "sha256:0"),),
                   changes=(("M", "models/clf.pkl.dvc"),))
    assert found(Judged(person, AUTHORITY, good("carl"))) == [FindingKind.FORGED_RECORD]


def test_a_release_tag_needs_a_release_role() -> None:
    def tag(check: SignatureCheck, annotated: bool = True) -> list[FindingKind]:
        return [f.kind for f in judge_tag(TagFacts("clf@v1.0.0", "c" * 40, None, T,
                                                   annotated, check), AUTHORITY)]

    assert tag(good("ana")) == []
    assert tag(good("carl")) == [FindingKind.UNAUTHORIZED]
    assert tag(SignatureCheck("c" * 40, SignatureStatus.UNSIGNED, None, None),
               annotated=False) == [FindingKind.UNSIGNED]
