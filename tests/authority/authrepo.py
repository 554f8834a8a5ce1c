"""Helpers for the authority tests: real ssh-keygen keys, a signers file, signed commits.

The base repository (``build``) has one unsigned commit holding ``archivist.yaml`` with
``authority:`` and ``.archivist/allowed_signers``: nothing judges that first commit (it
has no parent), and every later commit is judged under it. People and roles:

    ana   ml-lead        may restore, release
    carl  compliance     may archive, restore, dispose (2 approvals), change the policy
    dora  compliance     (in the role, but her key is not in the signers file)
    bot   retention-bot  may archive; key valid before 2025-01-01 only
    eve   none           her key is nowhere
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

from realrepo import Repo, archivist, init_repo, run
from signers import AUTHORITY, SIGNERS, make_key

POLICY = "version: 1\nbranch: main\n" + AUTHORITY
PEOPLE = {"ana": "Ana Lima", "carl": "Carl Berg", "dora": "Dora Kim", "bot": "archivist bot",
          "eve": "Eve Park"}


def email(who: str) -> str:
    return f"{who}@example.com"


def signers_line(who: str, public: str, *, valid_before: str | None = None) -> str:
    """One ALLOWED SIGNERS line of ssh-keygen(1) for ``who``'s key."""
    options = 'namespaces="git"'
    if valid_before:
        options += f',valid-before="{valid_before}"'
    return f"{email(who)} {options} {public}\n"


def when(day: str, who: str) -> dict[str, str]:
    """Author and committer ``who`` at ``day`` (``YYYY-MM-DD``: noon; or a full ISO time)."""
    stamp = day if "T" in day else f"{day}T12:00:00+00:00"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp,
            "GIT_AUTHOR_NAME": PEOPLE[who], "GIT_AUTHOR_EMAIL": email(who),
            "GIT_COMMITTER_NAME": PEOPLE[who], "GIT_COMMITTER_EMAIL": email(who)}


class AuthRepo(Repo):
    """A repository whose people sign with their own keys (``keys`` beside it)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.keys = root.parent / "keys"
        self._tick = 0

    def _now(self) -> str:
        """The next commit's time when a test gives none: one minute after the last,
        from 2024-06-01 (a commit dated before its parent is judged as backdated)."""
        self._tick += 1
        at = dt.datetime(2024, 6, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=self._tick)
        return at.isoformat()

    def key(self, who: str) -> Path:
        return self.keys / who

    def signed_commit(self, message: str, who: str | None, day: str | None = None,
                      *paths: str, signer: str | None = None) -> str:
        """Commit ``paths`` (all when none) as ``who``; signed with ``signer``'s key
        (default ``who``'s; ``who=None`` for no signature, made by eve)."""
        self.git("add", "--", *(paths or ["."]))
        key = signer or who
        sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={self.key(key)}",
                "commit", "-S"] if key else ["commit", "--no-gpg-sign"]
        run(["git", *sign, "-q", "--no-verify", "-F", "-"], self.root,
            env=when(day or self._now(), who or "eve"), input=message)
        return self.head()

    def record(self, kind: str, who: str | None, *, day: str | None = None,
               entries: list[dict[str, Any]] | None = None,
               trailers: tuple[tuple[str, str], ...] = (("Archivist-Meaning", "authorship"),),
               signer: str | None = None) -> str:
        """An archivist record (event file and trailers as ``ledger.Event`` writes them),
        committed and signed by ``who`` (None: unsigned)."""
        from archivist.ledger import EVENTS_DIR, Event, EventEntry

        entries = entries if entries is not None else [
            {"artifact": "models/clf.pkl", "version": "md5:" + "1" * 32,
             "from": "storage", "to": "archive"}]
        event = Event(kind=kind, subject=f"{kind}: {len(entries)} version(s)",
                      entries=tuple(EventEntry(
                          e["artifact"], e["version"], e.get("from"), e.get("to"),
                          {k: v for k, v in e.items()
                           if k not in ("artifact", "version", "from", "to")})
                          for e in entries),
                      extra_trailers=trailers)
        day = day or self._now()
        at = dt.datetime.fromisoformat(day if "T" in day else f"{day}T12:00:00+00:00")
        rel = f"{EVENTS_DIR}/{at.strftime('%Y%m%dT%H%M%SZ')}-{kind}-{secrets.token_hex(4)}.json"
        self.write(rel, json.dumps(event.document(at, f"{PEOPLE[who or 'eve']}"), indent=2))
        return self.signed_commit(event.message(), who, day, rel, signer=signer)

    def verify_commit(self, sha: str, signers_at: str) -> subprocess.CompletedProcess[str]:
        """git's own verdict on ``sha``'s signature, with the signers file as it is at
        ``signers_at`` (the oracle)."""
        allowed = self.root.parent / f"signers-{secrets.token_hex(4)}"
        allowed.write_text(self.git("show", f"{signers_at}:{SIGNERS}").stdout)
        return self.git("-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", sha,
                        check=False)

    def gate(self, base: str) -> tuple[int, dict[str, Any]]:
        proc = archivist("check", "--from-ref", base, "--to-ref", "HEAD", "--json",
                         cwd=self.root)
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        return proc.returncode, json.loads(proc.stdout)

    def audit(self, *args: str) -> tuple[int, dict[str, Any]]:
        proc = archivist("audit", "--as-of", "2026-01-01", "--json", *args, cwd=self.root)
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        return proc.returncode, json.loads(proc.stdout)


def build(top: Path, policy: str = POLICY) -> AuthRepo:
    """The base repository in ``top``/repo, every person's key in ``top``/keys."""
    repo = AuthRepo(top / "repo")
    init_repo(repo.root)
    lines = []
    for who in PEOPLE:
        public = make_key(repo.keys, email(who)).public
        if who == "bot":
            lines.append(signers_line(who, public, valid_before="20250101"))
        elif who in ("ana", "carl"):
            lines.append(signers_line(who, public))
    repo.write("archivist.yaml", policy)
    repo.write(SIGNERS, "".join(lines))
    repo.commit("policy with authority", env=when("2024-01-02", "carl"))
    return repo


def public_key(repo: AuthRepo, who: str) -> str:
    return repo.key(who).with_suffix(".pub").read_text().strip()


def kinds(report: dict[str, Any], key: str = "findings") -> dict[str, list[dict[str, Any]]]:
    """Findings by kind."""
    out: dict[str, list[dict[str, Any]]] = {}
    for f in report.get(key) or []:
        out.setdefault(f["kind"], []).append(f)
    return out
