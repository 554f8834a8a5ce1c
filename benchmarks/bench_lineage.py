"""Benchmark: what lineage (``retention.lineage``) adds to `archivist plan`, 10,000 commits.

Builds with `git fast-import` a first-parent history over P pipelines (``pipeN/dvc.yaml``:
prepare -> train) and their datasets (``pipeN/data/raw.csv.dvc``): each commit gives one
pipeline a new dataset version, or a new ``dvc.lock`` (a `dvc repro`) whose prepare stage
read the current dataset and whose train stage read prepare's output. Then times, in the
same run, `archivist plan --json` cold (no parse cache) with ``lineage: true`` and with
``lineage: false`` on the same history.

    .venv/bin/python benchmarks/bench_lineage.py
    .venv/bin/python benchmarks/bench_lineage.py --commits 2000 --pipelines 20 --repeat 3
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_plan import BIN, EPOCH, drop_cache, timed

POLICY = """\
version: 1
remotes: {{active: storage, archive: archive}}
retention:
  default: standard
  lineage: {lineage}
  classes:
    standard: {{active: 180d, archive: 3y}}
"""
DVC_YAML = """\
stages:
  prepare:
    cmd: python prepare.py
    deps: [prepare.py, data/raw.csv]
    outs: [data/prepared]
  train:
    cmd: python train.py
    deps: [train.py, data/prepared]
    params: [lr]
    outs: [model.pkl]
"""


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _entry(path: str, digest: str) -> str:
    return f"    - path: {path}\n      hash: md5\n      md5: {digest}\n      size: 10\n"


def _lock(raw: str, run: int, j: int) -> str:
    prepared = _md5(f"prep {j} {run}") + ".dir"
    return ("schema: '2.0'\nstages:\n  prepare:\n    cmd: python prepare.py\n    deps:\n"
            + _entry("data/raw.csv", raw) + _entry("prepare.py", _md5("prepare"))
            + "    outs:\n" + _entry("data/prepared", prepared)
            + "  train:\n    cmd: python train.py\n    deps:\n"
            + _entry("data/prepared", prepared) + _entry("train.py", _md5("train"))
            + f"    params:\n      params.yaml:\n        lr: 0.{run % 9 + 1}\n"
            + "    outs:\n" + _entry("model.pkl", _md5(f"model {j} {run}")))


def build(root: Path, commits: int, pipelines: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    out: list[bytes] = []

    def data(payload: str) -> None:
        raw = payload.encode()
        out.append(b"data %d\n" % len(raw) + raw + b"\n")

    raws = [_md5(f"raw {j} 0") for j in range(pipelines)]
    runs = [0] * pipelines
    for n in range(commits):
        out.append(b"commit refs/heads/main\n")
        out.append(b"committer Bench <bench@example.com> %d +0000\n" % (EPOCH + n * 3600 * 6))
        data(f"commit {n}")
        j = n % pipelines
        if n < pipelines:  # the pipeline, its dataset and its first run
            if n == 0:
                out.append(b"M 100644 inline archivist.yaml\n")
                data(POLICY.format(lineage="true"))
            out.append(f"M 100644 inline pipe{j}/dvc.yaml\n".encode())
            data(DVC_YAML)
        if n < pipelines or (n // pipelines) % 2:
            raws[j] = _md5(f"raw {j} {n}")
            out.append(f"M 100644 inline pipe{j}/data/raw.csv.dvc\n".encode())
            data(f"outs:\n- md5: {raws[j]}\n  size: 10\n  hash: md5\n  path: raw.csv\n")
        if n < pipelines or not (n // pipelines) % 2:
            runs[j] += 1
            out.append(f"M 100644 inline pipe{j}/dvc.lock\n".encode())
            data(_lock(raws[j], runs[j], j))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(out),
                   check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=root, check=True)


def set_lineage(root: Path, on: bool) -> None:
    (root / "archivist.yaml").write_text(POLICY.format(lineage="true" if on else "false"))


def plan(root: Path) -> None:
    subprocess.run([str(BIN / "archivist"), "plan", "--json", "--as-of", "2030-01-01"],
                   cwd=root, check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--pipelines", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-lineage-"))
    root = work / "repo"
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    start = time.perf_counter()
    build(root, args.commits, args.pipelines)
    print(f"built {args.commits:,} commits over {args.pipelines} pipelines in "
          f"{time.perf_counter() - start:.1f} s")
    results = {}
    for on in (False, True):
        set_lineage(root, on)
        results[on, "cold"] = timed(lambda: plan(root), args.repeat,
                                    before=lambda: drop_cache(root))
        plan(root)  # leaves the caches a warm run finds
        results[on, "warm"] = timed(lambda: plan(root), args.repeat)
    print(f"{'archivist plan --json (median of ' + str(args.repeat) + ')':52} "
          f"{'wall s':>7} {'CPU s':>7}")
    for kind in ("cold", "warm"):
        for on in (False, True):
            secs, cpu = results[on, kind]
            print(f"{f'  {kind}, lineage: ' + str(on).lower():52} {secs:7.2f} {cpu:7.2f}")
        off, on_ = results[False, kind], results[True, kind]
        print(f"  {kind}: lineage adds {on_[0] / off[0] - 1:+.0%} wall, "
              f"{on_[1] / off[1] - 1:+.0%} CPU")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
