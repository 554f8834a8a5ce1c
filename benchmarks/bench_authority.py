"""Speed of the authority check: ``archivist check --from-ref`` beside ``git log --show-signature``.

Builds a git repository whose policy has ``authority:`` (a signers file with one ssh-keygen
key), then a range of ``--commits`` commits after it: people's commits (a text file each)
and, every tenth, an archivist record (event file and trailers) signed by git with that
key. Times, median and minimum over ``--runs`` runs after one untimed warm-up:

- ``git -c gpg.ssh.allowedSignersFile=... log --show-signature BASE..HEAD``: git checking
  every signature of the range (one ``ssh-keygen`` per signed commit): the floor;
- ``archivist check --from-ref BASE --to-ref HEAD``: the metadata gate and the authority
  check (records and policy changes judged by the signers file and policy at each parent).

    .venv/bin/python benchmarks/bench_authority.py                 # 1,000 commits, 100 signed
    .venv/bin/python benchmarks/bench_authority.py --commits 200 --runs 3 --keep /tmp/b
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent

POLICY = """\
version: 1
branch: main
authority:
  signers: .archivist/allowed_signers
  roles:
    retention-bot: [bot@example.com]
  may:
    archive: [retention-bot]
    policy: [retention-bot]
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Bench",
                "GIT_COMMITTER_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                "GIT_COMMITTER_EMAIL": "bench@example.com", "NO_COLOR": "1"})
    env.pop("CI", None)
    return env


def _git(root: Path, *args: str, input: str | None = None) -> str:
    return subprocess.run(["git", *args], cwd=root, env=_env(), check=True, text=True,
                          capture_output=True, input=input).stdout


def build(top: Path, commits: int, every: int) -> tuple[Path, str, Path, int]:
    """The repository, its base commit, the signers file (outside it), records signed."""
    root = top / "repo"
    root.mkdir(parents=True)
    key = top / "bot"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bot", "-f",
                    str(key)], check=True, capture_output=True)
    public = key.with_suffix(".pub").read_text().strip()
    signers = f'bot@example.com namespaces="git" {public}\n'
    _git(root, "init", "-q", "-b", "main")
    (root / ".archivist").mkdir()
    (root / ".archivist" / "allowed_signers").write_text(signers)
    (root / "archivist.yaml").write_text(POLICY)
    _git(root, "add", ".")
    _git(root, "commit", "-q", "--no-verify", "-m", "policy with authority")
    base = _git(root, "rev-parse", "HEAD").strip()
    events = root / ".archivist" / "events"
    events.mkdir()
    (root / "notes").mkdir()
    signed = 0
    for n in range(1, commits + 1):
        if n % every == 0:
            name = f"{n:06d}-archive.json"
            (events / name).write_text(json.dumps({
                "schema": 1, "event": "archive", "time": "2026-01-01T00:00:00+00:00",
                "actor": "bot", "rule": None,
                "entries": [{"artifact": f"models/m{n}.pkl", "version": "md5:" + "1" * 32,
                             "from": "storage", "to": "archive"}]}))
            _git(root, "add", "--", f".archivist/events/{name}")
            message = (f"archive: 1 version\n\nArchivist-Event: archive\n"
                       f"Archivist-Artifact: models/m{n}.pkl\n"
                       f"Archivist-Version: md5:{'1' * 32}\nArchivist-From: storage\n"
                       "Archivist-To: archive\nArchivist-Meaning: authorship\n")
            _git(root, "-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "commit", "-S",
                 "-q", "--no-verify", "-F", "-", input=message)
            signed += 1
        else:
            (root / "notes" / f"{n % 50}.txt").write_text(f"note {n}\n")
            _git(root, "add", "--", f"notes/{n % 50}.txt")
            _git(root, "commit", "-q", "--no-verify", "-m", f"note {n}")
    allowed = top / "allowed_signers"
    allowed.write_text(signers)
    return root, base, allowed, signed


def timed(cmds: list[list[str]], root: Path, runs: int,
          ) -> list[tuple[float, float, float, str]]:
    """(median wall s, min wall s, median CPU s, last stdout) per command. The commands
    take turns, run after run, so they share the same load on a shared machine."""
    for cmd in cmds:  # warm-up
        subprocess.run(cmd, cwd=root, env=_env(), capture_output=True, check=False)
    walls: list[list[float]] = [[] for _ in cmds]
    cpus: list[list[float]] = [[] for _ in cmds]
    outs = [""] * len(cmds)
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=root, env=_env(), capture_output=True, text=True,
                                  check=False)
            walls[i].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[i].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            outs[i] = proc.stdout
    return [(statistics.median(w), min(w), statistics.median(c), o)
            for w, c, o in zip(walls, cpus, outs, strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--every", type=int, default=10,
                        help="one signed archivist record every N commits (default 10)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build here and keep it")
    args = parser.parse_args(argv)
    top = args.keep or Path(tempfile.mkdtemp(prefix="bench-authority-"))
    try:
        start = time.perf_counter()
        root, base, allowed, signed = build(top, args.commits, args.every)
        print(f"built {args.commits} commits ({signed} signed archivist records) in "
              f"{time.perf_counter() - start:.1f} s: {root}")
        (git_med, git_min, git_cpu, _), (arch_med, arch_min, arch_cpu, out) = timed([
            ["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "log", "--show-signature",
             f"{base}..HEAD"],
            [str(BIN / "archivist"), "check", "--from-ref", base, "--to-ref", "HEAD",
             "--json"]], root, args.runs)
        report = json.loads(out)
        # the work was done: every commit read, nothing refused (all records are signed)
        assert report["ok"] and report.get("authority") == [], report
        assert report["commits_checked"] == args.commits, report
        rows = [("git log --show-signature (every signature checked)", git_med, git_min,
                 git_cpu),
                ("archivist check --from-ref (gate + authority)", arch_med, arch_min,
                 arch_cpu)]
        print(f"\n| Run ({args.commits} commits, {signed} signed; median of {args.runs}) "
              "| Median s | Min s | CPU s |\n| --- | ---: | ---: | ---: |")
        for label, med, low, cpu in rows:
            print(f"| {label} | {med:.2f} | {low:.2f} | {cpu:.2f} |")
        print(f"\nratio archivist / git log: {arch_med / git_med:.2f}x wall, "
              f"{arch_cpu / git_cpu:.2f}x CPU (medians)")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
