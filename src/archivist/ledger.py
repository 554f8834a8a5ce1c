"""The audit ledger: one git commit per archivist action, read back with plain git.

Each action adds one immutable JSON event file under ``.archivist/events/`` and commits it
with trailers that ``git log --format='%(trailers)'`` shows:

    archive: 3 versions of 2 artifacts (policy class standard)

    Archivist-Event: archive
    Archivist-Artifact: models/clf.pkl
    Archivist-Version: md5:1f3870be274f6c49b3e31a0c6728957f
    Archivist-From: storage
    Archivist-To: archive

Artifact and Version trailers come in pairs, one pair per version, in the order of the
event file's ``entries``. Event files are never edited or deleted; the audit flags any
commit that does.

When the policy committed at HEAD has ``authority:``, every record is signed with git's
own signing (``git commit -S``) and carries ``Archivist-Meaning`` (authorship for an
action, approval or review for an approval), and its event file says the meaning too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archivist import gitrepo
from archivist.authority.records import APPROVAL_EVENT, TRAILER_MEANING, Meaning
from archivist.errors import ConfigError

if TYPE_CHECKING:
    from archivist.policy import Policy

EVENTS_DIR = ".archivist/events"
EVENT_KINDS = ("archive", "restore", "dispose", "hold", "release", APPROVAL_EVENT)
SCHEMA = 1
TRAILER_PREFIX = "Archivist-"
UNTIL_TRAILER = "Archivist-Until"  # a restore's end: active until this date


@dataclass(frozen=True)
class EventEntry:
    """One artifact version an event acted on."""

    artifact: str
    version: str  # "md5:<hex>"
    source: str | None = None  # remote it came from
    target: str | None = None  # remote it went to
    details: Mapping[str, Any] = field(default_factory=dict)  # objects, bytes, class, due...

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"artifact": self.artifact, "version": self.version}
        if self.source is not None:
            out["from"] = self.source
        if self.target is not None:
            out["to"] = self.target
        out.update(self.details)
        return out

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> EventEntry:
        """An entry as an event file holds it (``as_dict``'s shape), read back."""
        def text(key: str) -> str | None:
            value = entry.get(key)
            return None if value is None or value == "" else str(value)

        return cls(artifact=text("artifact") or "", version=text("version") or "",
                   source=text("from"), target=text("to"),
                   details={k: v for k, v in entry.items()
                            if k not in ("artifact", "version", "from", "to")})


@dataclass(frozen=True)
class Event:
    """What archivist did, ready to be committed."""

    kind: str
    subject: str
    entries: tuple[EventEntry, ...]
    rule: str | None = None  # the policy rule that decided it ("class standard: archive 3y")
    extra_trailers: tuple[tuple[str, str], ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    meaning: Meaning = Meaning.AUTHORSHIP  # what its signature means, when it is signed

    def trailers(self) -> list[tuple[str, str]]:
        out = [("Archivist-Event", self.kind)]
        for entry in self.entries:
            out.append(("Archivist-Artifact", entry.artifact))
            out.append(("Archivist-Version", entry.version))
        sources = sorted({e.source for e in self.entries if e.source})
        targets = sorted({e.target for e in self.entries if e.target})
        out += [("Archivist-From", s) for s in sources]
        out += [("Archivist-To", t) for t in targets]
        if self.rule:
            out.append(("Archivist-Rule", self.rule))
        out += list(self.extra_trailers)
        return out

    def message(self, body: str = "") -> str:
        trailers = "\n".join(f"{k}: {v}" for k, v in self.trailers())
        parts = [self.subject.strip()]
        if body.strip():
            parts.append(body.strip())
        parts.append(trailers)
        return "\n\n".join(parts) + "\n"

    def document(self, at: dt.datetime, actor: str) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "event": self.kind,
            "time": at.isoformat(),
            "actor": actor,
            "rule": self.rule,
            "entries": [e.as_dict() for e in self.entries],
            **({"details": dict(self.details)} if self.details else {}),
        }


def _actor(root: Path) -> str:
    name = gitrepo.git(["config", "user.name"], root, check=False).strip()
    email = gitrepo.git(["config", "user.email"], root, check=False).strip()
    if not name or not email:
        raise ConfigError("git has no user.name/user.email to sign the audit commit with",
                          "git config user.name 'CI bot' && git config user.email bot@example.com")
    return f"{name} <{email}>"


def _committed_authority(root: Path, rev: str = "HEAD") -> Policy | None:
    """The policy committed at ``rev`` when it has ``authority:``, else None."""
    from archivist.policy import POLICY_FILE, parse_policy

    with gitrepo.CatFile(root) as cat:
        data = cat.read(f"{rev}:{POLICY_FILE}")
    policy = None if data is None else parse_policy(data, POLICY_FILE)
    return policy if policy is not None and policy.authority is not None else None


def signs(root: Path, rev: str = "HEAD") -> bool:
    """True when the policy committed at ``rev`` has ``authority:``: records are signed."""
    return _committed_authority(root, rev) is not None


def ensure_can_commit(root: Path, branch: str | None, action: str | None = None) -> None:
    """Refuse early (before any remote is touched) when the audit commit could not be made:
    with ``authority:`` in the policy committed at HEAD, also when git is not set up to
    sign it, or (``action``) when the signer holds no role that may do it."""
    _actor(root)
    policy = _committed_authority(root)
    if policy is not None:
        from archivist.authority.actor import check_signing_config, require

        check_signing_config(root)
        if action is not None:
            require(root, policy, action)
    current = gitrepo.current_branch(root)
    if current is None:
        raise ConfigError("HEAD is detached: the audit commit needs a branch",
                          f"git switch {branch or 'main'}")
    if branch and current != branch:
        raise ConfigError(f"on branch {current!r}, but the policy governs {branch!r}",
                          f"git switch {branch}")
    dirty = gitrepo.git(["status", "--porcelain", "--", EVENTS_DIR], root).strip()
    if dirty:
        raise ConfigError(f"uncommitted changes under {EVENTS_DIR}",
                          "commit or remove them: event files are written only by archivist")
    if gitrepo.git(["diff", "--cached", "--name-only"], root).strip():
        raise ConfigError("the index has staged changes; the audit commit must hold only "
                          "its own files", "commit or unstage them first (git stash)")


def record(root: Path, event: Event, *, body: str = "", files: Sequence[str] = (),
           now: dt.datetime | None = None, sign: bool | None = None) -> str:
    """Write the event file, commit it (with ``files``, repo-relative) and return the SHA.

    ``sign``: sign the commit with git's signing and add ``Archivist-Meaning``; None (the
    default) signs when the policy committed at HEAD has ``authority:``."""
    if event.kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {event.kind!r}")
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    actor = _actor(root)
    if sign is None:
        sign = signs(root)
    document = event.document(at, actor)
    if sign:
        event = dataclasses.replace(event, extra_trailers=(
            *event.extra_trailers, (TRAILER_MEANING, event.meaning.value)))
        document["meaning"] = event.meaning.value
    name = f"{at.strftime('%Y%m%dT%H%M%SZ')}-{event.kind}-{secrets.token_hex(4)}.json"
    rel = f"{EVENTS_DIR}/{name}"
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n",
                    encoding="utf-8")
    paths = [rel, *files]
    gitrepo.git(["add", "--", *paths], root)
    gitrepo.git(["commit", "--quiet", "--no-verify", *(["-S"] if sign else []), "-F", "-",
                 "--", *paths], root, input=event.message(body).encode("utf-8"))
    return gitrepo.git(["rev-parse", "HEAD"], root).strip()


@dataclass(frozen=True)
class LedgerCommit:
    """A commit on the governed branch that touched ``.archivist/`` or carries trailers."""

    sha: str
    author: str
    email: str
    date: dt.datetime
    subject: str
    trailers: tuple[tuple[str, str], ...]
    changes: tuple[tuple[str, str], ...]  # (status letter, path) under .archivist/

    @property
    def kind(self) -> str | None:
        for key, value in self.trailers:
            if key == "Archivist-Event":
                return value
        return None

    def values(self, key: str) -> list[str]:
        return [v for k, v in self.trailers if k == key]

    def pairs(self) -> list[tuple[str, str]]:
        """(artifact, version) pairs, in trailer order."""
        return list(zip(self.values("Archivist-Artifact"), self.values("Archivist-Version"),
                        strict=False))


def parse_trailers(block: str) -> tuple[tuple[str, str], ...]:
    """The ``Archivist-*`` trailers of ``%(trailers:only,unfold)``, in order."""
    out = []
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.startswith(TRAILER_PREFIX):
            out.append((key.strip(), value.strip()))
    return tuple(out)


_LEDGER_FIELDS = ("%H", "%an", "%ae", "%aI", "%s", "%(trailers:only,unfold)")


def read_ledger(root: Path, rev: str = "HEAD", *, since: str | None = None,
                first_parent: bool = True) -> list[LedgerCommit]:
    """Ledger commits reachable from ``rev``, oldest first, in one ``git log`` pass."""
    args = ["--reverse"]
    if first_parent:
        args.append("--first-parent")
    if since:
        args.append(f"--since={since}")
    commits = []
    for record in gitrepo.log(root, [*args, rev], _LEDGER_FIELDS, files="status",
                              paths=[".archivist/"]):
        sha, author, email, date, subject, trailers = record.fields
        commits.append(LedgerCommit(
            sha=sha, author=author, email=email, date=dt.datetime.fromisoformat(date),
            subject=subject, trailers=parse_trailers(trailers),
            changes=tuple((f.status, f.path) for f in record.files),
        ))
    return commits


@dataclass(frozen=True)
class LedgerEvent:
    """What one ledger commit says archivist did, read back.

    ``entries`` are its event file's where the caller read that file and it lists any
    (they carry ``from``, ``to`` and the details), else its trailers' (artifact, version)
    pairs, in order. The retention plan reads trailers only; the audit, which also checks
    that file and trailers agree, reads the file.
    """

    commit: LedgerCommit
    entries: tuple[EventEntry, ...]
    rule: str | None  # the policy rule that decided it: the file's, else the trailer's
    until: str | None  # Archivist-Until, as written (a restore's end)

    @property
    def kind(self) -> str | None:
        return self.commit.kind


def read_event(commit: LedgerCommit, document: Any = None) -> LedgerEvent:
    """The event ``commit`` records; ``document`` is its parsed event file, when read."""
    file = document if isinstance(document, Mapping) else {}
    listed = file.get("entries")
    entries = tuple(EventEntry.from_dict(e) for e in listed if isinstance(e, Mapping)) \
        if isinstance(listed, list) else ()
    if not entries:
        entries = tuple(EventEntry(a, v) for a, v in commit.pairs())
    rules = commit.values("Archivist-Rule")
    until = commit.values(UNTIL_TRAILER)
    return LedgerEvent(commit=commit, entries=entries,
                       rule=file.get("rule") or (rules[0] if rules else None),
                       until=until[-1] if until else None)


def read_event_file(root: Path, rev: str, path: str) -> dict[str, Any]:
    data = gitrepo.git_bytes(["show", f"{rev}:{path}"], root)
    return json.loads(data)


def events_of(commits: Iterable[LedgerCommit], kind: str) -> list[LedgerCommit]:
    return [c for c in commits if c.kind == kind]
