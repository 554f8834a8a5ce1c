"""A release under authority: only a role that may release, and its commit signed by git."""

from __future__ import annotations

from pathlib import Path

from retention.authority_helpers import act_as, govern, verify_commit
from retention.authority_helpers import keys as ssh_keys


def test_release_needs_the_release_role_and_its_commit_is_signed(  # type: ignore[no-untyped-def]
        sample, keys, tmp_path: Path) -> None:
    team = ssh_keys(tmp_path, "ana@example.com", "carl@example.com")
    govern(sample, [team["ana"].signers_line(), team["carl"].signers_line()])
    head = sample.head()
    act_as(sample, team["carl"])  # compliance: may not release
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", keys.private)
    assert proc.returncode == 2, proc.stderr
    assert "may not release" in proc.stderr and "ml-lead" in proc.stderr
    assert sample.head() == head and not sample.git("tag", "-l").stdout.strip()
    act_as(sample, team["ana"])
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", keys.private)
    assert proc.returncode == 0, proc.stderr
    signers = sample.git("show", "HEAD:.archivist/allowed_signers").stdout
    checked = verify_commit(sample, "HEAD", signers)
    assert checked.returncode == 0, checked.stderr
    assert 'Good "git" signature for ana@example.com' in checked.stderr
    trailers = sample.git("log", "-1", "--format=%(trailers)").stdout
    assert "Archivist-Event: release" in trailers and "Archivist-Meaning: authorship" in trailers
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(signers)
    tag = sample.git("-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-tag", "clf@v1.0.0",
                     check=False)
    assert tag.returncode == 0 and 'Good "git" signature for ana@example.com' in tag.stderr
    # the gate judges the release commit and its tag by the signers file at the parent
    gate = sample.archivist("check", "--from-ref", head, "--to-ref", "HEAD")
    assert gate.returncode == 0, gate.stdout + gate.stderr
