"""Benchmark: `archivist plan` over 10,000 commits touching 1,000 artifacts.

Builds the history with `git fast-import` (seconds): each first-parent commit gives one
of M DVC-tracked models a new version (`.dvc` file with md5, size, tags). Then times, in
the same run:

- the floor: `git log --first-parent --raw` of the same range (what any tool must read);
- `archivist plan --json`, as a user runs it (one `git log` pass + one `git cat-file`),
  cold (no parse cache: `.git/archivist/` removed before each run) and warm (the cache
  and walk snapshot a previous run left);
- a naive GitPython walk: for each commit, its diff against the first parent and each
  changed `.dvc` blob read through GitPython (what a per-commit tool does).

    .venv/bin/python benchmarks/bench_plan.py
    .venv/bin/python benchmarks/bench_plan.py --commits 2000 --artifacts 200 --repeat 3
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
POLICY = """\
version: 1
remotes: {active: storage, archive: archive}
retention:
  default: standard
  classes:
    experiment: {active: 30d, archive: 1y}
    standard: {active: 180d, archive: 3y}
"""
EPOCH = 1_500_000_000  # 2017-07-14


def _dvc_text(i: int, version: int) -> str:
    digest = hashlib.md5(f"{i}:{version}".encode()).hexdigest()
    retention = "experiment" if i % 3 == 0 else "standard"
    return (f"outs:\n- md5: {digest}\n  size: {1000 + version}\n  hash: md5\n"
            f"  path: m{i}.pkl\n  meta:\n    owner: team{i % 7}@example.com\n"
            f"    retention: {retention}\n")


def build(root: Path, commits: int, artifacts: int) -> None:
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
            out.append(b"M 100644 inline archivist.yaml\n")
            data(POLICY.encode())
        i = n % artifacts
        versions[i] += 1
        out.append(f"M 100644 inline models/g{i % 50}/m{i}.pkl.dvc\n".encode())
        data(_dvc_text(i, versions[i]).encode())
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


def drop_cache(root: Path) -> None:
    """Remove archivist's parse cache and walk snapshot: the next run is a cold one."""
    shutil.rmtree(root / ".git" / "archivist", ignore_errors=True)


def git_log_floor(root: Path) -> None:
    subprocess.run(["git", "log", "--first-parent", "--raw", "-z", "--no-abbrev",
                    "--format=%H%x1f%an%x1f%aI%x1f%cI%x1f%s", "main"], cwd=root,
                   check=True, capture_output=True)


def archivist_plan(root: Path) -> None:
    subprocess.run([str(BIN / "archivist"), "plan", "--json", "--as-of", "2030-01-01"],
                   cwd=root, check=True, capture_output=True)


def gitpython_walk(root: Path) -> int:
    import git  # GitPython: what a naive tool reaches for

    repo = git.Repo(root)
    seen = 0
    for commit in repo.iter_commits("main", first_parent=True, reverse=True):
        parent = commit.parents[0] if commit.parents else git.NULL_TREE
        for diff in (commit.diff(parent, R=True) if commit.parents
                     else commit.diff(parent)):
            if diff.b_path and diff.b_path.endswith(".dvc") and diff.b_blob is not None:
                diff.b_blob.data_stream.read()
                seen += 1
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--artifacts", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build here and keep it")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-plan-"))
    root = work / "repo"
    if root.exists():
        shutil.rmtree(root)
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    start = time.perf_counter()
    build(root, args.commits, args.artifacts)
    print(f"built {args.commits:,} commits over {args.artifacts:,} artifacts in "
          f"{time.perf_counter() - start:.1f} s ({root})")
    floor = timed(lambda: git_log_floor(root), args.repeat)
    cold = timed(lambda: archivist_plan(root), args.repeat, before=lambda: drop_cache(root))
    archivist_plan(root)  # leaves the cache a warm run finds
    warm = timed(lambda: archivist_plan(root), args.repeat)
    start = time.perf_counter()
    gitpython_walk(root)
    naive = (time.perf_counter() - start, float("nan"))  # in this process: wall only
    print(f"{'run (median of ' + str(args.repeat) + ')':52} {'wall s':>7} {'CPU s':>7} "
          f"{'vs git log':>10}")
    for label, (secs, cpu) in (
            ("git log --first-parent --raw (the floor)", floor),
            ("archivist plan --json, cold (target <= 2 s)", cold),
            ("archivist plan --json, warm (target <= 2 s)", warm),
            ("GitPython per-commit walk (a naive tool)", naive)):
        cpu_text = "-" if cpu != cpu else f"{cpu:.2f}"  # NaN: not measured
        print(f"{label:52} {secs:7.2f} {cpu_text:>7} {secs / floor[0]:9.1f}x")
    print(f"archivist plan is {naive[0] / cold[0]:.1f}x (cold) and {naive[0] / warm[0]:.1f}x "
          "(warm) faster than the GitPython walk")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
