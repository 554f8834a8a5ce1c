"""Demo step: the audit reads the whole story back from git, as a table and as HTML."""

from __future__ import annotations

from _demo import Demo


def run(demo: Demo) -> None:
    demo.say("The audit: who did what to which artifact, and what is out of policy")
    # exit 1 means findings: on a sample that shows every feature there may be some
    proc = demo.sh("archivist", "audit", expect=None)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"demo: archivist audit exited {proc.returncode}\n{proc.stderr}")
    report = demo.work / "audit.html"
    demo.sh("archivist", "audit", "--output", str(report), expect=proc.returncode)
    demo.sh("git", "log", "-6", "--format=%h %an: %s %(trailers:key=Archivist-Event,valueonly)")
    print(f"The HTML report (one self-contained file, opens offline): {report}", flush=True)
