"""Parsed DVC files remembered across runs, keyed by git blob id.

A blob id names immutable content, so the artifacts parsed from (path, blob[, lock blob])
are always the same: a cached parse is never stale. The cache lives in
``<git common dir>/archivist/`` (one pickle per namespace), carries a schema number and a
fingerprint of the ``Artifact`` fields, is written atomically (temp file + rename), and is
never a reason to fail: an unreadable, foreign or unwritable cache is ignored and the
files are parsed again. Set ``ARCHIVIST_PARSE_CACHE=0`` to turn it off.

The file sits inside ``.git``, where whoever can write can already run code through git
hooks; still, a cache copied between machines (a CI cache) must not become a way to run
code, so loading accepts only archivist's own data classes and dates: anything else makes
the file "no cache".
"""

from __future__ import annotations

# pickle and gitrepo are imported where used: `archivist check`
# imports this module on every commit, and uses it only for large checks.
import contextlib
import itertools
import os
from pathlib import Path
from typing import Any

from archivist.dvcfiles import Artifact, Version
from archivist.frozen import field_names, is_frozen

SCHEMA = 3  # bump whenever parsing gives different artifacts for the same text
ENV_SWITCH = "ARCHIVIST_PARSE_CACHE"
# Field names of what is stored: a changed dataclass makes old entries unreadable as such.
_FINGERPRINT = (SCHEMA, field_names(Artifact), field_names(Version))

Key = tuple[str, str, str | None]  # (declaring file, its blob id, its dvc.lock's blob id)
Value = tuple[Artifact, ...] | str  # the artifacts, or the error message of a failed parse

MISSING: Any = object()


def blob_id(data: bytes) -> str:
    """git's id of a blob with this content (what ``git hash-object`` prints)."""
    global _sha1
    if _sha1 is None:
        # CPython's built-in _sha1 imports in 1 ms, hashlib (OpenSSL) in 4: the hook pays
        try:
            from _sha1 import sha1 as _sha1
        except ImportError:  # pragma: no cover - a build without it
            from hashlib import sha1 as _sha1
    return _sha1(b"blob %d\0" % len(data) + data).hexdigest()


_sha1: Any = None


def _enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "no", "false", "off")


def cache_dir(root: Path) -> Path | None:
    """``<git common dir>/archivist``, or None outside a repository."""
    git_dir = root / ".git"
    # the common dir is shared by worktrees; GIT_DIR (hooks) can point anywhere
    if "GIT_DIR" not in os.environ and "GIT_COMMON_DIR" not in os.environ and \
            git_dir.is_dir() and not (git_dir / "commondir").exists():
        return git_dir / "archivist"
    from archivist import gitrepo

    common = gitrepo.common_dir(root)
    # relative to ``root`` when git prints it so (an absolute path replaces ``root``)
    return root / common / "archivist" if common else None


_counter = itertools.count()
_SAFE_MODULES = ("archivist.dvcfiles", "archivist.history")
_SAFE_DATETIME = ("date", "datetime", "timezone", "timedelta")


def _is_dataclass(found: Any) -> bool:
    import dataclasses  # for the history's classes; the hook's are frozen records

    return isinstance(found, type) and dataclasses.is_dataclass(found)


def _load(handle: Any) -> Any:
    """``pickle.load`` that builds only archivist's data classes and dates."""
    import pickle

    class _DataOnly(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if module == "datetime" and name in _SAFE_DATETIME:
                return super().find_class(module, name)
            if module in _SAFE_MODULES:
                found = super().find_class(module, name)
                if is_frozen(found) or _is_dataclass(found):
                    return found
            raise pickle.UnpicklingError(f"{module}.{name} is not cache data")

    return _DataOnly(handle).load()


def _write(path: Path, *objects: Any) -> None:
    """Pickle ``objects`` into ``path`` atomically (a new temp file, then a rename); any
    failure (a read-only .git, a full disk) leaves things as they were, silently."""
    import pickle

    # O_EXCL on pid + counter rather than tempfile, whose import alone costs 13 ms
    temp = path.with_name(f".tmp-{os.getpid()}-{next(_counter)}-{path.name}")
    try:
        path.parent.mkdir(exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            for obj in objects:
                pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)
    except Exception:  # a full disk or a pickling surprise: run without a cache
        with contextlib.suppress(OSError):
            os.unlink(temp)


def _open_regular(path: Path) -> Any:
    """``path`` opened for reading when it is a regular file, else None.

    A FIFO or a device in the cache folder would block a plain ``open`` (or feed it
    forever): it is opened without blocking, checked with ``fstat`` and skipped. The
    descriptor's own ``fstat`` decides, so a swap after the check changes nothing.
    """
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except OSError:
        os.close(fd)
        return None


class ParseCache:
    """One namespace of cached parses; ``get``/``put`` in memory, ``save`` once at the end."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[Key, Value] = {}
        self._used: set[Key] = set()
        self._added = 0
        self._loaded = path is None

    @classmethod
    def open(cls, root: Path, namespace: str) -> ParseCache:
        """The cache of ``namespace`` for the repository at ``root`` (a no-op when off).

        One process shares one instance per file: the audit reads the trees of the head
        and of every release tag, and each read must neither reload the file nor prune
        what the others used.
        """
        folder = cache_dir(root) if _enabled() else None
        if folder is None:
            return cls(None)
        path = folder / f"{namespace}.pickle"
        cache = _open.get(path)
        if cache is None:
            cache = _open[path] = cls(path)
        return cache

    def _load(self) -> None:

        self._loaded = True
        assert self.path is not None
        handle = _open_regular(self.path)
        if handle is None:  # missing, or not a regular file: no cache
            return
        try:
            with handle:
                stored = _load(handle)
        except Exception:  # truncated, foreign: "no cache", never a failure
            return
        if isinstance(stored, dict) and stored.get("fingerprint") == _FINGERPRINT \
                and isinstance(stored.get("entries"), dict):
            self._entries = stored["entries"]

    def get(self, key: Key) -> Any:
        """The cached value, or ``MISSING``."""
        if not self._loaded:
            self._load()
        value = self._entries.get(key, MISSING)
        if value is not MISSING:
            self._used.add(key)
        return value

    def put(self, key: Key, value: Value) -> None:
        if self.path is None:
            return
        self._entries[key] = value
        self._used.add(key)
        self._added += 1

    def save(self) -> None:
        """Write the cache if this run added to it; silently skip when that fails."""
        if self.path is None or not self._added:
            return
        entries = self._entries
        if len(entries) > 2 * len(self._used):
            # mostly entries this run did not need (rewritten history, old trees): drop them
            entries = {k: entries[k] for k in self._used}
        _write(self.path, {"fingerprint": _FINGERPRINT, "entries": entries})
        self._added = 0


_open: dict[Path, ParseCache] = {}


def forget() -> None:
    """Drop the caches this process has loaded: the next use reads the files again."""
    _open.clear()


class Snapshot:
    """One pickled object in the cache folder, behind a small header that is read first
    (deciding from the header whether the body is of use costs no full load)."""

    def __init__(self, root: Path, name: str) -> None:
        folder = cache_dir(root) if _enabled() else None
        self.path = folder / f"{name}.pickle" if folder is not None else None
        self._offset = 0

    def header(self) -> Any:
        """The header, or None when there is no readable snapshot of this schema."""

        if self.path is None:
            return None
        read = self._read(0)
        if read is None:  # absent or damaged: no snapshot
            return None
        stored, self._offset = read
        if not isinstance(stored, tuple) or len(stored) != 2 or stored[0] != _FINGERPRINT:
            return None
        return stored[1]

    def body(self) -> Any:
        """The body after a successful ``header()``, or None when it cannot be read."""

        if not self._offset:
            return None
        read = self._read(self._offset)
        return read[0] if read is not None else None

    def _read(self, offset: int) -> tuple[Any, int] | None:
        """The object stored at ``offset`` and where the next one starts; None when the
        file is absent, not a regular file, or damaged."""
        handle = _open_regular(self.path) if self.path is not None else None
        if handle is None:
            return None
        try:
            with handle:
                handle.seek(offset)
                return _load(handle), handle.tell()
        except Exception:
            return None

    def save(self, header: Any, body: Any) -> None:
        """Replace the snapshot atomically; silently skip when that fails."""
        if self.path is not None:
            _write(self.path, (_FINGERPRINT, header), body)
