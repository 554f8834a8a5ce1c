"""A large file is not an alias bomb: aliases are counted by what they add, not by nodes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from archivist import yamlload
from archivist.errors import YAMLFileError
from realrepo import Repo, run

OUTPUTS = 100_000
PER_STAGE = 100


def big_pipeline() -> str:
    """A dvc.yaml with OUTPUTS outputs over OUTPUTS / PER_STAGE stages, and no alias."""
    lines = ["stages:"]
    for s in range(OUTPUTS // PER_STAGE):
        lines += [f"  train_{s}:", f"    cmd: python train.py --part {s}", "    deps:",
                  "    - train.py", "    outs:"]
        lines += [f"    - models/part_{s}/out_{i}.bin" for i in range(PER_STAGE)]
    return "\n".join(lines) + "\n"


# Parses in a fresh interpreter and reports the time and the peak memory of that process.
MEASURE = """\
import json, sys, time
from archivist import yamlload
text = open(sys.argv[1], encoding="utf-8").read()
start = time.perf_counter()
data = yamlload.load(text, "dvc.yaml")
seconds = time.perf_counter() - start
outs = sum(len(stage["outs"]) for stage in data["stages"].values())
# VmHWM, not getrusage: Linux carries ru_maxrss across exec, so a child of a large pytest
# process would report the parent's peak as its own.
with open("/proc/self/status", encoding="ascii") as status:
    hwm = next(line for line in status if line.startswith("VmHWM:"))
peak = int(hwm.split()[1]) * 1024  # kB
print(json.dumps({"seconds": seconds, "peak": peak, "outs": outs}))
"""


def test_a_pipeline_with_100000_outputs_parses_in_2s_and_300MB(tmp_path: Path) -> None:
    path = tmp_path / "dvc.yaml"
    path.write_text(big_pipeline(), encoding="utf-8")
    proc = run([sys.executable, "-c", MEASURE, path], tmp_path)
    figures = json.loads(proc.stdout)
    assert figures["outs"] == OUTPUTS
    assert figures["seconds"] < 2.0, figures
    assert figures["peak"] < 300 * 2**20, figures


def test_check_reads_all_100000_outputs(git_repo: Repo) -> None:
    git_repo.write("dvc.yaml", big_pipeline())
    git_repo.write("archivist.yaml", "version: 1\ntags:\n  - match: {paths: ['models/**']}\n"
                   "    require: {}\n")
    git_repo.commit("a large pipeline")
    proc = git_repo.archivist("check", "--all")
    assert proc.returncode == 0, proc.stderr
    assert f"{OUTPUTS} artifact(s) checked" in proc.stdout + proc.stderr


def test_the_slow_path_is_linear_too() -> None:
    """One anchor sends the whole file through the full loader: it still parses."""
    text = "defaults: &defaults {wdir: .}\n" + big_pipeline().replace(
        "stages:\n  train_0:\n", "stages:\n  train_0:\n    <<: *defaults\n", 1)
    start = time.perf_counter()
    data = yamlload.load(text, "dvc.yaml")
    assert time.perf_counter() - start < 10
    assert data["stages"]["train_0"]["wdir"] == "."
    assert len(data["stages"]) == OUTPUTS // PER_STAGE


def test_shared_defaults_are_not_a_bomb() -> None:
    """2,000 stages merging one anchor add a few thousand nodes: fine."""
    lines = ["base: &base {cmd: python train.py, deps: [train.py, params.yaml]}", "stages:"]
    for s in range(2000):
        lines += [f"  s{s}:", "    <<: *base", f"    outs: [out/{s}.bin]"]
    data = yamlload.load("\n".join(lines) + "\n", "dvc.yaml")
    assert data["stages"]["s1999"]["deps"] == ["train.py", "params.yaml"]


@pytest.mark.parametrize("levels", [6, 9])
def test_an_alias_bomb_is_refused_at_once(levels: int) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines.append(f"stages: {{train: {{cmd: *a{levels}}}}}")
    start = time.perf_counter()
    with pytest.raises(YAMLFileError, match=r"dvc\.yaml: YAML aliases expand to more than "
                                            r"100,000 nodes"):
        yamlload.load("\n".join(lines) + "\n", "dvc.yaml")
    assert time.perf_counter() - start < 1


def test_an_alias_that_contains_itself_is_refused() -> None:
    with pytest.raises(YAMLFileError, match="YAML aliases refer to themselves"):
        yamlload.load("a: &a {b: *a}\n", "dvc.yaml")
