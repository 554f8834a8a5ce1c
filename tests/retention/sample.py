"""What the retention tests share besides fixtures: the sample policy, dated commits,
views of a remote's contents, and the sample repository (imported by the tests and by
``conftest``, never imported from ``conftest``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from pathlib import Path

from archivist.dvcfiles import Artifact, Version
from realrepo import Repo
from retention import seaweed

POLICY = """\
version: 1
remotes: {active: storage, archive: archive}
retention:
  default: standard
  classes:
    experiment: {active: 30d, archive: 1y}
    standard: {active: 180d, archive: 3y}
    regulated: {active: 1y, archive: forever}
  releases: regulated
"""
# The same policy with a regulated class that ends too, so that random histories reach
# every state (the property tests), and the "now" those histories are bounded by.
FINITE_POLICY = POLICY.replace("regulated: {active: 1y, archive: forever}",
                               "regulated: {active: 1y, archive: 5y}")
assert FINITE_POLICY != POLICY
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def artifact(path: str, digest: str | None = None, retention: str | None = None, *,
             stage: str | None = None) -> Artifact:
    """An output as DVC declares it: in ``PATH.dvc``, or by ``stage`` of the root
    ``dvc.yaml``; with an md5 version when ``digest`` is given."""
    declared = "dvc.yaml" if stage else f"{path}.dvc"
    return Artifact(path=path, declared_in=declared, line=1, tags_in=declared, tags_line=1,
                    stage=stage, meta={"retention": retention} if retention else {},
                    version=Version("md5", digest, size=1) if digest is not None else None)


def dated(when: str) -> dict[str, str]:
    """Environment that makes git record ``when`` (YYYY-MM-DD) as both commit dates."""
    stamp = f"{when}T12:00:00+00:00"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def object_key(oid: str, legacy: bool = False) -> str:
    return f"{oid[:2]}/{oid[2:]}" if legacy else f"files/md5/{oid[:2]}/{oid[2:]}"


class RemoteView:
    """The test's own look into one remote, independent of archivist's code."""

    def keys(self) -> set[str]:
        raise NotImplementedError

    def read(self, key: str) -> bytes | None:
        raise NotImplementedError

    def write(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def remove(self, key: str) -> None:
        raise NotImplementedError

    def has(self, oid: str, legacy: bool = False) -> bool:
        return self.read(object_key(oid, legacy)) is not None

    def intact(self, oid: str, legacy: bool = False) -> bool:
        data = self.read(object_key(oid, legacy))
        return data is not None and md5(data) == oid.removesuffix(".dir")

    def oids(self) -> set[str]:
        out = set()
        for key in self.keys():
            parts = key.split("/")
            if len(parts) >= 2 and len(parts[-2]) == 2:
                out.add(parts[-2] + parts[-1])
        return out


class LocalView(RemoteView):
    def __init__(self, root: Path) -> None:
        self.root = root

    def keys(self) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                if p.is_file()}

    def read(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.is_file() else None

    def write(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.chmod(0o644)
        path.write_bytes(data)

    def remove(self, key: str) -> None:
        (self.root / key).unlink()


class S3View(RemoteView):
    def __init__(self, server: seaweed.SeaweedS3, bucket: str, prefix: str) -> None:
        import s3fs

        self.fs = s3fs.S3FileSystem(key=server.access_key, secret=server.secret_key,
                                    client_kwargs={"endpoint_url": server.endpoint},
                                    skip_instance_cache=True, use_listings_cache=False)
        self.base = f"{bucket}/{prefix}"

    def keys(self) -> set[str]:
        self.fs.invalidate_cache()
        try:
            found = self.fs.find(self.base)
        except FileNotFoundError:
            return set()
        return {p[len(self.base) + 1:] for p in found}

    def read(self, key: str) -> bytes | None:
        try:
            return self.fs.cat_file(f"{self.base}/{key}")
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(f"{self.base}/{key}", data)

    def remove(self, key: str) -> None:
        self.fs.rm_file(f"{self.base}/{key}")


class Sample(Repo):
    """A git + DVC repository with an active and an archive remote and a policy."""

    kind: str
    remotes: dict[str, RemoteView]

    def version(self, rel: str, content: bytes | dict[str, bytes], when: str,
                message: str | None = None, push: bool = False) -> str:
        """Write a file (bytes) or folder (dict), `dvc add` it, commit on ``when``, push."""
        path = self.root / rel
        if isinstance(content, dict):
            if path.exists():
                for old in sorted(path.rglob("*"), reverse=True):
                    old.unlink() if old.is_file() else old.rmdir()
            for name, data in content.items():
                self.write(f"{rel}/{name}", data)
        else:
            self.write(rel, content)
        self.dvc("add", "-q", rel)
        parent = os.path.dirname(rel)
        paths = [f"{rel}.dvc", f"{parent}/.gitignore" if parent else ".gitignore"]
        self.git("add", "--", *paths)
        self.git("commit", "-q", "--no-verify", "-m", message or f"{rel} on {when}",
                 env=dated(when))
        if push:
            self.dvc("push", "-q", "-r", "storage")
        return self.head()

    def push_all(self) -> None:
        """Push every version of the history to the active remote, as a team would have."""
        self.dvc("push", "-q", "-r", "storage", "--all-commits")

    def digest(self, rel: str, rev: str = "HEAD") -> str:
        text = self.git("show", f"{rev}:{rel}.dvc").stdout
        for line in text.splitlines():
            line = line.strip().removeprefix("- ")
            if line.startswith("md5:"):
                return line.split(":", 1)[1].strip()
        raise AssertionError(f"no md5 in {rel}.dvc at {rev}")

    def log_count(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD").stdout)

    def drop_cache(self) -> None:
        shutil.rmtree(self.root / ".dvc" / "cache", ignore_errors=True)
