"""The metadata gate: a commit without the policy's tags is refused, then accepted."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from _demo import Demo

PROJECT = Path(__file__).resolve().parent.parent


def _sample_model(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes((seed * 7 + i) % 251 for i in range(64 * 1024)))


def run(demo: Demo) -> None:
    # The sample's story starts seven years ago, so that the retention step's retrains
    # (dated years apart, up to last year) follow it in time.
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=7 * 365)
    stamp = start.replace(microsecond=0).isoformat()
    os.environ.update({"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
    try:
        _run(demo)
    finally:
        os.environ.pop("GIT_AUTHOR_DATE", None)
        os.environ.pop("GIT_COMMITTER_DATE", None)


def _run(demo: Demo) -> None:
    demo.say("A sample repository: git, dvc init, two local DVC remotes")
    root = demo.root
    root.mkdir(parents=True)
    for name in ("storage", "archive"):
        demo.remotes[name] = demo.work / "remotes" / name
        demo.remotes[name].mkdir(parents=True)
    demo.sh("git", "init", "-q", "-b", "main")
    demo.sh("git", "config", "user.name", "Ana Example", show=False)
    demo.sh("git", "config", "user.email", "ana@example.com", show=False)
    demo.sh("dvc", "init", "-q")
    demo.sh("dvc", "remote", "add", "-d", "storage", demo.remotes["storage"])
    demo.sh("dvc", "remote", "add", "archive", demo.remotes["archive"])
    demo.sh("archivist", "init", "--template", "standard")
    demo.sh("git", "add", ".", show=False)
    demo.sh("git", "commit", "-q", "-m", "Start: dvc, remotes, archivist policy", show=False)

    demo.say("Install the hooks through the pre-commit framework, from this checkout")
    head = demo.sh("git", "rev-parse", "HEAD", cwd=PROJECT, show=False).stdout.strip()
    (root / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {PROJECT}\n"
        f"    rev: {head}\n"
        "    hooks:\n"
        "      - id: archivist-check\n"
        "      - id: archivist-require-dvc\n")
    pre_commit_home = demo.work / "pre-commit-cache"
    env = {"PRE_COMMIT_HOME": str(pre_commit_home)}
    os.environ.update(env)
    demo.sh("pre-commit", "install")
    demo.sh("git", "add", ".pre-commit-config.yaml", show=False)
    demo.sh("git", "commit", "-q", "-m", "Run archivist on every commit")

    demo.say("A model added with dvc add, committed without tags: the hook refuses")
    _sample_model(root / "models" / "clf.pkl", 1)
    demo.sh("dvc", "add", "-q", "models/clf.pkl")
    demo.sh("git", "add", "models/clf.pkl.dvc", "models/.gitignore")
    demo.sh("git", "commit", "-m", "Add the classifier", expect=1)

    demo.say("Tag it as the hook says, and the same commit goes through")
    demo.sh("archivist", "tag", "models/clf.pkl", "owner=ana@example.com",
            "data.source=s3://acme-raw/transactions/2024", "train.commit=3f2a9c1",
            "retention=standard")
    demo.sh("git", "diff", "--", "models/clf.pkl.dvc")
    demo.sh("git", "add", "models/clf.pkl.dvc")
    demo.sh("git", "commit", "-q", "-m", "Add the classifier")
    demo.sh("dvc", "push", "-q")
    demo.sh("archivist", "ls")

    demo.say("A model committed straight to git is refused too")
    _sample_model(root / "models" / "raw.bin", 2)
    demo.sh("git", "add", "-f", "models/raw.bin")
    demo.sh("git", "commit", "-m", "Add a raw model", expect=1)
    demo.sh("git", "rm", "-q", "--cached", "models/raw.bin", show=False)
    (root / "models" / "raw.bin").unlink()

    demo.say("CI re-checks every commit of a range (catches git commit --no-verify)")
    demo.sh("git", "rev-parse", "HEAD", show=False)
    _sample_model(root / "models" / "clf.pkl", 3)
    demo.sh("dvc", "add", "-q", "models/clf.pkl")
    demo.sh("archivist", "tag", "models/clf.pkl", "--unset", "owner", show=False)
    demo.sh("git", "add", "models/clf.pkl.dvc", show=False)
    demo.sh("git", "commit", "-q", "--no-verify", "-m", "Retrain (hook skipped)")
    demo.sh("archivist", "check", "--from-ref", "HEAD~1", "--to-ref", "HEAD", expect=1)
    demo.sh("archivist", "tag", "models/clf.pkl", "owner=ana@example.com")
    demo.sh("git", "add", "models/clf.pkl.dvc", show=False)
    demo.sh("git", "commit", "-q", "-m", "Restore the owner tag")
    demo.sh("dvc", "push", "-q")
