"""The CI templates parse as YAML and run only archivist commands and options that exist."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from realrepo import PROJECT, archivist

TEMPLATES = PROJECT / "templates" / "ci"
FILES = sorted([*TEMPLATES.glob("github/*.yml"), *TEMPLATES.glob("gitlab/*.gitlab-ci.yml")])


def _scripts(node: Any) -> Iterator[str]:
    """Every shell snippet: GitHub steps' `run`, GitLab jobs' script sections."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                yield value
            elif key in ("script", "before_script", "after_script"):
                yield from (v for v in ([value] if isinstance(value, str) else value)
                            if isinstance(v, str))
            else:
                yield from _scripts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _scripts(item)


def _archivist_calls(script: str) -> Iterator[list[str]]:
    for line in script.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0]
        for match in re.finditer(r"(?:^|[;&|(]\s*|\s)archivist\s+([^;&|)]*)", line):
            words = shlex.split(match.group(1), posix=True)
            if words and not words[0].startswith("-"):
                yield words


def _help(*args: str) -> str:
    proc = archivist(*args, "--help", cwd=PROJECT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_template_is_there() -> None:
    names = {p.relative_to(TEMPLATES).as_posix() for p in FILES}
    assert names == {"github/merge-gate.yml", "github/release.yml", "github/retention.yml",
                     "gitlab/merge-gate.gitlab-ci.yml", "gitlab/release.gitlab-ci.yml",
                     "gitlab/retention.gitlab-ci.yml"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(TEMPLATES).as_posix())
def test_template_runs_existing_commands_and_options(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data
    calls = [c for s in _scripts(data) for c in _archivist_calls(s)]
    assert calls, f"{path.name} runs no archivist command"
    commands = _help()
    for words in calls:
        sub = words[0]
        assert re.search(rf"^\s+{re.escape(sub)}\b", commands, re.M), \
            f"{path.name}: `archivist {sub}` is not in `archivist --help`"
        sub_help = _help(sub)
        for word in words[1:]:
            if word.startswith("--"):
                flag = word.split("=", 1)[0]
                assert re.search(rf"(^|[\s\[,]){re.escape(flag)}\b", sub_help), \
                    f"{path.name}: `archivist {sub}` has no option {flag}"


def test_github_workflows_ask_for_what_they_need() -> None:
    gate = yaml.safe_load((TEMPLATES / "github/merge-gate.yml").read_text())
    release = yaml.safe_load((TEMPLATES / "github/release.yml").read_text())
    retention = yaml.safe_load((TEMPLATES / "github/retention.yml").read_text())
    on = lambda d: d.get("on", d.get(True))  # noqa: E731 - YAML 1.1 reads `on:` as true
    assert "pull_request" in on(gate)
    assert gate["permissions"] == {"contents": "read"}
    assert release["permissions"]["id-token"] == "write"
    assert on(release)["push"]["tags"] == ["release/**"]
    assert on(retention)["schedule"][0]["cron"]
    assert retention["permissions"]["contents"] == "write"
    runs = " ".join(_scripts(gate))
    assert "--from-ref" in runs and "GITHUB_STEP_SUMMARY" in runs
    steps = gate["jobs"]["gate"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    retention_runs = " ".join(_scripts(retention))
    assert "archive --apply" in retention_runs and "dispose --apply" in retention_runs
    assert "git push" in retention_runs


def test_gitlab_jobs_ask_for_what_they_need() -> None:
    gate = yaml.safe_load((TEMPLATES / "gitlab/merge-gate.gitlab-ci.yml").read_text())
    release = yaml.safe_load((TEMPLATES / "gitlab/release.gitlab-ci.yml").read_text())
    retention = yaml.safe_load((TEMPLATES / "gitlab/retention.gitlab-ci.yml").read_text())
    assert "merge_request_event" in gate["archivist-merge-gate"]["rules"][0]["if"]
    job = release["archivist-release"]
    assert job["id_tokens"]["SIGSTORE_IDENTITY_TOKEN"]["aud"] == "sigstore"
    assert "schedule" in retention["archivist-retention"]["rules"][0]["if"]
    for data in (gate, release, retention):
        job = next(iter(data.values()))
        assert job["variables"]["GIT_DEPTH"] == "0"
