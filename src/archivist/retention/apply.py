"""Archive, dispose and restore: move a plan's versions between DVC remotes, then commit.

Every action follows the same order, so that no object is ever absent from both remotes:

1. refuse early (``ledger.ensure_can_commit``) before any remote is touched;
2. copy (files first, a folder's ``.dir`` manifest last), then read every copy back and
   hash it; any mismatch stops here, with nothing deleted;
3. delete what ``retention.delete_sets`` allows (archive: a manifest before its files),
   never an object that a version staying there, or a pinned version anywhere, uses;
4. clear DVC's cached remote index, and commit one ledger event.

A crash at any point leaves every object intact in at least one remote; a rerun sees the
same plan (the ledger has no event yet), skips what is already copied and verified, and
finishes. One lock per repository serialises concurrent runs.

Dispose has nothing to copy, so its order is the one a rerun from a fresh clone (no DVC
cache) can always finish: on each remote every file object first, a folder's ``.dir``
manifest last. A manifest still there lists what is left to delete; a manifest gone from
every remote means its files went before it. Restore copies only the objects missing from
the active remote, and a dead run's staging folder is removed by the next one.

Before any of it, a run that changes remotes refuses (exit 2, nothing touched) when the
two remote names are one place (``storage.same_place``), when ``archivist.yaml`` differs
from the governed branch's commit (``committed_policy``), and when ``--as-of`` is after
today: what deletes decides only from reviewed, committed state. With ``authority:``, it
also refuses (exit 2) unless git will sign the record for a principal whose role may do
the action (``authority.actor``), and dispose deletes only a plan whose digest has the
approvals ``may.dispose`` asks for (``authority.approvals``; exit 1 otherwise).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from archivist import gitrepo, ledger
from archivist.authority.records import PlannedDeletion, plan_digest
from archivist.errors import ArchivistError, ConfigError, IntegrityError, UsageError
from archivist.policy import POLICY_FILE, Policy, Remotes, parse_policy
from archivist.remotes import (
    ManifestMissing,
    ObjectRef,
    Store,
    Stores,
    VersionObjects,
    clean_stale_staging,
    copy_object,
    failpoint,
    parse_manifest,
    same_place,
    stage_dir,
    unique,
    version_objects,
)
from archivist.retention.decide import (
    DeleteSet,
    LedgerFact,
    Location,
    PlanItem,
    delete_sets,
    describe_class,
    left_alone,
)
from archivist.retention.forecast import life_facts
from archivist.retention.plan import UNTIL_TRAILER, Plan, build_plan_details, ledger_facts
from archivist.retention.shared import Guard, guard_for

# What a dispose record says about copies archivist cannot reach.
ELSEWHERE_NOTE = ("other clones' DVC caches and workspaces may still hold copies of these "
                  "objects: archivist removed them from the remotes and from the DVC cache "
                  "of the machine that ran it only")


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
    problems: list[str] = field(default_factory=list)  # versions left undone: exit 1
    cache_removed: int = 0  # objects removed from this machine's DVC cache
    # (path, version) of the versions a problem line is about: one line each
    problem_keys: set[tuple[str, str]] = field(default_factory=set)
    plan: str | None = None  # dispose: the digest of what it deletes (records.plan_digest)
    # remotes nothing left because a shared repository could not be read: one line each
    refused: list[str] = field(default_factory=list)

    def problem(self, key: tuple[str, str], line: str) -> None:
        if key not in self.problem_keys:
            self.problem_keys.add(key)
            self.problems.append(line)


def remote_names(policy: Policy, stores: Stores | None = None) -> tuple[str, str]:
    """The active and archive DVC remote names the policy names."""
    active = policy.remotes.remote_of(
        "active", default=stores.default_remote() if stores is not None else None)
    if not active:
        raise ConfigError(f"{policy.source}: no active remote",
                          "add remotes: {active: storage, archive: archive}")
    archive = policy.remotes.remote_of("archive")
    if not archive:
        raise ConfigError(f"{policy.source}: no archive remote",
                          "add remotes: {active: storage, archive: archive}")
    if archive == active:
        raise ConfigError(f"{policy.source}: the active and archive remotes are both "
                          f"{active!r}", "name two different DVC remotes")
    return active, archive


def committed_policy(root: Path) -> Policy:
    """The policy a command that changes remotes obeys: ``archivist.yaml`` as committed on
    the governed branch, which HEAD must be, and unchanged in the working tree and index.

    Raises ``ConfigError`` (one line, nothing touched) when HEAD is detached or on another
    branch than ``branch:``, when the file is not committed, or when it has uncommitted
    changes: an edit that drops a hold is obeyed only once it is committed and reviewed.
    """
    current = gitrepo.current_branch(root)
    if current is None:
        raise ConfigError("HEAD is detached: the audit commit needs a branch",
                          "git switch to the governed branch")
    with gitrepo.CatFile(root) as cat:
        data = cat.read(f"HEAD:{POLICY_FILE}")
    if data is None:
        raise ConfigError(f"{POLICY_FILE} is not committed on {current!r}: commands that "
                          "change remotes obey only the committed policy",
                          f"git add {POLICY_FILE} && git commit")
    policy = parse_policy(data, POLICY_FILE)
    if policy.branch and policy.branch != current:
        raise ConfigError(f"on branch {current!r}, but the policy governs {policy.branch!r}",
                          f"git switch {policy.branch}")
    if policy_edited(root):
        raise ConfigError(f"{POLICY_FILE} has uncommitted changes: commands that change "
                          f"remotes obey only the policy committed on {current!r}",
                          f"commit the change (it is reviewed like code), or undo it: "
                          f"git restore --staged --worktree {POLICY_FILE}")
    return policy


def policy_edited(root: Path) -> bool:
    """True when the working tree or the index changes ``archivist.yaml`` against HEAD."""
    out = gitrepo.git(["status", "--porcelain", "--untracked-files=all", "--",
                       POLICY_FILE], root)
    return bool(out.strip())


def _today(now: dt.datetime | None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()


def _refuse_early(root: Path, policy: Policy, as_of: dt.date,
                  now: dt.datetime | None, action: str) -> None:
    """Everything that must hold before a remote is touched (exit 2 otherwise)."""
    today = _today(now)
    if as_of > today:
        raise UsageError(f"--as-of {as_of} is after today ({today}, UTC): a command that "
                         "changes remotes acts only on what is due by today",
                         f"drop --as-of; `archivist plan --as-of {as_of}` shows what "
                         "will be due then")
    ledger.ensure_can_commit(root, policy.branch)
    if policy.authority is not None:
        from archivist.authority.actor import require

        require(root, policy, action)
    if policy_edited(root):
        raise ConfigError(f"{POLICY_FILE} has uncommitted changes: commands that change "
                          "remotes obey only the committed policy",
                          f"commit the change, or undo it: git restore --staged --worktree "
                          f"{POLICY_FILE}")


@contextlib.contextmanager
def repo_lock(root: Path) -> Iterator[None]:
    """One archivist action at a time in a repository (a second run waits, then replans).

    Holding it, no other run is alive here: a staging folder left under ``.dvc/tmp`` is a
    dead run's, and goes."""
    git_dir = Path(gitrepo.git(["rev-parse", "--absolute-git-dir"], root).strip())
    with open(git_dir / "archivist.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            clean_stale_staging(root)
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _pool(jobs: int, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    if jobs <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fn, items))


def _objects_of(items: Iterable[PlanItem], sources: Sequence[Store], outcome: Outcome,
                ) -> dict[tuple[str, str], VersionObjects]:
    """The objects of each due version whose manifest can be read; one that cannot (in
    no configured remote, or damaged everywhere) is a problem line and left where it is."""
    out: dict[tuple[str, str], VersionObjects] = {}
    for item in items:
        key = (item.path, item.version)
        if key in out:
            continue
        try:
            out[key] = version_objects(item.digest, item.algorithm, sources)
        except IntegrityError as exc:
            outcome.problem(key, f"{item.path} {item.version} ({item.state}): "
                                 f"{exc.message}; left as it is (missing)")
    return out


def _unavailable(objs: Mapping[tuple[str, str], VersionObjects],
                 stores_of: Callable[[tuple[str, str]], Sequence[Store]],
                 ) -> dict[tuple[str, str], list[ObjectRef]]:
    """Per version, its objects that none of its stores (``stores_of``) holds: one
    listing per store, not a request per object."""
    wanted: dict[str, set[ObjectRef]] = {}
    stores: dict[str, Store] = {}
    for key, vo in objs.items():
        for store in stores_of(key):
            stores[store.name] = store
            wanted.setdefault(store.name, set()).update(vo.in_copy_order())
    found = {name: stores[name].present(refs) for name, refs in wanted.items()}
    out = {}
    for key, vo in objs.items():
        lost = [r for r in vo.in_copy_order()
                if not any(r in found[s.name] for s in stores_of(key))]
        if lost:
            out[key] = lost
    return out


def _missing_line(key: tuple[str, str], lost: Sequence[ObjectRef], total: int,
                  stores: Sequence[Store]) -> str:
    where = ", ".join(s.label() for s in stores)
    return (f"{key[0]} {key[1]}: {len(lost)} of its {total} object(s) (first {lost[0].oid}) "
            f"are in none of {where}: left as it is (missing); dvc push it from a clone "
            "whose cache has it")


def _left_alone_objects(plan: Plan, sources: Sequence[Store]) -> set[ObjectRef]:
    """The objects of versions retention leaves alone (``cache: false``, ``push: false``,
    imports), a folder's files where its manifest is readable: never deleted, even when
    a due version shares them."""
    refs: set[ObjectRef] = set()
    for record in plan.records:
        if left_alone(record.artifact) is None:
            continue
        version = record.version
        refs.add(ObjectRef(version.digest, version.algorithm))
        try:
            refs.update(version_objects(version.digest, version.algorithm,
                                        sources).in_copy_order())
        except IntegrityError:
            continue  # its manifest is nowhere readable: only the manifest can be spared
    return refs


def _spare(sets: dict[Location, DeleteSet[ObjectRef]], keep: set[ObjectRef],
           ) -> dict[Location, DeleteSet[ObjectRef]]:
    return {name: DeleteSet(remote=ds.remote,
                            delete=tuple(r for r in ds.delete if r not in keep),
                            spared=ds.spared | frozenset(r for r in ds.delete if r in keep))
            for name, ds in sets.items()}


def _only(ds: DeleteSet[ObjectRef], refs: set[ObjectRef]) -> DeleteSet[ObjectRef]:
    """The part of ``ds`` that concerns ``refs`` (the objects of one remote's versions)."""
    return DeleteSet(remote=ds.remote, delete=tuple(r for r in ds.delete if r in refs),
                     spared=frozenset(r for r in ds.spared if r in refs))


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


def _delete(store: Store, plan: DeleteSet[ObjectRef], outcome: Outcome,
            absent: list[str] | None = None) -> list[str]:
    """Delete what ``plan`` allows from ``store``, in its order; the oids deleted (those
    already gone are added to ``absent``). What it spares is counted, never touched."""
    gone = []
    outcome.kept_shared += len(plan.spared)
    for ref in plan.delete:
        if store.delete(ref):
            gone.append(ref.oid)
        elif absent is not None:
            absent.append(ref.oid)
        failpoint("mid-delete")
    outcome.deleted[store.name] = outcome.deleted.get(store.name, 0) + len(gone)
    store.clear_index()
    return gone


def _guarded(guard: Guard | None, store: Store, ds: DeleteSet[ObjectRef],
             outcome: Outcome) -> DeleteSet[ObjectRef]:
    """``ds`` less what the repositories of ``remotes.shared_with`` keep on ``store``;
    nothing at all when one of them could not be read (fail closed, one line)."""
    if guard is None:
        return ds
    line = guard.refusal(store)
    if line is not None:
        if line not in outcome.refused:
            outcome.refused.append(line)
        return DeleteSet(remote=ds.remote, delete=(), spared=ds.spared)
    return guard.spare(store, ds)


def _refused_versions(guard: Guard | None, objs: dict[tuple[str, str], VersionObjects],
                      stores_of: Callable[[tuple[str, str]], Sequence[Store]],
                      outcome: Outcome) -> None:
    """Dispose: leave undone (drop from ``objs``) each version with objects on a remote
    that a shared repository's refusal covers; they stay, and so protect what they use."""
    if guard is None:
        return
    stores = {s.name: s for key in objs for s in stores_of(key) if s.name != "cache"}
    for name, store in stores.items():
        line = guard.refusal(store)
        if line is None:
            continue
        keys = [k for k in objs if any(s.name == name for s in stores_of(k))]
        present = store.present({r for k in keys for r in objs[k].in_copy_order()})
        held = [k for k in keys if present.intersection(objs[k].in_copy_order())]
        for key in held:
            del objs[key]
        if line not in outcome.refused:
            outcome.refused.append(line)


def _shared_details(guard: Guard | None, outcome: Outcome) -> dict[str, Any]:
    if guard is None:
        return {}
    return {"shared_with": {"kept_for": dict(guard.kept_for), "refused": outcome.refused,
                            "notes": guard.notes}}


def _owners(objs: Mapping[tuple[str, str], VersionObjects]) -> dict[ObjectRef, str]:
    owners: dict[ObjectRef, str] = {}
    for (path, version), vo in objs.items():
        for ref in vo.in_copy_order():
            owners.setdefault(ref, f"{path} {version}")
    return owners


def _staying_objects(items: Sequence[PlanItem],
                     due: Mapping[tuple[str, str], VersionObjects], sources: Sequence[Store],
                     outcome: Outcome) -> dict[tuple[str, str], VersionObjects]:
    """The objects of every version that is not due. A disposed one that nothing pins is
    not read (its bytes are gone by the ledger's word). One whose manifest is in no
    source (never pushed, or only ever on another remote) is reported missing: nothing
    can fetch its files from these remotes, so only its manifest's name is kept; one
    whose manifest is damaged everywhere stops the run (its files might be anywhere)."""
    out: dict[tuple[str, str], VersionObjects] = {}
    for item in items:
        key = (item.path, item.version)
        if key in due or key in out or (item.state == "disposed" and not item.pinned):
            continue
        try:
            out[key] = version_objects(item.digest, item.algorithm, sources)
        except ManifestMissing as exc:
            out[key] = VersionObjects(files=(), manifest=ObjectRef(item.digest,
                                                                   item.algorithm))
            outcome.problem(key, f"{item.path} {item.version} ({item.state}): "
                                 f"{exc.message} (missing)")
        except IntegrityError as exc:
            raise IntegrityError(f"{item.path} {item.version} ({item.state}): {exc.message}",
                                 exc.hint) from None
    return out


def _delete_sets(items: Sequence[PlanItem], due: Mapping[tuple[str, str], VersionObjects],
                 staying: Mapping[tuple[str, str], VersionObjects],
                 kind: Literal["archive", "dispose"]) -> dict[Location, DeleteSet[ObjectRef]]:
    """``retention.delete_sets`` on the remotes' objects, in the order each action
    deletes: archive a manifest before its files (a manifest left in the active remote
    would announce files that are gone), dispose files before their manifest (a rerun
    finds what is left through it)."""
    def order(vo: VersionObjects) -> list[ObjectRef]:
        if kind == "archive":
            return vo.in_delete_order()
        refs = vo.in_copy_order()
        return [r for r in refs if not r.is_dir] + [r for r in refs if r.is_dir]

    objects = {key: order(vo) for key, vo in {**staying, **due}.items()}
    return {s.remote: s for s in delete_sets(items, objects, kind)}


@dataclass
class _Remotes:
    active_name: str
    archive_name: str
    active: Store
    archive: Store
    cache: Store
    # outputs' own remotes (``remote:``), each their items' active remote
    own: dict[str, Store] = field(default_factory=dict)
    # the roles as this run resolved them (DVC's default remote for an unnamed active one)
    roles: Remotes = field(init=False)

    def __post_init__(self) -> None:
        self.roles = Remotes(self.active_name, self.archive_name)

    def active_of(self, item: PlanItem) -> tuple[str, Store]:
        """The item's active remote: its output's own ``remote:``, else the policy's."""
        name = self.roles.remote_of("active", item.remote)
        if name and name != self.active_name:
            return name, self.own[name]
        return self.active_name, self.active

    def actives(self) -> dict[str, Store]:
        return {self.active_name: self.active, **self.own}


def _check_two_places(active_name: str, active: Store, archive_name: str,
                      archive: Store) -> None:
    if same_place(active, archive):
        a, b = active.location(), archive.location()
        how = "the same place" if a == b else "one inside the other"
        raise ConfigError(
            f"DVC remotes {active_name!r} ({active.url}) and {archive_name!r} "
            f"({archive.url}) are {how} ({a if len(a.parts) <= len(b.parts) else b}):"
            " a copy between them would land on the original, and deleting the original "
            "would delete the only copy", f"point {archive_name!r} at a separate location "
            f"(dvc remote modify {archive_name} url ...)")


def _open_remotes(stores: Stores, policy: Policy,
                  items: Iterable[PlanItem] = ()) -> _Remotes:
    """The remotes the policy names, and the own remotes of ``items``' outputs, each
    checked to be another place than the archive and probed; and the local cache."""
    active_name, archive_name = remote_names(policy, stores)
    remotes = _Remotes(active_name, archive_name, stores.remote(active_name),
                       stores.remote(archive_name), stores.cache())
    for name in sorted({i.remote for i in items if i.remote} - {active_name}):
        if name == archive_name:
            raise ConfigError(f"an output's own remote: is {name!r}, the archive remote: "
                              "archiving it would copy it onto itself",
                              "give the output another remote:, or the policy another "
                              "archive remote")
        remotes.own[name] = stores.remote(name)
    for name, store in remotes.actives().items():
        _check_two_places(name, store, archive_name, remotes.archive)
    for store in (*remotes.actives().values(), remotes.archive):
        store.probe()
    return remotes


Target = str | Sequence[str]  # an artifact's path or name, or its readings (as typed first)


def target_paths(plan: Plan, targets: Sequence[Target]) -> set[str]:
    """The artifact paths that ``targets`` name: output paths (repo-relative; a ``.dvc``
    file stands for its output) or ``dvc.yaml`` ``artifacts:`` names, as the plan knows
    them. A target it does not know is a ``UsageError`` (exit 2, nothing done)."""
    known = {i.path for i in plan.items} | {a.path for a in plan.left_alone}
    names: dict[str, str] = {}
    for record in plan.records:
        if record.artifact.name:
            names.setdefault(record.artifact.name, record.path)
    out = set()
    for target in targets:
        readings = (target,) if isinstance(target, str) else tuple(target)
        found = None
        for text in readings:
            text = text.strip("/")
            for candidate in (text, text.removesuffix(".dvc")):
                if candidate in known:
                    found = candidate
                    break
            if found is None and text in names:
                found = names[text]
            if found is not None:
                break
        if found is None:
            raise UsageError(f"{readings[0]}: no artifact of that path or name on the "
                             f"governed branch {plan.branch}",
                             "see `archivist plan` for the artifacts it governs")
        out.add(found)
    return out


def scope(plan: Plan, targets: Sequence[Target] | None) -> set[str] | None:
    """Limit ``plan``'s work to ``targets``: the versions of other artifacts keep their
    place (and so protect the objects they use); the paths kept in scope, or None."""
    if not targets:
        return None
    paths = target_paths(plan, targets)
    plan.items = [i if i.path in paths or i.action == "keep" else
                  dataclasses.replace(i, action="keep",
                                      reason=f"{i.reason} (not a target of this run)")
                  for i in plan.items]
    return paths


@contextlib.contextmanager
def _planned(root: Path, policy: Policy, as_of: dt.date, kind: str, apply: bool,
             now: dt.datetime | None = None, targets: Sequence[Target] | None = None,
             ) -> Iterator[tuple[Any, list[PlanItem], Outcome]]:
    """Refuse early, lock, plan: the versions the plan says to ``kind`` and their outcome.

    A dry run may use the walk's caches; ``--apply`` walks the history afresh, since a
    cache may make a command faster but never change what it deletes."""
    if apply:
        _refuse_early(root, policy, as_of, now, kind)
    with repo_lock(root) if apply else contextlib.nullcontext():
        plan = build_plan_details(root, policy, as_of, fresh=apply,
                                  untrusted=_untrusted(root, policy) if apply else ())
        scope(plan, targets)
        due = [i for i in plan.items if i.action == kind]
        yield plan, due, Outcome(kind, due, warnings=plan.warnings,
                                 nbytes=sum(i.size or 0 for i in due))


def _untrusted(root: Path, policy: Policy) -> set[str]:
    """Ledger records a remote-changing command must not believe: under ``authority:``,
    those the audit would reject (unsigned, unknown signer, unauthorized, forged)."""
    if policy.authority is None:
        return set()
    from archivist.authority.verify import judge_history

    cat = gitrepo.CatFile(root)
    try:
        return judge_history(root, gitrepo.resolve_commit(root, "HEAD"), cat,
                             sign_all=False).untrusted()
    finally:
        cat.close()


def _left_undone(items: Sequence[PlanItem], kind: str,
                 done: Mapping[tuple[str, str], Any]) -> list[PlanItem]:
    """``items`` with the due versions this run leaves where they are kept in place: for
    what may be deleted, they are versions that stay."""
    return [dataclasses.replace(i, action="keep")
            if i.action == kind and (i.path, i.version) not in done else i for i in items]


def archive(root: Path, policy: Policy, as_of: dt.date, *, apply: bool, jobs: int = 4,
            progress: Progress | None = None, now: dt.datetime | None = None,
            targets: Sequence[Target] | None = None) -> Outcome:
    """Move the versions due on ``as_of`` from their active remote (an output's own
    ``remote:``, else the policy's) to the archive remote.

    A version whose objects are in no configured remote is reported in
    ``Outcome.problems`` and left where it is; the others are still archived.
    ``targets``: only these artifacts (paths or ``artifacts:`` names)."""
    progress = progress or Progress()
    with _planned(root, policy, as_of, "archive", apply, now, targets) as (plan, due,
                                                                          outcome):
        if not apply or not due:
            if due:
                remote_names(policy)
            return outcome
        with Stores(root) as stores:
            remotes = _open_remotes(stores, policy, due)
            archive_name, target, cache = remotes.archive_name, remotes.archive, remotes.cache
            actives = list(remotes.actives().values())
            sources = [cache, *actives, target]
            guard = guard_for(root, policy, as_of, "archive", target, sources, now=now)
            due_objs = _objects_of(due, sources, outcome)
            by_key = {(i.path, i.version): i for i in due}

            def stores_of(key: tuple[str, str]) -> list[Store]:
                return [cache, remotes.active_of(by_key[key])[1], target]

            for key, lost in _unavailable(due_objs, stores_of).items():
                outcome.problem(key, _missing_line(key, lost, len(
                    due_objs[key].in_copy_order()), stores_of(key)))
                del due_objs[key]
            items = _left_undone(plan.items, "archive", due_objs)
            due = [i for i in due if (i.path, i.version) in due_objs]
            outcome.items = due
            outcome.nbytes = sum(i.size or 0 for i in due)
            staying = _staying_objects(items, due_objs, sources, outcome)
            sets = _spare(_delete_sets(items, due_objs, staying, "archive"),
                          _left_alone_objects(plan, sources))
            if not due:
                return outcome
            owners = _owners(due_objs)
            groups: dict[str, list[PlanItem]] = {}
            for item in due:
                groups.setdefault(remotes.active_of(item)[0], []).append(item)
            gone: dict[str, list[str]] = {}
            progress.start(f"archive to {archive_name}", len(unique(
                r for vo in due_objs.values() for r in vo.in_copy_order())),
                outcome.nbytes or None)
            try:
                for name, members in groups.items():
                    source = remotes.actives()[name]
                    refs = unique(r for i in members
                                  for r in due_objs[(i.path, i.version)].in_copy_order())
                    _mirror(source, cache, target, refs, jobs, progress, outcome, owners)
                for name, members in groups.items():
                    refs_of = {r for i in members
                               for r in due_objs[(i.path, i.version)].in_copy_order()}
                    store = remotes.actives()[name]
                    gone[name] = _delete(store, _guarded(guard, store, _only(
                        sets["active"], refs_of), outcome), outcome)
            finally:
                progress.close()
        entries = tuple(ledger.EventEntry(
            artifact=i.path, version=i.version, source=remotes.active_of(i)[0],
            target=archive_name, details=_entry_details(i, due_objs[(i.path, i.version)]),
        ) for i in due)
        event = ledger.Event(
            kind="archive", subject=_subject("archive", due), entries=entries,
            rule=_class_rule(due, policy, "active window over"),
            details={"as_of": as_of.isoformat(), "branch": plan.branch, "head": plan.head,
                     "deleted_from": gone,
                     "kept_shared": outcome.kept_shared, **_shared_details(guard, outcome)},
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


@dataclass(frozen=True)
class ReleaseRecord:
    """What the ledger's release event says about a released version: for its tombstone."""

    tag: str
    digest: str | None  # the signed subject digest (sha256 over the per-file digests)
    bundle: str | None  # the bundle's path in git
    bundle_sha256: str | None  # sha256 of the bundle file as committed at the head
    signer: str | None
    commit: str  # the release commit


def release_records(root: Path, head: str) -> dict[tuple[str, str], ReleaseRecord]:
    """(path, version label) -> the latest release event of that version on ``head``'s
    first-parent history, with the digest of its bundle as committed at ``head``."""
    from archivist.release import names as release_names

    out: dict[tuple[str, str], ReleaseRecord] = {}
    with gitrepo.CatFile(root) as cat:
        for commit in ledger.read_ledger(root, head):
            if commit.kind != "release":
                continue
            added = [p for st, p in commit.changes
                     if st == "A" and p.startswith(ledger.EVENTS_DIR + "/")]
            entries: list[Mapping[str, Any]] = []
            if added:
                try:
                    doc = json.loads(cat.read(f"{commit.sha}:{added[0]}") or b"")
                    entries = [e for e in doc.get("entries", []) if isinstance(e, Mapping)]
                except (ValueError, AttributeError):
                    entries = []
            tags = commit.values(release_names.TRAILER_TAG)
            for path, version in commit.pairs():
                entry = next((e for e in entries if e.get("artifact") == path
                              and e.get("version") == version), {})
                bundle = entry.get("bundle")
                data = cat.read(f"{head}:{bundle}") if isinstance(bundle, str) else None
                out[(path, version)] = ReleaseRecord(
                    tag=str(entry.get("tag") or (tags[0] if tags else commit.sha[:10])),
                    digest=str(entry["digest"]) if entry.get("digest") else None,
                    bundle=bundle if isinstance(bundle, str) else None,
                    bundle_sha256=("sha256:" + hashlib.sha256(data).hexdigest())
                    if data is not None else None,
                    signer=str(entry["signer"]) if entry.get("signer") else None,
                    commit=commit.sha)
    return out


def tombstone(item: PlanItem, objs: VersionObjects, policy: Policy, *,
              archived: LedgerFact | None, release: ReleaseRecord | None) -> dict[str, Any]:
    """What a disposed version's record keeps once its bytes are gone: what it was (path,
    md5, size, file count, release and bundle digest), why it went (its class, the class's
    windows and basis, the day each clock ran out) and where it was archived.

    The commit that disposed of it cannot name itself: it is the commit that adds the
    event file (the audit reads it so, with that commit's approvals)."""
    assert policy.retention is not None
    cls = policy.retention.classes.get(item.retention_class or "")
    files = (len(objs.files) if objs.files else item.nfiles) if item.is_dir else 1
    out: dict[str, Any] = {
        "path": item.path, "md5": item.digest, "size": item.size, "files": files,
        "class": {"name": item.retention_class,
                  "active_days": cls.active_days if cls else None,
                  "archive_days": cls.archive_days if cls else None,
                  "basis": cls.basis if cls else None,
                  "rule": describe_class(cls) if cls else None},
        "release": None,
        "superseded": item.since.isoformat() if item.since else None,
        "superseded_by": item.superseded_by,
        "archived": archived.on.isoformat() if archived else None,
        "archived_in": archived.commit if archived else None,
        "due": item.due.isoformat() if item.due else None,
        "reason": item.reason,
    }
    if item.release:
        out["release"] = {"tag": item.release, "signed": False}
        if release is not None:
            out["release"] = {"tag": release.tag, "signed": release.digest is not None,
                              "digest": release.digest, "bundle": release.bundle,
                              "bundle_sha256": release.bundle_sha256,
                              "signer": release.signer, "commit": release.commit}
    return out


def _with_approvals(event: ledger.Event) -> ledger.Event:
    """The event with its ``Archivist-Approval`` trailers copied into its file, when it
    has any: the tombstone then names the approvals beside the disposal."""
    from archivist.authority.records import TRAILER_APPROVAL

    approvals = [v for k, v in event.extra_trailers if k == TRAILER_APPROVAL]
    if not approvals:
        return event
    return dataclasses.replace(event, details={**event.details, "approvals": approvals})


#: Given what a dispose would delete, the trailers that authorize it (Archivist-Plan,
#: Archivist-Approval...), or None to stop there: nothing deleted, nothing recorded.
Authorize = Callable[[Sequence[PlannedDeletion]], Sequence[tuple[str, str]] | None]


def dispose(root: Path, policy: Policy, as_of: dt.date, *, apply: bool,
            progress: Progress | None = None, now: dt.datetime | None = None,
            targets: Sequence[Target] | None = None,
            authorize: Authorize | None = None) -> Outcome:
    """Delete the versions whose archive window is over, from the archive remote, their
    active remote (an output's own ``remote:``, else the policy's) and this machine's DVC
    cache, and commit the tombstone: what, which hashes, when, by which rule, and who
    ran it.

    Never deletes an object a version that stays, or a version retention leaves alone,
    uses. Interrupted at any point (or its commit never pushed), a rerun from any clone,
    with or without a DVC cache, finishes: see the module's docstring for the order that
    makes it so. A version whose manifest is damaged everywhere, or one never archived
    whose objects are in no configured remote (never pushed there: no tombstone may claim
    archivist disposed of it), is left alone and reported in ``Outcome.problems``; the
    others are still disposed of. ``targets``: only these artifacts.

    ``authorize`` is asked, after every remote is listed and before anything is deleted;
    with ``authority:`` and no ``authorize``, the plan must have its approvals
    (``approvals.require_approvals``). ``Outcome.plan`` is the plan's digest.
    """
    progress = progress or Progress()
    if authorize is None and apply and policy.authority is not None:
        from archivist.authority.approvals import require_approvals

        authorize = require_approvals(root, policy)
    with _planned(root, policy, as_of, "dispose", apply, now, targets) as (plan, due,
                                                                          outcome):
        if not apply or not due:
            if due:
                remote_names(policy)
            return outcome
        with Stores(root) as stores:
            remotes = _open_remotes(stores, policy, due)
            archive_name, target, cache = remotes.archive_name, remotes.archive, remotes.cache
            sources = [cache, target, *remotes.actives().values()]
            guard = guard_for(root, policy, as_of, "dispose", target, sources, now=now)
            due_objs, done = _dispose_objects(due, sources, outcome)
            by_key = {(i.path, i.version): i for i in due}

            def stores_of(key: tuple[str, str]) -> list[Store]:
                return [cache, target, remotes.active_of(by_key[key])[1]]

            # Archivist verified a copy of an archived version once: if nothing of it is
            # left, an earlier run deleted it. One it never moved may never have been pushed.
            unmoved = {k: vo for k, vo in due_objs.items()
                       if by_key[k].location != "archive" and k not in done}
            for key, lost in _unavailable(unmoved, stores_of).items():
                if len(lost) == len(unmoved[key].in_copy_order()):
                    outcome.problem(key, _missing_line(key, lost, len(lost), stores_of(key)))
                    del due_objs[key]
            _refused_versions(guard, due_objs, stores_of, outcome)
            items = _left_undone(plan.items, "dispose", due_objs)
            staying_objs = _staying_objects(items, due_objs, sources, outcome)
            alone = _left_alone_objects(plan, sources)
            sets = _delete_sets(items, due_objs, staying_objs, "dispose")
            # left-alone bytes live in git, the cache or (import-url) the active remote;
            # the archive's copy of a shared object is the due version's own
            sets["active"] = _spare({"active": sets["active"]}, alone)["active"]
            order = _dispose_order(due_objs.values())
            granted: Sequence[tuple[str, str]] = ()
            if authorize is not None:
                deletions = [PlannedDeletion(
                    artifact=i.path, version=i.version,
                    remote=archive_name if i.location == "archive"
                    else remotes.active_of(i)[0],
                    objects=tuple(sorted(r.oid for r in due_objs[(i.path, i.version)]
                                         .in_copy_order())))
                    for i in due if (i.path, i.version) in due_objs]
                outcome.plan = plan_digest(deletions)  # the rows its entries record
                answer = authorize(deletions)
                if answer is None:
                    outcome.items = [i for i in due if (i.path, i.version) in due_objs]
                    outcome.nbytes = sum(i.size or 0 for i in outcome.items)
                    return outcome
                granted = answer
            progress.start("dispose", len(order) * 2, None)
            absent: dict[str, list[str]] = {}
            groups: dict[str, set[ObjectRef]] = {}
            for item in due:
                if (item.path, item.version) in due_objs:
                    groups.setdefault(remotes.active_of(item)[0], set()).update(
                        due_objs[(item.path, item.version)].in_copy_order())
            gone: dict[str, list[str]] = {}
            try:
                gone[archive_name] = _delete(target, _guarded(
                    guard, target, sets["archive"], outcome), outcome,
                    absent.setdefault(archive_name, []))
                for name, refs_of in groups.items():
                    store = remotes.actives()[name]
                    gone[name] = _delete(store, _guarded(guard, store, _only(
                        sets["active"], refs_of), outcome), outcome,
                        absent.setdefault(name, []))
            finally:
                progress.close()
            failpoint("after-delete")
            cache_note, cache_gone = _clean_cache(
                root, cache, order, _protected(staying_objs.values()) | alone, outcome)
        facts = ledger_facts(root, plan.head)
        records = {(r.path, r.version.label): r for r in plan.records}
        releases = release_records(root, plan.head) if any(i.release for i in due) else {}

        def archived_fact(i: PlanItem) -> LedgerFact | None:
            mine = life_facts(facts, records.get((i.path, i.version)))
            return next((f for f in reversed(mine) if f.kind == "archive"), None)

        entries = tuple(ledger.EventEntry(
            artifact=i.path, version=i.version,
            source=archive_name if i.location == "archive" else remotes.active_of(i)[0],
            details={**_entry_details(i, due_objs[(i.path, i.version)]),
                     **done.get((i.path, i.version), {}),
                     "tombstone": tombstone(i, due_objs[(i.path, i.version)], policy,
                                            archived=archived_fact(i),
                                            release=releases.get((i.path, i.version)))},
        ) for i in due if (i.path, i.version) in due_objs)
        if not entries:  # every due version was left undone: nothing to record
            return outcome
        outcome.items = [i for i in due if (i.path, i.version) in due_objs]
        outcome.nbytes = sum(i.size or 0 for i in outcome.items)
        event = ledger.Event(
            kind="dispose", subject=_subject("dispose", outcome.items), entries=entries,
            rule=_class_rule(outcome.items, policy, "archive window over"),
            details={"as_of": as_of.isoformat(), "branch": plan.branch, "head": plan.head,
                     "deleted_from": gone,
                     "already_absent": {k: v for k, v in absent.items() if v},
                     "kept_shared": outcome.kept_shared,
                     "local_cache": {"removed": cache_gone, "note": cache_note},
                     "copies_elsewhere": ELSEWHERE_NOTE, **_shared_details(guard, outcome),
                     **({"plan": outcome.plan} if outcome.plan else {})},
            extra_trailers=tuple(granted),
        )
        event = _with_approvals(event)
        outcome.applied = True
        outcome.commit = ledger.record(root, event, now=now,
                                       body=ELSEWHERE_NOTE[:1].upper() + ELSEWHERE_NOTE[1:]
                                       + ".")
        return outcome


def _dispose_objects(due: Sequence[PlanItem], sources: Sequence[Store], outcome: Outcome,
                     ) -> tuple[dict[tuple[str, str], VersionObjects],
                                dict[tuple[str, str], dict[str, Any]]]:
    """The objects of each due version, and notes for the record.

    A folder whose manifest is in no source is one whose files a run before this one
    deleted (a manifest goes only after them): its manifest is all there is left to look
    for. One whose manifest is damaged everywhere cannot be listed: left alone, reported.
    """
    objs: dict[tuple[str, str], VersionObjects] = {}
    notes: dict[tuple[str, str], dict[str, Any]] = {}
    for item in due:
        key = (item.path, item.version)
        if key in objs:
            continue
        try:
            objs[key] = version_objects(item.digest, item.algorithm, sources)
        except ManifestMissing as exc:
            if item.location != "archive":  # never moved by archivist: maybe never pushed
                outcome.problem(key, f"{item.path} {item.version} ({item.state}): "
                                     f"{exc.message}; left as it is (missing)")
                continue
            ref = ObjectRef(item.digest, item.algorithm)
            objs[key] = VersionObjects(files=(), manifest=ref)
            notes[key] = {"manifest_absent": "its .dir manifest was in no remote and not in "
                          "this cache; archivist deletes a manifest only after every file it "
                          "lists, so no file of it was left to find"}
            outcome.warnings.append(f"{item.path} {item.version}: its .dir manifest is "
                                    "already gone (an earlier run that was interrupted, or "
                                    "whose commit was never pushed): recorded as disposed of")
        except IntegrityError as exc:
            outcome.problem(key, f"{item.path} {item.version}: {exc.message}; left as it "
                                 "is")
    return objs, notes


def _dispose_order(objs: Iterable[VersionObjects]) -> list[ObjectRef]:
    """Files first, manifests last: a manifest that is still there lists what is left."""
    refs = [r for vo in objs for r in vo.in_copy_order()]
    return unique([r for r in refs if not r.is_dir] + [r for r in refs if r.is_dir])


def _workspace_objects(root: Path, cache: Store) -> set[ObjectRef] | None:
    """Objects the working tree's DVC files use (a folder's through its cached manifest);
    None when they cannot all be read, so that nothing is removed from the cache."""
    from archivist.inventory import load_artifacts
    from archivist.trees import WorkingTree

    tree = WorkingTree(root)
    try:
        artifacts = load_artifacts(tree)
    except ArchivistError:
        return None
    finally:
        tree.close()
    refs: set[ObjectRef] = set()
    for artifact in artifacts:
        version = artifact.version
        if version is None:
            continue
        ref = ObjectRef(version.digest, version.algorithm)
        refs.add(ref)
        if ref.is_dir:
            data = cache.read_bytes(ref)
            if data is None:
                continue  # not in this cache: nor are the files it lists, as far as DVC knows
            try:
                refs.update(r for _, r in parse_manifest(data, ref.algorithm, ref.oid))
            except IntegrityError:
                return None
    return refs


def _clean_cache(root: Path, cache: Store, order: Sequence[ObjectRef],
                 protected: set[ObjectRef], outcome: Outcome) -> tuple[str, list[str]]:
    """Remove disposed objects from this machine's DVC cache (a copy left is a leak),
    sparing what a kept version or the working tree uses. A cache outside the
    repository may be shared by other projects: it is left alone."""
    cache_root = os.path.realpath(cache.root_path)
    own = os.path.realpath(root / ".dvc")
    if os.path.commonpath([cache_root, own]) != own:
        return (f"the DVC cache at {cache_root} is outside the repository (it may be shared "
                "with other projects): not cleaned"), []
    workspace = _workspace_objects(root, cache)
    if workspace is None:
        return "the working tree's DVC files could not all be read: cache not cleaned", []
    spare = protected | workspace
    gone = []
    for ref in order:
        if ref in spare:
            continue
        if cache.delete(ref):
            gone.append(ref.oid)
    outcome.cache_removed = len(gone)
    return "removed from the DVC cache of the machine that ran it", gone


def verify_release_signature(root: Path, artifact: str, version: str,
                             files: Mapping[str, Path]) -> None:
    """Check a released version's signature against the restored bytes before they go back.

    ``files`` maps each path inside the artifact ("" for a single file) to a local copy
    whose hash was already checked. Raises ``IntegrityError`` when a release tag records
    this version and its signature does not vouch for these bytes.
    """
    from archivist.release.verify import verify_release_files

    problems = verify_release_files(root, artifact, version, files)
    if problems:
        raise IntegrityError(f"{artifact} {version[:16]}: the restored bytes fail the "
                             f"release signature: {problems[0]}",
                             "nothing was restored; run `archivist verify` on the tag")


def restore(root: Path, policy: Policy, path: str, version: str, *, as_of: dt.date,
            until: dt.date | None, progress: Progress | None = None,
            now: dt.datetime | None = None, with_inputs: bool = False) -> Outcome:
    """Copy one archived version back into the active remote, checking every hash, and
    keep it active until ``until`` (default: its class's active window from ``as_of``).
    The active remote is the output's own ``remote:``, else the policy's.

    Only the objects missing from the active remote (or damaged there) are copied; a rerun
    after a crash, from any clone, copies what is still missing and commits once. A
    version the ledger places in the active remote is looked for there (one listing):
    "nothing to restore" only when every object of it is there.

    ``with_inputs``: also every version it was built from (``lineage.inputs_of``: what
    the ``dvc.lock`` of its commits records, transitively), all in one commit. An input
    that was disposed of restores nothing (``IntegrityError``): the pipeline could not
    come back whole."""
    progress = progress or Progress()
    _refuse_early(root, policy, as_of, now, "restore")
    with repo_lock(root):
        plan = build_plan_details(root, policy, as_of, fresh=True, with_lineage=with_inputs,
                                  untrusted=_untrusted(root, policy))
        item = _restorable(plan, path, version)
        wanted = [item, *(_inputs(plan, item) if with_inputs else [])]
        warnings: list[str] = []
        todo = []
        for one in wanted:
            if one.location == "active":
                there = _active_copy(root, policy, one)
                if there is not None:
                    warnings.append(
                        f"{one.path} {one.version} is in the active remote {there} already "
                        f"({one.state}; all its objects are there, looked up just now): "
                        "nothing to restore")
                    continue
            todo.append(one)
        if not todo:
            return Outcome("restore", [item], warnings=warnings)
        if until is None:
            cls = policy.retention.classes.get(item.retention_class or "") \
                if policy.retention else None
            until = as_of + dt.timedelta(days=cls.active_days if cls else 30)
        if until <= as_of:
            raise ConfigError(f"--until {until} is not after {as_of}",
                              "give a future date, e.g. --until "
                              f"{as_of + dt.timedelta(days=30)}")
        outcome = Outcome("restore", todo, until=until, warnings=warnings,
                          nbytes=sum(i.size or 0 for i in todo))
        done: list[tuple[PlanItem, str, str, VersionObjects, list[ObjectRef]]] = []
        with Stores(root) as stores:
            remotes = _open_remotes(stores, policy, todo)
            for one in todo:
                objs, missing = _restore_one(root, remotes, one, progress, outcome)
                done.append((one, remotes.archive_name, remotes.active_of(one)[0], objs,
                             missing))
        entries = []
        for one, source, target, objs, missing in done:
            details = {**_entry_details(one, objs), "until": until.isoformat(),
                       "copied": [r.oid for r in missing]}
            if one is not item:
                details["input_of"] = f"{item.path} {item.version}"
            entries.append(ledger.EventEntry(artifact=one.path, version=one.version,
                                             source=source, target=target, details=details))
        inputs = len(done) - (1 if done[0][0] is item else 0)
        what = f"{path} {version[:16]}"
        if inputs:
            what += f" and {inputs} input{'s' if inputs != 1 else ''}"
        event = ledger.Event(
            kind="restore",
            subject=f"restore: {what} (active until {until})",
            entries=tuple(entries),
            rule=f"restored on request{' with its inputs' if with_inputs else ''}; "
                 f"active until {until}",
            extra_trailers=((UNTIL_TRAILER, until.isoformat()),),
            details={"as_of": as_of.isoformat(), "branch": plan.branch, "head": plan.head},
        )
        outcome.applied = True
        outcome.commit = ledger.record(root, event, now=now)
        return outcome


def _restorable(plan: Plan, path: str, version: str) -> PlanItem:
    """The plan item of the version to restore; ConfigError or IntegrityError (nothing
    touched) when retention never moved it, it was never on the branch, or is disposed."""
    matches = [i for i in plan.items if i.path == path and i.version == version]
    if not matches:
        alone = [a for a in plan.left_alone if a.path == path]
        if alone:
            raise ConfigError(f"{path}: retention leaves it alone ({alone[0].reason}): "
                              "archivist never moved it, nothing to restore",
                              "get its bytes as DVC does for such outputs (git, dvc "
                              "update, or the machine that made them)")
        raise ConfigError(f"{path} {version} was never on the governed branch "
                          f"{plan.branch}", "see `archivist plan` for its versions")
    item = matches[0]
    if item.state == "disposed":
        raise IntegrityError(f"{path} {version} was disposed of: nothing to restore",
                             item.reason)
    return item


def _inputs(plan: Plan, item: PlanItem) -> list[PlanItem]:
    """The plan items of every version ``item`` was built from, nearest first; an input
    disposed of is an ``IntegrityError`` (the pipeline cannot come back whole)."""
    from archivist.retention.lineage import inputs_of

    if plan.lineage is None:
        return []
    by_node = {(i.path, i.digest): i for i in plan.items}
    found = [by_node[n] for n in inputs_of(plan.lineage, (item.path, item.digest))
             if n in by_node]  # one left alone by retention (an import) was never moved
    gone = [i for i in found if i.state == "disposed"]
    if gone:
        more = f" (and {len(gone) - 1} more input(s))" if len(gone) > 1 else ""
        raise IntegrityError(
            f"{gone[0].path} {gone[0].version}, an input of {item.path} {item.version}, "
            f"was disposed of{more}: its pipeline cannot come back whole; nothing was "
            "restored", f"restore {item.path} alone (without --with-inputs)")
    return found


def _restore_one(root: Path, remotes: _Remotes, item: PlanItem, progress: Progress,
                 outcome: Outcome) -> tuple[VersionObjects, list[ObjectRef]]:
    """Copy one version's objects missing from its active remote back from the archive,
    each hashed on the way (a released one's signature checked on its bytes first);
    its objects and those copied."""
    path, version = item.path, item.version
    what = f"{path} {version}"
    archive_name, source, cache = remotes.archive_name, remotes.archive, remotes.cache
    _, active = remotes.active_of(item)
    objs = version_objects(item.digest, item.algorithm, [source, cache, active])
    refs = objs.in_copy_order()
    checked = _pool(4, active.verify, refs)  # read back: a damaged copy is missing
    intact = {ref for ref, ok in zip(refs, checked, strict=True) if ok}
    missing = [r for r in refs if r not in intact]
    outcome.verified += len(refs) - len(missing)
    staging = stage_dir(root)
    progress.start(f"restore from {archive_name}", len(missing), item.size)
    try:
        staged = _stage(source, missing, staging, progress, what)
        if item.release:  # the signature check needs every file's bytes
            staged.update(_stage(active, [r for r in refs if r in intact], staging,
                                 progress, what))
        failpoint("after-stage")
        relpaths = {rel: staged[ref] for rel, ref in objs.files if ref in staged}
        if relpaths or item.release:
            verify_release_signature(root, path, version, relpaths)
        _upload_verified(active, missing, staged, outcome, what)
        active.clear_index()
    finally:
        progress.close()
        shutil.rmtree(staging, ignore_errors=True)
    failpoint("after-upload")
    return objs, missing


def _active_copy(root: Path, policy: Policy, item: PlanItem) -> str | None:
    """The name of the item's active remote when every object of it is there (one
    listing of that remote), else None: then it is restored from the archive."""
    with Stores(root) as stores:
        remotes = _open_remotes(stores, policy, [item])
        name, active = remotes.active_of(item)
        try:
            objs = version_objects(item.digest, item.algorithm, [active])
        except IntegrityError:
            return None  # its manifest is not (intact) there
        refs = objs.in_copy_order()
        return name if active.present(refs) == set(refs) else None


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
        failpoint("mid-upload")
