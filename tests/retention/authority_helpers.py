"""Real SSH keys, a signers file and an ``authority:`` policy for a sample repository.

Keys are made by ``ssh-keygen``, commits are signed by git itself (``gpg.format=ssh``), and
``git verify-commit`` with the signers file is the oracle of who signed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from retention.sample import Sample, dated
from signers import AUTHORITY, SIGNERS, Key, make_key


def keys(tmp_path: Path, *principals: str) -> dict[str, Key]:
    return {p.split("@")[0]: make_key(tmp_path / "keys", p) for p in principals}


def govern(sample: Sample, signers: list[str], when: str = "2019-01-02") -> None:
    """Commit the signers file and the policy with ``authority:`` (as a person would)."""
    sample.write(SIGNERS, "".join(line + "\n" for line in signers))
    sample.write("archivist.yaml", sample.read("archivist.yaml") + AUTHORITY)
    sample.git("add", "--", SIGNERS, "archivist.yaml")
    sample.git("commit", "-q", "--no-verify", "-m", "authority", env=dated(when))


def act_as(sample: Sample, key: Key | None, email: str | None = None) -> None:
    """This clone's git signs as ``key`` (None: signing not set up at all)."""
    sample.git("config", "user.email", email or (key.principal if key else "nobody@x"))
    if key is None:
        for name in ("gpg.format", "user.signingkey"):
            sample.git("config", "--unset", name, check=False)
        return
    sample.git("config", "gpg.format", "ssh")
    sample.git("config", "user.signingkey", str(key.private))


def verify_commit(sample: Sample, commit: str, signers_text: str,
                  ) -> subprocess.CompletedProcess[str]:
    """``git verify-commit`` judged by ``signers_text`` as the allowed-signers file."""
    allowed = sample.root.parent / "verify_allowed_signers"
    allowed.write_text(signers_text)
    return sample.git("-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit",
                      commit, check=False)


def remote_state(sample: Sample) -> dict[str, set[str]]:
    """Every key on every remote, as the test sees them."""
    return {name: view.keys() for name, view in sample.remotes.items()}
