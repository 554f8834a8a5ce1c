"""The fix `archivist check` prints fits the kind of output it is about."""

from __future__ import annotations

import pytest

from realrepo import Repo, archivist

POLICY = """\
version: 1
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {type: email}
"""

TRAIN = "import pathlib\npathlib.Path('models/m.pkl').write_bytes(b'trained')\n"


@pytest.fixture
def governed(dvc_repo: Repo) -> Repo:
    dvc_repo.write("archivist.yaml", POLICY)
    (dvc_repo.root / "models").mkdir()
    (dvc_repo.root / "src").mkdir()
    dvc_repo.commit("policy", "archivist.yaml")
    return dvc_repo


def _fix(stdout: str) -> str:
    (line,) = [ln for ln in stdout.splitlines() if ln.startswith("  fix: ")]
    return line.removeprefix("  fix: ")


def _run_fix(repo: Repo, fix: str) -> None:
    """Run each command of a printed fix, from the repository root, as a user pastes it."""
    for command in fix.split(" && "):
        program, *args = command.split()
        proc = repo.archivist(*args) if program == "archivist" else repo.dvc(*args)
        assert proc.returncode == 0, proc.stderr


def test_unlocked_stage_output_is_tagged_then_reproduced(governed: Repo) -> None:
    governed.write("train.py", TRAIN)
    governed.dvc("stage", "add", "-q", "-n", "train", "-d", "train.py", "-o", "models/m.pkl",
                 "python train.py")
    proc = governed.archivist("check", "--all")
    assert proc.returncode == 1
    fix = _fix(proc.stdout)
    assert fix == "archivist tag models/m.pkl owner=... && dvc repro train"
    assert "dvc add" not in proc.stdout
    _run_fix(governed, fix.replace("owner=...", "owner=ana@example.com"))
    # DVC's own answer: the stage is recorded and up to date; the gate passes.
    assert "up to date" in governed.dvc("status").stdout
    assert "models/m.pkl" in governed.read("dvc.lock")
    assert governed.archivist("check", "--all").returncode == 0


def test_locked_stage_output_needs_only_the_tag(governed: Repo) -> None:
    governed.write("train.py", TRAIN)
    governed.dvc("stage", "add", "-q", "-n", "train", "-d", "train.py", "-o", "models/m.pkl",
                 "python train.py")
    governed.dvc("repro", "-q")
    proc = governed.archivist("check", "dvc.yaml")
    fix = _fix(proc.stdout)
    assert fix == "archivist tag models/m.pkl owner=..."
    _run_fix(governed, fix.replace("owner=...", "owner=ana@example.com"))
    # Tags in dvc.yaml are not part of the lock: DVC has nothing to commit or rerun.
    assert "up to date" in governed.dvc("status").stdout
    assert governed.archivist("check", "--all").returncode == 0


def test_dvc_file_output_keeps_its_fix(governed: Repo) -> None:
    governed.write("models/clf.pkl", b"weights")
    governed.dvc("add", "-q", "models/clf.pkl")
    proc = governed.archivist("check", "models/clf.pkl.dvc")
    fix = _fix(proc.stdout)
    assert fix == "archivist tag models/clf.pkl owner=..."
    _run_fix(governed, fix.replace("owner=...", "owner=ana@example.com"))
    assert "owner: ana@example.com" in governed.read("models/clf.pkl.dvc")
    assert governed.archivist("check", "--all").returncode == 0


def test_paths_given_from_a_subfolder_are_shown_resolved(governed: Repo) -> None:
    from realrepo import archivist

    governed.write("models/clf.pkl", b"weights")
    governed.dvc("add", "-q", "models/clf.pkl")
    proc = archivist("check", "clf.pkl.dvc", cwd=governed.root / "models")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0].startswith(
        "models/clf.pkl.dvc:2: artifact models/clf.pkl: missing required tag 'owner'")
    fix = _fix(proc.stdout)
    assert fix == "archivist tag models/clf.pkl owner=..."
    from_src = archivist("check", "../models/clf.pkl.dvc", cwd=governed.root / "src")
    assert _fix(from_src.stdout) == fix
    _run_fix(governed, fix.replace("owner=...", "owner=ana@example.com"))
    assert archivist("check", "clf.pkl.dvc", cwd=governed.root / "models").returncode == 0


def test_a_repository_path_given_from_a_subfolder_says_where_it_led(dvc_repo: Repo) -> None:
    dvc_repo.write("models/clf.pkl", "weights\n")
    dvc_repo.dvc("add", "models/clf.pkl")
    proc = archivist("tag", "models/clf.pkl", "owner=ana@example.com",
                     cwd=dvc_repo.root / "models")
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line
    assert "models/models/clf.pkl in the repository" in line
    assert "relative to the current folder" in line
    # Given from the current folder, as the hint says, it is the artifact.
    fixed = archivist("tag", "clf.pkl", "owner=ana@example.com", cwd=dvc_repo.root / "models")
    assert fixed.returncode == 0, fixed.stderr
    assert "owner: ana@example.com" in dvc_repo.read("models/clf.pkl.dvc")
