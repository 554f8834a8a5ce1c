"""What the other repositories on the same DVC remotes still keep (``remotes.shared_with``).

DVC users share one remote between repositories, and a garbage collector that sees one
repository deletes what another still needs (dvc#1300, #3476, #4663, #7610). Before any
object leaves a remote, archive and dispose add to their keep-set every object that the
versions a shared repository must keep use on that remote:

1. each shared repository's branch and tags are fetched into a private namespace of this
   repository (``refs/archivist/shared/<id>/heads/<branch>`` and ``.../tags/*``): the
   other repository is only read, never changed, and no tag of it lands in
   ``refs/tags`` (where it would pin versions here);
2. the same plan runs there: its own ``archivist.yaml`` and ``.dvc/config`` at its branch
   head, its history, ledger and tags, on this run's date;
3. each version it keeps is placed by remote LOCATION, not name (``remotes.Location``:
   the other repository may call this repository's ``storage`` ``lake``).

Fail closed: a shared repository that cannot be fetched, has no ``archivist.yaml`` at its
branch head, or whose policy or history cannot be read is a ``Refusal``: nothing leaves
the remotes it may use (every remote, when it cannot be told which), in one line; copying
to the archive still proceeds. A place that cannot be told (a remote DVC cannot place, a
relative path in a repository that is not on this machine) means everywhere.

Reading is here (git only, through the plan); ``Guard`` is what archive and dispose hold
while they delete: it lists the objects of the kept versions from the remotes themselves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from archivist import gitrepo, history
from archivist.dvcfiles import Version
from archivist.errors import ArchivistError, ConfigError, IntegrityError
from archivist.policy import POLICY_FILE, Policy, SharedRepository, parse_policy
from archivist.remotes import (
    Location,
    ManifestMissing,
    ObjectRef,
    Store,
    config_places,
    version_objects,
)
from archivist.retention.decide import DeleteSet, PlanItem, left_alone
from archivist.retention.plan import Plan, build_plan_details, version_records

NAMESPACE = "refs/archivist/shared"
DVC_CONFIG = ".dvc/config"
Kind = Literal["archive", "dispose"]


@dataclass(frozen=True)
class SharedVersion:
    """A version another repository keeps, and the places its objects must stay."""

    repository: str  # as remotes.shared_with names it
    path: str
    version: Version
    state: str
    places: tuple[Location, ...] | None  # None: every place
    # due for archive in its repository: the place it is heading to (its archive remote)
    heading_to: Location | None = None

    def keeps_on(self, place: Location | None, kind: Kind,
                 archive: Location | None = None) -> bool:
        """Whether its objects must stay at ``place`` (None: a place this repository
        cannot tell; any) while this repository's ``kind`` deletes there.

        A version due for archive in its own repository needs no active copy once the
        archive it heads to holds a verified one: this repository's archive run, whose
        archive remote is that place (``archive``), copies before it deletes, and the other
        repository's run then finds the copy in place."""
        if kind == "archive" and self.heading_to is not None and archive is not None \
                and self.heading_to.overlaps(archive):
            return False
        if self.places is None or place is None:
            return True
        return any(p.overlaps(place) for p in self.places)

    def describe(self) -> str:
        digest = self.version.digest
        short = f"md5:{digest.removesuffix('.dir')[:12]}{'.dir' if self.version.is_dir else ''}"
        return f"{self.repository} ({self.path} {short}, {self.state})"

    def as_json(self) -> dict[str, str]:
        return {"repository": self.repository, "path": self.path,
                "version": self.version.label, "state": self.state}


@dataclass(frozen=True)
class Refusal:
    """A shared repository that could not be read: nothing leaves the places it may use."""

    repository: str
    reason: str
    places: tuple[Location, ...] | None  # None: every place

    def covers(self, place: Location | None) -> bool:
        if self.places is None or place is None:
            return True
        return any(p.overlaps(place) for p in self.places)

    def line(self, effect: str = "nothing deleted from") -> str:
        where = "any remote (it cannot be told which it uses)" if self.places is None \
            else ", ".join(map(str, self.places))
        return (f"shared repository {self.repository} {self.reason}: {effect} {where}; "
                "fix remotes.shared_with or that repository, then rerun")


@dataclass
class SharedKeep:
    """What every shared repository keeps, and the ones that could not be read."""

    versions: list[SharedVersion] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    def by_digest(self) -> dict[str, list[SharedVersion]]:
        out: dict[str, list[SharedVersion]] = {}
        for version in self.versions:
            out.setdefault(version.version.digest, []).append(version)
        return out

    def warnings(self) -> list[str]:
        """One line per repository that could not be read (what --apply will refuse)."""
        return [r.line("archive and dispose --apply will delete nothing from")
                for r in self.refusals]


# ---------------------------------------------------------------- reading


def local_path(root: Path, url: str) -> Path | None:
    """The folder ``url`` names when it is a path on this machine (relative to the
    repository, or ``file://``), else None: git's rules (a colon before the first slash
    is ``host:path``)."""
    if url.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        return Path(unquote(urlsplit(url).path))
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url) or ":" in url.split("/", 1)[0]:
        return None
    return Path(os.path.abspath(root / url))


def repository_id(root: Path, repo: SharedRepository) -> str:
    """The name of one shared repository's private namespace: by where it is, so two
    spellings of one path share it, and reordering ``shared_with`` moves nothing."""
    local = local_path(root, repo.url)
    where = os.path.realpath(local) if local is not None else repo.url
    return hashlib.sha1(where.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Fetched:
    """A shared repository as fetched here."""

    id: str
    head_ref: str  # its branch, under refs/archivist/shared/<id>/heads/
    tags: str  # the prefix of its tags
    head: str  # the commit


def fetch(root: Path, repo: SharedRepository) -> Fetched:
    """Fetch the shared repository's branch and tags into its private namespace.

    Raises ``GitError`` when it cannot be read (unreachable, not a repository, no such
    branch), ``ConfigError`` when its path does not exist."""
    local = local_path(root, repo.url)
    if local is not None and not local.exists():
        raise ConfigError(f"{local} does not exist")
    rid = repository_id(root, repo)
    head, tags = f"{NAMESPACE}/{rid}/heads/{repo.branch}", f"{NAMESPACE}/{rid}/tags"
    source = os.fspath(local) if local is not None else repo.url
    gitrepo.fetch_refs(root, source, [f"+refs/heads/{repo.branch}:{head}",
                                      f"+refs/tags/*:{tags}/*"])
    return Fetched(rid, head, tags, gitrepo.resolve_commit(root, head))


def _places(root: Path, repo: SharedRepository, data: bytes | None,
            ) -> tuple[dict[str, Location | None], str | None]:
    """The shared repository's remotes by name (its committed ``.dvc/config``)."""
    if data is None:
        return {}, None
    local = local_path(root, repo.url)
    # a relative local remote is relative to a checkout: only a work tree here has one
    dvc_dir = local / ".dvc" if local is not None and (local / ".git").exists() else None
    try:
        return config_places([data], dvc_dir)
    except ConfigError as exc:
        raise ConfigError(f"has a {DVC_CONFIG} DVC cannot read ({exc.message})") from None


def read_repository(root: Path, repo: SharedRepository, as_of: dt.date, *, fresh: bool,
                    now: dt.datetime | None = None) -> list[SharedVersion]:
    """Every version ``repo`` keeps, with its places. Raises ``SharedUnreadable``, with
    the places it may use when they are known."""
    try:
        fetched = fetch(root, repo)
    except ArchivistError as exc:
        raise SharedUnreadable(f"cannot be read ({exc.message})", None) from None
    head = fetched.head
    with gitrepo.CatFile(root) as cat:
        policy_text = cat.read(f"{head}:{POLICY_FILE}")
        config_text = cat.read(f"{head}:{DVC_CONFIG}")
    try:
        places, default = _places(root, repo, config_text)
    except ConfigError as exc:
        raise SharedUnreadable(exc.message, None) from None
    known = tuple(p for p in places.values() if p is not None)
    fallback = None if config_text is None or len(known) < len(places) else known
    if policy_text is None:
        raise SharedUnreadable(f"has no {POLICY_FILE} on {repo.branch} ({head[:10]})",
                               fallback)
    try:
        policy = parse_policy(policy_text, f"{repo.url}:{POLICY_FILE}")
        timelines = history.read_timelines(root, fetched.head_ref, use_cache=not fresh,
                                           now=now, snapshot_name=f"shared-{fetched.id}")
        if policy.retention is None:  # it never disposes of anything: it keeps it all
            return [SharedVersion(repo.url, r.path, r.version, "kept (no retention)", None)
                    for r in version_records(timelines.spans)]
        plan = build_plan_details(root, policy, as_of, timelines, fresh=fresh, now=now,
                                  ref=fetched.head_ref, tags=fetched.tags)
    except ArchivistError as exc:
        raise SharedUnreadable(f"cannot be planned ({exc.message})", fallback) from None
    return kept_versions(repo.url, plan, policy, places, default)


class SharedUnreadable(ArchivistError):
    """A shared repository whose keep-set is unknown, and the places it may use."""

    def __init__(self, message: str, places: tuple[Location, ...] | None) -> None:
        super().__init__(message)
        self.places = places


def kept_versions(repository: str, plan: Plan, policy: Policy,
                  places: Mapping[str, Location | None], default: str | None,
                  ) -> list[SharedVersion]:
    """The versions of another repository's plan that must keep their objects, and where:
    as ``retention.delete_sets`` keeps a staying version's (pinned: everywhere; unsure
    where: everywhere; else where the ledger put it). Due for dispose there: not kept;
    due for archive: kept where it is and where it is heading."""
    active = (policy.remotes.active or default or "").lower() or None
    archive = (policy.remotes.archive or "").lower() or None

    def place(name: str | None) -> Location | None:
        return places.get(name.lower()) if name else None

    out: list[SharedVersion] = []
    for item in plan.items:
        if not item.pinned and (item.state == "disposed" or item.action == "dispose"):
            continue
        where: tuple[Location, ...] | None
        if item.pinned or item.location is None:
            where = None
        else:
            at = place(item.remote or active) if item.location == "active" else place(archive)
            where = None if at is None else (at,)
        heading = None
        if item.action == "archive" and not item.pinned:
            heading = place(archive)
            where = None if heading is None or where is None else (*where, heading)
        out.append(SharedVersion(repository, item.path, _version_of(item), item.state,
                                 where, heading))
    for record in plan.records:  # left alone there (imports, push: false): never moved
        if left_alone(record.artifact) is not None:
            out.append(SharedVersion(repository, record.path, record.version,
                                     "left alone", None))
    return out


def _version_of(item: PlanItem) -> Version:
    if item.content is not None:
        return item.content
    return Version(item.algorithm, item.digest, item.size, item.nfiles)


def read_shared(root: Path, policy: Policy, as_of: dt.date, *, fresh: bool,
                now: dt.datetime | None = None) -> SharedKeep:
    """What every repository of ``remotes.shared_with`` keeps, and those that cannot be
    read (fail closed). ``fresh``: as the plan's (``--apply`` walks afresh)."""
    keep = SharedKeep()
    for repo in policy.remotes.shared_with:
        try:
            keep.versions.extend(read_repository(root, repo, as_of, fresh=fresh, now=now))
        except SharedUnreadable as exc:
            keep.refusals.append(Refusal(repo.url, exc.message, exc.places))
        except ArchivistError as exc:
            keep.refusals.append(Refusal(repo.url, f"cannot be read ({exc.message})", None))
    return keep


# ---------------------------------------------------------------- the plan's view


def own_places(root: Path) -> tuple[dict[str, Location | None], str | None]:
    """This repository's remotes by name, from the configuration DVC reads here."""
    texts = []
    for name in ("config", "config.local"):
        try:
            texts.append((root / ".dvc" / name).read_bytes())
        except OSError:
            continue
    try:
        return config_places(texts, root / ".dvc")
    except ConfigError:
        return {}, None


def kept_elsewhere(items: Iterable[PlanItem], keep: SharedKeep, policy: Policy,
                   places: Mapping[str, Location | None], default: str | None,
                   ) -> dict[tuple[str, str], list[SharedVersion]]:
    """For each due version of this repository, the other repositories' versions that
    keep the same content on a remote its action would delete from: (path, version) ->
    them. The plan reads no remote, so a folder is matched by its own hash (files shared
    between different folder versions are found by archive and dispose, which read the
    manifests)."""
    by_digest = keep.by_digest()
    if not by_digest:
        return {}
    active = (policy.remotes.active or default or "").lower()
    archive = places.get((policy.remotes.archive or "").lower())
    out: dict[tuple[str, str], list[SharedVersion]] = {}
    for item in items:
        if item.action not in ("archive", "dispose") or item.digest not in by_digest:
            continue
        kind: Kind = "archive" if item.action == "archive" else "dispose"
        mine = [places.get((item.remote or active).lower())]
        if kind == "dispose":
            mine.append(archive)
        found = [v for v in by_digest[item.digest]
                 if any(v.keeps_on(p, kind, archive) for p in mine)]
        if found:
            out[(item.path, item.version)] = found
    return out


def annotate(root: Path, policy: Policy, plan: Plan, *, fresh: bool = False,
             ) -> dict[tuple[str, str], list[SharedVersion]]:
    """What ``plan`` shows of the shared repositories: each due version whose content
    another repository keeps where its action would delete gets it named in its reason;
    a repository that cannot be read is a warning (what ``--apply`` will refuse). The
    versions named, by (path, version)."""
    keep = read_shared(root, policy, plan.as_of, fresh=fresh)
    plan.warnings.extend(keep.warnings())
    if not keep.versions:
        return {}
    digests = keep.by_digest()
    if not any(i.digest in digests for i in plan.items if i.action != "keep"):
        return {}  # nothing to place: DVC's configuration is not even read
    places, default = own_places(root)
    found = kept_elsewhere(plan.items, keep, policy, places, default)
    plan.items = [dataclasses.replace(i, reason=f"{i.reason}; its objects stay: kept by "
                                      + ", ".join(v.describe() for v in found[key]))
                  if (key := (i.path, i.version)) in found else i for i in plan.items]
    return found


# ---------------------------------------------------------------- while deleting


class Guard:
    """What the shared repositories keep on each remote this run deletes from.

    ``refusal`` says, in one line, why nothing may leave a remote (a repository that could
    not be read, a kept folder whose manifest is damaged everywhere); ``spare`` takes the
    kept objects out of a delete set. The objects of a kept folder are read from its
    manifest in the remotes (the first intact copy, this machine's cache first); one
    whose manifest is nowhere keeps its manifest's name, as a staying version of this
    repository does (no DVC can fetch its files from these remotes)."""

    def __init__(self, keep: SharedKeep, kind: Kind, archive: Store,
                 sources: Sequence[Store]) -> None:
        self.keep = keep
        self.kind = kind
        self.archive_place = archive.location()
        self.sources = list(sources)
        self._kept: dict[str, dict[ObjectRef, SharedVersion]] = {}
        self._damaged: dict[str, str] = {}
        self.kept_for: dict[str, int] = {}  # repository -> objects spared for it
        self.notes: list[str] = []

    def refusal(self, store: Store) -> str | None:
        place = store.location()
        for refusal in self.keep.refusals:
            if refusal.covers(place):
                return refusal.line()
        self._objects(store)
        return self._damaged.get(store.name)

    def _objects(self, store: Store) -> dict[ObjectRef, SharedVersion]:
        if store.name in self._kept:
            return self._kept[store.name]
        place = store.location()
        kept: dict[ObjectRef, SharedVersion] = {}
        sources = [s for s in self.sources if s.name == "cache"] + [store] + \
            [s for s in self.sources if s.name not in ("cache", store.name)]
        for version in self.keep.versions:
            if not version.keeps_on(place, self.kind, self.archive_place):
                continue
            ref = ObjectRef(version.version.digest, version.version.algorithm)
            refs = [ref]
            if ref.is_dir:
                try:
                    refs = version_objects(ref.digest, ref.algorithm, sources).in_copy_order()
                except ManifestMissing:
                    self.notes.append(f"{version.describe()}: its .dir manifest is in none "
                                      "of the remotes; only the manifest's name is kept")
                except IntegrityError as exc:
                    self._damaged.setdefault(store.name, (
                        f"nothing deleted from {store.label()}: {version.describe()} keeps "
                        f"a folder whose manifest is damaged ({exc.message}), so its files "
                        "cannot be told apart"))
            for r in refs:
                kept.setdefault(r, version)
        self._kept[store.name] = kept
        return kept

    def spare(self, store: Store, ds: DeleteSet[ObjectRef]) -> DeleteSet[ObjectRef]:
        """``ds`` without the objects a shared repository keeps on ``store``."""
        kept = self._objects(store)
        spared = [r for r in ds.delete if r in kept]
        for ref in spared:
            repo = kept[ref].repository
            self.kept_for[repo] = self.kept_for.get(repo, 0) + 1
        return DeleteSet(remote=ds.remote, delete=tuple(r for r in ds.delete if r not in kept),
                         spared=ds.spared | frozenset(spared))


def guard_for(root: Path, policy: Policy, as_of: dt.date, kind: Kind, archive: Store,
              sources: Sequence[Store], *, now: dt.datetime | None = None,
              ) -> Guard | None:
    """The guard of an ``--apply`` run (history walked afresh), None without
    ``shared_with``."""
    if not policy.remotes.shared_with:
        return None
    keep = read_shared(root, policy, as_of, fresh=True, now=now)
    return Guard(keep, kind, archive, sources)
