"""Git history -> what each artifact looked like, commit by commit, on one branch.

One streaming ``git log --first-parent --raw`` pass lists the commits that changed a
``.dvc``, ``dvc.yaml`` or ``dvc.lock`` file with the blob of each file before and after;
one ``git cat-file --batch`` process reads those blobs. Never one process per commit.

``walk`` yields the artifacts that changed in each such commit (the audit reads tag
changes made by people from it); ``read_timelines`` folds the walk into version timelines:
when each version of each artifact became current and which commit replaced or deleted it.
Dates come from ``read_clock``: each commit's committer date bounded below by its
first-parent ancestors' and above by now (a backdated commit never starts a clock early);
where a claim is out of bounds, a ``DateAnomaly`` says so.

``governed_branch`` is the one answer to "which branch is the record" for every command
(a missing branch is an error, never HEAD), and ``governed_policy`` reads the reviewed
policy at its head.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from archivist import gitrepo, parsecache
from archivist.dvcfiles import (
    DVC_LOCK,
    DVC_YAML,
    Artifact,
    LockedStage,
    Version,
    declaring_file,
    is_dvc_file,
    merge_registry,
    parse_dvc_file,
    parse_dvc_yaml,
    parse_lock_stages,
)
from archivist.errors import ArchivistError, ConfigError, GitError

if TYPE_CHECKING:
    from archivist.policy import Policy

# Plain (fnmatch) pathspecs, where "*" also matches "/": git matches them twice as fast
# as ":(glob)**/..." ones (0.4 s of 0.85 s at 10,000 commits). "*dvc.yaml" also lets
# through names like "xdvc.yaml", which ``declaring_file`` drops.
_PATHSPECS = ("*.dvc", f"*{DVC_YAML}", f"*{DVC_LOCK}")
_NULL_SHA = "0" * 40
_FIELDS = ("%H", "%an", "%ae", "%aI", "%cI", "%s")


@dataclass(frozen=True)
class CommitArtifacts:
    """One first-parent commit that changed DVC files, and the artifacts it changed.

    ``changes`` holds ``(before, after)`` for every artifact whose entry changed (tags or
    version): ``before`` is None when the commit added the artifact, ``after`` when it
    removed it.
    """

    sha: str
    author_name: str
    author_email: str
    author_date: dt.datetime
    committer_date: dt.datetime
    subject: str
    changes: list[tuple[Artifact | None, Artifact | None]]


_POSITION = ("line", "tags_line")


def _same(a: Artifact | None, b: Artifact | None) -> bool:
    """Equal as a user sees them: moving an entry to another line is no change."""
    if a is None or b is None:
        return a is b
    if a == b:
        return True
    da, db = vars(a), vars(b)
    return all(da[k] == db[k] for k in da if k not in _POSITION)


class _State:
    """The declaring files at the commit being walked, parsed, and the joined artifacts."""

    def __init__(self, parses: dict[parsecache.Key, parsecache.Value],
                 warnings: list[str] | None) -> None:
        self.parses = parses
        self.warnings = warnings
        self.parsed: dict[str, list[Artifact]] = {}  # unit -> its artifacts
        self.units_of: dict[str, set[str]] = {}  # output path -> units declaring it
        self.merged: dict[str, Artifact] = {}  # output path -> artifact as a user sees it

    def _parse(self, unit: str, key: parsecache.Key | None, commit: str) -> list[Artifact]:
        value = self.parses.get(key, ()) if key is not None else ()
        if isinstance(value, str):
            # A file broken in one commit must not look like a deletion (that would start
            # a retention clock): keep what it declared before, and say so.
            if self.warnings is not None:
                self.warnings.append(f"commit {commit[:10]}: {value}; "
                                     "its previous content is used")
            return self.parsed.get(unit, [])
        return list(value)

    def apply(self, commit: str, units: list[tuple[str, parsecache.Key | None]],
              ) -> list[tuple[Artifact | None, Artifact | None]]:
        touched: set[str] = set()
        for unit, key in units:
            old = self.parsed.get(unit, [])
            new = self._parse(unit, key, commit)
            for artifact in old:
                self.units_of.get(artifact.path, set()).discard(unit)
                touched.add(artifact.path)
            for artifact in new:
                self.units_of.setdefault(artifact.path, set()).add(unit)
                touched.add(artifact.path)
            if new:
                self.parsed[unit] = new
            else:
                self.parsed.pop(unit, None)
        changes: list[tuple[Artifact | None, Artifact | None]] = []
        for path in sorted(touched):
            before = self.merged.get(path)
            after = self._join(path)
            if after is None:
                self.merged.pop(path, None)
                self.units_of.pop(path, None)
            else:
                self.merged[path] = after
            if not _same(before, after):
                changes.append((before, after))
        return changes

    def _join(self, path: str) -> Artifact | None:
        raw = [a for unit in sorted(self.units_of.get(path, ()))
               for a in self.parsed.get(unit, ()) if a.path == path]
        if not raw:
            return None
        if len(raw) == 1 and not raw[0].registered:
            return raw[0]
        joined = [a for a in merge_registry(raw) if a.path == path]
        return joined[0] if joined else None


def _is_yaml_unit(unit: str) -> bool:
    return unit.endswith(DVC_YAML) and not is_dvc_file(unit)


def _unit_steps(records: list[tuple[list[str], list[tuple[str, str]]]],
                blobs: dict[str, str]) -> list[list[tuple[str, parsecache.Key | None]]]:
    """For each commit, the units it touched (sorted) and the blobs each is parsed from.

    The key is None when the unit's file is gone (a ``dvc.lock`` without its ``dvc.yaml``
    declares nothing). ``blobs`` (declaring file -> blob id) is updated as the records go.
    """
    steps = []
    for _, files in records:
        units: set[str] = set()
        for path, new_sha in files:
            unit = declaring_file(path)
            if unit is None:
                continue
            if new_sha == _NULL_SHA:
                blobs.pop(path, None)
            else:
                blobs[path] = new_sha
            units.add(unit)
        step: list[tuple[str, parsecache.Key | None]] = []
        for unit in sorted(units):
            sha = blobs.get(unit)
            if sha is None:
                step.append((unit, None))
            elif _is_yaml_unit(unit):
                step.append((unit, (unit, sha, blobs.get(
                    posixpath.join(posixpath.dirname(unit), DVC_LOCK)))))
            else:
                step.append((unit, (unit, sha, None)))
        steps.append(step)
    return steps


def _no_params(path: str) -> bytes | None:
    return None


def parse_key(key: parsecache.Key, contents: dict[str, bytes],
              read: Callable[[str], bytes | None] = _no_params,
              ) -> parsecache.Value | None:
    """The artifacts of one unit from its blobs, the error message when it does not parse,
    None when its blob is missing from the repository (then it declares nothing).
    ``read`` gives a templated ``dvc.yaml`` its params files (by repo path)."""
    unit, sha, lock_sha = key
    text = contents.get(sha)
    if text is None:
        return None
    try:
        if _is_yaml_unit(unit):
            lock = contents.get(lock_sha) if lock_sha is not None else None
            return tuple(parse_dvc_yaml(text, unit, lock, read))
        return tuple(parse_dvc_file(text, unit))
    except ArchivistError as exc:
        return exc.message


class _ParamsAt:
    """Params files as a commit holds them, for templated ``dvc.yaml`` files; remembers
    whether any was asked for (such a parse depends on more than its key's blobs)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cat: gitrepo.CatFile | None = None
        self.asked = False

    def reader(self, commit: str) -> Callable[[str], bytes | None]:
        def read(path: str) -> bytes | None:
            self.asked = True
            if self._cat is None:
                self._cat = gitrepo.CatFile(self.root)
            return self._cat.read(f"{commit}:{path}")
        return read

    def close(self) -> None:
        if self._cat is not None:
            self._cat.close()


def _parse_all(root: Path, keys: list[parsecache.Key], *, use_cache: bool = True,
               first_seen: dict[parsecache.Key, str] | None = None,
               ) -> dict[parsecache.Key, parsecache.Value]:
    """Every unit version the walk needs: from the cache, the rest read and parsed
    (all of them read and parsed when ``use_cache`` is False).

    A templated ``dvc.yaml`` reads its params files at the first commit its key appears
    in (``first_seen``); such a parse is not cached, since its key does not name them.
    """
    cache = parsecache.ParseCache.open(root, "history")
    parses: dict[parsecache.Key, parsecache.Value] = {}
    todo: list[parsecache.Key] = []
    for key in keys:
        value = cache.get(key) if use_cache else parsecache.MISSING
        if value is parsecache.MISSING:
            todo.append(key)
        else:
            parses[key] = value
    if todo:
        wanted = list(dict.fromkeys(s for k in todo for s in (k[1], k[2]) if s is not None))
        contents = gitrepo.read_blobs(root, wanted)
        # Measured: a forked second parser did not pay on 2 cores (10,000 files: 0.8 s
        # either way, the results' pickling eating the gain), so parsing stays serial.
        params = _ParamsAt(root)
        try:
            for key in todo:
                commit = (first_seen or {}).get(key)
                params.asked = False
                value = parse_key(key, contents,
                                  params.reader(commit) if commit else _no_params)
                if value is not None:
                    parses[key] = value
                    if not params.asked:
                        cache.put(key, value)
        finally:
            params.close()
        cache.save()
    return parses


def _records(root: Path, rev: str, pathspecs: tuple[str, ...] = _PATHSPECS,
             ) -> list[tuple[list[str], list[tuple[str, str]]]]:
    """Each commit's header fields and its (path, new blob) pairs, oldest first."""
    return [(list(record.fields), [(f.path, f.blob or _NULL_SHA) for f in record.files
                                   if declaring_file(f.path) is not None])
            for record in gitrepo.log(
                root, ["--first-parent", "--diff-merges=first-parent", "--reverse",
                       "--end-of-options", rev], _FIELDS, files="raw", paths=pathspecs)]


# The walk itself is remembered too: the commits it yielded up to a head, and the state
# it ended in. A head seen before answers at once; a descendant on the first-parent chain
# resumes there and walks only the new commits. Either way the result is the full walk's.
_SNAPSHOT = "walk"
# 2: templated dvc.yaml files resolved with their params (1 left their outputs out)
# 3: artifacts carry cache, push, remote and imported (older snapshots lack them)
_SNAPSHOT_KIND = ("walk", 3, tuple(CommitArtifacts.__dataclass_fields__), _PATHSPECS)


def walk(root: Path, rev: str, *, warnings: list[str] | None = None,
         use_cache: bool = True, snapshot_name: str | None = None,
         ) -> Iterator[CommitArtifacts]:
    """Each first-parent commit up to ``rev`` that changed an artifact, oldest first.

    Files that fail to parse in some commit keep their previous meaning; a message for
    each lands in ``warnings`` when a list is given.

    ``use_cache=False`` reads every blob and parses it again, trusting neither the walk
    snapshot nor the parse cache (a cache travels between machines and can be forged);
    what anything that deletes decides from. The fresh result still refreshes the caches.
    ``snapshot_name``: for a walk of another branch than the governed one (a shared
    repository's), so that neither walk evicts the other's snapshot.
    """
    sha = gitrepo.resolve_commit(root, rev)
    snapshot = parsecache.Snapshot(root, f"{_SNAPSHOT}-{snapshot_name}" if snapshot_name
                                   else _SNAPSHOT)
    header = snapshot.header() if use_cache else None
    body = None
    if isinstance(header, tuple) and len(header) == 2 and header[0] == _SNAPSHOT_KIND and \
            (header[1] == sha or gitrepo.on_first_parent_chain(root, header[1], sha)):
        body = snapshot.body()
    done: list[CommitArtifacts] = []
    found: list[str] = []  # this walk's warnings, kept with the snapshot
    state = _State({}, found)
    blobs: dict[str, str] = {}
    if body is not None:
        done, old_warnings, blobs, state.parsed, state.units_of, state.merged = body
        found.extend(old_warnings)
        if warnings is not None:
            warnings.extend(old_warnings)
        yield from done
        if header[1] == sha:
            return
    records = _records(root, f"{header[1]}..{sha}" if body is not None else sha)
    steps = _unit_steps(records, blobs)
    keys = list(dict.fromkeys(k for step in steps for _, k in step if k is not None))
    first_seen: dict[parsecache.Key, str] = {}
    for (fields, _), units in zip(records, steps, strict=True):
        for _, key in units:
            if key is not None:
                first_seen.setdefault(key, fields[0])
    state.parses = _parse_all(root, keys, use_cache=use_cache, first_seen=first_seen)
    for (fields, _), units in zip(records, steps, strict=True):
        commit, name, email, adate, cdate, subject = fields
        seen = len(found)
        changes = state.apply(commit, units)
        if warnings is not None and len(found) > seen:
            warnings.extend(found[seen:])
        if changes:
            step = CommitArtifacts(
                sha=commit, author_name=name, author_email=email,
                author_date=git_date(adate),
                committer_date=git_date(cdate),
                subject=subject, changes=changes,
            )
            done.append(step)
            yield step
    snapshot.save((_SNAPSHOT_KIND, sha),
                  (done, found, blobs, state.parsed, state.units_of, state.merged))


# ---------------------------------------------------------------- dvc.lock over time


@dataclass(frozen=True)
class LockAt:
    """What one ``dvc.lock`` records from a first-parent commit on, until the next
    ``LockAt`` of the same file: each stage's command, dependencies, params and outputs."""

    lock: str  # repo path of the dvc.lock
    commit: str
    position: int | None  # first-parent position of ``commit``
    stages: tuple[LockedStage, ...]  # () once the file is gone


def read_locks(root: Path, head: str, positions: Mapping[str, int], *,
               warnings: list[str] | None = None, use_cache: bool = False) -> list[LockAt]:
    """Every state of every ``dvc.lock`` on ``head``'s first-parent history, oldest first.

    One ``git log`` pass over ``dvc.yaml``/``dvc.lock`` files only and one ``git cat-file
    --batch``. The ``dvc.yaml`` beside a lock gives its stages' ``wdir``. A lock that does
    not parse keeps its previous meaning (as in ``walk``), with a warning.

    ``use_cache``: parses may come from the parse cache (a read-only caller; measured,
    parsing is 80% of the cost). Off by default: what a deletion decides from is parsed
    afresh; the fresh parses still refresh the cache."""
    records = _records(root, head, (f"*{DVC_YAML}", f"*{DVC_LOCK}"))
    blobs: dict[str, str] = {}  # declaring file -> blob
    states: list[tuple[str, str, str | None, str | None]] = []  # commit, lock, yaml, lock
    for fields, files in records:
        folders = set()
        for path, sha in files:
            name = posixpath.basename(path)
            if name not in (DVC_YAML, DVC_LOCK):
                continue
            if sha == _NULL_SHA:
                blobs.pop(path, None)
            else:
                blobs[path] = sha
            folders.add(posixpath.dirname(path))
        for folder in sorted(folders):
            lock = posixpath.join(folder, DVC_LOCK)
            states.append((fields[0], lock, blobs.get(posixpath.join(folder, DVC_YAML)),
                           blobs.get(lock)))
    cache = parsecache.ParseCache.open(root, "lineage")
    parsed: dict[tuple[str, str, str | None], Any] = {}
    for _, lock, yaml_sha, lock_sha in states:
        if lock_sha is not None:
            key = (lock, lock_sha, yaml_sha)
            value = cache.get(key) if use_cache else parsecache.MISSING
            if value is not parsecache.MISSING:
                parsed[key] = value
    contents = gitrepo.read_blobs(root, list(dict.fromkeys(
        s for _, lock, y, lk in states if lk is not None and (lock, lk, y) not in parsed
        for s in (y, lk) if s is not None)))
    last: dict[str, tuple[LockedStage, ...]] = {}
    out: list[LockAt] = []
    for commit, lock, yaml_sha, lock_sha in states:
        stages: tuple[LockedStage, ...] = ()
        key = (lock, lock_sha or "", yaml_sha)
        if lock_sha is not None and (key in parsed or lock_sha in contents):
            if key not in parsed:
                yaml_text = contents.get(yaml_sha) if yaml_sha is not None else None
                try:
                    parsed[key] = tuple(parse_lock_stages(
                        contents[lock_sha], lock,
                        # only a wdir: is worth parsing the dvc.yaml for (rare)
                        yaml_text if yaml_text and b"wdir" in yaml_text else None))
                except ArchivistError as exc:
                    parsed[key] = exc.message
                cache.put(key, parsed[key])
            value = parsed[key]
            if isinstance(value, str):
                if warnings is not None:
                    warnings.append(f"commit {commit[:10]}: {value}; its previous content "
                                    "is used for lineage")
                stages = last.get(lock, ())
            else:
                stages = value
        if lock in last and stages == last[lock]:
            continue  # only the dvc.yaml changed, and not what the lock means
        last[lock] = stages
        out.append(LockAt(lock, commit, positions.get(commit), stages))
    cache.save()
    return out


# ---------------------------------------------------------------- the clock

# What a date beyond what Python can hold reads as (git stores any 64-bit timestamp: a
# commit "from" year 3170843 exists as easily as one from 2024): the far future, which
# the clock then bounds by now and reports.
FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)


def git_date(text: str) -> dt.datetime:
    """A strict-ISO date git printed, or ``FAR_FUTURE`` when Python cannot hold it."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
        moment.astimezone(dt.UTC)  # year 9999 at a negative offset is year 10000 in UTC
    except (ValueError, OverflowError):
        return FAR_FUTURE
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment

# A commit date is what its author's machine said (or what they chose). A version's
# clock must never start before the commit that introduced it, so each first-parent
# commit's date is bounded below by every earlier first-parent commit's, and above by
# now; where the claim falls outside, the bound is used and the claim is an anomaly.


@dataclass(frozen=True)
class DateAnomaly:
    """A first-parent commit whose committer date cannot be the time it was made."""

    kind: Literal["backwards", "future"]
    commit: str
    claimed: dt.datetime  # the committer date it carries
    used: dt.datetime  # the date retention uses instead
    previous: str | None = None  # backwards: the earlier commit it claims to precede

    def describe(self) -> str:
        if self.kind == "future":
            return (f"commit {self.commit[:10]} is dated {self.claimed.isoformat()}, in the "
                    f"future: retention counts from {self.used.isoformat()}")
        return (f"commit {self.commit[:10]} is dated {self.claimed.isoformat()}, before its "
                f"first-parent ancestor {str(self.previous)[:10]} "
                f"({self.used.isoformat()}): retention counts from the later date")


@dataclass(frozen=True)
class Clock:
    """The first-parent chain of a head: each commit's position and bounded date."""

    positions: Mapping[str, int]  # commit -> 0 for the oldest first-parent commit
    dates: Mapping[str, dt.datetime]  # commit -> committer date, bounded
    anomalies: tuple[DateAnomaly, ...] = ()


def bound_dates(chain: Iterable[tuple[str, dt.datetime]], now: dt.datetime) -> Clock:
    """Bound each commit's date by its first-parent predecessors and by ``now``.

    ``chain`` is the first-parent chain oldest first, as (commit, committer date). Pure.
    """
    positions: dict[str, int] = {}
    dates: dict[str, dt.datetime] = {}
    anomalies: list[DateAnomaly] = []
    floor: dt.datetime | None = None
    floor_commit: str | None = None
    floor_future = False  # the floor is "now", set by a commit dated in the future
    for index, (commit, claimed) in enumerate(chain):
        positions[commit] = index
        used = claimed
        future = used > now
        if future:
            anomalies.append(DateAnomaly("future", commit, claimed, now))
            used = now
        if floor is not None and used < floor:
            if not floor_future:  # behind a future date every honest one looks backwards
                anomalies.append(DateAnomaly("backwards", commit, claimed, floor,
                                             previous=floor_commit))
            used = floor
        if floor is None or used > floor:
            floor, floor_commit, floor_future = used, commit, future
        dates[commit] = used
    return Clock(positions, dates, tuple(anomalies))


def first_parent_dates(root: Path, head: str) -> list[tuple[str, dt.datetime]]:
    """(commit, committer date) for each first-parent commit up to ``head``, oldest first."""
    records = gitrepo.log(root, ["--first-parent", "--reverse", "--end-of-options", head],
                          ("%H", "%cI"))
    return [(r.fields[0], git_date(r.fields[1])) for r in records]


def read_clock(root: Path, head: str, now: dt.datetime | None = None) -> Clock:
    """The bounded clock of ``head``'s first-parent chain (``now`` defaults to the time)."""
    return bound_dates(first_parent_dates(root, head), now or dt.datetime.now(dt.UTC))


# ---------------------------------------------------------------- version timelines


@dataclass
class Span:
    """A stretch of first-parent history during which ``version`` was current at ``path``.

    ``since`` and ``until`` are the bounded dates (see ``bound_dates``); the commits'
    own claims are kept beside them.
    """

    path: str
    version: Version
    artifact: Artifact  # as last seen while current: its tags decide the class
    since_commit: str
    since: dt.datetime
    until_commit: str | None = None  # the commit that replaced or deleted it
    until: dt.datetime | None = None
    ended_by: str | None = None  # "replaced" | "deleted"
    since_position: int | None = None  # first-parent position of since_commit
    until_position: int | None = None
    since_claimed: dt.datetime | None = None  # the committer dates as written
    until_claimed: dt.datetime | None = None


@dataclass
class Timelines:
    """Every version of every artifact seen on the branch, and the head it was read at."""

    head: str
    spans: list[Span] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # commit dates that ran backwards along the first-parent chain or lay in the future
    anomalies: list[DateAnomaly] = field(default_factory=list)
    positions: Mapping[str, int] = field(default_factory=dict)

    def current(self) -> list[Span]:
        return [s for s in self.spans if s.until is None]


def read_timelines(root: Path, rev: str,
                   steps: Iterable[CommitArtifacts] | None = None, *,
                   use_cache: bool = True, now: dt.datetime | None = None,
                   snapshot_name: str | None = None) -> Timelines:
    """Fold ``walk`` into spans: when each (artifact, version) was current, and until when.

    ``steps``: the walk of ``rev`` when the caller has it already (the audit does).
    ``use_cache``, ``snapshot_name``: passed to ``walk``. ``now``: the upper bound of
    commit dates.
    """
    head = gitrepo.resolve_commit(root, rev)
    clock = read_clock(root, head, now)
    out = Timelines(head=head)
    if steps is None:
        steps = walk(root, head, warnings=out.warnings, use_cache=use_cache,
                     snapshot_name=snapshot_name)
    return fold_spans(head, steps, clock, out.warnings)


def fold_spans(head: str, steps: Iterable[CommitArtifacts], clock: Clock,
               warnings: list[str] | None = None) -> Timelines:
    """The pure part of ``read_timelines``: steps + the bounded clock -> spans."""
    out = Timelines(head=head, warnings=warnings if warnings is not None else [],
                    anomalies=list(clock.anomalies), positions=clock.positions)
    open_spans: dict[str, Span] = {}
    for commit in steps:
        when = clock.dates.get(commit.sha, commit.committer_date)
        position = clock.positions.get(commit.sha)
        for before, after in commit.changes:
            path = (after or before).path  # type: ignore[union-attr]
            span = open_spans.get(path)
            new_version = after.version if after is not None else None
            if span is not None and new_version is not None \
                    and new_version.digest == span.version.digest:
                span.artifact = after  # tags changed, same version
                continue
            if span is not None:
                span.until_commit = commit.sha
                span.until = when
                span.until_claimed = commit.committer_date
                span.until_position = position
                span.ended_by = "replaced" if after is not None else "deleted"
                del open_spans[path]
            if after is not None and new_version is not None:
                span = Span(path=path, version=new_version, artifact=after,
                            since_commit=commit.sha, since=when,
                            since_position=position, since_claimed=commit.committer_date)
                open_spans[path] = span
                out.spans.append(span)
    return out


# ------------------------------------------------------------------ the governed branch
# One resolver for every command (plan, archive, audit, verify, restore's signature check):
# a second one once fell back to HEAD, which in a CI checkout of a merge request is the
# request itself, whose policy would then choose its own keys and clocks.


def governed_branch(root: Path, branch: str | None) -> str:
    """The ref whose first-parent history is the record: ``refs/heads/BRANCH``, else
    ``refs/remotes/origin/BRANCH``, for the policy's ``branch``; a policy that names none
    governs the branch HEAD is on.

    Never HEAD in its place. Raises ConfigError (exit 2), saying to fetch the branch or
    pass ``--policy-ref``, when the branch is not in this clone, or when the policy names
    none and HEAD is detached.
    """
    if not branch:
        current = gitrepo.current_branch(root)
        if current is None:
            raise ConfigError("the policy names no governed branch (branch:) and HEAD is "
                              "detached: no reviewed history or policy to go by",
                              "pass --policy-ref origin/main (the base branch), or set "
                              "branch: in archivist.yaml")
        return f"refs/heads/{current}"
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        try:
            gitrepo.resolve_commit(root, ref)
        except GitError:
            continue
        return ref
    raise ConfigError(f"the governed branch {branch!r} is not in this clone, so there is no "
                      "reviewed history or policy to go by (the checked-out commit cannot "
                      "vouch for itself)", f"fetch it (git fetch origin {branch}), or pass "
                      f"--policy-ref origin/{branch}")


def governed_head(root: Path, branch: str | None) -> str:
    """The commit at the head of the governed branch (see ``governed_branch``)."""
    return gitrepo.resolve_commit(root, governed_branch(root, branch))


def governed_policy(root: Path, policy_ref: str | None = None) -> tuple[Policy | None, str]:
    """The reviewed policy and the commit it was read from: the head of the governed
    branch (named by HEAD's ``archivist.yaml``, read from the branch itself), or
    ``policy_ref`` when given. None when that commit has no ``archivist.yaml``.

    Raises ConfigError as ``governed_branch`` does, or for a policy that does not parse.
    """
    from archivist.policy import POLICY_FILE, parse_policy

    with gitrepo.CatFile(root) as cat:
        if policy_ref is not None:
            rev = gitrepo.resolve_commit(root, policy_ref)
        else:
            text = cat.read(f"HEAD:{POLICY_FILE}")
            head_policy = parse_policy(text) if text is not None else None
            rev = governed_head(root, head_policy.branch if head_policy else None)
        data = cat.read(f"{rev}:{POLICY_FILE}")
    if data is None:
        return None, rev
    return parse_policy(data, f"{POLICY_FILE} at {rev[:10]}"), rev
