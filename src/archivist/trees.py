"""Where file contents come from: the working tree, the index, or a commit.

The check reads what is being committed: the working tree under pre-commit (which stashes
unstaged changes first), the index for plain git hooks (``--staged``), and each commit's
own blobs in range mode. All three answer the same two questions: which files, and what
bytes.
"""

from __future__ import annotations

import errno
import os
import stat
from abc import ABC, abstractmethod
from pathlib import Path

from archivist import gitrepo
from archivist.errors import ConfigError

_SYMLINK_MODE = "120000"
_MISSING_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)  # as pathlib
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # without it (Windows), every read is careful
_FAST_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_SKIP_DIRS = {".git", ".dvc", ".venv", "node_modules", "__pycache__"}


def _is_symlink(path: str) -> bool:
    """``Path.is_symlink`` without the Path: False when missing, other errors raised."""
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError as exc:
        if exc.errno not in _MISSING_ERRNOS:
            raise
        return False
    except ValueError:  # a NUL byte in the name
        return False


class Tree(ABC):
    """A snapshot of repository files, named for messages by ``label``."""

    label: str
    root: Path | None = None  # the work tree the snapshot belongs to, when there is one

    @abstractmethod
    def paths(self) -> list[str]:
        """Every file's repo-relative posix path."""

    @abstractmethod
    def read(self, path: str) -> bytes | None:
        """The file's bytes, None when it does not exist here."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def blob_id(self, path: str) -> str | None:
        """The git blob id of a regular file, when known without reading it."""
        return None

    def named(self, name: str) -> list[str]:
        """Every path whose last component is ``name`` (every ``dvc.yaml``), sorted."""
        tail = "/" + name
        return sorted(p for p in self.paths() if p == name or p.endswith(tail))

    def cache_root(self) -> Path | None:
        """The repository whose parse cache may serve this tree (None: do not cache)."""
        return None


class WorkingTree(Tree):
    """Files on disk below ``root`` (git's view of them when ``root`` is a checkout)."""

    def __init__(self, root: Path, *, git: bool | None = None) -> None:
        self.root = root.resolve()
        self._root_text = str(self.root)
        self.label = "working tree"
        self._git = (root / ".git").exists() if git is None else git

    def paths(self) -> list[str]:
        if self._git:
            return gitrepo.ls_files(self.root)
        found = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
            rel = os.path.relpath(folder, self.root)
            for name in files:
                found.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
        return found

    def cache_root(self) -> Path | None:
        return self.root if self._git else None

    def read(self, path: str) -> bytes | None:
        # os calls on str paths, not pathlib: `check --all` reads every .dvc file, and
        # pathlib's object building was a tenth of its time at 10,000 files. The common
        # case (a regular file) is one open that refuses links, two reads and a close, a
        # third of lstat + open(); links and every error take the careful path below.
        full = os.path.join(self._root_text, path)
        if not _NOFOLLOW:
            return self._read_carefully(path, full)
        try:
            fd = os.open(full, _FAST_FLAGS)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return self._read_carefully(path, full)
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
            return b"".join(chunks)
        except OSError:
            return self._read_carefully(path, full)
        finally:
            os.close(fd)

    def _read_carefully(self, path: str, full: str) -> bytes | None:
        if _is_symlink(full):
            target = Path(full).resolve()
            if not target.is_relative_to(self.root):
                raise ConfigError(f"{path}: is a symlink to {target}, outside the repository",
                                  "replace the link with the file itself")
        try:
            with open(full, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            return None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}",
                              "check the file's permissions") from None


class _GitObjects(Tree):
    """Shared reading through ``git cat-file --batch`` for the index and commits.

    The listing (``ls-files --stage`` or ``ls-tree -r``) is kept as git wrote it and
    parsed only when every path is asked for: the hook and each commit of a range look up
    a few files among thousands, and decoding every entry cost more than git's listing.
    """

    def __init__(self, root: Path, cat: gitrepo.CatFile | None = None) -> None:
        self.root = root
        self._owns_cat = cat is None
        self._cat = cat or gitrepo.CatFile(root)
        self._modes: dict[str, str] = {}
        self._ids: dict[str, str] = {}
        self._raw = b""
        self._id_field = 1
        self._parsed = False

    def _load(self, out: bytes, id_field: int) -> None:
        """Entries of ``ls-tree -r -z`` (mode type id) or ``ls-files -z --stage`` (mode id
        stage), each then a tab and the path."""
        self._raw, self._id_field = out, id_field

    def _entry(self, meta: bytes, name: str) -> None:
        fields = meta.split()
        self._modes[name] = fields[0].decode()
        # an unmerged path (stage 1-3) has no blob ``:path`` reads: no id either
        if len(fields) > self._id_field and (self._id_field != 1 or fields[2] == b"0"):
            self._ids[name] = fields[self._id_field].decode()
        else:
            self._ids.pop(name, None)

    def _parse_all(self) -> None:
        if self._parsed:
            return
        self._modes.clear()
        self._ids.clear()
        for record in self._raw.split(b"\0"):
            if record:
                meta, _, raw_name = record.partition(b"\t")
                self._entry(meta, raw_name.decode("utf-8", "surrogateescape"))
        self._parsed = True

    def _records(self, needle: bytes) -> list[tuple[bytes, bytes]]:
        """(meta, name) of every entry whose name ends with ``needle`` (which starts at a
        tab or a slash), found in the raw listing."""
        raw = self._raw
        found = []
        at = raw.find(needle)
        while at != -1:
            start = raw.rfind(b"\0", 0, at) + 1
            record = raw[start:at + len(needle) - 1]
            meta, _, name = record.partition(b"\t")  # the first tab ends the meta part
            found.append((meta, name))
            at = raw.find(needle, at + 1)
        return found

    def _lookup(self, path: str) -> None:
        """Make ``_modes``/``_ids`` know ``path`` (when it is in the listing)."""
        if self._parsed or path in self._modes:
            return
        raw_path = path.encode("utf-8", "surrogateescape")
        matches = [meta for meta, name in self._records(b"\t" + raw_path + b"\0")
                   if name == raw_path]
        if len(matches) > 1:  # unmerged: several stages, as the full reading sees them
            self._parse_all()
        elif matches:
            self._entry(matches[0], path)

    def named(self, name: str) -> list[str]:
        if self._parsed:
            return super().named(name)
        raw = name.encode("utf-8", "surrogateescape")
        out: dict[str, None] = {}
        for needle in (b"\t" + raw + b"\0", b"/" + raw + b"\0"):
            for _, found in self._records(needle):
                if found == raw or found.endswith(b"/" + raw):
                    out[found.decode("utf-8", "surrogateescape")] = None
        return sorted(out)

    def blob_id(self, path: str) -> str | None:
        self._lookup(path)
        mode = self._modes.get(path)
        if mode is None or not mode.startswith("100"):  # links and submodules: read()
            return None
        return self._ids.get(path)

    def cache_root(self) -> Path | None:
        return self.root

    def _spec(self, path: str) -> str:
        raise NotImplementedError

    def paths(self) -> list[str]:
        self._parse_all()
        return list(self._modes)

    def read(self, path: str) -> bytes | None:
        self._lookup(path)
        mode = self._modes.get(path)
        if mode is None:
            return None
        if mode == _SYMLINK_MODE:
            raise ConfigError(f"{path}: is a symlink in {self.label}",
                              "commit the file itself, not a link to it")
        # By blob id when the listing gave one: a name is then never sent down the
        # line-based batch protocol (it may hold a newline).
        blob = self._ids.get(path)
        return self._cat.read(blob if blob is not None else self._spec(path))

    def close(self) -> None:
        if self._owns_cat:
            self._cat.close()


class IndexTree(_GitObjects):
    """What ``git commit`` would record: the staged blobs."""

    def __init__(self, root: Path, cat: gitrepo.CatFile | None = None) -> None:
        super().__init__(root, cat)
        self.label = "index"
        self._load(gitrepo.git_bytes(["ls-files", "-z", "--stage"], root), 1)

    def _spec(self, path: str) -> str:
        return f":{path}"


class CommitTree(_GitObjects):
    """The files of one commit."""

    def __init__(self, root: Path, commit: str, cat: gitrepo.CatFile | None = None) -> None:
        super().__init__(root, cat)
        self.commit = commit
        self.label = f"commit {commit[:10]}"
        self._load(gitrepo.git_bytes(["ls-tree", "-r", "-z", "--full-tree", commit], root), 2)

    def _spec(self, path: str) -> str:
        return f"{self.commit}:{path}"
