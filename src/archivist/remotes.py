"""DVC remotes through DVC's own configuration, filesystems and object databases.

Every remote DVC supports (local, S3, GCS, Azure, SSH...) works, with the credentials DVC
reads from ``.dvc/config`` and ``.dvc/config.local``; they are never printed (remotes are
named by their DVC name and a URL stripped of any user info).

Three traps in DVC's object layer shape this module:

- ``dvc_data``'s transfer only checks that an object exists, so a corrupt object at the
  destination would never be replaced: here an object that is present is read back and
  hashed, and a bad one is removed before copying.
- ``odb.check()`` deletes an object whose hash is wrong: verification here reads the
  bytes and hashes them itself, and never deletes from the source.
- DVC 2 outputs hash as ``md5-dos2unix`` and live at the remote's root, DVC 3 outputs
  under ``files/md5/``: an ``ObjectRef`` carries its algorithm, which picks the layout.

dvc is imported inside functions only: ``archivist check`` never pays for it.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
import signal
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from archivist.dvccache import parse_dir_manifest
from archivist.errors import ConfigError, IntegrityError

CHUNK = 4 << 20
FAILPOINT_ENV = "ARCHIVIST_FAILPOINT"  # test-only: "<name>" or "<name>:<n>" kills the process


class RemoteError(ConfigError):
    """A DVC remote is not configured, not reachable, or refused an operation."""


class MissingCredentials(RemoteError):
    """A remote needs credentials that are absent (or were refused): exit 2, one line
    naming the remote and what to set, never a traceback."""


class ManifestMissing(IntegrityError):
    """No source holds any copy of a folder version's ``.dir`` manifest (a damaged copy
    raises plain ``IntegrityError``)."""


# Exception class names (from botocore, google-auth, azure-identity and their wrappers)
# that mean "no usable credentials"; matched by name so that no cloud SDK is imported.
_NO_CREDENTIALS = frozenset({
    "NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError",
    "DefaultCredentialsError", "CredentialUnavailableError", "ClientAuthenticationError",
})
# S3 error codes of a request signed with credentials the server does not accept (a HEAD
# request has no body, so a refusal there is a bare 403).
_REFUSED_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
                            "ExpiredToken", "TokenRefreshRequired", "AccessDenied", "403"})
# What each kind of remote reads its credentials from: (environment, DVC config options).
_WANTED = {
    "s3": ("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", ("access_key_id",
                                                          "secret_access_key")),
    "gs": ("GOOGLE_APPLICATION_CREDENTIALS", ("credentialpath",)),
    "gcs": ("GOOGLE_APPLICATION_CREDENTIALS", ("credentialpath",)),
    "azure": ("AZURE_STORAGE_CONNECTION_STRING", ("connection_string",)),
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _credential_problem(exc: BaseException) -> str | None:
    """"missing", or the server's error code, when ``exc`` (or what it wraps) says the
    credentials are absent or refused; None otherwise."""
    for link in _chain(exc):
        if type(link).__name__ in _NO_CREDENTIALS:
            return "missing"
        response = getattr(link, "response", None)
        error = response.get("Error") if isinstance(response, dict) else None
        code = error.get("Code") if isinstance(error, dict) else None
        if code in _REFUSED_CODES:
            return str(code)
    return None


def credentials_error(name: str, exc: BaseException, *, url: str = "",
                      protocol: str | None = None) -> MissingCredentials | None:
    """The one-line error for DVC remote ``name`` when ``exc`` says its credentials are
    absent or refused; None when ``exc`` is about something else. Any code that opens a
    remote (archive, restore, dispose, audit --deep, a fetch for verify) can turn its
    failure into this: ``raise credentials_error(name, exc, url=url) or exc``.
    ``protocol`` defaults to the URL's scheme."""
    problem = _credential_problem(exc)
    if problem is None:
        return None
    if protocol is None:
        protocol = urlsplit(url).scheme.lower() if "://" in url else "local"
    env, options = _WANTED.get(protocol, ("the variables its DVC filesystem reads", ()))
    where = f"remote {name!r}" + (f" ({safe_url(url)})" if url else "")
    message = (f"{where} needs credentials and none were found" if problem == "missing"
               else f"{where} refused access with the credentials it was given "
               f"({'403 Forbidden' if problem == '403' else problem})")
    if options:
        modify = " and ".join(f"dvc remote modify --local {name} {opt} ..." for opt in options)
        hint = f"set {env}, or run `{modify}`"
    else:
        hint = f"set {env}, or see `dvc remote modify --help` for {protocol} remotes"
    return MissingCredentials(message, hint)


def failpoint(name: str) -> None:
    """Die by SIGKILL here when the tests ask for it (crash-safety tests only).

    ``ARCHIVIST_FAILPOINT=name`` kills at the first pass, ``name:3`` at the third.
    """
    spec = os.environ.get(FAILPOINT_ENV)
    if not spec:
        return
    wanted, _, nth = spec.partition(":")
    if wanted != name:
        return
    count = _FAILPOINT_HITS.get(name, 0) + 1
    _FAILPOINT_HITS[name] = count
    if count >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


_FAILPOINT_HITS: dict[str, int] = {}


@dataclass(frozen=True)
class ObjectRef:
    """One content-addressed object: a file, or a folder's ``.dir`` manifest."""

    oid: str  # hex digest; a manifest's ends in ".dir"
    algorithm: str = "md5"  # "md5-dos2unix": DVC 2 output, remote root layout

    @property
    def is_dir(self) -> bool:
        return self.oid.endswith(".dir")

    @property
    def digest(self) -> str:
        return self.oid.removesuffix(".dir")

    @property
    def legacy(self) -> bool:
        return self.algorithm != "md5"


@dataclass(frozen=True)
class VersionObjects:
    """Everything a version stores: files (with their paths inside it), then the manifest."""

    files: tuple[tuple[str, ObjectRef], ...]  # (relpath inside the output, object)
    manifest: ObjectRef | None  # the .dir object of a folder version

    def in_copy_order(self) -> list[ObjectRef]:
        """Files first, manifest last: a manifest must never announce missing files."""
        refs = [ref for _, ref in self.files]
        return refs + ([self.manifest] if self.manifest is not None else [])

    def in_delete_order(self) -> list[ObjectRef]:
        """Manifest first: a manifest left behind makes DVC believe every file is there."""
        refs = [ref for _, ref in self.files]
        return ([self.manifest] if self.manifest is not None else []) + refs


def safe_url(url: str) -> str:
    """A remote URL fit to print: user info and query (which may hold tokens) removed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unprintable url>"
    if not parts.scheme:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _hash_stream(fobj: Any, algorithm: str, progress: Callable[[int], None] | None) -> str:
    from dvc_data.hashfile.hash import get_hash_stream

    stream = get_hash_stream(fobj, name=algorithm)
    while True:
        data = stream.read(CHUNK)
        if not data:
            break
        if progress is not None:
            progress(len(data))
    return stream.hash_value


class Store:
    """An object database: a DVC remote, or the local cache, with both layouts."""

    def __init__(self, name: str, url: str, odb: Any, legacy_odb: Any) -> None:
        self.name = name
        self.url = safe_url(url)
        self._odb = odb
        self._legacy = legacy_odb
        self.fs = odb.fs

    @property
    def root_path(self) -> str:
        """The remote's root as its filesystem spells it (DVC 2 objects live here)."""
        return str(self._legacy.path)

    def location(self) -> Location:
        """Where this store really keeps its objects, one spelling per place."""
        return location_of(self.fs.protocol, self.root_path, self.url,
                           getattr(self.fs, "fs_args", {}) or {})

    def __repr__(self) -> str:
        return f"Store({self.name!r}, {self.url!r})"

    def label(self) -> str:
        return f"{self.name} ({self.url})"

    def path(self, ref: ObjectRef) -> str:
        odb = self._legacy if ref.legacy else self._odb
        return odb.oid_to_path(ref.oid)

    def exists(self, ref: ObjectRef) -> bool:
        try:
            return bool(self.fs.exists(self.path(ref)))
        except Exception as exc:
            raise self._error("cannot list", ref, exc) from None

    def present(self, refs: Iterable[ObjectRef]) -> set[ObjectRef]:
        """The refs this store holds, from one listing of it (not a request per object):
        what archivist says is on a remote, it has looked for."""
        wanted = set(refs)
        if not wanted:
            return set()
        root = self.root_path  # both layouts (files/md5/ and DVC 2's) live under it
        try:
            listed = set(self.fs.find(root))
        except FileNotFoundError:
            listed = set()
        except Exception as exc:
            raise self._error("cannot list", next(iter(wanted)), exc) from None
        if self.fs.protocol == "local":
            listed = {os.path.normpath(p) for p in listed}
            return {r for r in wanted if os.path.normpath(self.path(r)) in listed}
        return {r for r in wanted if self.path(r) in listed}

    def size(self, ref: ObjectRef) -> int | None:
        try:
            return self.fs.size(self.path(ref))
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._error("cannot stat", ref, exc) from None

    def hash(self, ref: ObjectRef, progress: Callable[[int], None] | None = None,
             ) -> str | None:
        """Read the object back and hash its bytes; None when it is absent."""
        try:
            with self.fs.open(self.path(ref), "rb") as fobj:
                return _hash_stream(fobj, ref.algorithm, progress)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._error("cannot read", ref, exc) from None

    def verify(self, ref: ObjectRef, progress: Callable[[int], None] | None = None) -> bool:
        """True when the object is here and its bytes hash to its name."""
        return self.hash(ref, progress) == ref.digest

    def read_bytes(self, ref: ObjectRef) -> bytes | None:
        try:
            with self.fs.open(self.path(ref), "rb") as fobj:
                return fobj.read()
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._error("cannot read", ref, exc) from None

    def delete(self, ref: ObjectRef) -> bool:
        """Remove the object; False when it was not there."""
        # Neither DVC's local filesystem nor S3 reports a missing object on delete: ask.
        if not self.exists(ref):
            return False
        try:
            self.fs.rm_file(self.path(ref))
        except FileNotFoundError:
            return False
        except Exception as exc:
            raise self._error("cannot delete", ref, exc) from None
        return True

    def download(self, ref: ObjectRef, dest: Path) -> None:
        try:
            self.fs.get_file(self.path(ref), os.fspath(dest))
        except Exception as exc:
            raise self._error("cannot download", ref, exc) from None

    def upload(self, source: Path, ref: ObjectRef) -> None:
        path = self.path(ref)
        try:
            if self.fs.protocol == "local":
                _local_copy(os.fspath(source), path)
            else:
                with open(source, "rb") as fobj:
                    self.fs.upload_fobj(fobj, path)
        except Exception as exc:
            raise self._error("cannot write", ref, exc) from None

    def clear_index(self) -> None:
        """Forget DVC's cached listing of this remote, as ``dvc gc -c`` does after deleting."""
        from dvc_data.hashfile.db import get_index

        for odb in (self._odb, self._legacy):
            with contextlib.suppress(Exception):  # a missing index is already clear
                get_index(odb).clear()

    def _error(self, what: str, ref: ObjectRef, exc: BaseException) -> RemoteError:
        creds = credentials_error(self.name, exc, url=self.url, protocol=self.fs.protocol)
        if creds is not None:
            return creds
        return RemoteError(f"remote {self.label()}: {what} object {ref.oid}: {_short(exc)}",
                           "check the remote's URL and credentials (dvc remote list; "
                           "dvc remote modify)")

    def probe(self) -> None:
        """Fail early, with one line, when the remote cannot be reached.

        Raises ``MissingCredentials`` when its credentials are absent or refused, else
        ``RemoteError``."""
        try:
            self.fs.exists(self._odb.path)
        except Exception as exc:
            creds = credentials_error(self.name, exc, url=self.url, protocol=self.fs.protocol)
            if creds is not None:
                raise creds from None
            raise RemoteError(f"remote {self.label()} is unreachable: {_short(exc)}",
                              "check the URL, the network and the credentials "
                              "(dvc remote list)") from None


def _local_copy(src: str, dst: str) -> None:
    """Copy through a temporary name, so a crash never leaves a partial object in place."""
    parent = os.path.dirname(dst)
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{uuid.uuid4().hex}.tmp")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _same_endpoint(a: Store, b: Store) -> bool:
    """Two remotes one server-side copy can serve: same protocol, endpoint and credentials."""
    if a.fs.protocol != b.fs.protocol or a.fs.protocol == "local":
        return False
    try:
        return bool(a.fs.fs_args == b.fs.fs_args)
    except Exception:
        return False


def copy_object(src: Store, dst: Store, ref: ObjectRef, *, server_side: bool = True,
                progress: Callable[[int], None] | None = None) -> None:
    """Copy one object; the caller reads it back. Local: temp + rename; S3 to S3 on one
    endpoint: a server-side copy (no bytes through this machine); otherwise streamed."""
    sp, dp = src.path(ref), dst.path(ref)
    try:
        if src.fs.protocol == "local" and dst.fs.protocol == "local":
            _local_copy(sp, dp)
            if progress is not None:
                progress(os.path.getsize(dp))
            return
        if server_side and _same_endpoint(src, dst):
            src.fs.copy(sp, dp)
            if progress is not None:
                progress(dst.fs.size(dp) or 0)
            return
        with src.fs.open(sp, "rb") as fobj:
            dst.fs.upload_fobj(_Counting(fobj, progress), dp)
    except FileNotFoundError:
        raise IntegrityError(f"object {ref.oid} is missing from {src.label()}",
                             "run `dvc push` from a clone that still has it") from None
    except Exception as exc:
        for store in (dst, src):
            creds = credentials_error(store.name, exc, url=store.url, protocol=store.fs.protocol)
            if creds is not None:
                raise creds from None
        raise RemoteError(f"copy of object {ref.oid} from {src.label()} to {dst.label()} "
                          f"failed: {_short(exc)}",
                          "check both remotes, then rerun: finished objects are kept") from None


class _Counting:
    """A file wrapper that reports bytes read (for progress bars)."""

    def __init__(self, fobj: Any, progress: Callable[[int], None] | None) -> None:
        self._fobj = fobj
        self._progress = progress

    def read(self, n: int = -1) -> bytes:
        data = self._fobj.read(n)
        if self._progress is not None and data:
            self._progress(len(data))
        return data


class Stores:
    """The DVC repository's remotes and local cache, opened once through DVC."""

    def __init__(self, root: Path) -> None:
        try:
            from dvc.exceptions import DvcException, NotDvcRepoError
            from dvc.repo import Repo
        except ImportError:
            from archivist.errors import MissingDependency

            raise MissingDependency("dvc", "dvc") from None
        try:
            self._repo = Repo(os.fspath(root))
        except NotDvcRepoError:
            raise ConfigError(f"{root} is not a DVC repository", "run `dvc init`") from None
        except DvcException as exc:
            raise ConfigError(f"DVC cannot open {root}: {_short(exc)}") from None
        self._remotes: dict[str, Store] = {}
        self.root = root

    def close(self) -> None:
        self._repo.close()

    def __enter__(self) -> Stores:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def names(self) -> list[str]:
        return list(self._repo.config.get("remote", {}))

    def default_remote(self) -> str | None:
        return self._repo.config.get("core", {}).get("remote")

    def remote(self, name: str) -> Store:
        if name in self._remotes:
            return self._remotes[name]
        from dvc.exceptions import DvcException

        if name not in self.names():
            known = ", ".join(self.names()) or "none"
            raise RemoteError(f"DVC remote {name!r} is not configured (known: {known})",
                              f"dvc remote add {name} <url>, or fix remotes: in the policy")
        try:
            remote = self._repo.cloud.get_remote(name, "archivist")
            url = str(self._repo.config["remote"][name].get("url", ""))
            store = Store(name, url, remote.odb, remote.legacy_odb)
        except DvcException as exc:
            raise RemoteError(f"DVC remote {name!r}: {_short(exc)}",
                              "check it with `dvc remote list`") from None
        self._remotes[name] = store
        return store

    def cache(self) -> Store:
        cache = self._repo.cache
        return Store("cache", cache.local.path, cache.local, cache.legacy)


def parse_manifest(data: bytes, algorithm: str, where: str) -> tuple[tuple[str, ObjectRef], ...]:
    """A ``.dir`` manifest's entries as (relpath, object)."""
    return tuple((relpath, ObjectRef(md5, algorithm))
                 for relpath, md5 in parse_dir_manifest(data, where))


def version_objects(digest: str, algorithm: str, sources: Sequence[Store]) -> VersionObjects:
    """The objects of one version; a folder's manifest is read from the first source that
    holds a copy whose hash is right."""
    ref = ObjectRef(digest, algorithm)
    if not ref.is_dir:
        return VersionObjects(files=(("", ref),), manifest=None)
    import hashlib

    damaged = False
    for store in sources:
        data = store.read_bytes(ref)
        if data is None:
            continue
        from dvc_data.hashfile.hash import dos2unix

        check = dos2unix(data) if ref.legacy else data
        if hashlib.md5(check, usedforsecurity=False).hexdigest() != ref.digest:
            damaged = True
            continue  # a damaged copy: another source may hold a good one
        return VersionObjects(files=parse_manifest(data, algorithm, f"md5:{digest}"),
                              manifest=ref)
    where = ", ".join(s.label() for s in sources)
    if not damaged:
        raise ManifestMissing(f"the .dir manifest md5:{digest} is in none of {where}",
                              "dvc push it from a clone whose cache has it")
    raise IntegrityError(f"the .dir manifest md5:{digest} is not intact in {where}",
                         "dvc push it from a clone whose cache has it")


STAGING_PREFIX = "archivist-"


def stage_dir(root: Path) -> Path:
    """A private temporary folder inside the repository's DVC tmp (same filesystem).

    Only a run that holds the repository lock (``actions.repo_lock``) stages, so any
    such folder found while holding it is a dead run's: ``clean_stale_staging``."""
    base = root / ".dvc" / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=base))


def clean_stale_staging(root: Path) -> list[str]:
    """Remove the staging folders of runs that died (SIGKILL, power loss); their names.

    Call only under the repository lock: then no live run owns one."""
    base = root / ".dvc" / "tmp"
    removed = []
    try:
        entries = list(base.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        if entry.name.startswith(STAGING_PREFIX) and entry.is_dir() \
                and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


def unique(refs: Iterable[ObjectRef]) -> list[ObjectRef]:
    return list(dict.fromkeys(refs))


@dataclass(frozen=True)
class Location:
    """Where a remote keeps its objects, spelled one way: two names for one place (a
    ``storage/./`` URL, a symlink, a path relative to ``.dvc/``, another spelling of an S3
    endpoint) give equal locations."""

    scheme: str  # "local", "s3", "gs", ...
    authority: str  # the S3 endpoint or host; "" for a local folder
    parts: tuple[str, ...]  # normalised path components (an object store's bucket first)

    def overlaps(self, other: Location) -> bool:
        """The same place, or one inside the other."""
        if (self.scheme, self.authority) != (other.scheme, other.authority):
            return False
        n = min(len(self.parts), len(other.parts))
        return self.parts[:n] == other.parts[:n]

    def __str__(self) -> str:
        path = "/".join(self.parts)
        if self.scheme == "local":
            return "/" + path
        return f"{self.scheme}://{path}" + (f" at {self.authority}" if self.authority else "")


_DEFAULT_PORTS = {"http": 80, "https": 443}
# Object stores whose path starts with the bucket; no endpoint means the provider's own.
_OBJECT_STORES = ("s3", "gs", "gcs", "azure")


def _endpoint(text: str | None) -> str:
    """An endpoint URL spelled one way: lower-case scheme and host, no default port, no
    trailing slash. None (the provider's own endpoint) is ""."""
    if not text:
        return ""
    parts = urlsplit(text if "://" in text else f"https://{text}")
    scheme = (parts.scheme or "https").lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = posixpath.normpath(parts.path) if parts.path.strip("/") else ""
    return f"{scheme}://{netloc}{path.rstrip('/')}"


def _path_parts(path: str) -> tuple[str, ...]:
    return tuple(p for p in posixpath.normpath("/" + path).split("/") if p)


def location_of(protocol: str, root_path: str, url: str,
                fs_args: dict[str, Any]) -> Location:
    """The ``Location`` of a remote from what DVC resolved: its filesystem protocol, its
    root path (DVC already made a local path absolute against ``.dvc/``), its URL, and the
    filesystem's arguments (endpoint only: credentials are never read here)."""
    if protocol == "local":
        return Location("local", "", _path_parts(os.path.realpath(root_path)))
    client = fs_args.get("client_kwargs")
    endpoint = client.get("endpoint_url") if isinstance(client, dict) else None
    endpoint = endpoint or fs_args.get("endpoint_url") or fs_args.get("endpointurl")
    if not endpoint and protocol not in _OBJECT_STORES:
        # ssh, http, webdav...: the host is part of the place
        try:
            endpoint = fs_args.get("host") or urlsplit(url).hostname
        except ValueError:
            endpoint = None
    return Location(protocol, _endpoint(str(endpoint) if endpoint else None),
                    _path_parts(root_path))


def same_place(a: Store, b: Store) -> bool:
    """True when two remotes are one place, or one lies inside the other."""
    return a.location().overlaps(b.location())


def fetch_objects(root: Path, digests: Sequence[str], algorithm: str,
                  remote: str | None) -> int:
    """Copy objects from DVC remote ``remote`` (None: DVC's default) into the local cache
    with DVC's own transfer; the number fetched.

    For readers that want bytes in the cache (``verify``'s fetch): a remote whose
    credentials are absent or refused raises ``MissingCredentials`` (exit 2, one line
    naming the remote and what to set), any other failure ``RemoteError``; never a bare
    cloud-SDK exception.
    """
    try:
        from dvc.exceptions import DvcException
        from dvc.repo import Repo
        from dvc_data.hashfile.hash_info import HashInfo
    except ImportError:
        from archivist.errors import MissingDependency

        raise MissingDependency("dvc", "dvc") from None
    infos = [HashInfo(algorithm, d) for d in digests]
    name, url = remote or "default", ""
    try:
        with Repo(os.fspath(root)) as repo:
            name = remote or repo.config.get("core", {}).get("remote") or name
            url = str(repo.config.get("remote", {}).get(name, {}).get("url", ""))
            result = repo.cloud.pull(infos, remote=remote)
    except DvcException as exc:
        creds = credentials_error(name, exc, url=url)
        if creds is not None:
            raise creds from None
        raise RemoteError(f"cannot fetch from remote {name!r}: {_short(exc)}",
                          "check it with `dvc remote list` and `dvc status -c`") from None
    except Exception as exc:
        creds = credentials_error(name, exc, url=url)
        if creds is not None:
            raise creds from None
        raise
    return len(result.transferred)


_NAMED_SECTION = re.compile(r'^\s*remote\s*"(.*)"\s*$')


def config_places(texts: Sequence[bytes], dvc_dir: Path | None,
                  ) -> tuple[dict[str, Location | None], str | None]:
    """Where each remote of a DVC configuration keeps its objects, and its default remote
    (``core.remote``); for another repository, whose ``.dvc/config`` is read from a commit.

    ``texts``: the configuration files, later ones overriding earlier ones as DVC merges
    its levels. ``dvc_dir``: the repository's ``.dvc`` folder, against which DVC resolves
    a relative local path; None when the repository is not on this machine, and then such
    a remote's place is None (unknown). URLs become places through DVC's own remote
    configuration and filesystems, as ``Store.location`` does (no remote is contacted,
    no credential is read). A remote DVC cannot place is None too. Raises ``ConfigError``
    when a text is not a DVC configuration.
    """
    import io

    from configobj import ConfigObj, ConfigObjError

    remotes: dict[str, dict[str, Any]] = {}
    core: dict[str, Any] = {}
    for text in texts:
        try:
            parsed = ConfigObj(io.BytesIO(text)).dict()
        except (ConfigObjError, UnicodeDecodeError) as exc:
            raise ConfigError(f"not a DVC configuration: {_short(exc)}") from None
        for section, values in parsed.items():
            if not isinstance(values, dict):
                continue
            values = {str(k).lower(): v for k, v in values.items()}
            named = _NAMED_SECTION.match(section)
            if named:  # DVC lower-cases remote names
                remotes.setdefault(named.group(1).lower(), {}).update(values)
            elif section.strip().lower() == "core":
                core.update(values)
    for options in remotes.values():
        url = str(options.get("url", ""))
        if url and not re.match(r"\w+://", url) and not os.path.isabs(url):
            expanded = os.path.expanduser(url)
            if os.path.isabs(expanded):
                options["url"] = expanded
            elif dvc_dir is not None:
                options["url"] = os.path.abspath(os.path.join(dvc_dir, url))
            else:
                options["url"] = None  # relative to a checkout that is not here
    places: dict[str, Location | None] = {}
    for name, options in remotes.items():
        places[name] = _place(name, {"core": core, "remote": remotes}) \
            if options.get("url") else None
    default = core.get("remote")
    return places, str(default).lower() if default else None


def _place(name: str, config: dict[str, Any]) -> Location | None:
    """One remote's place as DVC resolves it (``remote://`` references included)."""
    from dvc.fs import get_cloud_fs

    try:
        cls, options, fs_path = get_cloud_fs(config, name=name)
        fs = cls(**options)
        url = str(config["remote"][name]["url"])
        return location_of(fs.protocol, str(fs_path), url, fs.fs_args or {})
    except Exception:  # a URL DVC cannot place (or a missing plugin): unknown
        return None
