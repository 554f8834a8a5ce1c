"""``archivist audit --deep``: read objects back from DVC remotes and check their hashes.

An adapter: it is told where each version should be (the audit replays the ledger) and
which versions were disposed of, opens those remotes through ``storage`` (DVC's own
configuration and credentials) and returns what it saw as ``ObjectProblem`` values; the
audit turns them into findings. It checks that every object of a placed version is there
with the content its name promises (a folder's ``.dir`` manifest, then every file it
lists), and that the own object of a disposed version (its file, or its manifest) is gone.

Every remote it needs is probed first, so missing credentials stop the run in one line
that names the remote, before any object is read.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from archivist.errors import ArchivistError
from archivist.policy import Remotes
from archivist.remotes import ObjectRef, Store, Stores, parse_manifest

ProblemKind = Literal["missing", "corrupt", "present"]


@dataclass(frozen=True)
class ObjectProblem:
    """One object that is not as the ledger says: absent, damaged, or still there."""

    kind: ProblemKind  # present: a disposed version's object is still on the remote
    artifact: str
    version: str  # md5:<hex>
    remote: str  # the DVC remote name
    oid: str
    manifest: bool  # the object is a folder's .dir manifest


def check_objects(root: Path, locations: Mapping[tuple[str, str], set[str]], *,
                  disposed: Iterable[tuple[str, str]] = (), disposed_remotes: Iterable[str] = (),
                  roles: Remotes | None = None, sample: int | None = None,
                  seed: str = "") -> list[ObjectProblem]:
    """What is wrong with the objects the ledger places, and with disposed ones.

    ``locations`` maps (artifact, version) to the places the ledger puts it (DVC remote
    names, or the roles ``active``/``archive`` that ``roles`` names); ``disposed`` lists
    versions whose own object must be gone from every remote in ``disposed_remotes``.
    With ``sample``, at most that many file objects are read back, chosen by a generator
    seeded with ``seed`` (the audited commit): a rerun at the same commit checks the same
    objects. Folder manifests are always read, since they say which files to check.

    Raises ``ConfigError`` (a ``RemoteError``) naming the remote when one cannot be used.
    """
    disposed = sorted(set(disposed))
    if not locations and not disposed:
        return []
    roles = roles or Remotes(None, None)
    problems: list[ObjectProblem] = []
    with Stores(root) as stores:
        names = stores.names()

        def remote_name(place: str) -> str:
            return _remote_name(stores, names, roles, place)

        placed = [(artifact, version, remote_name(p))
                  for (artifact, version), places in sorted(locations.items())
                  for p in sorted(places)]
        leftover_remotes = sorted({remote_name(r) for r in disposed_remotes} & set(names)) \
            if disposed else []
        for remote in sorted({r for _, _, r in placed} | set(leftover_remotes)):
            stores.remote(remote).probe()  # one line naming the remote, before any read
        # (artifact, version, remote, object) of every file object to read back
        objects: list[tuple[str, str, str, ObjectRef]] = []
        for artifact, version, remote in placed:
            oid = version.partition(":")[2] or version
            store = stores.remote(remote)
            ref = _present(store, oid)
            if not ref.is_dir:
                objects.append((artifact, version, remote, ref))
                continue
            data = store.read_bytes(ref)
            if data is None:
                problems.append(ObjectProblem("missing", artifact, version, remote, oid, True))
                continue
            if not store.verify(ref):
                problems.append(ObjectProblem("corrupt", artifact, version, remote, oid, True))
                continue
            try:
                entries = parse_manifest(data, ref.algorithm, f"{remote}:{oid}")
            except ArchivistError:
                entries = ()
            objects += [(artifact, version, remote, r) for _, r in entries]
        if sample is not None and len(objects) > sample:
            objects = random.Random(seed).sample(objects, sample)
        for artifact, version, remote, ref in objects:
            digest = stores.remote(remote).hash(ref)
            if digest is None:
                problems.append(ObjectProblem("missing", artifact, version, remote, ref.oid,
                                              False))
            elif digest != ref.digest:
                problems.append(ObjectProblem("corrupt", artifact, version, remote, ref.oid,
                                              False))
        for artifact, version in disposed:
            oid = version.partition(":")[2] or version
            for remote in leftover_remotes:
                store = stores.remote(remote)
                if any(store.exists(ObjectRef(oid, a)) for a in ("md5", "md5-dos2unix")):
                    problems.append(ObjectProblem("present", artifact, version, remote, oid,
                                                  oid.endswith(".dir")))
    return problems


def disposed_remote_names(root: Path, places: Iterable[str],
                          roles: Remotes | None = None) -> list[str]:
    """The DVC remotes ``check_objects`` looks at for disposed versions' objects, given
    the same ``disposed_remotes`` and ``roles``: those of them DVC has configured."""
    roles = roles or Remotes(None, None)
    with Stores(root) as stores:
        names = stores.names()
        return sorted({_remote_name(stores, names, roles, p) for p in places} & set(names))


def _remote_name(stores: Stores, names: Iterable[str], roles: Remotes, place: str) -> str:
    """The DVC remote a ledger place or plan location names: event files name DVC
    remotes, older ones the role instead."""
    if place in names:
        return place
    return roles.remote_of(place, default=stores.default_remote()) or place


def _present(store: Store, oid: str) -> ObjectRef:
    """The object in whichever layout holds it: DVC 3 (``files/md5``) first, then DVC 2."""
    ref = ObjectRef(oid, "md5")
    if store.exists(ref):
        return ref
    legacy = ObjectRef(oid, "md5-dos2unix")
    return legacy if store.exists(legacy) else ref
