"""Benchmark: the keep-set across two repositories that share DVC remotes.

Builds with `git fast-import` two repositories, A and B, of N first-parent commits each
(default 10,000), each commit a new version of one of M `.dvc`-tracked models; one
artifact in ten of B goes through A's contents one version behind (B's current version
is one A has replaced: what A's plan must name). Both
commit a `.dvc/config` naming the same two local remotes (A: storage/archive, B:
lake/cold, B's URLs spelled relative to its `.dvc`). Then times, median of R:

- `archivist plan --json` in A alone, in B alone, and in A with
  `remotes.shared_with: [{url: ../b, branch: main}]` (B fetched into A's private
  namespace, planned, and matched by remote location); the target is
  A+B <= (A + B) * 1.10, cold (no parse cache in either repository) and warm;
- the closest peer, `dvc gc --dry --force --cloud --remote storage --projects ../b` in
  A: with `--workspace` (what DVC keeps by default: the checked-out version of each
  repository) and with `--all-commits` (every version in the history, closer to what a
  history walk keeps), the latter under a time limit.

    .venv/bin/python benchmarks/bench_shared.py
    .venv/bin/python benchmarks/bench_shared.py --commits 2000 --artifacts 200 --repeat 3
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
CLASSES = """\
retention:
  default: standard
  classes:
    experiment: {active: 30d, archive: 1y}
    standard: {active: 180d, archive: 3y}
"""
POLICY_A = "version: 1\nremotes: {active: storage, archive: archive}\n" + CLASSES
POLICY_A_SHARED = ("version: 1\nremotes:\n  active: storage\n  archive: archive\n"
                   "  shared_with:\n    - {url: ../b, branch: main}\n" + CLASSES)
POLICY_B = "version: 1\nremotes: {active: lake, archive: cold}\n" + CLASSES
EPOCH = 1_500_000_000  # 2017-07-14
AS_OF = "2030-01-01"


def _dvc_text(key: str, i: int, version: int) -> str:
    digest = hashlib.md5(f"{key}:{version}".encode()).hexdigest()
    retention = "experiment" if i % 3 == 0 else "standard"
    return (f"outs:\n- md5: {digest}\n  size: {1000 + version}\n  hash: md5\n"
            f"  path: m{i}.pkl\n  meta:\n    owner: team{i % 7}@example.com\n"
            f"    retention: {retention}\n")


def build(root: Path, commits: int, artifacts: int, *, policy: str, config: str,
          content: Callable[[int, int], tuple[str, int]]) -> None:
    """``content(artifact, version)``: the key and version number its md5 is made of."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    out: list[bytes] = []

    def data(payload: bytes) -> None:
        out.append(b"data %d\n" % len(payload) + payload + b"\n")

    versions = [0] * artifacts
    for n in range(commits):
        when = EPOCH + n * 3600 * 6
        out.append(b"commit refs/heads/main\n")
        out.append(b"committer Bench <bench@example.com> %d +0000\n" % when)
        data(f"commit {n}".encode())
        if n == 0:
            for path, text in (("archivist.yaml", policy), (".dvc/config", config),
                               (".dvc/.gitignore", "/config.local\n/tmp\n/cache\n")):
                out.append(f"M 100644 inline {path}\n".encode())
                data(text.encode())
        i = n % artifacts
        versions[i] += 1
        out.append(f"M 100644 inline models/g{i % 50}/m{i}.pkl.dvc\n".encode())
        key, number = content(i, versions[i])
        data(_dvc_text(key, i, number).encode())
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(out),
                   check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=root, check=True)


def timed(fn: Callable[[], object], repeat: int,
          before: Callable[[], object] | None = None) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (user + system, child processes)."""
    walls, cpus = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def drop_caches(*roots: Path) -> None:
    """archivist's parse caches and walk snapshots (A's holds B's walk too): cold."""
    for root in roots:
        shutil.rmtree(root / ".git" / "archivist", ignore_errors=True)


def plan(root: Path) -> int:
    proc = subprocess.run([str(BIN / "archivist"), "plan", "--json", "--as-of", AS_OF],
                          cwd=root, check=True, capture_output=True)
    return proc.stdout.count(b'"kept_by"')


def dvc_gc(root: Path, scope: str, timeout: float) -> float | None:
    """Seconds of `dvc gc --dry` keeping A's and B's (--projects), None past ``timeout``."""
    start = time.perf_counter()
    try:
        subprocess.run([str(BIN / "dvc"), "gc", "--dry", "--force", scope, "--cloud",
                        "--remote", "storage", "--projects", str(root.parent / "b")],
                       cwd=root, check=True, capture_output=True, timeout=timeout,
                       env=dict(os.environ, DVC_NO_ANALYTICS="1"))
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--artifacts", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dvc-timeout", type=float, default=600.0,
                        help="seconds allowed to `dvc gc --all-commits` (default 600)")
    parser.add_argument("--skip-dvc", action="store_true")
    parser.add_argument("--keep", type=Path, help="build here and keep it")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-shared-"))
    for name in ("a", "b", "storage", "archive"):
        shutil.rmtree(work / name, ignore_errors=True)
    (work / "storage").mkdir(parents=True)
    (work / "archive").mkdir()
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    a, b = work / "a", work / "b"
    start = time.perf_counter()
    build(a, args.commits, args.artifacts, policy=POLICY_A,
          config=(f"[core]\n    remote = storage\n['remote \"storage\"']\n    url = "
                  f"{work / 'storage'}\n['remote \"archive\"']\n    url = {work / 'archive'}\n"),
          content=lambda i, v: (f"{i}", v))
    build(b, args.commits, args.artifacts, policy=POLICY_B,
          config=("[core]\n    remote = lake\n['remote \"lake\"']\n    url = ../../storage\n"
                  "['remote \"cold\"']\n    url = ../../archive\n"),
          # one artifact in ten: B's current version is A's previous one (due in A)
          content=lambda i, v: (f"{i}", v - 1) if i % 10 == 0 else (f"b{i}", v))
    print(f"built two repositories of {args.commits:,} commits over {args.artifacts:,} "
          f"artifacts in {time.perf_counter() - start:.1f} s ({work})")

    def alone() -> None:
        (a / "archivist.yaml").write_text(POLICY_A, encoding="utf-8")

    def shared() -> None:
        (a / "archivist.yaml").write_text(POLICY_A_SHARED, encoding="utf-8")

    shared()
    start = time.perf_counter()
    named = plan(a)  # the first run fetches B into A (once): not what is compared
    first = time.perf_counter() - start
    print(f"first plan with shared_with (fetches B's {args.commits:,} commits): "
          f"{first:.2f} s; {named:,} due versions name B")
    rows = []
    for label, before in (("cold", lambda: drop_caches(a, b)), ("warm", None)):
        if before is None:  # leave the caches a warm run finds
            alone()
            plan(a)
            plan(b)
            shared()
            plan(a)
        alone()
        t_a = timed(lambda: plan(a), args.repeat, before)
        t_b = timed(lambda: plan(b), args.repeat, before)
        shared()
        t_ab = timed(lambda: plan(a), args.repeat, before)
        rows.append((label, t_a, t_b, t_ab))
    print(f"{'archivist plan --json (median of ' + str(args.repeat) + ')':44} "
          f"{'A s':>6} {'B s':>6} {'A+B s':>6} {'ratio':>6} {'CPU ratio':>9}")
    for label, t_a, t_b, t_ab in rows:
        ratio = t_ab[0] / (t_a[0] + t_b[0])
        cpu = t_ab[1] / (t_a[1] + t_b[1])
        verdict = "met" if ratio <= 1.10 else "not met"
        print(f"{label + ' (target A+B <= 1.10 x (A + B))':44} {t_a[0]:6.2f} {t_b[0]:6.2f} "
              f"{t_ab[0]:6.2f} {ratio:6.2f} {cpu:9.2f}  {verdict}")
        print(f"{'  CPU s':44} {t_a[1]:6.2f} {t_b[1]:6.2f} {t_ab[1]:6.2f}")
    if not args.skip_dvc:
        alone()
        for scope, limit in (("--workspace", args.dvc_timeout),
                             ("--all-commits", args.dvc_timeout)):
            secs = dvc_gc(a, scope, limit)
            text = f"{secs:.2f} s" if secs is not None else f"> {limit:.0f} s (stopped)"
            print(f"dvc gc --dry -f {scope} -c -r storage -p ../b: {text}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
