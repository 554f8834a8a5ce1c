"""Benchmark: archive throughput, read-back verification included, against its peers.

Builds a git + DVC repository whose old version of data/ is N MiB in F files (random
bytes), superseded years ago by a one-file version, and pushes both. Then, in one run:

- local remote -> local remote: `archivist archive --apply` against `cp -r` of the same
  object files (target >= 0.8x of cp's throughput);
- S3 loopback (SeaweedFS on 127.0.0.1): `archivist archive --apply` between two buckets
  (server-side copy, then every object downloaded and hashed) against `dvc push` of the
  same data to the same server (target >= 0.9x), and the same archive done by streaming
  every object through this machine instead of a server-side copy.

    .venv/bin/python benchmarks/bench_archive.py                  # 1 GiB in 100 files
    .venv/bin/python benchmarks/bench_archive.py --mib 256 --files 50 --no-s3
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE.parent / "tests"))

AS_OF = "2017-01-01"  # the big version was replaced on 2016-01-01: 30 d active, then due
POLICY = """\
version: 1
remotes: {active: storage, archive: archive}
retention: {default: standard, classes: {standard: {active: 30d, archive: 10y}}}
"""


def sh(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1", **(env or {})})
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))}: exit {proc.returncode}\n"
                         f"{proc.stdout}{proc.stderr}")


def build(root: Path, mib: int, files: int) -> None:
    root.mkdir(parents=True)
    sh("git", "init", "-q", "-b", "main", cwd=root)
    sh("git", "config", "user.name", "Bench", cwd=root)
    sh("git", "config", "user.email", "bench@example.com", cwd=root)
    sh(BIN / "dvc", "init", "-q", cwd=root)
    (root / "archivist.yaml").write_text(POLICY, encoding="utf-8")
    data = root / "data"
    data.mkdir()
    each = mib * 2**20 // files
    for i in range(files):
        (data / f"part-{i:04d}.bin").write_bytes(os.urandom(each))
    old = {"GIT_AUTHOR_DATE": "2015-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2015-01-01T00:00:00Z"}
    sh(BIN / "dvc", "add", "-q", "data", cwd=root)
    sh("git", "add", "-A", cwd=root)
    sh("git", "commit", "-q", "-m", "big data", cwd=root, env=old)
    shutil.rmtree(data)
    data.mkdir()
    (data / "small.txt").write_text("replaced\n", encoding="utf-8")
    new = {"GIT_AUTHOR_DATE": "2016-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2016-01-01T00:00:00Z"}
    sh(BIN / "dvc", "add", "-q", "data", cwd=root)
    sh("git", "add", "-A", cwd=root)
    sh("git", "commit", "-q", "-m", "small data", cwd=root, env=new)


def set_remotes(root: Path, config: str, local: str = "") -> None:
    (root / ".dvc" / "config").write_text(config, encoding="utf-8")
    (root / ".dvc" / "config.local").write_text(local, encoding="utf-8")
    sh("git", "add", ".dvc/config", cwd=root)
    sh("git", "commit", "-q", "--allow-empty", "-m", "remotes", cwd=root)


def push_all(root: Path, remote: str) -> None:
    """dvc push of both versions (--all-commits would read each commit's own config, and
    the remotes were configured after the history was written)."""
    old = subprocess.run(["git", "log", "--format=%H", "--grep=^big data$"], cwd=root,
                         capture_output=True, text=True, check=True).stdout.split()[0]
    for rev in (old, "HEAD"):
        sh("git", "checkout", "-q", rev, "--", "data.dvc", cwd=root)
        sh(BIN / "dvc", "push", "-q", "-r", remote, "data.dvc", cwd=root)
    sh("git", "checkout", "-q", "HEAD", "--", "data.dvc", cwd=root)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def archive(root: Path) -> None:
    sh(BIN / "archivist", "archive", "--apply", "--as-of", AS_OF, cwd=root)
    subject = subprocess.run(["git", "log", "-1", "--format=%s"], cwd=root, text=True,
                             capture_output=True, check=True).stdout
    if not subject.startswith("archive:"):
        raise SystemExit(f"archive made no commit (HEAD: {subject.strip()})")


def undo_archive(root: Path) -> None:
    """Put the repository back before the archive commit (remotes are refilled apart)."""
    sh("git", "reset", "-q", "--hard", "HEAD~1", cwd=root)


def local_run(work: Path, root: Path, mib: int) -> None:
    storage, cold = work / "storage", work / "archive"
    set_remotes(root, f"[core]\n    remote = storage\n['remote \"storage\"']\n"
                      f"    url = {storage}\n['remote \"archive\"']\n    url = {cold}\n")
    push_all(root, "storage")
    copy_dir = work / "cp-target"
    sh("sync", cwd=work)
    t_cp = timed(lambda: sh("cp", "-r", "--reflink=never", storage, copy_dir, cwd=work))
    shutil.rmtree(copy_dir)
    t_clone = timed(lambda: sh("cp", "-r", "--reflink=auto", storage, copy_dir, cwd=work))
    shutil.rmtree(copy_dir)
    sh("sync", cwd=work)
    t_arch = timed(lambda: archive(root))
    print(f"local -> local, {mib} MiB:")
    print(f"  cp -r --reflink=never (bytes)    {t_cp:7.2f} s  {mib / t_cp:8.1f} MiB/s")
    print(f"  cp -r --reflink=auto (may clone) {t_clone:7.2f} s  {mib / t_clone:8.1f} MiB/s")
    print(f"  archivist archive --apply        {t_arch:7.2f} s  {mib / t_arch:8.1f} MiB/s  "
          f"({t_cp / t_arch:.2f}x of cp; target 0.8x)")


def s3_run(work: Path, root: Path, mib: int) -> None:
    from retention import seaweed

    server = seaweed.start(work / "seaweedfs")
    try:
        config = "[core]\n    remote = storage\n" + "".join(
            f"['remote \"{b}\"']\n    url = s3://{b}/bench\n    endpointurl = {server.endpoint}\n"
            for b in ("storage", "archive"))
        secret = "".join(f"['remote \"{b}\"']\n    access_key_id = {server.access_key}\n"
                         f"    secret_access_key = {server.secret_key}\n"
                         for b in ("storage", "archive"))
        set_remotes(root, config, secret)
        t_push = timed(lambda: push_all(root, "storage"))
        t_arch = timed(lambda: archive(root))
        # the same job, streamed through this machine instead of a server-side copy
        undo_archive(root)
        push_all(root, "storage")
        t_stream = timed(lambda: stream_archive(root))
        print(f"S3 loopback (SeaweedFS), {mib} MiB:")
        print(f"  dvc push to the same server      {t_push:7.2f} s  {mib / t_push:8.1f} MiB/s")
        print(f"  archivist archive --apply        {t_arch:7.2f} s  {mib / t_arch:8.1f} MiB/s  "
              f"({t_push / t_arch:.2f}x of dvc push; target 0.9x)")
        print(f"  same, streamed (no server copy)  {t_stream:7.2f} s  "
              f"{mib / t_stream:8.1f} MiB/s  ({t_push / t_stream:.2f}x of dvc push)")
    finally:
        server.stop()


def stream_archive(root: Path) -> None:
    """Copy + read back every object of the due version, streaming (library level)."""
    import datetime as dt
    from concurrent.futures import ThreadPoolExecutor

    from archivist.policy import load_policy
    from archivist.remotes import Stores, copy_object, version_objects
    from archivist.retention.plan import build_plan

    items = [i for i in build_plan(root, load_policy(root), dt.date.fromisoformat(AS_OF))
             if i.action == "archive"]
    with Stores(root) as stores:
        src, dst = stores.remote("storage"), stores.remote("archive")
        for item in items:
            refs = version_objects(item.digest, item.algorithm, [src]).in_copy_order()

            def one(ref):  # type: ignore[no-untyped-def]
                copy_object(src, dst, ref, server_side=False)
                assert dst.verify(ref)

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(one, refs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--no-s3", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    try:
        root = work / "repo"
        build(root, args.mib, args.files)
        local_run(work, root, args.mib)
        if not args.no_s3:
            undo_archive(root)
            s3_run(work, root, args.mib)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
