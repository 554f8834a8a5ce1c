"""The bytes of a DVC version: where its objects sit in the cache, and fetching them.

A file version is one object; a folder version is its ``.dir`` manifest (a JSON list of
``{"md5", "relpath"}``) plus one object per listed file. Objects live in the cache under
``files/md5/ab/cdef…`` (DVC 3) or ``ab/cdef…`` (DVC 2 outputs). Only ``fetch`` imports dvc,
and only when the cache lacks an object.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archivist.dvcfiles import Version
from archivist.errors import ConfigError, IntegrityError, MissingDependency

if TYPE_CHECKING:
    from archivist.policy import Policy

DEFAULT_CACHE = ".dvc/cache"


@dataclass(frozen=True)
class ContentFile:
    """One file of a version: its name in the signed manifest, where its bytes are, its md5."""

    item: str  # "." for a single-file artifact, else the path inside the folder
    path: Path
    md5: str


def _config_values(path: Path) -> dict[tuple[str, str], str]:
    """``(section, key) -> value`` from a DVC config file (configobj-style INI)."""
    values: dict[tuple[str, str], str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return values
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().strip("'\"")
            continue
        key, sep, value = line.partition("=")
        if sep:
            values[(section, key.strip())] = value.strip().strip("'\"")
    return values


def cache_dir(root: Path) -> Path:
    """The DVC cache folder: ``cache.dir`` from .dvc/config.local or .dvc/config, else default."""
    for name in ("config.local", "config"):
        configured = _config_values(root / ".dvc" / name).get(("cache", "dir"))
        if configured:
            path = Path(configured).expanduser()
            # DVC resolves a relative cache.dir against the folder of the config file.
            return path if path.is_absolute() else (root / ".dvc" / path).resolve()
    return root / DEFAULT_CACHE


def object_path(cache: Path, digest: str, algorithm: str = "md5") -> Path | None:
    """The cached object for ``digest``, in the DVC 3 or the DVC 2 layout; None if absent."""
    head, tail = digest[:2], digest[2:]
    candidates = [cache / "files" / "md5" / head / tail, cache / head / tail]
    if algorithm == "md5-dos2unix":
        candidates.reverse()
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


_MD5_HEX = frozenset("0123456789abcdef")


def _is_md5(value: str) -> bool:
    return len(value) == 32 and set(value) <= _MD5_HEX


def parse_dir_manifest(data: bytes, where: str) -> list[tuple[str, str]]:
    """``(relpath, md5)`` for each file a ``.dir`` object lists, read as DVC reads them.

    DVC splits a relpath on ``/`` only (``dvc_data.hashfile.tree.Tree.from_list``), so
    ``x\\a.bin`` is one file named with a backslash beside the folder ``x``, and the last
    of two entries with one relpath is the one ``dvc pull`` writes. A listing that could be
    read two ways is refused rather than guessed at: backslashes, duplicate relpaths, empty,
    ``.`` or ``..`` parts, a file listed as a folder too, and md5s that are not 32 hex
    digits (an object's name is built from it).
    """
    try:
        entries = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise IntegrityError(f"{where}: the .dir manifest is not JSON",
                             "the cache object is damaged: dvc fetch it again") from None
    if not isinstance(entries, list):
        raise IntegrityError(f"{where}: the .dir manifest is not a list")
    out = []
    seen: set[str] = set()
    for entry in entries:
        if not (isinstance(entry, dict) and isinstance(entry.get("relpath"), str)
                and isinstance(entry.get("md5"), str)):
            raise IntegrityError(f"{where}: a .dir manifest entry lacks relpath or md5")
        relpath, md5 = entry["relpath"], entry["md5"]
        parts = relpath.split("/")
        if "\\" in relpath or "\0" in relpath or any(p in ("", ".", "..") for p in parts):
            raise IntegrityError(f"{where}: .dir entry {relpath!r} is not a plain relative "
                                 "path (DVC and a reader could disagree on where it goes)",
                                 "the manifest was not written by DVC: do not pull it")
        if not _is_md5(md5):
            raise IntegrityError(f"{where}: .dir entry {relpath!r} has md5 {md5[:40]!r}, "
                                 "not 32 hex digits")
        if relpath in seen:
            raise IntegrityError(f"{where}: .dir lists {relpath!r} twice",
                                 "the manifest was not written by DVC: do not pull it")
        seen.add(relpath)
        out.append((relpath, md5))
    for relpath in seen:
        parts = relpath.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in seen:
                raise IntegrityError(f"{where}: .dir lists {'/'.join(parts[:i])!r} as a file "
                                     f"and as the folder of {relpath!r}")
    return out


def md5_matches(data: bytes, digest: str, algorithm: str) -> bool:
    """Whether ``data`` is the object named ``digest`` (DVC 2 also hashes text as LF)."""
    want = digest.removesuffix(".dir")
    if hashlib.md5(data, usedforsecurity=False).hexdigest() == want:
        return True
    return algorithm == "md5-dos2unix" and \
        hashlib.md5(data.replace(b"\r\n", b"\n"), usedforsecurity=False).hexdigest() == want


def read_manifest(root: Path, version: Version) -> list[tuple[str, str]] | None:
    """A folder version's listing from the cache, its bytes checked against the name DVC
    records (the name the signature binds); None when the cache lacks it.

    IntegrityError when the cached ``.dir`` is not the object its name says: a rewritten
    manifest on a remote lands in the cache under its old name, and is never believed.
    """
    path = object_path(cache_dir(root), version.digest, version.algorithm)
    if path is None:
        return None
    data = path.read_bytes()
    if not md5_matches(data, version.digest, version.algorithm):
        raise IntegrityError(f"{version.label}: the .dir manifest's bytes do not hash to its "
                             "name (rewritten on a remote, or damaged)",
                             "re-push it from a clone whose cache holds the right one")
    return parse_dir_manifest(data, version.label)


def missing_objects(root: Path, version: Version) -> list[str]:
    """Digests of the version's objects that the cache lacks (the .dir first, if absent)."""
    cache = cache_dir(root)
    if not version.is_dir:
        return [] if object_path(cache, version.digest, version.algorithm) else \
            [version.digest]
    listing = read_manifest(root, version)
    if listing is None:
        return [version.digest]
    return [md5 for _, md5 in listing if object_path(cache, md5, version.algorithm) is None]


def cached_files(root: Path, version: Version) -> list[ContentFile]:
    """The version's files in the cache; IntegrityError naming the first one missing.

    Each file's md5 is its object's name, for the caller to check against the bytes.
    """
    cache = cache_dir(root)
    if not version.is_dir:
        top = object_path(cache, version.digest, version.algorithm)
        if top is None:
            raise IntegrityError(f"{version.label} is not in the DVC cache",
                                 "dvc fetch it, or check the remotes")
        return [ContentFile(".", top, version.digest)]
    listing = read_manifest(root, version)
    if listing is None:
        raise IntegrityError(f"{version.label} is not in the DVC cache",
                             "dvc fetch it, or check the remotes")
    files = []
    for relpath, md5 in listing:
        path = object_path(cache, md5, version.algorithm)
        if path is None:
            raise IntegrityError(f"{relpath} (md5:{md5}) of {version.label} is not in the "
                                 "DVC cache", "dvc fetch it, or check the remotes")
        files.append(ContentFile(relpath, path, md5))
    return files


def discard(root: Path, digest: str, algorithm: str) -> None:
    """Remove a cache object whose bytes were shown not to be ``digest`` (so that no later
    ``dvc checkout`` delivers them); a right object is never removed."""
    path = object_path(cache_dir(root), digest, algorithm)
    if path is None or md5_matches(path.read_bytes(), digest, algorithm):
        return
    path.unlink(missing_ok=True)


def workspace_files(root: Path, artifact_path: str, version: Version) -> list[ContentFile]:
    """The version's files as the working tree holds them (a folder's list from its .dir)."""
    target = root / artifact_path
    if not version.is_dir:
        return [ContentFile(".", target, version.digest)]
    listing = read_manifest(root, version)
    if listing is None:
        raise ConfigError(f"{artifact_path}: the folder listing {version.label} is not in "
                          "the DVC cache", "run dvc commit, or dvc fetch")
    return [ContentFile(relpath, target / relpath, md5) for relpath, md5 in listing]


def extra_workspace_files(root: Path, artifact_path: str,
                          listed: Iterable[ContentFile]) -> list[str]:
    """Files in a tracked folder of the working tree that its DVC version does not list."""
    known = {f.item for f in listed}
    folder = root / artifact_path
    extras = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() or path.is_symlink():
            rel = path.relative_to(folder).as_posix()
            if rel not in known:
                extras.append(rel)
    return extras


def fetch(root: Path, version: Version, digests: Sequence[str], remote: str | None) -> int:
    """Copy ``digests`` of ``version`` from the DVC remote into the cache; count fetched.

    A real DVC transfer (the remote's URL and credentials come from .dvc/config). Every
    object it brings is content-addressed, and the signature check that follows reads it.
    """
    try:
        from dvc.repo import Repo
        from dvc_data.hashfile.hash_info import HashInfo
    except ImportError:
        raise MissingDependency("dvc", "dvc") from None
    from dvc.exceptions import DvcException

    from archivist.remotes import credentials_error

    infos = [HashInfo(version.algorithm, d) for d in digests]
    where = f"remote {remote!r}" if remote else "the default remote"
    try:
        with Repo(str(root)) as repo:
            result = repo.cloud.pull(infos, remote=remote)
            if result.failed:
                # DVC logs a failed transfer and goes on; ask the remote once, so that
                # missing credentials surface as themselves, not as absent objects.
                odb = repo.cloud.get_remote_odb(remote, "pull")
                odb.fs.exists(odb.path)
    except Exception as exc:  # DVC's, and the filesystem's own (botocore, gcsfs...)
        name = remote or _default_remote(root) or "default"
        missing = credentials_error(name, exc, url=_remote_url(root, name))
        if missing is not None:
            raise missing from None  # storage.MissingCredentials: exit 2 for the whole run
        detail = str(exc) if isinstance(exc, DvcException) else \
            f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        raise ConfigError(f"cannot read {version.label} from {where}: {detail}") from None
    return len(result.transferred)


def _default_remote(root: Path) -> str | None:
    for name in ("config.local", "config"):
        value = _config_values(root / ".dvc" / name).get(("core", "remote"))
        if value:
            return value
    return None


def _remote_url(root: Path, name: str) -> str:
    """The URL of DVC remote ``name`` (section ``['remote "NAME"']``), "" when unknown."""
    for config in ("config.local", "config"):
        for (section, key), value in _config_values(root / ".dvc" / config).items():
            if key == "url" and section.replace('"', "").replace("'", "").split() == [
                    "remote", name]:
                return value
    return ""


# ------------------------------------------------------------------ a version's bytes


def remote_order(policy: Policy) -> list[str | None]:
    """Remotes to read a version from: the active one (DVC's default when unset), archive."""
    order: list[str | None] = [policy.remotes.active]
    if policy.remotes.archive and policy.remotes.archive != policy.remotes.active:
        order.append(policy.remotes.archive)
    return order


def version_content(root: Path, version: Version, policy: Policy, *,
                    use_remotes: bool = True) -> tuple[list[ContentFile], str]:
    """The version's files (cache first, then the active, then the archive remote; with
    ``use_remotes=False`` the cache alone, ConfigError when it lacks any).

    A folder's ``.dir`` is believed only when its bytes hash to the md5 DVC records: a
    copy that does not (rewritten on a remote, or in the cache) is removed from the cache,
    as DVC removes a corrupted cache file, and the next source is tried; IntegrityError
    when none holds the right one. Each file's md5 is its object's name: the caller hashes
    the bytes against it.
    """
    from archivist.remotes import MissingCredentials

    rewritten: list[str] = []

    def missing_now(where: str) -> list[str]:
        try:
            return missing_objects(root, version)
        except IntegrityError:
            rewritten.append(where)
            discard(root, version.digest, version.algorithm)
            return [version.digest]

    missing = missing_now("the DVC cache")
    if not missing:
        return cached_files(root, version), "cache"
    if not use_remotes:
        raise ConfigError(f"{version.label}: {len(missing)} object(s) are not in the DVC "
                          "cache, and remotes were not read", "run archivist verify to fetch "
                          "and check them")
    tried = []
    for remote in remote_order(policy):
        name = remote or "the default remote"
        tried.append(name)
        for _ in range(2):  # a folder's .dir first, then the files it lists
            try:
                fetch(root, version, missing, remote)
            except MissingCredentials:
                raise  # no credentials here: a setup error for the whole run, not this tag
            except ConfigError:
                break
            before = len(rewritten)
            missing = missing_now(name)
            if len(rewritten) > before:
                break
            if not missing:
                return cached_files(root, version), f"remote {remote or 'default'}"
    if rewritten:
        raise IntegrityError(f"{version.label}: the .dir manifest in {' and '.join(rewritten)} "
                             "does not hash to its name (rewritten or damaged), and no source "
                             "holds the listing DVC recorded", "re-push it from a clone whose "
                             "cache holds the right one; do not dvc pull it")
    raise ConfigError(f"{version.label}: {len(missing)} object(s) are in neither the DVC "
                      f"cache nor {' nor '.join(tried)}", "check the remotes (dvc status -c)")
