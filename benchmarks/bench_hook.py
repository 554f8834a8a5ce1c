"""The hook's budget, measured interleaved: ``archivist check FILE`` against ``python -c pass``.

On a shared machine a benchmark's rows drift apart with the load; this one alternates the
floor and the hook run by run (and, given several source trees, the trees too), so every
ratio compares runs made side by side. CPU time (user + system of the process and its git
children) is the figure to judge; wall time is printed beside it.

Needs a sample kept by ``bench_check.py --keep DIR`` (its staged ``.dvc`` file is the
one checked). Each ``--src`` is put first on ``PYTHONPATH`` (compile it first,
``python -m compileall -q SRC``, as a wheel install does).

    .venv/bin/python benchmarks/bench_check.py --keep /tmp/sample --runs 1 --skip-slow \
        --skip-pre-commit
    .venv/bin/python benchmarks/bench_hook.py /tmp/sample --runs 21
    .venv/bin/python benchmarks/bench_hook.py /tmp/sample --src /tmp/old/src --src src
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BIN = Path(sys.executable).parent
BUDGET = 6.0  # at most 6x the interpreter start


def _run(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {proc.returncode}\n"
                         f"{proc.stdout.decode()}{proc.stderr.decode()}")
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime), wall


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sample", type=Path, help="a sample kept by bench_check.py --keep")
    parser.add_argument("--src", action="append", default=[], metavar="DIR",
                        help="a source tree to time (repeatable; the last one is judged; "
                             "default: the installed one)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each (15)")
    args = parser.parse_args(argv)
    root = args.sample.resolve()
    staged = subprocess.run(["git", "diff", "--cached", "--name-only"], cwd=root,
                            capture_output=True, text=True, check=True).stdout.split()
    if not staged:
        parser.error(f"{root}: no staged file (build it with bench_check.py --keep)")
    base = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")}
    trees = args.src or [""]
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "floor": ([sys.executable, "-c", "pass"], base)}
    for tree in trees:
        env = dict(base)
        if tree:
            env["PYTHONPATH"] = str(Path(tree).resolve())
        commands[tree or "installed"] = ([str(BIN / "archivist"), "check", staged[0]], env)
    cpu: dict[str, list[float]] = {k: [] for k in commands}
    wall: dict[str, list[float]] = {k: [] for k in commands}
    for n in range(args.runs + 1):
        for label, (cmd, env) in commands.items():
            used, took = _run(cmd, root, env)
            if n:  # the first round warms the OS cache
                cpu[label].append(used)
                wall[label].append(took)
    floor_cpu, floor_wall = statistics.median(cpu["floor"]), statistics.median(wall["floor"])
    print(f"archivist check {staged[0]}, {args.runs} interleaved runs, medians:")
    print(f"  {'python -c pass':<40} CPU {floor_cpu * 1000:6.1f} ms   wall "
          f"{floor_wall * 1000:6.1f} ms")
    ratio = 0.0
    for label in commands:
        if label == "floor":
            continue
        c, w = statistics.median(cpu[label]), statistics.median(wall[label])
        ratio = c / floor_cpu  # the last tree given is the one judged
        print(f"  {label:<40} CPU {c * 1000:6.1f} ms   wall {w * 1000:6.1f} ms   "
              f"{c / floor_cpu:4.1f}x by CPU, {w / floor_wall:4.1f}x by wall")
    verdict = "met" if ratio <= BUDGET else "MISSED"
    print(f"target: check of 1 file <= {BUDGET:.0f}x python -c pass by CPU: {verdict} "
          f"({ratio:.1f}x)")
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
