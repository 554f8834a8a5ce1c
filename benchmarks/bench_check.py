"""Speed of the metadata gate: ``archivist check`` against the tools a user would otherwise run.

Builds a synthetic git + DVC repository (10,000 ``.dvc`` files in DVC 3's format with
``meta:`` tags, some of them breaking the policy, and a ``dvc.yaml`` with 1,000
``artifacts:`` entries), commits it, stages a change to one ``.dvc`` file, then times in
the same run, as median and minimum over ``--runs`` runs after one untimed warm-up:

- ``archivist check FILE`` (what the pre-commit hook runs for one staged file),
  ``archivist check --staged`` (the plain git hook) and ``archivist check --all``; FILE
  and ``--all`` also cold, with archivist's parse cache (``.git/archivist/``) removed
  before each run (the other rows find the cache the warm-up left);
- ``python -c pass``, the floor any Python command pays (the hook's budget: 6x this floor,
  by wall and by CPU time, measured in the same run);
- ``dvc status`` and ``gto show``, the peers (``--skip-slow`` leaves them out);
- the pre-commit framework installing archivist's hook environment from an empty cache,
  and ``pre-commit run archivist-check --files FILE`` (``--skip-pre-commit`` leaves them out).

    .venv/bin/python benchmarks/bench_check.py                      # 10,000 files, ~6 min
    .venv/bin/python benchmarks/bench_check.py --files 1000 --runs 3 --skip-slow
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GROUP = 100  # .dvc files per folder, as `dvc add` of many files in a few folders leaves them

POLICY = """\
version: 1
branch: main
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {type: email}
      data.source: {}
      train.commit: {pattern: "^[0-9a-f]{7,40}$"}
      retention: {enum: [experiment, standard, regulated]}
  - match: {paths: ["data/**"]}
    require:
      owner: {type: email}
      data.license: {}
"""


# ------------------------------------------------------------------ the synthetic repository


@dataclass
class Sample:
    root: Path
    staged: str  # the .dvc file changed and staged after the commit
    artifacts: int  # what `archivist check --all` should count
    violating: set[str] = field(default_factory=set)  # output paths that break the policy


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    for name in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"):  # when run from a hook
        env.pop(name, None)
    env.update({
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Bench", "GIT_COMMITTER_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_EMAIL": "bench@example.com",
        "DVC_NO_ANALYTICS": "1", "GTO_NO_ANALYTICS": "1", "NO_COLOR": "1",
    })
    return env


def _run(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env or _env(), text=True,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} exited {proc.returncode}\n"
                         f"{proc.stdout}{proc.stderr}")
    return proc


def _meta_yaml(meta: dict[str, object], indent: str) -> list[str]:
    lines = []
    for key, value in meta.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines.extend(_meta_yaml(value, indent + "  "))
        else:
            lines.append(f"{indent}{key}: {value}")
    return lines


def _tags(i: int, is_model: bool) -> tuple[dict[str, object], bool]:
    """The meta: map of output ``i`` and whether it breaks the policy (about 1 in 14 do)."""
    meta: dict[str, object] = {}
    broken = False
    if i % 20 == 7:
        broken = True  # no owner
    else:
        meta["owner"] = f"team{i % 13}@example.com"
    if is_model:
        meta["data"] = {"source": f"s3://raw/{2020 + i % 5}/batch-{i % 97}"}
        # quoted, as `archivist tag` writes it: bare 0000012345 would be YAML's integer
        meta["train"] = {"commit": f"'{i * 2654435761 % 16**10:010x}'"}
        if i % 50 == 13:
            meta["retention"] = "forever"  # not in the enum
            broken = True
        else:
            meta["retention"] = ("experiment", "standard", "regulated")[i % 3]
    else:
        meta["data"] = {"license": "CC-BY-4.0", "source": f"s3://raw/{i % 7}"}
    return meta, broken


def _dvc_file(name: str, content: bytes, is_model: bool, i: int,
              meta: dict[str, object]) -> str:
    """A ``.dvc`` file as DVC 3 writes it, with the tag fields DVC keeps on an output."""
    lines = [
        "outs:",
        f"- md5: {hashlib.md5(content).hexdigest()}",
        f"  size: {len(content)}",
        "  hash: md5",
        f"  path: {name}",
        f"  type: {'model' if is_model else 'dataset'}",
        f"  desc: synthetic {'model' if is_model else 'dataset'} {i}",
        "  meta:",
        *_meta_yaml(meta, "    "),
    ]
    return "\n".join(lines) + "\n"


def build(root: Path, n_files: int, n_registry: int) -> Sample:
    """Write, ``dvc init`` and commit the sample; stage one changed ``.dvc`` file."""
    root.mkdir(parents=True, exist_ok=True)
    _run(["git", "init", "-q", "-b", "main"], root)
    _run(["git", "config", "commit.gpgsign", "false"], root)
    _run([BIN / "dvc", "init", "-q"], root)
    # Fair to dvc: no update check (the machine has no network) and no analytics.
    _run([BIN / "dvc", "config", "core.check_update", "false"], root)
    _run([BIN / "dvc", "config", "core.analytics", "false"], root)
    (root / "archivist.yaml").write_text(POLICY, encoding="utf-8")

    cache = root / ".dvc" / "cache" / "files" / "md5"
    violating: set[str] = set()
    models: list[tuple[int, str]] = []
    ignores: dict[Path, list[str]] = {}
    for i in range(n_files):
        is_model = i % 5 != 4
        folder = root / ("models" if is_model else "data") / f"group{i // GROUP:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{'model' if is_model else 'table'}_{i:05d}.{'pkl' if is_model else 'csv'}"
        content = f"synthetic output {i}\n".encode()
        meta, broken = _tags(i, is_model)
        (folder / f"{name}.dvc").write_text(_dvc_file(name, content, is_model, i, meta),
                                            encoding="utf-8")
        # The output and its cache object exist, so `dvc status` finds a clean workspace.
        (folder / name).write_bytes(content)
        digest = hashlib.md5(content).hexdigest()
        (cache / digest[:2]).mkdir(parents=True, exist_ok=True)
        (cache / digest[:2] / digest[2:]).write_bytes(content)
        ignores.setdefault(folder, []).append(f"/{name}")
        rel = (folder / name).relative_to(root).as_posix()
        if broken:
            violating.add(rel)
        if is_model:
            models.append((i, rel))
    for folder, names in ignores.items():
        (folder / ".gitignore").write_text("\n".join(names) + "\n", encoding="utf-8")

    # dvc.yaml artifacts: registry entries naming model outputs (GTO reads them too). Every
    # 25th gives a bad owner, which overrides the .dvc file's own tag.
    lines = ["artifacts:"]
    for i, rel in models[:n_registry]:
        lines += [f"  model-{i:05d}:", f"    path: {rel}", "    type: model",
                  f"    desc: registered model {i}", "    labels: [synthetic, benchmark]",
                  "    meta:", f"      stage: {('dev', 'staging', 'prod')[i % 3]}"]
        if i % 25 == 3:
            lines.append("      owner: nobody")
            violating.add(rel)
    (root / "dvc.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    config = f"""\
repos:
  - repo: {PROJECT}
    rev: {_run(["git", "rev-parse", "HEAD"], PROJECT).stdout.strip()}
    hooks:
      - id: archivist-check
      - id: archivist-require-dvc
"""
    (root / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    _run(["git", "add", "--", "."], root)
    _run(["git", "commit", "-q", "--no-verify", "-m", "synthetic sample"], root)

    # The commit under test: a compliant model's description changes.
    first = next(rel for i, rel in models if rel not in violating)
    staged = f"{first}.dvc"
    path = root / staged
    path.write_text(path.read_text(encoding="utf-8").replace("  desc: synthetic",
                                                             "  desc: retrained"),
                    encoding="utf-8")
    _run(["git", "add", "--", staged], root)
    return Sample(root=root, staged=staged, artifacts=n_files, violating=violating)


# ------------------------------------------------------------------ timing


@dataclass
class Timing:
    label: str
    times: list[float]
    cpu: list[float] = field(default_factory=list)  # user + system of the process tree

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)


def drop_cache(root: Path) -> None:
    """Remove archivist's parse cache: the next run is a cold one."""
    shutil.rmtree(root / ".git" / "archivist", ignore_errors=True)


def time_command(label: str, cmd: Sequence[str | Path], cwd: Path, runs: int,
                 ok_codes: tuple[int, ...] = (0,), env: dict[str, str] | None = None,
                 cold: bool = False) -> Timing:
    """Wall time of ``cmd`` as a user waits for it: process start to exit (and its CPU)."""
    args = [str(c) for c in cmd]
    times = []
    cpus = []
    for n in range(runs + 1):
        if cold:
            drop_cache(cwd)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(args, cwd=cwd, env=env or _env(), capture_output=True,
                              check=False)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode not in ok_codes:
            raise SystemExit(f"bench: {' '.join(args)} exited {proc.returncode}, expected "
                             f"{ok_codes}\n{proc.stdout.decode()}{proc.stderr.decode()}")
        if n:  # the first run warms the OS cache (and dvc's own state database)
            times.append(elapsed)
            cpus.append(after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime)
    print(f"  {label:<44} median {statistics.median(times):8.3f} s", flush=True)
    return Timing(label, times, cpus)


def verify_findings(sample: Sample) -> None:
    """The gate finds exactly the planted violations: the benchmark times real work."""
    proc = subprocess.run([BIN / "archivist", "check", "--all", "--json"], cwd=sample.root,
                          env=_env(), capture_output=True, text=True, check=False)
    report = json.loads(proc.stdout)
    found = {v["artifact"] for v in report["violations"]}
    if proc.returncode != 1 or found != sample.violating or (
            report["artifacts_checked"] != sample.artifacts):
        raise SystemExit(
            f"bench: archivist check --all found {len(found)} violating artifacts of "
            f"{report['artifacts_checked']}, expected {len(sample.violating)} of "
            f"{sample.artifacts} (exit {proc.returncode})")
    print(f"  check --all reports the {len(found)} planted violating artifacts "
          f"of {sample.artifacts}")


def pre_commit_install(sample: Sample, home: Path) -> tuple[float, list[str]]:
    """Seconds for ``pre-commit install-hooks`` from an empty cache; the packages it put in."""
    env = _env()
    env["PRE_COMMIT_HOME"] = str(home)
    start = time.perf_counter()
    _run([BIN / "pre-commit", "install-hooks"], sample.root, env)
    elapsed = time.perf_counter() - start
    packages = sorted(
        p.name.removesuffix(".dist-info")
        for p in home.glob("repo*/py_env-*/lib/python*/site-packages/*.dist-info"))
    return elapsed, packages


# ------------------------------------------------------------------ report


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def versions() -> str:
    def first_line(cmd: Sequence[str | Path]) -> str:
        try:
            out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                                 env=_env(), check=False).stdout
        except FileNotFoundError:
            return "absent"
        return (out.strip().splitlines() or ["?"])[-1]
    return (f"archivist {first_line([BIN / 'archivist', '--version']).split()[-1]}, "
            f"dvc {first_line([BIN / 'dvc', '--version'])}, "
            f"gto {first_line([BIN / 'gto', '--version']).split()[-1]}, "
            f"pre-commit {first_line([BIN / 'pre-commit', '--version']).split()[-1]}, "
            f"{first_line(['git', '--version'])}")


def report(rows: dict[str, Timing], install: tuple[float, list[str]] | None) -> list[str]:
    """Print the table and the targets; return the targets missed."""
    one, every, floor = rows["one"], rows["all"], rows["floor"]
    print(f"\n{'command':<46}{'median':>9}{'min':>9}{'CPU':>8}{'x check 1':>11}{'x --all':>9}")
    for row in rows.values():
        cpu = f"{statistics.median(row.cpu):8.3f}" if row.cpu else f"{'-':>8}"
        print(f"{row.label:<46}{row.median:9.3f}{row.best:9.3f}{cpu}"
              f"{row.median / one.median:10.1f}x{row.median / every.median:8.1f}x")
    print(f"\narchivist check of 1 file, above the python floor: "
          f"{one.median - floor.median:.3f} s")
    if "pre-commit" in rows:
        overhead = rows["pre-commit"].median - one.median
        print(f"pre-commit's own share of a hook run: {overhead:.3f} s")
    if install is not None:
        seconds, packages = install
        print(f"pre-commit install-hooks from an empty cache: {seconds:.1f} s; hook "
              f"environment holds {len(packages)} packages: {', '.join(packages)}")

    # The hook's budget is relative: at most 6x the bare interpreter start measured in
    # this same run, by wall time and by CPU time (CPU is the steadier figure on a
    # shared machine, where waiting for a core inflates every wall time alike).
    wall_ratio = one.median / floor.median
    cpu_ratio = statistics.median(one.cpu) / statistics.median(floor.cpu)
    print(f"archivist check of 1 file: {wall_ratio:.1f}x python -c pass by wall time, "
          f"{cpu_ratio:.1f}x by CPU time")
    targets = [(f"check of 1 file <= 6x python -c pass, wall ({wall_ratio:.1f}x)",
                wall_ratio <= 6),
               (f"check of 1 file <= 6x python -c pass, CPU ({cpu_ratio:.1f}x)",
                cpu_ratio <= 6),
               (f"check of 1 file <= 0.10 s, warm ({one.median:.3f})", one.median <= 0.10),
               (f"check --all <= 1 s, warm ({every.median:.3f})", every.median <= 1.0)]
    for key, limit in (("one-cold", 0.10), ("all-cold", 1.0)):
        if key in rows:
            targets.append((f"{rows[key].label} <= {limit:g} s ({rows[key].median:.3f})",
                            rows[key].median <= limit))
    if "dvc" in rows:
        ratio = rows["dvc"].median / every.median
        targets.append((f"check --all >= 30x faster than dvc status ({ratio:.0f}x)",
                        ratio >= 30))
    print("\ntargets:")
    for text, met in targets:
        print(f"  {'met   ' if met else 'MISSED'} {text}")
    return [text for text, met in targets if not met]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help=".dvc files (10,000)")
    parser.add_argument("--registry", type=int, default=1_000,
                        help="dvc.yaml artifacts: entries (1,000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (5)")
    parser.add_argument("--skip-slow", action="store_true",
                        help="leave out dvc status and gto show (~40 s a run at 10,000 files)")
    parser.add_argument("--skip-pre-commit", action="store_true",
                        help="leave out the pre-commit install and run")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build the sample in DIR (must not exist) and keep it")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.files < 1 or not 0 <= args.registry <= args.files:
        parser.error("--runs and --files must be positive, --registry at most --files")
    if args.keep is not None and args.keep.exists():
        parser.error(f"{args.keep} exists; give a new folder")

    print(f"machine: {machine()}")
    print(f"tools: {versions()}")
    work = Path(tempfile.mkdtemp(prefix="archivist-bench-"))
    try:
        root = args.keep.resolve() if args.keep else work / "repo"
        start = time.perf_counter()
        sample = build(root, args.files, args.registry)
        print(f"sample: {args.files:,} .dvc files, {args.registry:,} dvc.yaml artifacts, "
              f"{len(sample.violating):,} violating; built in "
              f"{time.perf_counter() - start:.1f} s at {root}")
        verify_findings(sample)

        archivist = BIN / "archivist"
        print(f"\ntiming ({args.runs} runs each, after one warm-up):", flush=True)
        rows = {
            "floor": time_command("python -c pass", [sys.executable, "-c", "pass"], root,
                                  args.runs),
            "one": time_command("archivist check FILE (1 staged file)",
                                [archivist, "check", sample.staged], root, args.runs),
            "staged": time_command("archivist check --staged (1 staged file)",
                                   [archivist, "check", "--staged"], root, args.runs),
            "all": time_command(f"archivist check --all ({args.files:,} files)",
                                [archivist, "check", "--all"], root, args.runs, (1,)),
            "one-cold": time_command("archivist check FILE, cold cache",
                                     [archivist, "check", sample.staged], root, args.runs,
                                     cold=True),
            "all-cold": time_command("archivist check --all, cold cache",
                                     [archivist, "check", "--all"], root, args.runs, (1,),
                                     cold=True),
        }
        if not args.skip_slow:
            rows["dvc"] = time_command("dvc status", [BIN / "dvc", "status"], root,
                                       args.runs, (0, 1))
            rows["gto"] = time_command("gto show", [BIN / "gto", "show"], root, args.runs)
        install = None
        if not args.skip_pre_commit:
            home = work / "pre-commit-home"
            install = pre_commit_install(sample, home)
            print(f"  {'pre-commit install-hooks (empty cache)':<44} {install[0]:13.1f} s")
            env = _env()
            env["PRE_COMMIT_HOME"] = str(home)
            rows["pre-commit"] = time_command(
                "pre-commit run archivist-check --files FILE",
                [BIN / "pre-commit", "run", "archivist-check", "--files", sample.staged],
                root, args.runs, env=env)
        report(rows, install)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.keep:
        print(f"\nthe sample is kept at {args.keep}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
