"""Benchmark: `archivist audit` over a long history, beside `git log` of the same range.

Builds (with `git fast-import`, in seconds) a repository of N first-parent commits that
touch M DVC-tracked artifacts: each commit gives one artifact a new version, every tenth
also changes a tag, every hundredth is an archivist ledger commit (event file + trailers),
and the policy changes a few times. Then runs, in the same process tree and the same run:

- the floor: `git log --first-parent` of the range with names, statuses and trailers,
  read from a Python subprocess (what any audit must at least read);
- `history.walk` alone: the walk every audit (and `archivist plan`) makes, parsing each
  version of each DVC file once;
- `archivist audit --format json` over the same history (all events, all findings,
  figures from the retention plan), as a user runs it.

The walk and the audit run cold (archivist's parse cache and walk snapshot in
`.git/archivist/` removed before each run) and warm (what a previous run left). Prints
the median wall and CPU seconds (user + system of the child processes) of --repeat runs
of each, and the ratio to the floor.

    .venv/bin/python benchmarks/bench_audit.py                 # 10,000 commits, 1,000 artifacts
    .venv/bin/python benchmarks/bench_audit.py --commits 2000 --artifacts 200 --keep /tmp/b
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BIN = Path(sys.executable).parent
POLICY = """\
version: 1
branch: main
remotes: {{active: storage, archive: archive}}
tags:
  - match: {{paths: ["models/**"]}}
    require:
      owner: {{type: email}}
      retention: {{enum: [experiment, standard]}}
retention:
  default: standard
  classes:
    experiment: {{active: 30d, archive: 1y}}
    standard: {{active: {active}, archive: 3y}}
"""
START = 1_577_836_800  # 2020-01-01T00:00:00Z
STEP = 3600  # one commit an hour


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _dvc_file(i: int, version: int, owner: str) -> str:
    return (f"outs:\n- md5: {_md5(f'{i}:{version}')}\n  size: {1000 + version}\n"
            f"  hash: md5\n  path: m{i:04d}.pkl\n  meta:\n    owner: {owner}\n"
            f"    retention: standard\n")


def _path(i: int) -> str:
    return f"models/g{i // 100:02d}/m{i:04d}.pkl.dvc"


def _blob(out: list[bytes], text: str) -> None:
    data = text.encode()
    out.append(b"data %d\n" % len(data) + data + b"\n")


def _commit(out: list[bytes], n: int, who: str, message: str,
            files: dict[str, str | None]) -> None:
    stamp = START + n * STEP
    out.append(b"commit refs/heads/main\n")
    out.append(f"author {who} <{who.lower()}@example.com> {stamp} +0000\n".encode())
    out.append(f"committer {who} <{who.lower()}@example.com> {stamp} +0000\n".encode())
    _blob(out, message)
    for path, text in files.items():
        if text is None:
            out.append(f"D {path}\n".encode())
        else:
            out.append(f"M 100644 inline {path}\n".encode())
            _blob(out, text)


def build(root: Path, commits: int, artifacts: int) -> dict[str, int]:
    """A git repository with the history described above; returns what it holds."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    versions = [0] * artifacts
    owners = ["ana@example.com"] * artifacts
    stream: list[bytes] = []
    initial = {"archivist.yaml": POLICY.format(active="180d"),
               ".dvc/config": "[core]\n    remote = storage\n",
               ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n"}
    initial.update({_path(i): _dvc_file(i, 0, owners[i]) for i in range(artifacts)})
    _commit(stream, 0, "Ana", "policy and models\n", initial)
    counts = {"commits": 1, "ledger": 0, "tag_changes": 0, "policy_changes": 0}
    for n in range(1, commits):
        if n % 100 == 0:
            i = (n // 100) % artifacts
            label = f"md5:{_md5(f'{i}:{max(versions[i] - 1, 0)}')}"
            event = {"schema": 1, "event": "archive", "time": "", "actor": "bot",
                     "rule": "active window over",
                     "entries": [{"artifact": _path(i)[:-4], "version": label,
                                  "from": "storage", "to": "archive"}]}
            message = (f"archive: 1 version of 1 artifact\n\nArchivist-Event: archive\n"
                       f"Archivist-Artifact: {_path(i)[:-4]}\nArchivist-Version: {label}\n"
                       f"Archivist-From: storage\nArchivist-To: archive\n")
            _commit(stream, n, "Bot", message,
                    {f".archivist/events/{n:06d}-archive.json": json.dumps(event, indent=2)})
            counts["ledger"] += 1
        elif n % 997 == 0:
            active = "90d" if counts["policy_changes"] % 2 == 0 else "180d"
            _commit(stream, n, "Carol", f"retention {active}\n",
                    {"archivist.yaml": POLICY.format(active=active)})
            counts["policy_changes"] += 1
        else:
            i = n % artifacts
            if n % 10 == 0:
                owners[i] = f"owner{n % 7}@example.com"
                counts["tag_changes"] += 1
            else:
                versions[i] += 1
            _commit(stream, n, "Bob", f"model {i} v{versions[i]}\n",
                    {_path(i): _dvc_file(i, versions[i], owners[i])})
        counts["commits"] += 1
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(stream),
                   check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=root, check=True)
    return counts


def _time(cmd: Sequence[str], cwd: Path, repeat: int, ok: Sequence[int] = (0,),
          cold: bool = False) -> tuple[float, float, bytes]:
    """Median wall and CPU seconds of ``cmd``; ``cold`` drops archivist's cache first."""
    walls, cpus = [], []
    out = b""
    for _ in range(repeat):
        if cold:
            shutil.rmtree(cwd / ".git" / "archivist", ignore_errors=True)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime)
        if proc.returncode not in ok:
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: "
                             f"{proc.stderr.decode()[-2000:]}")
        out = proc.stdout
    return statistics.median(walls), statistics.median(cpus), out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--artifacts", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the repository here and keep it")
    args = parser.parse_args(argv)
    top = args.keep or Path(tempfile.mkdtemp(prefix="bench-audit-"))
    root = top / "repo"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    start = time.perf_counter()
    counts = build(root, args.commits, args.artifacts)
    print(f"built {counts['commits']:,} commits touching {args.artifacts:,} artifacts "
          f"({counts['ledger']} ledger commits, {counts['tag_changes']} tag changes, "
          f"{counts['policy_changes']} policy changes) in {time.perf_counter() - start:.1f} s")
    os.environ["NO_COLOR"] = "1"
    floor, floor_cpu, _ = _time(
        ["git", "log", "--first-parent", "--no-renames", "--name-status", "-z",
         "--format=%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1f%(trailers:only,unfold)", "main"],
        root, args.repeat)
    walk_cmd = [sys.executable, "-c", "import sys; from pathlib import Path; "
                "from archivist import history; "
                "print(sum(1 for _ in history.walk(Path('.'), 'main')))"]
    audit_cmd = [str(BIN / "archivist"), "audit", "--format", "json", "--as-of", "2021-06-01"]
    rows = [("git log --first-parent (names, trailers)", floor, floor_cpu, "")]
    report: dict[str, list[object]] = {}
    for mode in ("cold", "warm"):
        if mode == "warm":
            _time(audit_cmd, root, 1, ok=(0, 1))  # leaves the cache a warm run finds
        walk, walk_cpu, _ = _time(walk_cmd, root, args.repeat, cold=mode == "cold")
        audit, audit_cpu, out = _time(audit_cmd, root, args.repeat, ok=(0, 1),
                                      cold=mode == "cold")
        report = json.loads(out)
        rows.append((f"history.walk alone, {mode}", walk, walk_cpu, ""))
        rows.append((f"archivist audit --format json, {mode}", audit, audit_cpu,
                     f"({len(report['events']):,} events, "
                     f"{len(report['findings']):,} findings)"))
    print(f"  {'run (median of ' + str(args.repeat) + ')':42} {'wall s':>7} {'CPU s':>7}")
    for label, wall, cpu, note in rows:
        print(f"  {label:42} {wall:7.3f} {cpu:7.3f}  {wall / floor:5.1f}x git log  {note}")
    if args.keep is None:
        shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
