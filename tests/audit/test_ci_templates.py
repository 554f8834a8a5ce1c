"""The CI templates and the GitHub Action: valid for GitHub's and GitLab's own schemas, pinned
by commit, running only archivist commands and options that exist, and naming keyless
identities that archivist's own matching accepts for the runs they describe (and no other).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from archivist.policy import parse_policy
from archivist.release.trust import match_identity
from realrepo import BIN, PROJECT, archivist, run

TEMPLATES = PROJECT / "templates" / "ci"
FILES = sorted([*TEMPLATES.glob("github/*.yml"), *TEMPLATES.glob("gitlab/*.gitlab-ci.yml")])
ACTION = PROJECT / "action.yml"
PLACEHOLDER = "0" * 40


def _scripts(node: Any) -> Iterator[str]:
    """Every shell snippet: GitHub steps' `run`, GitLab jobs' script sections, and the
    archivist command a step runs through the action (`with: {command, args}`)."""
    if isinstance(node, dict):
        if str(node.get("uses", "")).startswith("ORG/archivist@") and node.get("with"):
            yield f"archivist {node['with']['command']} {node['with'].get('args', '')}"
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
    assert "archivist push" in retention_runs


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


def _load(rel: str) -> Any:
    return yaml.safe_load((TEMPLATES / rel).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("schema", "paths"), [
    ("vendor.github-workflows", sorted(TEMPLATES.glob("github/*.yml"))),
    ("vendor.gitlab-ci", sorted(TEMPLATES.glob("gitlab/*.yml"))),
    ("vendor.github-actions", [ACTION]),
], ids=["github-workflows", "gitlab-ci", "github-action"])
def test_templates_pass_the_platforms_own_schemas(schema: str, paths: list[Path]) -> None:
    # --no-cache: the schema is check-jsonschema's vendored copy, read offline.
    proc = run([BIN / "check-jsonschema", "--no-cache", "--builtin-schema", schema,
                *paths], PROJECT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok -- validation done" in proc.stdout


def test_schema_check_fails_on_a_broken_workflow(tmp_path: Path) -> None:
    """The schema check above can fail: a step with both `uses` and `run` is refused."""
    bad = _load("github/merge-gate.yml")
    bad["jobs"]["gate"]["steps"][0]["run"] = "true"
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    proc = run([BIN / "check-jsonschema", "--no-cache", "--builtin-schema",
                "vendor.github-workflows", path], PROJECT, check=False)
    assert proc.returncode == 1


def _uses(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "uses" and isinstance(value, str):
                yield value
            else:
                yield from _uses(value)
    elif isinstance(node, list):
        for item in node:
            yield from _uses(item)


@pytest.mark.parametrize("rel", ["github/merge-gate.yml", "github/release.yml",
                                 "github/retention.yml"])
def test_github_actions_are_pinned_by_commit(rel: str) -> None:
    uses = list(_uses(_load(rel)))
    assert any(u.startswith("ORG/archivist@") for u in uses)
    for u in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u), f"{rel}: {u} is not pinned"
    text = (TEMPLATES / rel).read_text(encoding="utf-8")
    assert f"every {PLACEHOLDER}" in text, "the header says what to replace"
    assert "pip install" not in text, "archivist comes from the pinned action only"


def test_the_action_installs_from_its_own_checkout() -> None:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    install = action["runs"]["steps"][0]["run"]
    assert '"$GITHUB_ACTION_PATH[all]"' in install and "-m venv" in install
    assert set(action["inputs"]) == {"command", "args", "python"}


@pytest.mark.parametrize("rel", ["gitlab/merge-gate.gitlab-ci.yml",
                                 "gitlab/release.gitlab-ci.yml",
                                 "gitlab/retention.gitlab-ci.yml"])
def test_gitlab_installs_a_pinned_commit(rel: str) -> None:
    job = next(iter(_load(rel).values()))
    package = job["variables"]["ARCHIVIST_PACKAGE"]
    assert re.fullmatch(r"archivist\[all\] @ git\+https://\S+\.git@[0-9a-f]{40}", package)
    assert any('pip install --quiet "$ARCHIVIST_PACKAGE"' in line
               for line in job["before_script"])
    assert "after_script" not in job, "after_script failures never fail a GitLab job"


def test_no_workflow_reads_the_default_branch_on_a_schedule() -> None:
    retention = _load("github/retention.yml")
    text = (TEMPLATES / "github/retention.yml").read_text(encoding="utf-8")
    assert "default_branch" not in text  # empty in a schedule event's payload
    assert retention["jobs"]["retention"]["env"]["BRANCH"] == "${{ github.ref_name }}"


def test_concurrency_queues_releases_per_request_and_never_cancels() -> None:
    release = _load("github/release.yml")
    retention = _load("github/retention.yml")
    assert release["concurrency"]["cancel-in-progress"] is False
    assert retention["concurrency"]["cancel-in-progress"] is False
    group = release["concurrency"]["group"]
    assert "github.ref_name" in group and "inputs.name" in group and "inputs.version" in group
    assert group != retention["concurrency"]["group"]
    gl_release = _load("gitlab/release.gitlab-ci.yml")["archivist-release"]
    gl_retention = _load("gitlab/retention.gitlab-ci.yml")["archivist-retention"]
    assert "$CI_COMMIT_TAG" in gl_release["resource_group"]
    assert gl_release["interruptible"] is False and gl_retention["interruptible"] is False


def test_signing_method_comes_from_the_policy() -> None:
    for rel in ("github/release.yml", "gitlab/release.gitlab-ci.yml"):
        text = (TEMPLATES / rel).read_text(encoding="utf-8")
        assert "--sign" not in text, f"{rel} overrides the policy's signing.method"


def test_github_release_verifies_before_it_pushes() -> None:
    steps = _load("github/release.yml")["jobs"]["release"]["steps"]
    runs = [s.get("run", "") for s in steps]
    verify = next(i for i, r in enumerate(runs) if "archivist verify" in r)
    push = next(i for i, r in enumerate(runs) if "archivist push" in r)
    assert verify < push


# Keyless identities, as the certificate names them. GitLab's Fulcio identity is
# "https://" + the ci_config_ref_uri claim, which GitLab documents as
# gitlab.com/GROUP/PROJECT//.gitlab-ci.yml@REF, REF the ref the pipeline runs for.

def _identity_rules(text: str, group: str, project: str) -> Any:
    """The `{issuer, identity}` entries the text documents (comments or Markdown), for this
    group/repository, parsed by archivist's own policy loader."""
    plain = "\n".join(re.sub(r"^\s*#\s?", "", line) for line in text.splitlines())
    entries = re.findall(r"\{issuer:\s*\"[^\"]*\",\s*identity:\s*\"[^\"]*\"\}", plain)
    assert entries, "no identities documented"
    body = "".join(f"    - {' '.join(e.split())}\n" for e in entries)
    for placeholder, value in (("GROUP", group), ("PROJECT", project), ("ORG", group),
                               ("REPO", project)):
        body = body.replace(placeholder, value)
    policy = parse_policy(f"version: 1\nsigning:\n  method: sigstore\n  identities:\n{body}")
    assert policy.signing is not None
    return policy.signing.identities


def _gitlab_identity(group: str, project: str, ref: str) -> str:
    claim = f"gitlab.com/{group}/{project}//.gitlab-ci.yml@{ref}"
    return f"https://{claim}"


@pytest.mark.parametrize("text", [
    (TEMPLATES / "gitlab/release.gitlab-ci.yml").read_text(encoding="utf-8"),
    (PROJECT / "docs/ci.md").read_text(encoding="utf-8").split("GitLab keyless", 1)[1],
], ids=["template", "docs"])
def test_gitlab_keyless_identity_matches_the_tag_pipeline(text: str) -> None:
    rules = _identity_rules(text, "acme", "models")
    issuer = ["https://gitlab.com"]
    ok = _gitlab_identity("acme", "models", "refs/tags/release/clf/v1.2.0")
    assert match_identity([ok], issuer, rules) is not None
    for other in (_gitlab_identity("acme", "models", "refs/heads/main"),
                  _gitlab_identity("acme", "models", "refs/tags/v1.2.0"),
                  _gitlab_identity("acme", "other", "refs/tags/release/clf/v1.2.0"),
                  _gitlab_identity("acme", "models", "refs/tags/release/a@refs/heads/x")):
        assert match_identity([other], issuer, rules) is None, other
    assert match_identity([ok], ["https://token.actions.githubusercontent.com"], rules) is None


def test_github_keyless_identities_are_tight() -> None:
    docs = (PROJECT / "docs/ci.md").read_text(encoding="utf-8").split("GitHub keyless", 1)[1]
    manual, tagged = _identity_rules(docs.split("GitLab keyless", 1)[0], "acme", "models")
    issuer = ["https://token.actions.githubusercontent.com"]
    base = "https://github.com/acme/models/.github/workflows/release.yml@"
    assert match_identity([base + "refs/heads/main"], issuer, [manual]) is not None
    assert match_identity([base + "refs/tags/release/clf/v1.2.0"], issuer, [tagged]) is not None
    for other in (base + "refs/heads/feature", base + "refs/tags/v1.2.0",
                  base + "refs/heads/main2", base + "refs/heads/release/x",
                  "https://github.com/acme/models/.github/workflows/other.yml@refs/heads/main",
                  "https://github.com/acme/modelsX/.github/workflows/release.yml@refs/heads/main",
                  "https://github.com/acme/models/.github/workflows/release.yml@refs/tags/"
                  "release/x@refs/heads/dev"):
        assert match_identity([other], issuer, [manual, tagged]) is None, other
    assert match_identity([base + "refs/heads/main"], ["https://gitlab.com"],
                          [manual, tagged]) is None
    header = (TEMPLATES / "github/release.yml").read_text(encoding="utf-8")
    assert r"^https://github\.com/ORG/REPO/\.github/workflows/release\.yml@refs/heads/main$" \
        in header


def test_github_gate_reports_whatever_the_tag_check_said() -> None:
    steps = _load("github/merge-gate.yml")["jobs"]["gate"]["steps"]
    by_name = {s.get("name"): s for s in steps}
    assert by_name["Audit report in the job summary"]["if"] == "always()"
    assert "cancelled()" in by_name["Release signatures"]["if"]
    checkout = steps[0]
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"
