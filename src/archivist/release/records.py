"""Release records in git: release tags, release commits, adoptions, legacy tags.

Reads what git says (through ``gitrepo``) and answers the questions verification asks
before any signature is read: which tags are releases (GTO's grammar, ``gto_tags``), what
a tag points at and what its message records, whether a commit is the ledger's release
commit of a tag on the governed branch's first-parent history, which commit adopted an
existing GTO tag, and whether an unsigned tag is an adopted registry's legacy.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from archivist import gitrepo
from archivist.errors import ArchivistError, GitError
from archivist.policy import Policy
from archivist.release import names


def list_release_tags(root: Path) -> list[str]:
    """Every ``NAME@vX.Y.Z`` tag in the repository, sorted."""
    out = gitrepo.git(["for-each-ref", "--format=%(refname)", "refs/tags/"], root)
    tags = [line.removeprefix("refs/tags/") for line in out.splitlines()]
    return sorted(t for t in tags if names.parse_release_tag(t) is not None)


@dataclass(frozen=True)
class TagInfo:
    name: str
    annotated: bool
    commit: str
    message: str
    tagger_date: dt.datetime | None = None  # annotated tags only


def read_tag(root: Path, tag: str) -> TagInfo | None:
    """The tag and the commit it names; None when absent or when it names no commit (a tag
    of a blob, a tree or another tag is no release, and no git command gets to choke on
    it)."""
    out = gitrepo.git(["for-each-ref", "--format=%(objecttype)%00%(*objecttype)%00"
                       "%(*objectname)%00%(objectname)%00%(taggerdate:iso-strict)%00"
                       "%(contents)", f"refs/tags/{tag}"], root)
    if not out.strip():
        return None
    kind, peeled_kind, peeled, target, when, message = (
        [*out.split("\x00", 5), "", "", "", "", ""])[:6]
    annotated = kind == "tag"
    if (peeled_kind if annotated else kind) != "commit":
        return None
    try:
        tagger_date = dt.datetime.fromisoformat(when) if annotated and when else None
    except ValueError:
        tagger_date = None
    return TagInfo(tag, annotated, peeled if annotated else target, message, tagger_date)


def commit_time(root: Path, commit: str) -> dt.datetime:
    return dt.datetime.fromisoformat(
        gitrepo.git(["log", "-1", "--format=%cI", commit, "--"], root).strip())


def first_parent(root: Path, commit: str) -> str | None:
    """The first parent of ``commit``; None for a root commit."""
    try:
        return gitrepo.git(["rev-parse", "--verify", "--quiet", "--end-of-options",
                            f"{commit}^1"], root).strip() or None
    except GitError:
        return None


def _adding_commit(root: Path, commit: str, path: str) -> str | None:
    out = gitrepo.git(["log", "-1", "--format=%H", "--diff-filter=A", commit, "--", path],
                      root).strip()
    return out or None


@functools.lru_cache(maxsize=8)
def first_parents(root: Path, head: str) -> frozenset[str]:
    """The governed branch's record: ``head`` and its first parents (one rev-list a run)."""
    return frozenset(gitrepo.git(["rev-list", "--first-parent", head, "--"], root).split())


def trailer_values(root: Path, commit: str, key: str) -> list[str]:
    out = gitrepo.git(["log", "-1", f"--format=%(trailers:key={key},valueonly,unfold)",
                       commit, "--"], root)
    return [line.strip() for line in out.splitlines() if line.strip()]


def release_commit_problem(root: Path, tag: str, commit: str, bundle: str,
                           governed: str) -> str | None:
    """Why ``commit`` is not the ledger's release commit of ``tag``, None when it is.

    The release commit added ``bundle``, carries ``Archivist-Event: release`` and
    ``Archivist-Tag: TAG``, and lies on the first-parent history of ``governed`` (the
    governed branch's head). A tag force-moved onto a cherry-pick of it (same trailers,
    same bundle, another tree) fails the last test.
    """
    adder = _adding_commit(root, commit, bundle)
    if adder != commit:
        return (f"points to commit {commit[:10]}, but the release commit that added {bundle} "
                f"is {(adder or '?')[:10]} (was the tag moved?)")
    if trailer_values(root, commit, "Archivist-Event") != ["release"] \
            or tag not in trailer_values(root, commit, names.TRAILER_TAG):
        return (f"commit {commit[:10]} is not a release commit of {tag} (no Archivist-Event: "
                "release trailer naming it; was the tag moved?)")
    if commit not in first_parents(root, governed):
        return (f"commit {commit[:10]} is not on the governed branch's first-parent history "
                f"(head {governed[:10]}): was the tag moved onto a copy of the release?")
    return None


TRAILER_ADOPTED = names.TRAILER_ADOPTED


def find_adoption(root: Path, tag: str, governed: str,
                  ) -> tuple[str, names.ReleaseRecord] | None:
    """The commit of the governed branch that signed the existing GTO tag ``tag`` in place
    (``release --adopt``) and the record it made, None when there is none.

    It is the first-parent commit that added the tag's bundle path with the release
    trailers and ``Archivist-Adopted``; its event file holds the record.
    """
    from archivist import ledger

    parsed = names.parse_release_tag(tag)
    if parsed is None:
        return None
    bundle = names.bundle_path(*parsed)
    added = gitrepo.git(["log", "--first-parent", "--diff-filter=A", "--format=%H", governed,
                         "--", bundle], root).split()
    if not added:
        return None
    commit = added[-1]
    if not trailer_values(root, commit, TRAILER_ADOPTED) \
            or tag not in trailer_values(root, commit, names.TRAILER_TAG):
        return None
    events = gitrepo.git(["diff-tree", "--no-commit-id", "--name-only", "-r",
                          "--diff-filter=A", commit, "--", ledger.EVENTS_DIR], root).split()
    try:
        entry = ledger.read_event_file(root, commit, events[0])["entries"][0]
        record = names.ReleaseRecord(
            name=parsed[0], version=parsed[1], artifact=str(entry["artifact"]),
            label=str(entry["version"]), digest=str(entry["digest"]), bundle=bundle,
            signer=str(entry.get("signer", "")), method=str(entry.get("method", "")))
    except (IndexError, KeyError, TypeError, ValueError, ArchivistError):
        return None
    return commit, record


@functools.lru_cache(maxsize=8)
def _since_commit(root: Path, governed: str) -> str | None:
    """The first commit of the governed branch whose policy sets ``signing.since``."""
    from archivist.policy import POLICY_FILE, parse_policy

    commits = gitrepo.git(["log", "--first-parent", "--reverse", "--format=%H", governed,
                           "--", POLICY_FILE], root).split()
    with gitrepo.CatFile(root) as cat:
        for commit in commits:
            text = cat.read(f"{commit}:{POLICY_FILE}")
            try:
                policy = parse_policy(text) if text is not None else None
            except ArchivistError:
                continue
            if policy is not None and policy.signing is not None and policy.signing.since:
                return commit
    return None


def is_legacy(root: Path, policy: Policy, info: TagInfo, governed: str) -> bool:
    """An unsigned release tag of an adopted registry's past: tagged before
    ``signing.since``, on a commit older than the policy change that set it.

    The tagger date alone is whatever the tagger's clock said; the commit being an ancestor
    of the reviewed adoption commit is what a backdated new tag cannot fake.
    """
    since = policy.signing.since if policy.signing else None
    if since is None or info.tagger_date is None:
        return False
    if info.tagger_date.astimezone(dt.UTC).date() >= since:
        return False
    adopted_at = _since_commit(root, governed)
    if adopted_at is None:
        return False
    try:
        base = gitrepo.git(["merge-base", info.commit, adopted_at], root).strip()
    except GitError:
        return False
    return base == info.commit
