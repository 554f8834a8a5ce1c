"""Holds hold what they name: paths are normalised, versions must be full hashes."""

from __future__ import annotations

import hashlib
import json

import pytest

from archivist.errors import ConfigError
from archivist.policy import parse_policy
from realrepo import Repo

V1, V2 = b"weights, first training\n", b"weights, second training\n"
FULL = hashlib.md5(V1).hexdigest()


def policy(hold: str) -> str:
    return ("version: 1\nbranch: main\nremotes: {active: storage, archive: archive}\n"
            "retention:\n  default: standard\n  classes:\n"
            "    standard: {active: 30d, archive: 1y}\n"
            f"  holds:\n    - {hold}\n")


@pytest.mark.parametrize("written", ["models/a.bin", "./models/a.bin", "models/a.bin/",
                                     "models//a.bin", "/models/a.bin", "./models/./a.bin/"])
def test_hold_paths_are_normalised(written: str) -> None:
    (hold,) = parse_policy(policy(f"{{path: '{written}', reason: LH-1}}")).retention.holds
    assert hold.path == "models/a.bin"
    assert hold.covers("models/a.bin") and not hold.covers("models/a.bin2")


def test_a_folder_hold_covers_what_is_below_it() -> None:
    (hold,) = parse_policy(policy("{path: models/, reason: LH-1}")).retention.holds
    assert hold.path == "models"
    assert hold.covers("models/a.bin") and hold.covers("models/deep/b.bin")
    assert not hold.covers("modelsx/a.bin")


@pytest.mark.parametrize("written", [FULL, f"md5:{FULL}", f"md5:{FULL.upper()}",
                                     f"' {FULL} '"])
def test_full_hashes_are_accepted_as_one_label(written: str) -> None:
    text = policy(f"{{path: models/a.bin, reason: LH-1, version: {written}}}")
    (hold,) = parse_policy(text).retention.holds
    assert hold.version == f"md5:{FULL}"


def test_a_folder_version_keeps_its_dir_suffix() -> None:
    text = policy(f"{{path: data, reason: LH-1, version: 'md5:{FULL}.dir'}}")
    (hold,) = parse_policy(text).retention.holds
    assert hold.version == f"md5:{FULL}.dir"


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("md5:4f98f59e877e", "hold version 'md5:4f98f59e877e' is not a full hash"),
        (f"md5:{FULL}x", "is not a full hash"),
        (f"sha256:{FULL}", "is not a full hash"),
        ("'0012345678901234567890123456789'", "is not a full hash"),
        ("12345678901234567890", "is not a full hash (YAML read it as a number)"),
        ("[a]", "hold version must be a hash, not a list"),
    ],
)
def test_short_or_wrong_versions_are_refused_naming_the_line(written: str, problem: str) -> None:
    text = policy(f"{{path: models/a.bin, reason: LH-1,\n       version: {written}}}")
    with pytest.raises(ConfigError) as info:
        parse_policy(text)
    message = str(info.value)
    assert message.startswith("archivist.yaml:10: ") and problem in message
    assert "\n" not in message


@pytest.mark.parametrize(("written", "problem"), [
    (".", "names the whole repository"), ("./", "names the whole repository"),
    ("../elsewhere/a.bin", "is outside the repository"),
    ("models/../../a.bin", "is outside the repository"),
])
def test_hold_paths_outside_the_repository_are_refused(written: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=f"archivist.yaml:9: hold path .* {problem}"):
        parse_policy(policy(f"{{path: '{written}', reason: LH-1}}"))


def _history(repo: Repo) -> None:
    """models/a.bin: V1 committed in 2020, replaced by V2 a month later."""
    for data, when in ((V1, "2020-01-01"), (V2, "2020-02-01")):
        repo.write("models/a.bin", data)
        repo.dvc("add", "-q", "models/a.bin")
        stamp = f"{when}T12:00:00+00:00"
        repo.git("add", "--", "models/a.bin.dvc", "models/.gitignore")
        repo.git("commit", "-q", "--no-verify", "-m", f"model of {when}",
                 env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})


def test_a_hold_written_loosely_holds_the_version(dvc_repo: Repo) -> None:
    _history(dvc_repo)
    dvc_repo.write("archivist.yaml", policy(
        f"{{path: ./models/a.bin/, reason: LH-1, version: 'MD5:{FULL.upper()}'}}"
        .replace("MD5:", "md5:")))
    dvc_repo.commit("policy", "archivist.yaml")
    proc = dvc_repo.archivist("plan", "--json", "--as-of", "2026-01-01")
    assert proc.returncode == 0, proc.stderr
    (item,) = [i for i in json.loads(proc.stdout)["items"] if i["version"] == f"md5:{FULL}"]
    assert item["state"] == "held" and item["action"] == "keep", item
    assert item["hold"] == "LH-1"


def test_the_short_form_plan_prints_is_refused_by_every_command(dvc_repo: Repo) -> None:
    _history(dvc_repo)
    dvc_repo.write("archivist.yaml", policy(
        "{path: models/a.bin, reason: LH-1, version: 'md5:" + FULL[:12] + "'}"))
    dvc_repo.commit("policy", "archivist.yaml")
    for args in (("plan",), ("check", "--all")):
        proc = dvc_repo.archivist(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        (line,) = proc.stderr.strip().splitlines()
        assert f"archivist.yaml:9: hold version 'md5:{FULL[:12]}' is not a full hash" in line
