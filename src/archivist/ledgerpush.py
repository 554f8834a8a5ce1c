"""Publish the ledger: the governed branch, its release tags and tag deletions in one atomic
push, with the local archivist commits replayed on whatever landed on the remote meanwhile.

Adapter (runs git through gitrepo); no DVC, no Sigstore. What it keeps:

- **No event record is ever lost.** Local commits are only ever replayed, never dropped. A
  push that fails for good leaves them on the local branch and, when asked, in a git bundle
  the job keeps as a file.
- **All or nothing on the remote.** One ``git push --atomic`` moves the branch, creates the
  tags and deletes the request tag together, or changes nothing.
- **Replay only what cannot conflict.** After a rejection, the commits to replay must each
  be an archivist ledger commit (``Archivist-Event`` trailer) that only adds files (event
  files and bundles are new files), and a release tag moves to its replayed commit only
  when the artifact there still has the version the release signed. Anything else is
  refused in one line, with nothing pushed.
- **Bounded.** At most ``attempts`` pushes; each retry fetches first, so the first retry
  needs no wait and later ones back off a little.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from archivist import gitrepo, ledger
from archivist.errors import ArchivistError, ConfigError

# Push summaries (git's porcelain output) that mean "the remote moved; fetch and try again".
_RETRYABLE = ("fetch first", "non-fast-forward", "stale info", "cannot lock ref",
              "failed to update ref", "incorrect old value", "atomic push failed",
              "atomic transaction failed")

DEFAULT_ATTEMPTS = 5


class PushRefused(ArchivistError):
    """The remote refused for good, or the commits cannot be replayed safely (exit 1)."""

    exit_code = 1


@dataclass
class PushResult:
    """What reached the remote."""

    remote: str
    branch: str
    head: str
    commits: int
    tags: list[str]
    deleted_tags: list[str]
    attempts: int
    replayed: int = 0  # local commits replayed on commits that landed meanwhile
    status: Literal["pushed", "up-to-date"] = "pushed"
    moved_tags: dict[str, str] = field(default_factory=dict)  # tag -> its replayed commit

    def as_dict(self) -> dict[str, object]:
        return {"status": self.status, "remote": self.remote, "branch": self.branch,
                "head": self.head, "commits": self.commits, "tags": self.tags,
                "deleted_tags": self.deleted_tags, "attempts": self.attempts,
                "replayed": self.replayed, "moved_tags": self.moved_tags}


def redact(text: str) -> str:
    """``https://user:token@host`` -> ``https://***@host``: git may echo a URL it was given."""
    return re.sub(r"(?<=://)[^/@\s]+@", "***@", text)


def _local_commits(root: Path, base: str | None) -> list[str]:
    args = ["rev-list", "--reverse", "HEAD"]
    if base:
        args += ["--not", base]
    return gitrepo.git(args, root).split()


def _ledger_trailers(root: Path, commits: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """sha -> trailer key -> values, for the Archivist-* trailers of ``commits``."""
    if not commits:
        return {}
    found: dict[str, dict[str, list[str]]] = {}
    for record in gitrepo.log(root, ["--no-walk=unsorted", *commits],
                              ("%H", "%(trailers:only,unfold)")):
        sha, block = record.fields
        trailers: dict[str, list[str]] = {}
        for key, value in ledger.parse_trailers(block):
            trailers.setdefault(key, []).append(value)
        found[sha] = trailers
    return found


def _check_replayable(root: Path, base: str, commits: Sequence[str],
                      trailers: dict[str, dict[str, list[str]]]) -> None:
    for sha in commits:
        if "Archivist-Event" not in trailers.get(sha, {}):
            raise ConfigError(
                f"commit {sha[:10]} is not an archivist ledger commit, and the remote branch "
                "moved: archivist replays only its own commits",
                "push or rebase your own commits first, then rerun archivist push")
    changed = gitrepo.git(["log", "--no-renames", "--diff-filter=a", "--format=%H",
                           f"{base}..HEAD"], root).split()
    if changed:
        raise ConfigError(f"ledger commit {changed[0][:10]} changes or deletes files, so it "
                          "may not replay cleanly on what landed meanwhile",
                          "rebase it by hand (git pull --rebase), then rerun archivist push")


def _check_release_versions(root: Path, base: str, commits: Sequence[str],
                            trailers: dict[str, dict[str, list[str]]], tags: Sequence[str],
                            ) -> None:
    """A release tag may move onto ``base`` + its ledger files only if the artifact there
    is still the version it signed (ledger commits add no DVC files, so ``base``'s tree
    says which version that is)."""
    from archivist.inventory import load_artifacts
    from archivist.trees import CommitTree

    releases = [(t, trailers[c]) for c in commits for t in trailers[c].get("Archivist-Tag", [])
                if t in tags and trailers[c].get("Archivist-Event") == ["release"]]
    if not releases:
        return
    versions = {a.path: a.version.label if a.version else None
                for a in load_artifacts(CommitTree(root, base))}
    for tag, tr in releases:
        for path, signed in zip(tr.get("Archivist-Artifact", []),
                                tr.get("Archivist-Version", []), strict=False):
            now = versions.get(path)
            if now != signed:
                raise PushRefused(
                    f"the remote branch moved {path} to {now or 'nothing'} while {tag} was "
                    f"being released; the tag would name content other than the signed "
                    f"{signed}", "release again from the new head (nothing was pushed)")


def _replay(root: Path, base: str, tags: Sequence[str]) -> tuple[int, dict[str, str]]:
    """Rebase the local ledger commits on ``base``; move their tags. (replayed, moves)"""
    commits = _local_commits(root, base)
    trailers = _ledger_trailers(root, commits)
    _check_replayable(root, base, commits, trailers)
    _check_release_versions(root, base, commits, trailers, tags)
    signed = any(b"\ngpgsig " in gitrepo.git_bytes(["cat-file", "commit", c], root)
                 for c in commits)
    problem = gitrepo.rebase_onto(root, base, sign=signed)
    if problem:
        raise ConfigError(f"could not replay the ledger commits: {redact(problem)}",
                          "rebase by hand (git pull --rebase), then rerun archivist push")
    replayed = _local_commits(root, base)
    if len(replayed) != len(commits):
        raise ConfigError(f"replaying {len(commits)} ledger commit(s) gave {len(replayed)}",
                          "look at git log, then rerun archivist push")
    mapping = dict(zip(commits, replayed, strict=True))
    moves = {}
    targets = gitrepo.tag_targets(root)
    for tag in tags:
        old = targets[tag][1]
        if old in mapping:
            gitrepo.move_tag(root, tag, mapping[old])
            moves[tag] = mapping[old]
    return len(commits), moves


def _tags_on(root: Path, commits: Sequence[str], extra: Sequence[str]) -> list[str]:
    """Local tags on the unpushed ``commits`` (the release tags), plus the ``extra`` asked for."""
    targets = gitrepo.tag_targets(root)
    for tag in extra:
        if tag not in targets:
            raise ConfigError(f"no local tag {tag!r}", "git tag --list to see them")
    wanted = set(commits)
    return sorted({t for t, (_, peeled, _) in targets.items() if peeled in wanted} | set(extra))


def _tags_to_push(root: Path, remote: str, tags: Sequence[str]) -> list[str]:
    """``tags`` the remote lacks; one it holds with another object is refused (a release
    is never overwritten, and pushing the branch without it would lose it)."""
    present = gitrepo.remote_tags(root, remote, tags)
    local = gitrepo.tag_targets(root)
    for tag, obj in present.items():
        if obj != local[tag][0]:
            raise PushRefused(f"tag {tag} exists on {remote} already, on another object",
                              "a release is never re-made: release the next version")
    return [t for t in tags if t not in present]


def _failure(refs: list[tuple[str, str, str]], stderr: str) -> tuple[bool, str]:
    """(retry?, one line) for a push that did not go through."""
    rejected = [(ref, summary) for flag, ref, summary in refs if flag == "!"]
    if not rejected:
        lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        detail = lines[-1].removeprefix("fatal: ").removeprefix("error: ") if lines else ""
        raise ConfigError(f"git push failed: {redact(detail) or 'no reason given'}",
                          "check the remote's URL and that the job's credentials may push")
    # The ref that caused it, not the others atomic refused along with it.
    first = next(((r, s) for r, s in rejected if "atomic push failed" not in s), rejected[0])
    ref, summary = first
    retry = any(reason in summary for reason in _RETRYABLE) and ref.startswith("refs/heads/")
    return retry, f"{ref}: {redact(summary)}"


def push_ledger(root: Path, remote: str = "origin", *, delete_tags: Sequence[str] = (),
                extra_tags: Sequence[str] = (), attempts: int = DEFAULT_ATTEMPTS,
                bundle: Path | None = None, sleep: bool = True) -> PushResult:
    """Push the current branch, its new tags and ``delete_tags`` to ``remote`` atomically.

    On failure this raises ConfigError (cannot push or replay: exit 2) or PushRefused (the
    remote refused for good, or every attempt was overtaken: exit 1); the local commits
    stay, and ``bundle`` (when given) holds every unpushed commit and tag. No message
    carries the credentials a remote URL may hold.
    """
    try:
        return _push(root, remote, delete_tags, extra_tags, attempts, bundle, sleep)
    except ArchivistError as exc:
        exc.message = redact(exc.message)
        exc.hint = redact(exc.hint) if exc.hint else exc.hint
        exc.args = (exc.message,)
        raise


def _push(root: Path, remote: str, delete_tags: Sequence[str], extra_tags: Sequence[str],
          attempts: int, bundle: Path | None, sleep: bool) -> PushResult:
    if remote.startswith("-"):
        raise ConfigError(f"{remote!r} is not a git remote")
    branch = gitrepo.current_branch(root)
    if branch is None:
        raise ConfigError("HEAD is detached: archivist push publishes a branch",
                          "git switch BRANCH (the policy's branch:)")
    base = gitrepo.fetch_branch(root, remote, branch)
    tags = _tags_on(root, _local_commits(root, base), extra_tags)
    replayed, moves = 0, {}
    last = ""
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            base = gitrepo.fetch_branch(root, remote, branch)
            if sleep and attempt > 2:
                time.sleep(random.uniform(0, min(2 ** (attempt - 2), 8)))
        if base is not None and not gitrepo.is_ancestor(root, base, "HEAD"):
            n, moved = _replay(root, base, tags)
            replayed = max(replayed, n)
            moves.update(moved)
        deletions = sorted(gitrepo.remote_tags(root, remote, delete_tags))
        to_push = _tags_to_push(root, remote, tags)
        head = gitrepo.resolve_commit(root, "HEAD")
        commits = len(_local_commits(root, base))
        if not commits and not to_push and not deletions:
            return PushResult(remote, branch, head, 0, [], [], attempt, replayed,
                              "up-to-date", moves)
        refspecs = [f"{head}:refs/heads/{branch}"]
        refspecs += [f"refs/tags/{t}:refs/tags/{t}" for t in to_push]
        refspecs += [f":refs/tags/{t}" for t in deletions]
        code, refs, stderr = gitrepo.push_atomic(root, remote, refspecs)
        if code == 0:
            return PushResult(remote, branch, head, commits, to_push, deletions, attempt,
                              replayed, "pushed", moves)
        retry, last = _failure(refs, stderr)
        if not retry:
            _keep(root, bundle, branch, tags, base)
            raise PushRefused(f"{remote} refused the push: {last}",
                              "nothing was pushed; the ledger commits are still here"
                              + (f" and in {bundle}" if bundle else ""))
    _keep(root, bundle, branch, tags, base)
    raise PushRefused(f"{remote} moved on during each of {attempts} attempts ({last})",
                      "nothing was pushed; rerun archivist push"
                      + (f" (the ledger commits are in {bundle})" if bundle else ""))


def _keep(root: Path, bundle: Path | None, branch: str, tags: Sequence[str],
          base: str | None) -> None:
    if bundle is None:
        return
    # Nothing unpushed to keep makes git refuse an empty bundle: the push's own error is
    # the one to show.
    with contextlib.suppress(ArchivistError):
        gitrepo.create_bundle(root, bundle, [f"refs/heads/{branch}",
                                             *(f"refs/tags/{t}" for t in tags)], base)
