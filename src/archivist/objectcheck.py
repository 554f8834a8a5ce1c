"""``archivist audit --deep``: read objects back from DVC remotes and check their hashes.

The ledger says where each version is (``audit.ledger_locations``); this adapter opens
those remotes through ``storage`` (DVC's own configuration and credentials) and checks
that every object of the version is there with the content its name promises: a
folder's ``.dir`` manifest, then every file it lists.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from archivist.audit import Finding
from archivist.errors import ArchivistError
from archivist.policy import Policy
from archivist.storage import ObjectRef, Store, Stores, parse_manifest


def _finding(kind: str, artifact: str, version: str, remote: str, oid: str,
             problem: str) -> Finding:
    if kind == "object-missing":
        fix = (f"copy it back from a good copy (dvc push -r {remote} from a clone whose "
               "cache has it), or record why it is gone")
    else:
        fix = (f"replace it from a good copy (dvc push -r {remote} from a clone whose cache "
               "has it), then rerun archivist audit --deep")
    return Finding(kind=kind, subject=f"{remote}:{oid}", artifact=artifact,
                   problem=f"{artifact} {version}: {problem}", fix=fix)


def _remote_name(place: str, names: list[str], policy: Policy | None) -> str:
    """A ledger location as a DVC remote name (event files may name the role instead)."""
    if place in names or policy is None:
        return place
    role = {"active": policy.remotes.active, "archive": policy.remotes.archive}.get(place)
    return role or place


def check_objects(root: Path, locations: Mapping[tuple[str, str], set[str]], *,
                  policy: Policy | None = None, sample: int | None = None,
                  seed: str = "") -> list[Finding]:
    """Findings for objects of ledger-placed versions that are absent or corrupt.

    With ``sample``, at most that many file objects are read back, chosen by a generator
    seeded with ``seed`` (the audited commit): a rerun at the same commit checks the same
    objects. Folder manifests are always read, since they say which files to check.
    """
    if not locations:
        return []
    findings: list[Finding] = []
    with Stores(root) as stores:
        names = stores.names()
        # (artifact, version, remote, object) of every file object to read back
        objects: list[tuple[str, str, str, ObjectRef]] = []
        for (artifact, version), places in sorted(locations.items()):
            oid = version.partition(":")[2] or version
            for place in sorted(places):
                remote = _remote_name(place, names, policy)
                store = stores.remote(remote)
                ref = _present(store, oid)
                if not oid.endswith(".dir"):
                    objects.append((artifact, version, remote, ref))
                    continue
                data = store.read_bytes(ref)
                if data is None:
                    findings.append(_finding("object-missing", artifact, version, remote, oid,
                                             f"folder manifest {oid} is not in {remote}"))
                    continue
                if not store.verify(ref):
                    findings.append(_finding("object-corrupt", artifact, version, remote, oid,
                                             f"folder manifest {oid} in {remote} does not "
                                             "match its hash"))
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
                findings.append(_finding("object-missing", artifact, version, remote, ref.oid,
                                         f"object {ref.oid} is not in {remote}"))
            elif digest != ref.digest:
                findings.append(_finding("object-corrupt", artifact, version, remote, ref.oid,
                                         f"object {ref.oid} in {remote} does not match its "
                                         "hash"))
    return findings


def _present(store: Store, oid: str) -> ObjectRef:
    """The object in whichever layout holds it: DVC 3 (``files/md5``) first, then DVC 2."""
    ref = ObjectRef(oid, "md5")
    if store.exists(ref):
        return ref
    legacy = ObjectRef(oid, "md5-dos2unix")
    return legacy if store.exists(legacy) else ref
