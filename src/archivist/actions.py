"""Archive, dispose and restore: move a plan's versions between DVC remotes, then commit.

Every action follows the same order, so that no object is ever absent from both remotes:

1. refuse early (``ledger.ensure_can_commit``) before any remote is touched;
2. copy (files first, a folder's ``.dir`` manifest last), then read every copy back and
   hash it; any mismatch stops here, with nothing deleted;
3. delete (manifest first), never an object that a version staying there still uses;
4. clear DVC's cached remote index, and commit one ledger event.

A crash at any point leaves every object intact in at least one remote; a rerun sees the
same plan (the ledger has no event yet), skips what is already copied and verified, and
finishes. One lock per repository serialises concurrent runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archivist import gitrepo, ledger
from archivist.errors import ConfigError, IntegrityError
from archivist.lifecycle import UNTIL_TRAILER, build_plan_details
from archivist.policy import Policy
from archivist.retention import PlanItem, describe_class
from archivist.storage import (
    ObjectRef,
    Store,
    Stores,
    VersionObjects,
    copy_object,
    failpoint,
    stage_dir,
    unique,
    version_objects,
)


class Progress:
    """What long transfers report; the default reports nothing (CI, pipes)."""

    def start(self, label: str, objects: int, nbytes: int | None) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def object_done(self) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Outcome:
    """What an action did (or, without ``--apply``, would do)."""

    kind: str
    items: list[PlanItem]
    applied: bool = False
    commit: str | None = None
    copied: int = 0  # objects copied
    verified: int = 0  # objects read back and hashed
    deleted: dict[str, int] = field(default_factory=dict)  # remote -> objects deleted
    kept_shared: int = 0  # objects left in place because a kept version uses them
    nbytes: int = 0
    warnings: list[str] = field(default_factory=list)
    until: dt.date | None = None


def remote_names(policy: Policy, stores: Stores | None = None) -> tuple[str, str]:
    """The active and archive DVC remote names the policy names."""
    active = policy.remotes.active
    if active is None and stores is not None:
        active = stores.default_remote()
    if not active:
        raise ConfigError(f"{policy.source}: no active remote",
                          "add remotes: {active: storage, archive: archive}")
    if not policy.remotes.archive:
        raise ConfigError(f"{policy.source}: no archive remote",
                          "add remotes: {active: storage, archive: archive}")
    if policy.remotes.archive == active:
        raise ConfigError(f"{policy.source}: the active and archive remotes are both "
                          f"{active!r}", "name two different DVC remotes")
    return active, policy.remotes.archive


@contextlib.contextmanager
def repo_lock(root: Path) -> Iterator[None]:
    """One archivist action at a time in a repository (a second run waits, then replans)."""
    git_dir = Path(gitrepo.git(["rev-parse", "--absolute-git-dir"], root).strip())
    with open(git_dir / "archivist.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _pool(jobs: int, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    if jobs <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fn, items))


def _objects_of(items: Iterable[PlanItem], sources: Sequence[Store],
                ) -> dict[tuple[str, str], VersionObjects]:
    out: dict[tuple[str, str], VersionObjects] = {}
    for item in items:
        key = (item.path, item.version)
        if key in out:
            continue
        try:
            out[key] = version_objects(item.digest, item.algorithm, sources)
        except IntegrityError as exc:
            raise IntegrityError(f"{item.path} {item.version} ({item.state}): {exc.message}",
                                 exc.hint) from None
    return out


def _protected(objs: Iterable[VersionObjects]) -> set[ObjectRef]:
    return {ref for vo in objs for ref in vo.in_copy_order()}


def _class_rule(items: Sequence[PlanItem], policy: Policy, what: str) -> str:
    assert policy.retention is not None
    names = sorted({i.retention_class for i in items if i.retention_class})
    parts = []
    for name in names:
        cls = policy.retention.classes.get(name)
        parts.append(describe_class(cls) if cls else f"class {name}")
    return f"{what}: " + "; ".join(parts)


def _subject(kind: str, items: Sequence[PlanItem]) -> str:
    artifacts = len({i.path for i in items})
    classes = ", ".join(sorted({i.retention_class or "?" for i in items}))
    return (f"{kind}: {len(items)} version{'s' if len(items) != 1 else ''} of {artifacts} "
            f"artifact{'s' if artifacts != 1 else ''} (policy class {classes})")


def _mirror(src: Store, fallback: Store | None, dst: Store, refs: Sequence[ObjectRef],
            jobs: int, progress: Progress, outcome: Outcome,
            owners: Mapping[ObjectRef, str]) -> None:
    """Make ``dst`` hold a verified copy of every ref: copy, then read back and hash.

    Objects already intact at ``dst`` are kept (a rerun after a crash); a damaged one is
    removed first, since DVC would never replace it. Nothing is deleted from ``src``.
    """
    present: set[ObjectRef] = set()

    def check_existing(ref: ObjectRef) -> None:
        if dst.exists(ref):
            if dst.verify(ref):
                present.add(ref)
            else:
                dst.delete(ref)  # damaged: a copy must replace it

    _pool(jobs, check_existing, list(refs))
    todo = [r for r in refs if r not in present]
    files = [r for r in todo if not r.is_dir]
    manifests = [r for r in todo if r.is_dir]

    def copy(ref: ObjectRef) -> None:
        source = src
        if fallback is not None and not src.exists(ref) and fallback.exists(ref):
            source = fallback
        if not source.exists(ref):
            raise IntegrityError(
                f"object {ref.oid} of {owners.get(ref, '?')} is in neither "
                f"{src.label()}" + (f" nor {fallback.label()}" if fallback else ""),
                "dvc push it from a clone whose cache still has it")
        copy_object(source, dst, ref, progress=progress.advance)
        progress.object_done()

    # files before manifests: a manifest must never announce files that are not there yet
    _pool(jobs, copy, files)
    _pool(jobs, copy, manifests)
    outcome.copied += len(todo)
    failpoint("after-copy")

    def readback(ref: ObjectRef) -> tuple[ObjectRef, str | None]:
        return ref, dst.hash(ref)

    for ref, got in _pool(jobs, readback, todo):
        if got != ref.digest:
            found = "missing" if got is None else f"md5 {got}"
            raise IntegrityError(
                f"object {ref.oid} of {owners.get(ref, '?')} read back from {dst.label()} "
                f"does not match its hash ({found}); nothing was deleted",
                f"check the copy in {src.name}: `dvc fetch` it and compare, then rerun")
    outcome.verified += len(refs)
    failpoint("after-verify")


def _delete(store: Store, refs: Sequence[ObjectRef], protected: set[ObjectRef],
            outcome: Outcome) -> list[str]:
    """Delete ``refs`` from ``store`` in order (manifests come first), sparing ``protected``."""
    gone = []
    for ref in refs:
        if ref in protected:
            outcome.kept_shared += 1
            continue
        if store.delete(ref):
            gone.append(ref.oid)
        failpoint("mid-delete")
    outcome.deleted[store.name] = outcome.deleted.get(store.name, 0) + len(gone)
    store.clear_index()
    return gone


def _owners(objs: Mapping[tuple[str, str], VersionObjects]) -> dict[ObjectRef, str]:
    owners: dict[ObjectRef, str] = {}
    for (path, version), vo in objs.items():
        for ref in vo.in_copy_order():
            owners.setdefault(ref, f"{path} {version}")
    return owners


def _delete_order(objs: Iterable[VersionObjects]) -> list[ObjectRef]:
    refs = [r for vo in objs for r in vo.in_delete_order()]
    manifests = [r for r in refs if r.is_dir]
    return unique(manifests + [r for r in refs if not r.is_dir])


def _stays_active(item: PlanItem) -> bool:
    return item.location == "active" and item.action == "keep"


@dataclass
class _Remotes:
    active_name: str
    archive_name: str
    active: Store
    archive: Store
    cache: Store


def _open_remotes(stores: Stores, policy: Policy) -> _Remotes:
    """Both remotes the policy names, each probed, and the local cache."""
    active_name, archive_name = remote_names(policy, stores)
    remotes = _Remotes(active_name, archive_name, stores.remote(active_name),
                       stores.remote(archive_name), stores.cache())
    remotes.active.probe()
    remotes.archive.probe()
    return remotes


@contextlib.contextmanager
def _planned(root: Path, policy: Policy, as_of: dt.date, kind: str,
             apply: bool) -> Iterator[tuple[Any, list[PlanItem], Outcome]]:
    """Refuse early, lock, plan: the versions the plan says to ``kind`` and their outcome."""
    if apply:
        ledger.ensure_can_commit(root, policy.branch)
    with repo_lock(root) if apply else contextlib.nullcontext():
        plan = build_plan_details(root, policy, as_of)
        due = [i for i in plan.items if i.action == kind]
        yield plan, due, Outcome(kind, due, warnings=plan.warnings,
                                 nbytes=sum(i.size or 0 for i in due))


def archive(root: Path, policy: Policy, as_of: dt.date, *, apply: bool, jobs: int = 4,
            progress: Progress | None = None, now: dt.datetime | None = None) -> Outcome:
    """Move the versions due on ``as_of`` from the active remote to the archive remote."""
    progress = progress or Progress()
    with _planned(root, policy, as_of, "archive", apply) as (plan, due, outcome):
        if not apply or not due:
            if due:
                remote_names(policy)
            return outcome
        with Stores(root) as stores:
            remotes = _open_remotes(stores, policy)
            active_name, archive_name = remotes.active_name, remotes.archive_name
            active, target, cache = remotes.active, remotes.archive, remotes.cache
            sources = [cache, active, target]
            keep = [i for i in plan.items if _stays_active(i)]
            kept_objs = _objects_of(keep, sources)
            due_objs = _objects_of(due, sources)
            owners = _owners(due_objs)
            refs = unique(r for vo in due_objs.values() for r in vo.in_copy_order())
            progress.start(f"archive to {archive_name}", len(refs), outcome.nbytes or None)
            try:
                _mirror(active, cache, target, refs, jobs, progress, outcome, owners)
                protected = _protected(kept_objs.values())
                gone = _delete(active, _delete_order(due_objs.values()), protected, outcome)
            finally:
                progress.close()
        entries = tuple(ledger.EventEntry(
            artifact=i.path, version=i.version, source=active_name, target=archive_name,
            details=_entry_details(i, due_objs[(i.path, i.version)]),
        ) for i in due)
        event = ledger.Event(
            kind="archive", subject=_subject("archive", due), entries=entries,
            rule=_class_rule(due, policy, "active window over"),
            details={"as_of": as_of.isoformat(), "branch": plan.branch, "head": plan.head,
                     "deleted_from": {active_name: gone},
                     "kept_shared": outcome.kept_shared},
        )
        outcome.applied = True
        outcome.commit = ledger.record(root, event, now=now)
        return outcome


def _entry_details(item: PlanItem, objs: VersionObjects | None) -> dict[str, Any]:
    details: dict[str, Any] = {
        "class": item.retention_class, "state": item.state,
        "due": item.due.isoformat() if item.due else None, "reason": item.reason,
        "bytes": item.size,
    }
    if item.since:
        details["superseded"] = item.since.isoformat()
    if item.superseded_by:
        details["superseded_by"] = item.superseded_by
    if item.release:
        details["release"] = item.release
    if objs is not None:
        details["objects"] = [r.oid for r in objs.in_copy_order()]
    return details


def dispose(root: Path, policy: Policy, as_of: dt.date, *, apply: bool,
            progress: Progress | None = None, now: dt.datetime | None = None) -> Outcome:
    """Delete the versions whose archive window is over, from both remotes, and commit the
    tombstone: what, which hashes, when, by which rule, and who ran it."""
    progress = progress or Progress()
    with _planned(root, policy, as_of, "dispose", apply) as (plan, due, outcome):
        if not apply or not due:
            if due:
                remote_names(policy)
            return outcome
        with Stores(root) as stores:
            remotes = _open_remotes(stores, policy)
            active_name, archive_name = remotes.active_name, remotes.archive_name
            active, target, cache = remotes.active, remotes.archive, remotes.cache
            sources = [cache, target, active]
            staying = [i for i in plan.items if i.action != "dispose" and i.state != "disposed"]
            keep_active = _protected(_objects_of(
                [i for i in staying if i.location == "active"], sources).values())
            keep_archive = _protected(_objects_of(
                [i for i in staying if i.location == "archive"], sources).values())
            due_objs = _objects_of(due, sources)
            # A rerun after a crash must still find the manifests it is deleting.
            for vo in due_objs.values():
                if vo.manifest is not None and not cache.exists(vo.manifest):
                    data = target.read_bytes(vo.manifest) or active.read_bytes(vo.manifest)
                    if data is not None:
                        _keep_manifest(root, cache, vo.manifest, data)
            order = _delete_order(due_objs.values())
            progress.start("dispose", len(order) * 2, None)
            try:
                gone_archive = _delete(target, order, keep_archive, outcome)
                gone_active = _delete(active, order, keep_active, outcome)
            finally:
                progress.close()
        entries = tuple(ledger.EventEntry(
            artifact=i.path, version=i.version,
            source=archive_name if i.location == "archive" else active_name,
            details=_entry_details(i, due_objs[(i.path, i.version)]),
        ) for i in due)
        event = ledger.Event(
            kind="dispose", subject=_subject("dispose", due), entries=entries,
            rule=_class_rule(due, policy, "archive window over"),
            details={"as_of": as_of.isoformat(), "branch": plan.branch, "head": plan.head,
                     "deleted_from": {archive_name: gone_archive, active_name: gone_active},
                     "kept_shared": outcome.kept_shared},
        )
        outcome.applied = True
        outcome.commit = ledger.record(root, event, now=now)
        return outcome


def _keep_manifest(root: Path, cache: Store, ref: ObjectRef, data: bytes) -> None:
    tmp = stage_dir(root)
    try:
        path = tmp / "manifest"
        path.write_bytes(data)
        cache.upload(path, ref)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def verify_release_signature(root: Path, artifact: str, version: str,
                             files: Mapping[str, Path]) -> None:
    """Check a released version's signature against the restored bytes before they go back.

    ``files`` maps each path inside the artifact ("" for a single file) to a local copy
    whose hash was already checked. Raises ``IntegrityError`` when a release tag records
    this version and its signature does not vouch for these bytes.
    """
    from archivist.signing import verify_release_files

    problems = verify_release_files(root, artifact, version, files)
    if problems:
        raise IntegrityError(f"{artifact} {version[:16]}: the restored bytes fail the "
                             f"release signature: {problems[0]}",
                             "nothing was restored; run `archivist verify` on the tag")


def restore(root: Path, policy: Policy, path: str, version: str, *, as_of: dt.date,
            until: dt.date | None, progress: Progress | None = None,
            now: dt.datetime | None = None) -> Outcome:
    """Copy one archived version back into the active remote, checking every hash, and
    keep it active until ``until`` (default: its class's active window from ``as_of``)."""
    progress = progress or Progress()
    ledger.ensure_can_commit(root, policy.branch)
    with repo_lock(root):
        plan = build_plan_details(root, policy, as_of)
        matches = [i for i in plan.items if i.path == path and i.version == version]
        if not matches:
            raise ConfigError(f"{path} {version} was never on the governed branch "
                              f"{plan.branch}", "see `archivist plan` for its versions")
        item = matches[0]
        if item.state == "disposed":
            raise IntegrityError(f"{path} {version} was disposed of: nothing to restore",
                                 item.reason)
        if item.location == "active":
            return Outcome("restore", [item], warnings=[
                f"{path} {version} is in the active remote already ({item.state}): "
                "nothing to restore"])
        if until is None:
            cls = policy.retention.classes.get(item.retention_class or "") \
                if policy.retention else None
            until = as_of + dt.timedelta(days=cls.active_days if cls else 30)
        if until <= as_of:
            raise ConfigError(f"--until {until} is not after {as_of}",
                              "give a future date, e.g. --until "
                              f"{as_of + dt.timedelta(days=30)}")
        outcome = Outcome("restore", [item], until=until, nbytes=item.size or 0)
        with Stores(root) as stores:
            remotes = _open_remotes(stores, policy)
            active_name, archive_name = remotes.active_name, remotes.archive_name
            active, source, cache = remotes.active, remotes.archive, remotes.cache
            objs = version_objects(item.digest, item.algorithm, [source, cache])
            refs = objs.in_copy_order()
            staging = stage_dir(root)
            progress.start(f"restore from {archive_name}", len(refs), item.size)
            try:
                staged = _stage(source, refs, staging, progress, f"{path} {version}")
                relpaths = {rel: staged[ref] for rel, ref in objs.files}
                verify_release_signature(root, path, version, relpaths)
                _upload_verified(active, refs, staged, outcome, f"{path} {version}")
                active.clear_index()
            finally:
                progress.close()
                shutil.rmtree(staging, ignore_errors=True)
        event = ledger.Event(
            kind="restore",
            subject=f"restore: {path} {version[:16]} (active until {until})",
            entries=(ledger.EventEntry(
                artifact=path, version=version, source=archive_name, target=active_name,
                details={**_entry_details(item, objs), "until": until.isoformat()}),),
            rule=f"restored on request; active until {until}",
            extra_trailers=((UNTIL_TRAILER, until.isoformat()),),
            details={"as_of": as_of.isoformat(), "branch": plan.branch, "head": plan.head},
        )
        outcome.applied = True
        outcome.commit = ledger.record(root, event, now=now)
        return outcome


def _stage(source: Store, refs: Sequence[ObjectRef], staging: Path, progress: Progress,
           what: str) -> dict[ObjectRef, Path]:
    """Download every object and check its hash; any mismatch aborts before a write."""
    from dvc_data.hashfile.hash import file_md5

    staged: dict[ObjectRef, Path] = {}
    for ref in refs:
        local = staging / ref.oid
        if not source.exists(ref):
            raise IntegrityError(f"object {ref.oid} of {what} is missing from "
                                 f"{source.label()}: nothing was restored",
                                 "look for another copy of it (dvc fetch from a clone)")
        source.download(ref, local)
        got = file_md5(os.fspath(local), name=ref.algorithm)
        if got != ref.digest:
            raise IntegrityError(f"object {ref.oid} of {what} in {source.label()} is damaged "
                                 f"(md5 {got}): nothing was restored",
                                 "the archive copy cannot be trusted; find another copy")
        progress.advance(local.stat().st_size)
        progress.object_done()
        staged[ref] = local
    return staged


def _upload_verified(dest: Store, refs: Sequence[ObjectRef], staged: Mapping[ObjectRef, Path],
                     outcome: Outcome, what: str) -> None:
    for ref in refs:  # files first, manifest last
        if dest.exists(ref):
            if dest.verify(ref):
                continue
            dest.delete(ref)  # damaged: DVC would never replace it
        dest.upload(staged[ref], ref)
        outcome.copied += 1
        got = dest.hash(ref)
        if got != ref.digest:
            raise IntegrityError(f"object {ref.oid} of {what} read back from {dest.label()} "
                                 f"does not match its hash", "check the remote, then rerun")
        outcome.verified += 1
