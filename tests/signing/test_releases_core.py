"""The pure parts of releases: tag names, SemVer, the tag message, manifest differences."""

from __future__ import annotations

import pytest

from archivist.dvcfiles import Artifact
from archivist.errors import ConfigError, UsageError
from archivist.release import names as release_names


def _artifact(path: str, name: str | None = None) -> Artifact:
    return Artifact(path=path, declared_in=f"{path}.dvc", line=1, tags_in=f"{path}.dvc",
                    tags_line=1, name=name)


def test_tag_names_follow_gto() -> None:
    assert release_names.tag_name("clf", "v1.2.0") == "clf@v1.2.0"
    assert release_names.tag_name("nested/dir:clf", "v1.2.0-rc.1") == "nested/dir=clf@v1.2.0-rc.1"
    assert release_names.stage_tag_name("clf", "prod", 3) == "clf#prod#3"
    assert release_names.parse_release_tag("nested/dir=clf@v2.0.0") == ("nested/dir:clf", "v2.0.0")
    assert release_names.parse_release_tag("clf#prod#1") is None
    assert release_names.parse_release_tag("v1.0.0") is None
    assert release_names.parse_release_tag("clf@1.0.0") is None  # GTO: no v, no release
    assert release_names.parse_release_tag("clf@v1.0.0#3") == ("clf", "v1.0.0")
    assert release_names.parse_release_tag("clf@v1.0.0!#4") is None  # a deregistration


@pytest.mark.parametrize("bad", ["1.2.0", "v1.2", "v01.2.0", "vX", "v1.2.0 "])
def test_version_must_be_semver_with_v(bad: str) -> None:
    with pytest.raises(UsageError) as exc:
        release_names.check_version(bad)
    assert "SemVer" in exc.value.message
    if bad == "1.2.0":
        assert exc.value.hint == "write v1.2.0"


def test_stage_counter_counts_the_artifacts_own_tags_as_gto_does() -> None:
    tags = ["clf#prod#1", "clf#staging#4", "other#prod#9", "clf@v1.0.0", "clf#prod"]
    assert release_names.next_stage_counter(tags, "clf") == 5
    assert release_names.next_stage_counter([], "clf") == 1
    # GTO counts every event tag of the artifact, deregistrations included
    assert release_names.next_stage_counter([*tags, "clf@v1.0.0!#8"], "clf") == 9
    assert release_names.next_stage_counter(["dir=clf#prod#3"], "dir:clf") == 4


def test_release_name_prefers_registry_name_and_explains_paths_with_dots() -> None:
    assert release_names.release_name(_artifact("models/clf.pkl", "clf")) == "clf"
    assert release_names.release_name(_artifact("models/clf")) == "models/clf"
    with pytest.raises(ConfigError) as exc:
        release_names.release_name(_artifact("models/clf.pkl"))
    assert "artifacts: {clf: {path: models/clf.pkl}}" in (exc.value.hint or "")


def test_bundle_path_is_outside_the_artifact() -> None:
    assert release_names.bundle_path("clf", "v1.0.0") == ".archivist/signatures/clf/v1.0.0.sig"
    assert release_names.bundle_path("d/e:m", "v1.0.0") == ".archivist/signatures/d/e=m/v1.0.0.sig"


def test_tag_message_round_trips() -> None:
    record = release_names.ReleaseRecord(
        name="clf", version="v1.0.0", artifact="models/clf.pkl", label="md5:" + "a" * 32,
        digest="sha256:" + "b" * 64, bundle=".archivist/signatures/clf/v1.0.0.sig",
        signer="key sha256:cc", method="key")
    text = release_names.tag_message(record)
    assert text.startswith("Registering artifact clf version v1.0.0\n")
    assert release_names.parse_tag_message("clf@v1.0.0", text) == record
    assert release_names.parse_tag_message("clf@v1.0.0", "Registering artifact clf") is None


def test_manifest_problems_name_each_file() -> None:
    signed = {"a.txt": "1" * 64, "b.txt": "2" * 64, "gone.txt": "3" * 64}
    actual = {"a.txt": "1" * 64, "b.txt": "9" * 64, "new.txt": "4" * 64}
    problems = release_names.manifest_problems("data/set", signed, actual)
    assert problems == [
        "data/set/b.txt: sha256 9999999999999999… differs from the signed 2222222222222222…",
        "data/set/gone.txt: signed, but missing from the content",
        "data/set/new.txt: extra file, not in the signed release",
    ]
    assert release_names.manifest_problems("m.pkl", {".": "1" * 64}, {".": "1" * 64}) == []


def test_subject_digest_matches_model_signing() -> None:
    from model_signing import manifest
    from model_signing._hashing import hashing
    from model_signing._signing import signing as ms_signing

    items = {"b": "22" * 32, "a": "11" * 32}
    m = manifest.Manifest("x", [manifest.FileManifestItem(
        path=__import__("pathlib").PurePosixPath(k), digest=hashing.Digest("sha256",
        bytes.fromhex(v))) for k, v in items.items()],
        manifest.SerializationType.from_args({"method": "files", "hash_type": "sha256",
                                              "allow_symlinks": False}))
    statement = ms_signing.Payload(m).statement.pb
    assert release_names.subject_digest(items) == "sha256:" + statement.subject[0].digest["sha256"]
