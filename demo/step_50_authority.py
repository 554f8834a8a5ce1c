"""Authority: every archivist commit signed with git's SSH signing; a dispose refused, then
approved by two people and run.

A repository of its own (the sample's story stays as it was): keys by ssh-keygen, a
signers file, roles in archivist.yaml, `git verify-commit` to show what git itself says.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from _demo import Demo

POLICY = """\
version: 1
branch: main
remotes: {active: storage, archive: archive}
retention:
  default: standard
  classes:
    standard: {active: 30d, archive: 1y}
authority:
  signers: .archivist/allowed_signers
  roles:
    ml-lead: [ana@example.com]
    compliance: [carl@example.com, dora@example.com]
  may:
    archive: [compliance]
    restore: [ml-lead, compliance]
    dispose: {roles: [compliance], approvals: 2}
    release: [ml-lead]
    policy: [compliance]
"""


def _dated(day: dt.date) -> dict[str, str]:
    stamp = f"{day.isoformat()}T09:00:00+00:00"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def run(demo: Demo) -> None:
    root = demo.work / "governed"
    root.mkdir()
    keys = demo.work / "authority-keys"
    keys.mkdir()

    def sh(*args: str | Path, expect: int | None = 0, env: dict[str, str] | None = None,
           show: bool = True) -> str:
        return demo.sh(*args, expect=expect, env=env, show=show, cwd=root).stdout

    def act_as(name: str) -> None:
        sh("git", "config", "user.name", name.capitalize(), show=False)
        sh("git", "config", "user.email", f"{name}@example.com", show=False)
        sh("git", "config", "user.signingkey", keys / name, show=False)

    demo.say("Authority: three people's SSH keys, a signers file, roles in archivist.yaml")
    lines = []
    for name in ("ana", "carl", "dora"):
        demo.sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                keys / name, show=False, cwd=keys)
        public = (keys / f"{name}.pub").read_text().strip()
        lines.append(f'{name}@example.com namespaces="git" {public}\n')
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=5 * 365)
    sh("git", "init", "-q", "-b", "main", show=False)
    sh("git", "config", "gpg.format", "ssh")
    sh("dvc", "init", "-q", show=False)
    for name in ("storage", "archive"):
        folder = demo.work / "governed-remotes" / name
        folder.mkdir(parents=True)
        sh("dvc", "remote", "add", *(["-d"] if name == "storage" else []), name, folder,
           show=False)
    (root / ".archivist").mkdir()
    (root / ".archivist" / "allowed_signers").write_text("".join(lines))
    (root / "archivist.yaml").write_text(POLICY)
    act_as("carl")
    sh("git", "add", ".", show=False)
    sh("git", "commit", "-q", "-S", "-m", "Policy with authority: (signed by compliance)",
       env=_dated(start), show=False)
    sh("cat", ".archivist/allowed_signers")
    for years, seed in ((4, 1), (3, 2), (1, 3)):
        day = today - dt.timedelta(days=365 * years)
        (root / "model.bin").write_bytes(bytes((seed * 11 + i) % 251 for i in range(4096)))
        sh("dvc", "add", "-q", "model.bin", show=False)
        sh("git", "add", "model.bin.dvc", ".gitignore", show=False)
        sh("git", "commit", "-q", "--no-verify", "-m", f"Retrain ({day})", env=_dated(day),
           show=False)
        sh("dvc", "push", "-q", show=False)
    sh("archivist", "plan", "--no-reasons")

    demo.say("Ana (ml-lead) may not dispose: refused before any remote is touched")
    act_as("ana")
    sh("archivist", "dispose", "--apply", expect=2)

    demo.say("Carl (compliance) may, but the plan needs two approvals first")
    act_as("carl")
    sh("archivist", "dispose", "--apply", expect=1)

    demo.say("Carl and Dora each sign an approval of the exact plan (its digest)")
    sh("archivist", "approve", "dispose")
    act_as("dora")
    sh("archivist", "approve", "dispose")

    demo.say("Now the dispose runs; its signed commit names the plan and both approvals")
    act_as("carl")
    sh("archivist", "dispose", "--apply")
    sh("git", "log", "-1", "--format=%h %s%n%(trailers)")
    sh("git", "-c", "gpg.ssh.allowedSignersFile=.archivist/allowed_signers",
       "log", "-4", "--format=%h %G? %GS  %s")
