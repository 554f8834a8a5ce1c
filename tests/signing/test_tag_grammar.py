"""One tag grammar, GTO's: what verify lists as a release is what retention pins, and both
are what the real ``gto`` reads as a registration."""

from __future__ import annotations

import json
import os

from signing_helpers import BIN, DVC_YAML, POLICY_KEY, KeyPair, run

from archivist import gto_tags
from archivist.release import names as release_names
from realrepo import Repo

POLICY = POLICY_KEY + """\
retention:
  default: standard
  classes:
    standard: {active: 30d, archive: 1y}
    regulated: {active: 1y, archive: 10y}
  releases: regulated
"""


def _gto(repo: Repo, *args: str) -> str:
    return run([BIN / "gto", *args], repo.root, check=False).stdout


def _versions(repo: Repo, keys: KeyPair) -> dict[str, str]:
    """Three versions of models/clf.pkl on three commits; version -> its md5 label."""
    repo.write("dvc.yaml", DVC_YAML)
    repo.write("archivist.yaml", POLICY)
    repo.write("keys/release.pub", keys.public_pem)
    labels = {}
    for n in ("a", "b", "c"):
        repo.write("models/clf.pkl", os.urandom(4096))
        repo.dvc("add", "-q", "models/clf.pkl")
        repo.git("add", "-A")
        repo.commit(f"model {n}")
        text = repo.read("models/clf.pkl.dvc")
        labels[n] = "md5:" + text.split("md5: ")[1].split()[0]
        if n == "a":
            repo.git("tag", "-a", "clf@1.0.0", "-m", "no v: not GTO's")
        if n == "b":
            repo.git("tag", "-a", "clf@v1.1.0", "-m", "Registering artifact clf version v1.1.0")
    return labels


def test_release_listing_and_retention_agree_with_gto(dvc_repo, keys) -> None:
    repo = dvc_repo
    labels = _versions(repo, keys)
    # GTO itself: clf@v1.1.0 registers a version, clf@1.0.0 is not a GTO tag at all.
    assert json.loads(_gto(repo, "check-ref", "--json", "clf@v1.1.0"))["event"] == \
        "registration"
    assert _gto(repo, "check-ref", "clf@1.0.0").strip() == ""
    shown = json.loads(_gto(repo, "show", "clf", "--json"))
    assert [v["version"] for v in shown] == ["v1.1.0"]

    # archivist's release listing: the same one tag (unsigned, so it fails, but it is seen)
    proc = repo.archivist("verify", "--json")
    listed = {r["tag"]: r["status"] for r in json.loads(proc.stdout)["releases"]}
    assert listed == {"clf@v1.1.0": "unsigned"}
    # retention: only GTO's registration pins a version into the release class
    plan = json.loads(repo.archivist("plan", "--json", "--as-of", "2090-01-01").stdout)
    items = {i["version"]: i for i in plan["items"]}
    assert items[labels["b"]]["release"] == "clf@v1.1.0"
    assert items[labels["b"]]["retention_class"] == "regulated"
    assert items[labels["a"]]["retention_class"] == "standard"
    assert items[labels["a"]].get("release") is None


def test_stage_counter_is_the_one_gto_gives(dvc_repo, keys) -> None:
    """GTO numbers a new event tag one past the highest #N on any of the artifact's tags
    (not only its stage tags): archivist's --stage tag takes the number gto would."""
    repo = dvc_repo
    _versions(repo, keys)
    repo.git("tag", "-a", "clf@v1.1.0!#6", "HEAD~1", "-m", "Deregistering v1.1.0")
    repo.git("tag", "-a", "clf#dev#2", "HEAD~1", "-m", "Assigning stage dev")
    tags = repo.git("tag", "-l").stdout.split()
    predicted = release_names.next_stage_counter(tags, "clf")
    run([BIN / "gto", "assign", "clf", "HEAD", "--version", "v2.0.0", "--stage", "staging"],
        repo.root)
    made = set(repo.git("tag", "-l").stdout.split()) - set(tags)
    made_by_gto = [t for t in made if t.startswith("clf#staging#")]
    assert made_by_gto == [f"clf#staging#{predicted}"] and predicted == 7
    parsed = gto_tags.parse(made_by_gto[0])
    assert parsed is not None and parsed.counter == predicted
