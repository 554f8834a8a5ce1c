"""Real SSH signing keys (ssh-keygen) and the team's ``authority:`` policy, for every test
of signed records: ``tests/authority`` (judged commits) and ``tests/retention`` and
``tests/signing`` (signed actions on a sample project).

    ana   ml-lead        may restore, release
    carl  compliance     may archive, restore, dispose (2 approvals), change the policy
    dora  compliance
    bot   retention-bot  may archive
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SIGNERS = ".archivist/allowed_signers"

AUTHORITY = f"""\
authority:
  signers: {SIGNERS}
  roles:
    ml-lead: [ana@example.com]
    compliance: [carl@example.com, dora@example.com]
    retention-bot: [bot@example.com]
  may:
    archive: [retention-bot, compliance]
    restore: [ml-lead, compliance]
    dispose: {{roles: [compliance], approvals: 2}}
    release: [ml-lead]
    policy: [compliance]
"""


@dataclass(frozen=True)
class Key:
    principal: str
    private: Path
    public: str  # "ssh-ed25519 AAAA... comment"

    def signers_line(self, options: str = 'namespaces="git"') -> str:
        """One ALLOWED SIGNERS line of ssh-keygen(1) for this key (no newline)."""
        return f"{self.principal} {options + ' ' if options else ''}{self.public}"


def make_key(folder: Path, principal: str) -> Key:
    """A new ed25519 key by ssh-keygen, in ``folder`` under the principal's local part."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / principal.split("@")[0]
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f",
                    str(path)], check=True, capture_output=True)
    return Key(principal, path, path.with_suffix(".pub").read_text().strip())
