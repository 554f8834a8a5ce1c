"""The bytes of a DVC version: where its objects sit in the cache, and fetching them.

A file version is one object; a folder version is its ``.dir`` manifest (a JSON list of
``{"md5", "relpath"}``) plus one object per listed file. Objects live in the cache under
``files/md5/ab/cdef…`` (DVC 3) or ``ab/cdef…`` (DVC 2 outputs). Only ``fetch`` imports dvc,
and only when the cache lacks an object.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from archivist.artifacts import Version
from archivist.errors import ConfigError, IntegrityError, MissingDependency

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


def parse_dir_manifest(data: bytes, where: str) -> list[tuple[str, str]]:
    """``(relpath, md5)`` for each file a ``.dir`` object lists."""
    try:
        entries = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise IntegrityError(f"{where}: the .dir manifest is not JSON",
                             "the cache object is damaged: dvc fetch it again") from None
    if not isinstance(entries, list):
        raise IntegrityError(f"{where}: the .dir manifest is not a list")
    out = []
    for entry in entries:
        if not (isinstance(entry, dict) and isinstance(entry.get("relpath"), str)
                and isinstance(entry.get("md5"), str)):
            raise IntegrityError(f"{where}: a .dir manifest entry lacks relpath or md5")
        relpath = entry["relpath"].replace("\\", "/")
        if relpath.startswith("/") or ".." in relpath.split("/"):
            raise IntegrityError(f"{where}: .dir entry {relpath!r} escapes the folder")
        out.append((relpath, entry["md5"]))
    return out


def missing_objects(root: Path, version: Version) -> list[str]:
    """Digests of the version's objects that the cache lacks (the .dir first, if absent)."""
    cache = cache_dir(root)
    manifest = object_path(cache, version.digest, version.algorithm)
    if manifest is None:
        return [version.digest]
    if not version.is_dir:
        return []
    return [md5 for _, md5 in parse_dir_manifest(manifest.read_bytes(), version.label)
            if object_path(cache, md5, version.algorithm) is None]


def cached_files(root: Path, version: Version) -> list[ContentFile]:
    """The version's files in the cache; IntegrityError naming the first one missing."""
    cache = cache_dir(root)
    top = object_path(cache, version.digest, version.algorithm)
    if top is None:
        raise IntegrityError(f"{version.label} is not in the DVC cache",
                             "dvc fetch it, or check the remotes")
    if not version.is_dir:
        return [ContentFile(".", top, version.digest)]
    files = []
    for relpath, md5 in parse_dir_manifest(top.read_bytes(), version.label):
        path = object_path(cache, md5, version.algorithm)
        if path is None:
            raise IntegrityError(f"{relpath} (md5:{md5}) of {version.label} is not in the "
                                 "DVC cache", "dvc fetch it, or check the remotes")
        files.append(ContentFile(relpath, path, md5))
    return files


def workspace_files(root: Path, artifact_path: str, version: Version) -> list[ContentFile]:
    """The version's files as the working tree holds them (a folder's list from its .dir)."""
    target = root / artifact_path
    if not version.is_dir:
        return [ContentFile(".", target, version.digest)]
    top = object_path(cache_dir(root), version.digest, version.algorithm)
    if top is None:
        raise ConfigError(f"{artifact_path}: the folder listing {version.label} is not in "
                          "the DVC cache", "run dvc commit, or dvc fetch")
    return [ContentFile(relpath, target / relpath, md5)
            for relpath, md5 in parse_dir_manifest(top.read_bytes(), version.label)]


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

    infos = [HashInfo(version.algorithm, d) for d in digests]
    try:
        with Repo(str(root)) as repo:
            result = repo.cloud.pull(infos, remote=remote)
    except DvcException as exc:
        where = f"remote {remote!r}" if remote else "the default remote"
        raise ConfigError(f"cannot read {version.label} from {where}: {exc}") from None
    return len(result.transferred)
