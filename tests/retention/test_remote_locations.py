"""Two remote names for one place (or one inside the other) are refused before any copy or
delete: archive would copy onto the original, then delete the only copy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from retention.remotes_helpers import A, B, C, D
from retention.sample import Sample, md5
from retention.seaweed import SeaweedS3


def folder_history(sample: Sample) -> set[str]:
    """data/ v1 = {a, b, c} due for archive on 2022-01-01; v2 = {a, d} current."""
    sample.version("data", {"a": A, "b": B, "c": C}, "2020-01-10")
    v1 = sample.digest("data")
    sample.version("data", {"a": A, "d": D}, "2021-01-10")
    sample.push_all()
    return {v1, md5(A), md5(B), md5(C)}


def assert_refused_and_intact(sample: Sample, v1: set[str], words: str) -> None:
    storage = sample.remotes["storage"]
    before, head = storage.keys(), sample.head()
    proc = sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert words in proc.stderr and "'storage'" in proc.stderr and "'archive'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert storage.keys() == before and sample.head() == head
    assert all(storage.intact(oid) for oid in v1), "the only copy of v1 was touched"


def _storage_dir(sample: Sample) -> Path:
    return sample.root.parent / "remotes" / "storage"


@pytest.mark.parametrize("spelling", ["dot", "relative-to-dvc-dir", "symlink", "trailing"])
def test_local_spellings_of_one_folder_are_refused(local_sample: Sample,
                                                   spelling: str) -> None:
    v1 = folder_history(local_sample)
    storage = _storage_dir(local_sample)
    if spelling == "dot":
        url = f"{storage.parent}/./storage/."
    elif spelling == "relative-to-dvc-dir":  # DVC reads a relative URL from .dvc/
        url = os.path.relpath(storage, local_sample.root / ".dvc")
        # written as is: `dvc remote modify` would read it relative to the cwd instead
        config = local_sample.read(".dvc/config")
        archive_dir = local_sample.root.parent / "remotes" / "archive"
        local_sample.write(".dvc/config", config.replace(f"url = {archive_dir}",
                                                         f"url = {url}"))
        assert f"url = {url}" in local_sample.read(".dvc/config")
        url = ""
    elif spelling == "symlink":
        alias = local_sample.root.parent / "alias"
        alias.symlink_to(storage, target_is_directory=True)
        url = str(alias)
    else:
        url = f"{storage}//"
    if url:
        local_sample.dvc("remote", "modify", "archive", "url", url)
    local_sample.commit("archive remote moved", ".dvc/config")
    assert_refused_and_intact(local_sample, v1, "the same place")


@pytest.mark.parametrize("nesting", ["archive-inside-active", "active-inside-archive"])
def test_local_remote_inside_the_other_is_refused(local_sample: Sample, nesting: str) -> None:
    v1 = folder_history(local_sample)
    storage = _storage_dir(local_sample)
    url = f"{storage}/cold" if nesting == "archive-inside-active" else str(storage.parent)
    local_sample.dvc("remote", "modify", "archive", "url", url)
    local_sample.commit("archive remote moved", ".dvc/config")
    assert_refused_and_intact(local_sample, v1, "one inside the other")


@pytest.mark.s3
@pytest.mark.parametrize("sample", ["s3"], indirect=True)
@pytest.mark.parametrize("spelling", ["dot-and-slashes", "endpoint-spelling", "inside"])
def test_s3_spellings_of_one_prefix_are_refused(sample: Sample, s3_server: SeaweedS3,
                                                spelling: str) -> None:
    server = s3_server
    v1 = folder_history(sample)
    prefix = sample.read(".dvc/config").split("s3://storage/", 1)[1].split()[0]
    endpoint = server.endpoint
    words = "the same place"
    if spelling == "dot-and-slashes":
        url = f"s3://storage/./{prefix}//"
    elif spelling == "endpoint-spelling":
        url = f"s3://storage/{prefix}/"
        endpoint = endpoint.replace("http://", "HTTP://") + "/"
    else:
        url, words = f"s3://storage/{prefix}/cold", "one inside the other"
    sample.dvc("remote", "modify", "archive", "url", url)
    sample.dvc("remote", "modify", "archive", "endpointurl", endpoint)
    sample.commit("archive remote moved", ".dvc/config")
    assert_refused_and_intact(sample, v1, words)


def test_distinct_places_stay_distinct() -> None:
    from archivist.remotes import location_of

    def s3(path: str, endpoint: str = "http://127.0.0.1:9000") -> object:
        return location_of("s3", path, f"s3://{path}", {"client_kwargs": {
            "endpoint_url": endpoint}})

    assert not s3("storage/p").overlaps(s3("storage/p2"))  # a sibling prefix
    assert not s3("storage/p").overlaps(s3("archive/p"))  # another bucket
    assert not s3("storage/p").overlaps(s3("storage/p", "http://127.0.0.1:9001"))
    assert s3("storage/p/").overlaps(s3("storage/./p"))
    assert s3("storage/p").overlaps(s3("storage/p", "http://127.0.0.1:9000/"))
    local = location_of("local", "/srv/dvc/storage", "/srv/dvc/storage", {})
    assert not local.overlaps(location_of("local", "/srv/dvc/storage2", "", {}))
    assert local.overlaps(location_of("local", "/srv/dvc/storage/../storage/x", "", {}))
    assert not local.overlaps(s3("srv/dvc/storage"))
