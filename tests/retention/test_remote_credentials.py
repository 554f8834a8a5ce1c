"""A remote whose credentials are absent or refused: every command that opens it exits 2
with one line naming the remote and what to set, changes nothing, and prints no secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from retention.sample import Sample, md5

V1, V2, V3, V4 = (b"\0creds v%d " % i * 400 for i in range(1, 5))
# The AWS client must find no credentials anywhere, and never probe 169.254.169.254.
NO_AWS = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
          "AWS_CONFIG_FILE": "/nonexistent"}


@pytest.fixture
def no_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def archived(sample: Sample) -> str:
    """clf v1..v4, v1 and v2 archived (with credentials); then the credentials go."""
    for content, when in zip((V1, V2, V3, V4), ("2020-01-10", "2021-01-10", "2022-01-10",
                                                 "2023-06-01"), strict=True):
        sample.version("models/clf.pkl", content, when)
    sample.push_all()
    proc = sample.archivist("archive", "--apply", "--as-of", "2023-01-01")
    assert proc.returncode == 0, proc.stderr
    return md5(V1)


COMMANDS = (
    ("archive", "--apply", "--as-of", "2024-06-01"),  # v3 is due
    ("dispose", "--apply", "--as-of", "2024-08-01"),  # v1 is due
    ("restore", "models/clf.pkl", "--rev", "HEAD~4", "--as-of", "2024-01-01"),
    ("audit", "--deep"),
)


def run_all(sample: Sample, expect: str, secret: str | None = None) -> None:
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    before, head = (storage.keys(), archive.keys()), sample.head()
    for args in COMMANDS:
        proc = sample.archivist(*args, env=NO_AWS)
        assert proc.returncode == 2, (args, proc.returncode, proc.stdout, proc.stderr)
        line = proc.stderr.strip()
        assert len(line.splitlines()) == 1, (args, proc.stderr)
        assert "internal error" not in line and "Traceback" not in line
        assert expect in line, (args, line)
        assert "'storage'" in line or "'archive'" in line, line
        assert "AWS_ACCESS_KEY_ID" in line and "AWS_SECRET_ACCESS_KEY" in line, line
        assert "dvc remote modify --local" in line and "access_key_id" in line, line
        if secret is not None:
            assert secret not in proc.stdout + proc.stderr
        assert (storage.keys(), archive.keys()) == before and sample.head() == head


@pytest.mark.s3
@pytest.mark.parametrize("sample", ["s3"], indirect=True)
def test_missing_credentials_are_one_line_exit_2(sample: Sample, no_aws_env: None) -> None:
    archived(sample)
    (sample.root / ".dvc" / "config.local").unlink()
    run_all(sample, "needs credentials and none were found")


@pytest.mark.s3
@pytest.mark.parametrize("sample", ["s3"], indirect=True)
def test_refused_credentials_are_one_line_and_never_printed(sample: Sample,
                                                            no_aws_env: None) -> None:
    archived(sample)
    secret = "wrongSecretKey0123456789abcdefWRONG"
    for name in ("storage", "archive"):
        sample.dvc("remote", "modify", "--local", name, "secret_access_key", secret)
    run_all(sample, "refused access with the credentials", secret)


@pytest.mark.s3
@pytest.mark.parametrize("sample", ["s3"], indirect=True)
def test_a_fetch_into_the_cache_names_the_remote_too(sample: Sample, no_aws_env: None,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    from archivist.remotes import MissingCredentials, fetch_objects
    from retention.remotes_helpers import cache_oids, fresh_clone

    for name, value in NO_AWS.items():
        monkeypatch.setenv(name, value)
    archived(sample)
    clone = fresh_clone(sample, tmp_path / "clone")
    v3 = md5(V3)
    assert fetch_objects(clone.root, [v3], "md5", "storage") == 1  # the path works
    assert v3 in cache_oids(clone)
    (clone.root / ".dvc" / "config.local").unlink()
    with pytest.raises(MissingCredentials) as caught:
        fetch_objects(clone.root, [md5(V4)], "md5", "storage")
    text = str(caught.value)
    assert "'storage'" in text and "AWS_ACCESS_KEY_ID" in text and "\n" not in text
    assert md5(V4) not in cache_oids(clone)
