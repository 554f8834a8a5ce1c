"""Retention: dated history, plan, archive, dispose, restore; every action a commit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from _demo import Demo


def _model(path: Path, seed: int) -> None:
    path.write_bytes(bytes((seed * 13 + i * 7) % 251 for i in range(96 * 1024)))


def _dated(day: dt.date) -> dict[str, str]:
    stamp = f"{day.isoformat()}T09:00:00+00:00"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def run(demo: Demo) -> None:
    today = dt.datetime.now(dt.UTC).date()
    demo.say("Three retrains of models/clf.pkl, years apart (dates set with GIT_COMMITTER_DATE)")
    commits = []
    for seed, years in ((21, 6), (22, 4), (23, 1)):
        day = today - dt.timedelta(days=365 * years)
        _model(demo.root / "models" / "clf.pkl", seed)
        demo.sh("dvc", "add", "-q", "models/clf.pkl", show=False)
        demo.sh("git", "add", "models/clf.pkl.dvc", show=False)
        demo.sh("git", "commit", "-q", "--no-verify", "-m", f"Retrain the classifier ({day})",
                env=_dated(day), show=False)
        commits.append(demo.sh("git", "rev-parse", "--short", "HEAD", show=False).stdout.strip())
        demo.sh("dvc", "push", "-q", show=False)
    demo.sh("git", "log", "--format=%h %cs %s", "-4", "--", "models/clf.pkl.dvc")

    demo.say("The plan: every version, its state, what is due and why (reads git only)")
    demo.sh("archivist", "plan", "--no-reasons")
    demo.sh("archivist", "plan", "--due", "--json", show=False)

    demo.say("Archive: dry run, then copy + read back + verify, delete, commit")
    demo.sh("archivist", "archive")
    demo.sh("archivist", "archive", "--apply")
    demo.sh("archivist", "archive", "--apply")  # nothing left: no second commit

    demo.say("Dispose of the versions past both windows; the commit is the tombstone")
    demo.sh("archivist", "dispose", "--apply")

    demo.say("Restore the version the last retrain replaced, for an investigation")
    demo.sh("archivist", "restore", "models/clf.pkl", "--rev", commits[1],
            "--until", (today + dt.timedelta(days=90)).isoformat())
    demo.sh("archivist", "plan", "--no-reasons")

    demo.say("git log alone explains what happened")
    demo.sh("git", "log", "--format=%h %s%n%(trailers)", "-3")
    demo.sh("dvc", "status", "-c", "-q")  # the head is still complete in the active remote
