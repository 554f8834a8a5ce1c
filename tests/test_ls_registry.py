"""`archivist ls` shows each artifact's release and GTO stages, as `gto show` does."""

from __future__ import annotations

import json
import sys
import time

import pytest

from realrepo import BIN, Repo, run

DVC_YAML_ARTIFACTS = """\
artifacts:
  clf:
    path: models/clf.pkl
    type: model
"""


def gto(repo: Repo, *args: str) -> str:
    return run([BIN / "gto", *args], repo.root).stdout


@pytest.fixture
def registry(dvc_repo: Repo) -> Repo:
    """clf: v1.0.0 and v1.1.0 (new bytes) and v1.2.0 (same bytes as v1.1.0); prod on
    v1.0.0, dev on v1.2.0, staging assigned then unassigned. other.pkl: never registered."""
    repo = dvc_repo
    repo.write("models/clf.pkl", b"weights-1")
    repo.dvc("add", "-q", "models/clf.pkl")
    repo.write("models/other.pkl", b"other")
    repo.dvc("add", "-q", "models/other.pkl")
    repo.write("dvc.yaml", DVC_YAML_ARTIFACTS)
    repo.commit("clf 1")
    gto(repo, "register", "clf", "--version", "v1.0.0")
    gto(repo, "assign", "clf", "--version", "v1.0.0", "--stage", "prod")
    repo.write("models/clf.pkl", b"weights-2")
    repo.dvc("add", "-q", "models/clf.pkl")
    repo.commit("clf 2")
    gto(repo, "register", "clf", "--version", "v1.1.0")
    gto(repo, "assign", "clf", "--version", "v1.1.0", "--stage", "staging")
    repo.write("README.md", "retrained nothing\n")
    repo.commit("docs")
    gto(repo, "register", "clf", "--version", "v1.2.0")
    gto(repo, "assign", "clf", "--version", "v1.2.0", "--stage", "dev")
    gto(repo, "deprecate", "clf", "v1.1.0", "staging")  # unassign
    return repo


def test_release_and_stages_match_gto_show(registry: Repo) -> None:
    shown = json.loads(gto(registry, "show", "--json"))["clf"]
    listing = json.loads(registry.archivist("ls", "--json").stdout)
    rows = {row["path"]: row for row in listing["artifacts"]}
    clf = rows["models/clf.pkl"]
    # The current bytes were registered twice: the latest registration is the release.
    assert shown["version"] == "v1.2.0"
    assert clf["release"] == f"clf@{shown['version']}"
    assert clf["stages"] == shown["stage"] == {"prod": "v1.0.0", "dev": "v1.2.0"}
    assert rows["models/other.pkl"]["release"] is None
    assert rows["models/other.pkl"]["stages"] == {}
    table = registry.archivist("ls").stdout.splitlines()
    assert table[0].split() == ["ARTIFACT", "NAME", "TYPE", "VERSION", "RELEASE", "STAGE",
                                "TAGS"]
    (line,) = [ln for ln in table if ln.startswith("models/clf.pkl")]
    assert "clf@v1.2.0" in line and "dev, prod=v1.0.0" in line


def test_new_bytes_are_not_the_release_until_registered(registry: Repo) -> None:
    registry.write("models/clf.pkl", b"weights-3")
    registry.dvc("add", "-q", "models/clf.pkl")
    registry.commit("clf 3")
    (clf,) = [r for r in json.loads(registry.archivist("ls", "--json").stdout)["artifacts"]
              if r["path"] == "models/clf.pkl"]
    assert clf["release"] is None
    assert clf["stages"] == json.loads(gto(registry, "show", "--json"))["clf"]["stage"]
    gto(registry, "register", "clf", "--version", "v1.3.0")
    # gto stamps tags to the second, and GTO orders a tie the other way round: make the
    # deprecation plainly the later event.
    time.sleep(1.1)
    gto(registry, "deprecate", "clf")
    # A deprecated artifact has no release and no stage in force, for GTO and for ls.
    (clf,) = [r for r in json.loads(registry.archivist("ls", "--json").stdout)["artifacts"]
              if r["path"] == "models/clf.pkl"]
    assert clf["release"] is None and clf["stages"] == {}


WRAPPER = """\
import json, sys
from archivist.cli import main
code = main(sys.argv[1:])
print("\\n@@modules " + json.dumps(sorted(sys.modules)))
sys.exit(code)
"""


def test_ls_reads_git_alone(registry: Repo) -> None:
    proc = run([sys.executable, "-c", WRAPPER, "ls", "--json"], registry.root, check=False)
    assert proc.returncode == 0, proc.stderr
    body, _, modules = proc.stdout.rpartition("@@modules ")
    assert json.loads(body)["artifacts"][0]["release"] is not None
    heavy = sorted(m for m in json.loads(modules)
                   if m.split(".")[0] in ("dvc", "dvc_data", "dvc_objects", "scmrepo", "gto",
                                          "sigstore", "model_signing"))
    assert heavy == []
