"""Templated pipelines (foreach, matrix, vars, params files, wdir): archivist lists the
outputs DVC itself resolves, under DVC's stage names, with DVC's versions.

DVC's answer comes from ``dvc.repo.Repo(root).index.outs`` and ``dvc stage list --all``
in a subprocess; archivist's from reading the same files as text.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from archivist.errors import ConfigError
from archivist.inventory import load_artifacts
from archivist.trees import WorkingTree
from realrepo import Repo, init_repo, run

ORACLE = """\
import json, os, sys
from dvc.repo import Repo
repo = Repo(sys.argv[1])
outs = sorted(
    [os.path.relpath(o.fs_path, repo.root_dir).replace(os.sep, "/"), o.stage.name,
     o.hash_info.value if o.hash_info else None]
    for o in repo.index.outs)
print(json.dumps(outs))
"""

CORPUS: dict[str, dict[str, str]] = {
    "foreach_list": {
        "dvc.yaml": """\
stages:
  train:
    foreach: [small, large]
    do:
      cmd: python train.py --size ${item}
      deps: [train.py]
      outs:
        - models/${item}.pkl
  report:
    cmd: python report.py
    outs: [report.html]
""",
    },
    "foreach_dicts": {
        "dvc.yaml": """\
stages:
  prepare:
    foreach:
      - {name: us, size: 10}
      - {name: eu, size: 20}
    do:
      cmd: python prepare.py ${item.size}
      outs:
        - data/${item.name}.csv
  train:
    foreach:
      small: {epochs: 1, dir: models}
      large: {epochs: 5, dir: big}
    do:
      cmd: python train.py --epochs ${item.epochs}
      outs:
        - ${item.dir}/${key}.pkl:
            cache: false
      metrics:
        - metrics/${key}.json:
            cache: false
""",
    },
    "matrix": {
        "dvc.yaml": """\
stages:
  train:
    matrix:
      model: [small, large]
      device: [cpu, gpu]
    cmd: python train.py ${item.model} ${item.device}
    outs:
      - models/${item.model}-${item.device}.pkl
  eval:
    matrix:
      cfg: [{lr: 1}, {lr: 2}]
      quick: [true, false]
    cmd: python eval.py --lr ${item.cfg.lr}
    outs:
      - eval/${key}.json
""",
    },
    "vars_inline_and_params_yaml": {
        "params.yaml": "train:\n  model: rf\n  out_dir: models\nsizes: [1, 2.5]\n"
                       "flags: [true, false]\n",
        "dvc.yaml": """\
vars:
  - prefix: exp
    split: {test: 0.2}
stages:
  fit:
    cmd: python fit.py --test ${split.test}
    outs:
      - ${train.out_dir}/${prefix}-${train.model}.pkl
  sized:
    foreach: ${sizes}
    do:
      cmd: python fit.py ${item}
      outs:
        - ${train.out_dir}/size-${item}.bin
  flagged:
    foreach: ${flags}
    do:
      cmd: python fit.py ${item}
      outs:
        - flags/${item}.bin
  literal:
    foreach: [true, 3]
    do:
      cmd: echo \\${not_a_var}
      outs:
        - lit/${item}.bin
""",
    },
    "vars_other_params_files": {
        "config.yaml": "train:\n  name: clf\nunused:\n  name: other\n",
        "sizes.json": '{"sizes": ["s", "m"], "json_only": {"dir": "jmodels"}}\n',
        "settings.toml": '[tool]\nname = "booster"\n',
        "dvc.yaml": """\
vars:
  - config.yaml:train
  - sizes.json
  - settings.toml
stages:
  fit:
    foreach: ${sizes}
    do:
      cmd: python fit.py
      outs:
        - models/${train.name}-${item}.pkl
  tuned:
    cmd: python tune.py
    outs:
      - ${json_only.dir}/${tool.name}.pkl
""",
    },
    "wdir_nested_subfolder": {
        "sub/params.yaml": "paths:\n  dirs: [work, other]\nfiles:\n  - {name: m}\n",
        "sub/dvc.yaml": """\
stages:
  build:
    wdir: ${paths.dirs[0]}
    vars:
      - local: {ext: pt}
    cmd: python build.py
    outs:
      - out/${files[0].name}.${local.ext}
  loop:
    foreach: ${paths.dirs}
    do:
      wdir: ${item}
      cmd: python loop.py
      outs: [model.bin]
  plain:
    wdir: work
    cmd: python plain.py
    outs: [../plain.bin]
""",
    },
    "stage_vars_file": {
        "params.yaml": "base: models\n",
        "stages/fit.yaml": "fit:\n  name: gbm\n",
        "dvc.yaml": """\
stages:
  fit:
    wdir: stages
    vars:
      - fit.yaml
    cmd: python fit.py
    outs:
      - ../${base}/${fit.name}.pkl
""",
    },
}


POLICY = ("version: 1\ntags:\n  - match: {paths: ['models/**']}\n"
          "    require:\n      owner: {type: email}\n")


def dvc_outputs(root: Path) -> list[tuple[str, str, str | None]]:
    proc = run([sys.executable, "-c", ORACLE, str(root)], root)
    return [tuple(row) for row in json.loads(proc.stdout)]


def archivist_outputs(root: Path) -> list[tuple[str, str, str | None]]:
    return sorted((a.path, a.stage or "", a.version.digest if a.version else None)
                  for a in load_artifacts(WorkingTree(root, git=True)) if a.stage)


def make(tmp_path: Path, files: dict[str, str]) -> Repo:
    repo = init_repo(tmp_path / "repo")
    repo.dvc("init", "-q")
    for rel, text in files.items():
        repo.write(rel, text)
    repo.commit("pipeline")
    return repo


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_archivist_sees_the_outputs_dvc_resolves(tmp_path: Path, name: str) -> None:
    repo = make(tmp_path, CORPUS[name])
    expected = dvc_outputs(repo.root)
    assert expected, "the pipeline declares outputs"
    assert archivist_outputs(repo.root) == expected
    # dvc stage list --all names the same stages
    listed = {line.split()[0].rpartition(":")[2] for line in
              repo.dvc("stage", "list", "--all", "--name-only").stdout.splitlines()}
    assert {stage for _, stage, _ in expected} == listed


def test_versions_come_from_the_lock_under_the_generated_name(tmp_path: Path) -> None:
    repo = make(tmp_path, {"dvc.yaml": """\
stages:
  train:
    foreach: [small, large]
    do:
      cmd: mkdir -p models && echo ${item} > models/${item}.pkl
      outs:
        - models/${item}.pkl
"""})
    repo.dvc("repro", "-q")
    repo.commit("repro")
    lock = repo.read("dvc.lock")
    assert "train@small:" in lock
    expected = dvc_outputs(repo.root)
    assert all(digest for _, _, digest in expected)
    assert archivist_outputs(repo.root) == expected


def test_check_all_counts_templated_outputs(tmp_path: Path) -> None:
    files = dict(CORPUS["foreach_list"])
    files["archivist.yaml"] = POLICY
    repo = make(tmp_path, files)
    proc = repo.archivist("check", "--all")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "models/small.pkl" in out and "models/large.pkl" in out


BROKEN = {
    "missing var": ("stages:\n  train:\n    foreach: [a]\n    do:\n      cmd: x\n"
                    "      outs: ['models/${nope.name}.pkl']\n", 2, "train"),
    "bad syntax": ("stages:\n  ok:\n    cmd: y\n    outs: [y.bin]\n  train:\n    cmd: x\n"
                   "    outs: ['models/${a..b}.pkl']\n", 5, "train"),
    "list into a path": ("vars:\n  - sizes: [1, 2]\nstages:\n  fit:\n    cmd: x\n"
                         "    outs: ['m-${sizes}.pkl']\n", 4, "fit"),
    "reserved item": ("stages:\n  fit:\n    foreach: [a]\n    do:\n      vars:\n"
                      "        - item: 1\n      cmd: x\n      outs: ['m-${item}.pkl']\n",
                      2, "fit"),
    "redefined var": ("vars:\n  - model: rf\nstages:\n  fit:\n    vars:\n      - model: gbm\n"
                      "    cmd: x\n    outs: ['m-${model}.pkl']\n", 4, "fit"),
    "missing params file": ("stages:\n  fit:\n    vars:\n      - nothere.yaml\n"
                            "    cmd: x\n    outs: [m.pkl]\n", 2, "fit"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_an_unresolvable_output_is_an_error_naming_stage_and_line(tmp_path: Path,
                                                                  case: str) -> None:
    text, line, stage = BROKEN[case]
    repo = make(tmp_path, {"dvc.yaml": text, "archivist.yaml": POLICY})
    # DVC cannot resolve it either
    oracle = run([sys.executable, "-c", ORACLE, str(repo.root)], repo.root, check=False)
    assert oracle.returncode != 0 and "ResolveError" in oracle.stderr, oracle.stderr
    with pytest.raises(ConfigError) as info:
        load_artifacts(WorkingTree(repo.root, git=True))
    assert info.value.message.startswith(f"dvc.yaml:{line}: stage {stage!r}: ")
    proc = repo.archivist("check", "--all")
    assert proc.returncode == 2
    assert f"dvc.yaml:{line}: stage {stage!r}" in proc.stderr


def test_the_hook_resolves_with_the_staged_params(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    repo.dvc("init", "-q")
    repo.write("archivist.yaml", POLICY)
    repo.commit("policy")
    repo.write("params.yaml", "sizes: [small]\n")
    repo.write("dvc.yaml", "stages:\n  train:\n    foreach: ${sizes}\n    do:\n"
                           "      cmd: python train.py\n      outs:\n"
                           "        - models/${item}.pkl\n")
    repo.git("add", "params.yaml", "dvc.yaml")
    repo.write("params.yaml", "sizes: [small, large]\n")  # not staged
    proc = repo.archivist("check", "--staged")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "models/small.pkl" in out and "models/large.pkl" not in out
    assert "1 artifact(s) checked" in out
