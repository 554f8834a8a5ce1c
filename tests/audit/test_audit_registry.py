"""GTO events and policy holds in the audit's timelines: the registry is made with the real
``gto`` CLI (``gto show`` is the oracle for what it holds), holds with commits of
archivist.yaml."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from realrepo import Repo, run

from .auditrepo import AuditRepo

BIN = Path(sys.executable).parent
DVC_YAML = "artifacts:\n  clf:\n    path: models/clf.pkl\n    type: model\n"
POLICY = """\
version: 1
branch: main
remotes: {active: storage, archive: archive}
retention:
  default: standard
  classes:
    standard: {active: 180d, archive: 3y}
"""


def gto(repo: Repo, *args: str) -> str:
    # GTO orders events by the tagger date, in seconds: one event per second
    time.sleep(1.05 - (time.time() % 1))
    return run([BIN / "gto", *args], repo.root).stdout


def test_gto_events_in_the_artifact_timeline(dvc_repo: Repo) -> None:
    repo = AuditRepo(dvc_repo.root)
    repo.write("archivist.yaml", POLICY)
    repo.write("dvc.yaml", DVC_YAML)
    repo.write("models/clf.pkl", b"weights v1\n" * 100)
    repo.dvc("add", "-q", "models/clf.pkl")
    first = repo.commit("clf v1")
    repo.write("models/clf.pkl", b"weights v2\n" * 100)
    repo.dvc("add", "-q", "models/clf.pkl")
    second = repo.commit("clf v2")
    repo.dvc("push", "-q")

    gto(repo, "register", "clf", first, "--version", "v1.0.0")
    gto(repo, "register", "clf", second, "--version", "v1.1.0")
    gto(repo, "assign", "clf", "--version", "v1.0.0", "--stage", "prod")
    gto(repo, "assign", "clf", "--version", "v1.1.0", "--stage", "dev")
    gto(repo, "deprecate", "clf", "v1.1.0", "dev")  # unassignment
    gto(repo, "deprecate", "clf", "v1.0.0")  # deregistration
    gto(repo, "deprecate", "clf")  # the artifact itself
    tags = set(repo.git("tag", "-l").stdout.split())
    assert json.loads(gto(repo, "show", "--json")) == {}  # GTO: a deprecated artifact shows nothing

    proc = repo.archivist("audit", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    ours = [e for e in report["events"] if e["details"].get("source") == "gto"]
    assert {e["details"]["tag"] for e in ours} == tags
    assert [(e["kind"], e["details"]["tag"].split("#")[0]) for e in ours] == [
        ("registration", "clf@v1.0.0"),
        ("registration", "clf@v1.1.0"),
        ("assignment", "clf"),
        ("assignment", "clf"),
        ("unassignment", "clf"),
        ("deregistration", "clf@v1.0.0!"),
        ("deprecation", "clf@deprecated"),
    ]
    # the tagger git records for each tag (the test environment's committer)
    taggers = dict(line.split(" ", 1) for line in repo.git(
        "for-each-ref", "--format=%(refname:short) %(taggername) %(taggeremail)",
        "refs/tags").stdout.splitlines())
    assert {e["details"]["tag"]: e["details"]["tagger"] for e in ours} == taggers
    assert {e["author"] for e in ours} == {t.split(" <")[0] for t in taggers.values()}
    assert {e["artifact"] for e in ours} == {"models/clf.pkl"}
    # each on the commit and the DVC version its tag names, dated by the tagger
    by_tag = {e["details"]["tag"]: e for e in ours}
    v1 = "md5:" + repo.git("show", f"{first}:models/clf.pkl.dvc").stdout.split("md5: ")[1][:32]
    assert by_tag["clf@v1.0.0"]["commit"] == first
    assert by_tag["clf@v1.0.0"]["version"] == v1
    prod = next(t for t in tags if "#prod#" in t)
    assert (by_tag[prod]["details"]["stage"], by_tag[prod]["commit"]) == ("prod", first)
    tagged = repo.git("for-each-ref", "--format=%(taggerdate:iso-strict)",
                      f"refs/tags/{prod}").stdout.strip()
    assert by_tag[prod]["date"].replace("+00:00", "") == tagged.replace("+00:00", "") \
        .replace("Z", "")
    # the artifact's timeline in the table shows them too
    text = repo.archivist("audit", "--artifact", "models/clf.pkl").stdout
    assert "registration" in text and "deprecation" in text


def test_holds_added_and_removed_are_events(fresh: AuditRepo) -> None:
    """The base history adds a hold on models/legal/** (Ana) and removes it (Carol)."""
    repo = fresh
    policy = repo.read("archivist.yaml")
    repo.write("archivist.yaml", policy.replace("  holds: []\n", (
        '  holds:\n    - {path: models/clf.pkl, reason: "audit AU-7", until: 2031-01-01}\n')))
    held = repo.commit_as("hold the classifier", "2024-01-05", "eve", "archivist.yaml")
    _, report = repo.audit_json()
    holds = [(e["kind"], e["artifact"], e["author"], e["date"][:10], e["details"]["reason"])
             for e in report["events"] if e["kind"] in ("hold", "hold-removed")]
    assert holds == [
        ("hold", "models/legal/**", "Ana Lima", "2023-01-02", "legal hold LH-114"),
        ("hold-removed", "models/legal/**", "Carol Diaz", "2023-10-01", "legal hold LH-114"),
        ("hold", "models/clf.pkl", "Eve Park", "2024-01-05", "audit AU-7"),
    ]
    last = [e for e in report["events"] if e["kind"] == "hold"][-1]
    assert last["commit"] == held and last["details"]["until"] == "2031-01-01"
    assert last["details"]["path"] == "models/clf.pkl"
    carol = next(e for e in report["events"] if e["kind"] == "hold-removed")
    assert carol["commit"] == repo.git(
        "log", "--format=%H", "--author=Carol", "--", "archivist.yaml").stdout.strip()
