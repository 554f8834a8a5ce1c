"""Hashing a version's bytes for a release: sha256 per file, md5 beside it when asked.

Pure over files on disk: no git, no DVC, no signature library. The one hashing
configuration archivist signs with and verifies against is ``SERIALIZATION``
(model-signing's ``files`` method, sha256, no symlinks followed): never a configuration
guessed from a bundle.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archivist.dvccache import ContentFile
from archivist.errors import ConfigError
from archivist.release.names import SINGLE_FILE_ITEM

CHUNK = 4 * 1024 * 1024
HASH_TYPE = "sha256"
# The one hashing configuration archivist signs with and verifies against.
SERIALIZATION: dict[str, Any] = {"method": "files", "hash_type": HASH_TYPE,
                                 "allow_symlinks": False}


@dataclass(frozen=True)
class FileDigests:
    sha256: str
    md5: str | None = None


Progress = Callable[[int], None]


def _hash_one(path: Path, want_md5: bool, progress: Progress | None = None) -> FileDigests:
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False) if want_md5 else None
    with open(path, "rb") as handle:
        if md5 is None:
            while chunk := handle.read(CHUNK):
                sha.update(chunk)  # hashlib drops the GIL on large buffers: threads scale
                if progress:
                    progress(len(chunk))
            return FileDigests(sha.hexdigest())
        # Two digests of one file: md5 on a helper thread while sha256 runs here.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as helper:
            while chunk := handle.read(CHUNK):
                pending = helper.submit(md5.update, chunk)
                sha.update(chunk)
                pending.result()
                if progress:
                    progress(len(chunk))
    return FileDigests(sha.hexdigest(), md5.hexdigest())


def dos2unix_md5(path: Path) -> str:
    """DVC 2's md5 of a text file: computed with CRLF turned into LF."""
    md5 = hashlib.md5(usedforsecurity=False)
    carry = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            chunk = carry + chunk
            carry = b"\r" if chunk.endswith(b"\r") else b""
            if carry:
                chunk = chunk[:-1]
            md5.update(chunk.replace(b"\r\n", b"\n"))
    md5.update(carry)
    return md5.hexdigest()


def hash_files(files: Sequence[ContentFile], *, md5: bool = False,
               workers: int | None = None, progress: Progress | None = None,
               ) -> dict[str, FileDigests]:
    """``item -> digests`` for every file, hashed in parallel threads (one read per file).

    ``progress`` is called with each chunk's size (from worker threads).
    """
    if len(files) == 1:
        return {files[0].item: _hash_one(files[0].path, md5, progress)}
    workers = workers or min(32, (os.cpu_count() or 1) + 2)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {f.item: pool.submit(_hash_one, f.path, md5, progress) for f in files}
        return {item: fut.result() for item, fut in futures.items()}


def files_at(path: Path) -> list[ContentFile]:
    """A file or folder on disk as manifest items (``.`` for a file; relpaths for a folder)."""
    if path.is_file():
        return [ContentFile(SINGLE_FILE_ITEM, path, "")]
    if not path.is_dir():
        raise ConfigError(f"{path}: no such file or folder")
    return [ContentFile(p.relative_to(path).as_posix(), p, "")
            for p in sorted(path.rglob("*")) if p.is_file()]
