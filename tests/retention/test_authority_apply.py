"""authority: who may archive, restore and dispose, with real keys and git's own signing.

Keys by ssh-keygen, commits signed by git (gpg.format=ssh), `git verify-commit` with the
signers file as the oracle; remotes are local DVC remotes looked at by the test itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archivist.authority.approvals import deletions_of, digest_of
from realrepo import archivist, run
from retention.authority_helpers import (
    Key,
    act_as,
    govern,
    keys,
    remote_state,
    verify_commit,
)
from retention.sample import Sample, md5

OLD, NEWER, NOW = b"\0old" * 500, b"\0newer" * 500, b"\0now" * 500
V1_DUE = "2024-08-01"  # v1 replaced 2021-01-10: +180d +3y = 2024-07-08; v2 not yet
V2_DUE = "2025-08-01"  # v2 replaced 2022-01-10: due 2025-07-08 as well


@pytest.fixture
def team(tmp_path: Path) -> dict[str, Key]:
    return keys(tmp_path, "ana@example.com", "carl@example.com", "dora@example.com",
                "bot@example.com", "eve@example.com")


@pytest.fixture
def governed(local_sample: Sample, team: dict[str, Key]) -> Sample:
    """Three versions of a model pushed, and a policy whose authority names the team
    (eve's key is in no signers file)."""
    govern(local_sample, [team[n].signers_line() for n in ("ana", "carl", "dora", "bot")])
    local_sample.version("models/clf.pkl", OLD, "2020-01-10")
    local_sample.version("models/clf.pkl", NEWER, "2021-01-10")
    local_sample.version("models/clf.pkl", NOW, "2022-01-10")
    local_sample.push_all()
    return local_sample


def signers_text(sample: Sample) -> str:
    return sample.git("show", "HEAD:.archivist/allowed_signers").stdout


def refused_untouched(sample: Sample, proc, code: int) -> str:  # type: ignore[no-untyped-def]
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def approve(sample: Sample, key: Key, *args: str) -> str:
    act_as(sample, key)
    proc = sample.archivist("approve", "dispose", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["commit"]


def test_an_unauthorized_signer_is_refused_before_any_remote_is_touched(
        governed: Sample, team: dict[str, Key]) -> None:
    before, head = remote_state(governed), governed.head()
    act_as(governed, team["ana"])  # ml-lead: may restore and release, not archive
    line = refused_untouched(governed, governed.archivist("archive", "--apply",
                                                          "--as-of", "2023-01-01"), 2)
    assert "ana@example.com" in line and "retention-bot, compliance" in line
    assert "holds ml-lead" in line
    line = refused_untouched(governed, governed.archivist("dispose", "--apply",
                                                          "--as-of", V1_DUE), 2)
    assert "may not dispose" in line and "compliance" in line
    act_as(governed, team["bot"])  # retention-bot: may archive, not restore
    line = refused_untouched(governed, governed.archivist("restore", "models/clf.pkl",
                                                          "--rev", "HEAD~1"), 2)
    assert "bot@example.com" in line and "may not restore" in line
    assert remote_state(governed) == before and governed.head() == head
    assert not governed.git("status", "--porcelain").stdout.strip()


def test_signing_not_set_up_or_a_key_the_signers_file_does_not_name_is_refused(
        governed: Sample, team: dict[str, Key]) -> None:
    before, head = remote_state(governed), governed.head()
    act_as(governed, None, "bot@example.com")
    line = refused_untouched(governed, governed.archivist("archive", "--apply",
                                                          "--as-of", "2023-01-01"), 2)
    assert "gpg.format" in line and "ssh" in line
    governed.git("config", "gpg.format", "openpgp")
    governed.git("config", "user.signingkey", "0xDEADBEEF")
    line = refused_untouched(governed, governed.archivist("archive", "--apply",
                                                          "--as-of", "2023-01-01"), 2)
    assert "OpenPGP" in line
    act_as(governed, team["eve"], "bot@example.com")  # a good key, but nobody's
    line = refused_untouched(governed, governed.archivist("archive", "--apply",
                                                          "--as-of", "2023-01-01"), 2)
    assert "not allowed by .archivist/allowed_signers" in line and "SHA256:" in line
    assert remote_state(governed) == before and governed.head() == head


def test_a_key_listed_only_in_the_working_tree_or_expired_is_refused(
        governed: Sample, team: dict[str, Key]) -> None:
    head = governed.head()
    # eve adds herself, uncommitted: the committed signers file is what counts
    governed.write(".archivist/allowed_signers", signers_text(governed)
                   + team["eve"].signers_line().replace("eve@", "bot@") + "\n")
    act_as(governed, team["eve"], "bot@example.com")
    refused_untouched(governed, governed.archivist("archive", "--apply", "--as-of",
                                                   "2023-01-01"), 2)
    governed.git("checkout", "--", ".archivist/allowed_signers")
    # the bot's key revoked by valid-before in the past
    text = signers_text(governed).replace(
        f"bot@example.com namespaces=\"git\" {team['bot'].public}",
        f"bot@example.com namespaces=\"git\",valid-before=\"20200101\" {team['bot'].public}")
    governed.write(".archivist/allowed_signers", text)
    governed.commit("revoke the bot's key", ".archivist/allowed_signers")
    act_as(governed, team["bot"])
    line = refused_untouched(governed, governed.archivist("archive", "--apply", "--as-of",
                                                          "2023-01-01"), 2)
    assert "valid-before" in line
    assert governed.head() != head  # only the revocation was committed
    assert governed.git("log", "-1", "--format=%s").stdout.strip() == "revoke the bot's key"


def test_the_bot_archives_with_a_signed_record_git_verifies(
        governed: Sample, team: dict[str, Key]) -> None:
    act_as(governed, team["bot"])
    proc = governed.archivist("archive", "--apply", "--as-of", "2023-01-01")
    assert proc.returncode == 0, proc.stderr
    assert governed.remotes["archive"].intact(md5(OLD))
    checked = verify_commit(governed, "HEAD", signers_text(governed))
    assert checked.returncode == 0, checked.stderr
    assert 'Good "git" signature for bot@example.com' in checked.stderr
    trailers = governed.git("log", "-1", "--format=%(trailers)").stdout
    assert "Archivist-Event: archive" in trailers
    assert "Archivist-Meaning: authorship" in trailers


def test_one_approval_where_two_are_needed_and_a_review_do_not_dispose(
        governed: Sample, team: dict[str, Key]) -> None:
    approve(governed, team["carl"], "--as-of", V1_DUE)
    approve(governed, team["dora"], "--as-of", V1_DUE, "--meaning", "review")
    before, head = remote_state(governed), governed.head()
    act_as(governed, team["carl"])
    line = refused_untouched(governed, governed.archivist("dispose", "--apply",
                                                          "--as-of", V1_DUE), 1)
    assert "has 1 of the 2 approval(s)" in line and "archivist approve dispose" in line
    assert "meaning review" in line
    assert governed.remotes["storage"].intact(md5(OLD))
    assert remote_state(governed) == before and governed.head() == head


def test_two_approvals_by_one_principal_do_not_dispose(
        governed: Sample, team: dict[str, Key]) -> None:
    approve(governed, team["carl"], "--as-of", V1_DUE)
    approve(governed, team["carl"], "--as-of", V1_DUE)
    before, head = remote_state(governed), governed.head()
    line = refused_untouched(governed, governed.archivist("dispose", "--apply",
                                                          "--as-of", V1_DUE), 1)
    assert "has 1 of the 2" in line and "second approval by the same principal" in line
    assert governed.remotes["storage"].intact(md5(OLD))
    assert remote_state(governed) == before and governed.head() == head


def test_an_approval_by_someone_without_the_role_is_refused_when_given(
        governed: Sample, team: dict[str, Key]) -> None:
    head = governed.head()
    act_as(governed, team["ana"])
    line = refused_untouched(governed, governed.archivist("approve", "dispose",
                                                          "--as-of", V1_DUE), 2)
    assert "may not dispose" in line and governed.head() == head


def test_approvals_of_a_plan_that_then_changed_do_not_count(
        governed: Sample, team: dict[str, Key]) -> None:
    approve(governed, team["carl"], "--as-of", V1_DUE)
    approve(governed, team["dora"], "--as-of", V1_DUE)
    before, head = remote_state(governed), governed.head()
    # a year on, v2 is due as well: another plan, which nobody approved
    line = refused_untouched(governed, governed.archivist("dispose", "--apply",
                                                          "--as-of", V2_DUE), 1)
    assert "has 0 of the 2" in line and "the plan changed" in line
    assert governed.remotes["storage"].intact(md5(OLD))
    assert governed.remotes["storage"].intact(md5(NEWER))
    assert remote_state(governed) == before and governed.head() == head


def test_two_distinct_approvals_dispose_with_a_signed_commit_naming_them(
        governed: Sample, team: dict[str, Key]) -> None:
    first = approve(governed, team["carl"], "--as-of", V1_DUE)
    second = approve(governed, team["dora"], "--as-of", V1_DUE)
    signers = signers_text(governed)
    for commit, who in ((first, "carl"), (second, "dora")):
        checked = verify_commit(governed, commit, signers)
        assert checked.returncode == 0, checked.stderr
        assert f'Good "git" signature for {who}@example.com' in checked.stderr
    act_as(governed, team["carl"])
    proc = governed.archivist("dispose", "--apply", "--as-of", V1_DUE, "--json")
    assert proc.returncode == 0, proc.stderr
    assert not governed.remotes["storage"].has(md5(OLD))
    assert governed.remotes["storage"].intact(md5(NEWER))
    checked = verify_commit(governed, "HEAD", signers)
    assert checked.returncode == 0, checked.stderr
    assert 'Good "git" signature for carl@example.com' in checked.stderr
    approvals = governed.git("log", "-1",
                             "--format=%(trailers:key=Archivist-Approval,valueonly)")
    assert approvals.stdout.split() == [first, second]
    plan = governed.git("log", "-1", "--format=%(trailers:key=Archivist-Plan,valueonly)")
    # the digest the approvals signed is the one of what the tombstone says was deleted
    name = governed.git("show", "--name-only", "--format=", "HEAD").stdout.split()[0]
    event = json.loads(governed.read(name))
    assert plan.stdout.strip() == digest_of(deletions_of(event)) == event["details"]["plan"]
    assert json.loads(proc.stdout)["plan"] == plan.stdout.strip()
    approval_file = governed.git("show", "--name-only", "--format=", first).stdout.split()[0]
    approval = json.loads(governed.git("show", f"{first}:{approval_file}").stdout)
    assert digest_of(deletions_of(approval)) == plan.stdout.strip()
    assert approval["details"]["approver"] == "carl@example.com"
    assert approval["meaning"] == "approval"
    # the gate judges the same records by the signers file at each parent: no finding
    base = governed.git("log", "-1", "--format=%H", "--", ".archivist/allowed_signers").stdout
    gate = governed.archivist("check", "--from-ref", base.strip(), "--to-ref", "HEAD")
    assert gate.returncode == 0, gate.stdout + gate.stderr
    # spent: the same approvals never authorize another dispose
    again = governed.archivist("dispose", "--apply", "--as-of", V1_DUE)
    assert "nothing is due" in again.stdout


def test_an_approval_signed_by_a_key_added_in_the_same_commit_does_not_count(
        governed: Sample, team: dict[str, Key]) -> None:
    """eve's approval commit also adds her key: judged by its parent's signers file."""
    approve(governed, team["carl"], "--as-of", V1_DUE)
    act_as(governed, team["eve"], "dora@example.com")
    governed.write(".archivist/allowed_signers", signers_text(governed)
                   + team["eve"].signers_line().replace("eve@", "dora@") + "\n")
    # forge the approval by hand: copy carl's event file as dora's, in one signed commit
    first = governed.git("log", "-1", "--format=%H").stdout.strip()
    name = governed.git("show", "--name-only", "--format=", first).stdout.split()[0]
    forged = name.replace(".json", "-x.json")
    governed.write(forged, governed.read(name))
    message = governed.git("log", "-1", "--format=%B", first).stdout
    governed.git("add", "--", forged, ".archivist/allowed_signers")
    governed.git("commit", "-q", "-S", "--no-verify", "-m", message)
    before = remote_state(governed)
    line = refused_untouched(governed, governed.archivist("dispose", "--apply",
                                                          "--as-of", V1_DUE), 1)
    assert "has 1 of the 2" in line and "unknown-signer" in line
    assert remote_state(governed) == before
    # and the gate, judging the same commits, fails on the forged one
    gate = governed.archivist("check", "--from-ref", first, "--to-ref", "HEAD")
    assert gate.returncode == 1, gate.stdout + gate.stderr


def test_a_forged_record_in_a_persons_commit_is_not_believed_by_apply(
        governed: Sample, team: dict[str, Key]) -> None:
    """An unsigned commit dressed as archivist's dispose of v1: if --apply believed it, v1
    would count as gone and never be archived; it is archived and its copy read back."""
    old = f"md5:{md5(OLD)}"
    document = {"schema": 1, "event": "dispose", "time": "2022-06-01T00:00:00+00:00",
                "actor": "eve <eve@example.com>", "rule": "class standard",
                "entries": [{"artifact": "models/clf.pkl", "version": old, "from": "storage",
                             "objects": [md5(OLD)]}]}
    rel = ".archivist/events/20220601T000000Z-dispose-0badf00d.json"
    governed.write(rel, json.dumps(document, indent=2) + "\n")
    act_as(governed, None, "eve@example.com")
    governed.commit("dispose: 1 version of 1 artifact\n\nArchivist-Event: dispose\n"
                    f"Archivist-Artifact: models/clf.pkl\nArchivist-Version: {old}\n"
                    "Archivist-From: storage\n", rel)
    assert governed.git("log", "-1", "--format=%G?").stdout.strip() == "N"
    act_as(governed, team["bot"])
    proc = governed.archivist("archive", "--apply", "--as-of", "2023-01-01", "--json")
    assert proc.returncode == 0, proc.stderr
    assert governed.remotes["archive"].intact(md5(OLD))
    archived = {e["version"] for e in json.loads(proc.stdout)["versions"]}
    assert old in archived, proc.stdout


def test_a_dispose_counts_only_approvals_already_on_the_remote_branch(
        governed: Sample, team: dict[str, Key], tmp_path: Path) -> None:
    """archivist push replays unpushed commits under new ids: a dispose naming a local
    approval would name a commit the remote never gets, and the gate there would find
    the approval missing. So a dispose counts only approvals already pushed."""
    origin = tmp_path / "origin.git"
    run(["git", "init", "-q", "--bare", str(origin)], tmp_path)
    branch = governed.git("branch", "--show-current").stdout.strip()
    governed.git("remote", "add", "origin", str(origin))
    governed.git("push", "-q", "-u", "origin", branch)
    first = approve(governed, team["carl"], "--as-of", V1_DUE)
    assert governed.archivist("push").returncode == 0
    second = approve(governed, team["dora"], "--as-of", V1_DUE)
    # meanwhile someone else pushes: pushing dora's approval now replays it
    other = tmp_path / "other"
    run(["git", "clone", "-q", "-b", branch, str(origin), str(other)], tmp_path)
    (other / "notes.txt").write_text("meanwhile\n")
    run(["git", "add", "notes.txt"], other)
    run(["git", "-c", "user.name=Fay", "-c", "user.email=fay@example.com", "commit", "-q",
         "--no-verify", "-m", "notes"], other)
    run(["git", "push", "-q", "origin", branch], other)
    governed.git("fetch", "-q", "origin")
    before, head = remote_state(governed), governed.head()
    act_as(governed, team["carl"])
    line = refused_untouched(governed, governed.archivist("dispose", "--apply",
                                                          "--as-of", V1_DUE), 1)
    assert "has 1 of the 2" in line, line
    assert f"{second[:10]}: not on refs/remotes/origin/{branch} yet" in line, line
    assert governed.remotes["storage"].intact(md5(OLD))
    assert remote_state(governed) == before and governed.head() == head
    act_as(governed, team["dora"])
    pushed = governed.archivist("push", "--json")
    assert pushed.returncode == 0, pushed.stderr
    assert json.loads(pushed.stdout)["replayed"] == 1
    replayed = governed.head()
    assert replayed != second
    act_as(governed, team["carl"])
    proc = governed.archivist("dispose", "--apply", "--as-of", V1_DUE)
    assert proc.returncode == 0, proc.stderr
    assert not governed.remotes["storage"].has(md5(OLD))
    named = governed.git("log", "-1",
                         "--format=%(trailers:key=Archivist-Approval,valueonly)").stdout
    assert named.split() == [first, replayed]
    assert governed.archivist("push").returncode == 0
    # a fresh clone of the remote holds both approvals, and its gate passes the dispose
    ci = tmp_path / "ci"
    run(["git", "clone", "-q", "-b", branch, str(origin), str(ci)], tmp_path)
    base = run(["git", "log", "-1", "--format=%H", "--", ".archivist/allowed_signers"],
               ci).stdout.strip()
    gate = archivist("check", "--from-ref", base, "--to-ref", "HEAD", cwd=ci)
    assert gate.returncode == 0, gate.stdout + gate.stderr
