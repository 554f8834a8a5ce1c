"""Who was allowed: each way a record, approval, tag or policy change can fail authority,
seen by git's own ``verify-commit``/``verify-tag``, by ``audit --json`` and by the CI gate
(``check --from-ref``, exit 1). Real ssh-keygen keys, commits signed by git itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from archivist.authority.records import PlannedDeletion, plan_digest
from realrepo import have

from .authrepo import (
    POLICY,
    SIGNERS,
    AuthRepo,
    build,
    kinds,
    public_key,
    signers_line,
)

pytestmark = pytest.mark.skipif(not have("ssh-keygen"), reason="needs ssh-keygen (OpenSSH)")

DISPOSED = [{"artifact": "models/clf.pkl", "version": "md5:" + "a" * 32, "from": "archive",
             "objects": ["a" * 32]}]
PLAN = plan_digest([PlannedDeletion("models/clf.pkl", "md5:" + "a" * 32, "archive",
                                    ("a" * 32,))])


@pytest.fixture
def repo(tmp_path: Path) -> AuthRepo:
    return build(tmp_path)


def _named(repo: AuthRepo, base: str, kind: str, commit: str) -> dict:
    """The finding of ``kind`` about ``commit`` in the audit, also failing the gate."""
    code, report = repo.audit()
    assert code == 1
    about = [f for f in kinds(report).get(kind, []) if f["commit"] == commit]
    assert about, f"no {kind} finding on {commit[:10]}: {kinds(report).keys()}"
    gate_code, gate = repo.gate(base)
    assert gate_code == 1 and not gate["ok"]
    assert [f for f in kinds(gate, "authority").get(kind, []) if f["commit"] == commit]
    return about[0]


def add_doras_key(repo: AuthRepo, who: str = "carl", message: str = "add dora's key") -> str:
    """Commit dora's key into the signers file, signed by ``who``."""
    repo.write(SIGNERS, repo.read(SIGNERS) + signers_line("dora", public_key(repo, "dora")))
    return repo.signed_commit(message, who)


def approve(repo: AuthRepo, who: str, plan: str = PLAN, *, meaning: str = "approval") -> str:
    return repo.record("approval", who, entries=DISPOSED, trailers=(
        ("Archivist-Meaning", meaning), ("Archivist-Approves", "dispose"),
        ("Archivist-Plan", plan)))


def dispose(repo: AuthRepo, who: str, approvals: list[str], plan: str = PLAN) -> str:
    return repo.record("dispose", who, entries=DISPOSED, trailers=(
        ("Archivist-Meaning", "authorship"), ("Archivist-Plan", plan),
        *(("Archivist-Approval", a) for a in approvals)))


def test_signed_authorized_records_pass_and_say_who_signed(repo: AuthRepo) -> None:
    base = repo.head()
    archive = repo.record("archive", "bot")
    policy = add_doras_key(repo)
    first = approve(repo, "carl")
    second = approve(repo, "dora")
    disposal = dispose(repo, "carl", [first, second])

    assert repo.verify_commit(archive, base).returncode == 0
    assert repo.verify_commit(second, policy).returncode == 0
    code, gate = repo.gate(base)
    assert code == 0 and gate["authority"] == [], gate
    _, report = repo.audit()
    assert not [f for f in report["findings"] if f.get("rule")]
    assert not kinds(report).get("ledger-mismatch")  # an approval is an archivist record
    signed = {e["commit"]: e["signature"] for e in report["events"]}
    assert signed[second]["meaning"] == "approval"
    assert signed[archive]["principal"] == "bot@example.com"
    assert signed[archive]["roles"] == ["retention-bot"]
    assert signed[archive]["meaning"] == "authorship"
    assert signed[disposal]["principal"] == "carl@example.com"
    assert report["authority"] is True


def test_unsigned_archivist_commit(repo: AuthRepo) -> None:
    base = repo.head()
    sha = repo.record("archive", None)
    assert repo.verify_commit(sha, base).returncode != 0
    assert repo.git("log", "-1", "--format=%G?", sha).stdout.strip() == "N"  # no signature
    found = _named(repo, base, "unsigned", sha)
    assert found["signer"] is None and "may.archive" in found["rule"]
    _, report = repo.audit()
    assert sha not in {e["commit"] for e in report["events"] if e["by_archivist"]}


def test_unknown_key(repo: AuthRepo) -> None:
    base = repo.head()
    sha = repo.record("archive", "carl", signer="eve")
    oracle = repo.verify_commit(sha, base)
    assert oracle.returncode != 0 and "No principal matched" in oracle.stderr
    found = _named(repo, base, "unknown-signer", sha)
    assert found["signer"].startswith("SHA256:")


def test_expired_key(repo: AuthRepo) -> None:
    base = repo.head()
    in_time = repo.record("archive", "bot", day="2024-12-01")
    late = repo.record("archive", "bot", day="2025-06-01")
    assert repo.verify_commit(in_time, base).returncode == 0
    oracle = repo.verify_commit(late, base)
    assert oracle.returncode != 0 and "expired" in oracle.stderr
    _named(repo, base, "unknown-signer", late)
    _, gate = repo.gate(base)
    assert in_time not in {f["commit"] for f in gate["authority"]}


def test_expired_key_on_a_backdated_commit(repo: AuthRepo) -> None:
    base = repo.head()
    repo.write("notes.txt", "after the key expired\n")
    repo.signed_commit("notes", "ana", "2025-06-01")
    sha = repo.record("archive", "bot", day="2024-12-01")  # before its parent, and expiry
    assert repo.verify_commit(sha, base).returncode == 0  # git believes the date it is given
    found = _named(repo, base, "unknown-signer", sha)
    assert "before its parent" in found["problem"]


def test_key_added_in_the_commit_that_uses_it(repo: AuthRepo) -> None:
    base = repo.head()
    sha = add_doras_key(repo, "dora", "dora adds her own key")
    assert repo.verify_commit(sha, base).returncode != 0  # the parent's file: unknown
    assert repo.verify_commit(sha, sha).returncode == 0  # its own file vouches for itself
    found = _named(repo, base, "self-authorized", sha)
    assert found["signer"] == "dora@example.com"


def test_policy_change_by_someone_without_the_policy_role(repo: AuthRepo) -> None:
    base = repo.head()
    repo.write("archivist.yaml", POLICY.replace("dispose: {roles: [compliance]",
                                                "dispose: {roles: [compliance, ml-lead]"))
    sha = repo.signed_commit("ml-lead may dispose too", "ana")
    assert repo.verify_commit(sha, base).returncode == 0  # a good signature, a wrong role
    found = _named(repo, base, "unauthorized", sha)
    assert found["signer"] == "ana@example.com" and "may.policy" in found["rule"]


def test_policy_change_granting_its_signer_the_policy_role(repo: AuthRepo) -> None:
    base = repo.head()
    repo.write("archivist.yaml", POLICY.replace("ml-lead: [ana@example.com]",
                                                "ml-lead: [ana@example.com]\n    "
                                                "owners: [ana@example.com]").replace(
        "policy: [compliance]", "policy: [compliance, owners]"))
    sha = repo.signed_commit("ana grants herself the policy", "ana")
    assert repo.verify_commit(sha, base).returncode == 0
    _named(repo, base, "self-authorized", sha)


def test_one_approval_where_two_are_needed(repo: AuthRepo) -> None:
    base = repo.head()
    first = approve(repo, "carl")
    sha = dispose(repo, "carl", [first])
    assert repo.verify_commit(first, base).returncode == 0
    found = _named(repo, base, "missing-approval", sha)
    assert "1 valid approval" in found["problem"] and "asks for 2" in found["problem"]


def test_two_approvals_by_one_principal(repo: AuthRepo) -> None:
    base = repo.head()
    first, again = approve(repo, "carl"), approve(repo, "carl")
    sha = dispose(repo, "carl", [first, again])
    found = _named(repo, base, "missing-approval", sha)
    assert "carl@example.com again" in found["problem"]


def test_approval_for_a_plan_that_then_changed(repo: AuthRepo) -> None:
    base = repo.head()
    add_doras_key(repo)
    old = plan_digest([])  # approved when nothing else was due
    first, second = approve(repo, "carl", old), approve(repo, "dora", old)
    sha = dispose(repo, "carl", [first, second])  # the plan it carries out is PLAN
    found = _named(repo, base, "missing-approval", sha)
    assert "plan changed" in found["problem"]


def test_dispose_that_deleted_other_than_its_plan(repo: AuthRepo) -> None:
    base = repo.head()
    add_doras_key(repo)
    other = plan_digest([])
    sha = dispose(repo, "carl", [approve(repo, "carl", other), approve(repo, "dora", other)],
                  plan=other)  # approvals agree with the trailer, not with what it deleted
    found = _named(repo, base, "missing-approval", sha)
    assert "event file records as deleted" in found["problem"]


def test_forged_trailer_in_a_persons_commit(repo: AuthRepo) -> None:
    base = repo.head()
    repo.write("models/notes.txt", "retrained\n")
    sha = repo.signed_commit("retrain\n\nArchivist-Event: dispose\n"
                             "Archivist-Artifact: models/clf.pkl\n"
                             f"Archivist-Version: md5:{'a' * 32}\n", None)
    assert "dispose" in repo.git("log", "-1", "--format=%(trailers:key=Archivist-Event)",
                                 sha).stdout
    found = _named(repo, base, "forged-record", sha)
    assert "not believed" in found["problem"]
    _, report = repo.audit()
    assert not [e for e in report["events"] if e["commit"] == sha and e["by_archivist"]]


def test_release_tags_signed_by_whom_may_release(repo: AuthRepo) -> None:
    base = repo.head()
    repo.record("archive", "bot")
    commit = repo.head()
    repo.git("-c", "gpg.format=ssh", "-c", f"user.signingkey={repo.key('ana')}", "tag", "-s",
             "-m", "release", "clf@v1.0.0", commit)
    repo.git("-c", "gpg.format=ssh", "-c", f"user.signingkey={repo.key('carl')}", "tag", "-s",
             "-m", "release", "clf@v1.1.0", commit)
    repo.git("tag", "-a", "-m", "release", "clf@v1.2.0", commit)
    allowed = repo.root.parent / "signers-now"
    allowed.write_text(repo.read(SIGNERS))
    assert repo.git("-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-tag",
                    "clf@v1.0.0", check=False).returncode == 0
    code, gate = repo.gate(base)
    assert code == 1
    by_tag = {(f["subject"], f["kind"]) for f in gate["authority"]}
    assert by_tag == {("clf@v1.1.0", "unauthorized"), ("clf@v1.2.0", "unsigned")}


def test_repository_without_authority_has_no_new_findings(tmp_path: Path) -> None:
    plain = POLICY.split("authority:")[0]
    repo = build(tmp_path, plain)
    base = repo.head()
    repo.record("archive", None)
    repo.write("models/notes.txt", "x\n")
    repo.signed_commit("notes\n\nArchivist-Event: dispose\n", None)
    code, gate = repo.gate(base)
    assert "authority" not in gate and code == 0, gate
    _, report = repo.audit()
    assert not [f for f in report["findings"] if f.get("rule")]
    assert report["authority"] is False
    assert [n for n in report["notes"] if "not enforced" in n]
    assert all("signature" not in e for e in report["events"])


def test_every_report_format_says_who_signed_each_event(repo: AuthRepo) -> None:
    from html.parser import HTMLParser

    archive = repo.record("archive", "carl")
    restore = repo.record("restore", None, entries=[
        {"artifact": "models/clf.pkl", "version": "md5:" + "1" * 32, "from": "archive",
         "to": "storage"}])
    assert repo.verify_commit(archive, f"{archive}^").returncode == 0
    signed = "carl@example.com (compliance), authorship"
    texts = {}
    for fmt in ("table", "markdown", "html"):
        proc = repo.archivist("audit", "--as-of", "2026-01-01", "--format", fmt)
        assert proc.returncode == 1, proc.stderr
        texts[fmt] = proc.stdout
    row = next(line for line in texts["table"].splitlines() if line.startswith("20")
               and archive[:10] in line)
    assert signed in row
    assert f"`{archive[:10]}`" in texts["markdown"] and signed in texts["markdown"]

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def handle_data(self, data: str) -> None:
            self.seen.append(data)

    page = Text()
    page.feed(texts["html"])
    assert any(signed in chunk for chunk in page.seen)
    # the unsigned restore is a finding, not an event, in every format
    _, report = repo.audit()
    assert restore not in {e["commit"] for e in report["events"]}
    assert [f for f in kinds(report)["unsigned"] if f["commit"] == restore]
    assert restore[:10] in texts["markdown"] and "unsigned" in texts["html"]


def test_a_broken_policy_switches_nothing_off(repo: AuthRepo) -> None:
    base = repo.head()
    repo.write("archivist.yaml", "version: [\n")
    repo.signed_commit("oops", "carl")
    sha = repo.record("archive", None)  # judged by the last readable policy
    repo.write("archivist.yaml", POLICY)
    repo.signed_commit("policy back", "carl")
    _named(repo, base, "unsigned", sha)
