"""Releases as values: tag names, the tag message, bundle paths, SemVer, manifest diffs.

Pure: nothing here runs git or touches a signature library. Tag names follow GTO
(``NAME@vX.Y.Z`` for a version, ``NAME#STAGE#N`` for a stage assignment), so ``gto show``
lists archivist releases; ``dir:name`` registry names become ``dir=name`` in tags, as GTO
writes them. The grammar itself is ``gto_tags``'s, the one copy in archivist.
"""

from __future__ import annotations

import enum
import hashlib
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from archivist import gto_tags
from archivist.dvcfiles import Artifact
from archivist.errors import ConfigError, UsageError

SIGNATURES_DIR = ".archivist/signatures"
BUNDLE_SUFFIX = ".sig"
# The predicate key archivist adds beside model-signing's "serialization" and "resources";
# v1.0 verifiers ignore keys they do not know, so the bundle stays standard.
PREDICATE_KEY = "archivist"
SINGLE_FILE_ITEM = "."  # how model-signing names the one item of a single-file model

TRAILER_ARTIFACT = "Archivist-Artifact"
TRAILER_VERSION = "Archivist-Version"
TRAILER_DIGEST = "Archivist-Digest"
TRAILER_BUNDLE = "Archivist-Bundle"
TRAILER_SIGNER = "Archivist-Signer"
TRAILER_METHOD = "Archivist-Method"
TRAILER_TAG = "Archivist-Tag"
TRAILER_ADOPTED = "Archivist-Adopted"  # release --adopt: the commit the GTO tag registered


class VerifyStatus(enum.StrEnum):
    """The verdict on one release tag, for callers that branch on it (never on wording).

    Only ``OK`` and ``LEGACY`` pass. When a tag has several problems, the status is that of
    the first one found, in the order ``verify_tag`` checks: the tag, the release commit
    (``MOVED``), the DVC version it records, the bundle (shape, signer, signature), the
    statement's claims, then the content.
    """

    OK = "ok"
    LEGACY = "legacy"  # unsigned, tagged before signing.since: an adopted registry's past
    UNSIGNED = "unsigned"  # a NAME@vX.Y.Z tag with no archivist record or no bundle
    NOT_A_RELEASE = "not-a-release"  # not NAME@vX.Y.Z, or no such tag
    MOVED = "moved"  # the tag is not on the release commit of the governed branch
    MALFORMED = "malformed"  # the bundle or the tag's record cannot be read
    UNTRUSTED_SIGNER = "untrusted-signer"  # signed, but by no one the policy trusts
    BAD_SIGNATURE = "bad-signature"  # the signature does not verify (edited bundle)
    RECORD_MISMATCH = "record-mismatch"  # bundle, tag and DVC file disagree (replayed)
    CONTENT_MISMATCH = "content-mismatch"  # bytes differ from the signed manifest or name
    CONTENT_MISSING = "content-missing"  # bytes in neither the cache nor any remote

    @property
    def passes(self) -> bool:
        return self in (VerifyStatus.OK, VerifyStatus.LEGACY)


def check_version(version: str) -> str:
    """``version`` when it is SemVer with a leading ``v`` (``v1.2.0``), else UsageError."""
    if not gto_tags.VERSION_RE.match(version):
        hint = f"write v{version}" if gto_tags.VERSION_RE.match(f"v{version}") else \
            "write SemVer with a leading v, e.g. v1.2.0"
        raise UsageError(f"version {version!r} is not SemVer with a leading 'v'", hint)
    return version


def check_stage(stage: str) -> str:
    if not gto_tags.NAME_RE.match(stage):
        raise UsageError(f"stage {stage!r} is not a valid GTO stage name",
                         "use letters, digits, '-', '_' and '/', e.g. prod")
    return stage


def release_name(artifact: Artifact) -> str:
    """The name a release of ``artifact`` is tagged with: its registry name, else its path.

    A path is usable only when GTO accepts it as a name (no dots: ``models/clf.pkl`` is
    not); otherwise the user is shown the ``dvc.yaml`` entry that names it.
    """
    if artifact.name:
        if not gto_tags.FULLNAME_RE.match(artifact.name):
            raise ConfigError(f"artifact name {artifact.name!r} is not valid for GTO tags",
                              "use letters, digits, '-', '_' and '/' in dvc.yaml artifacts:")
        return artifact.name
    if gto_tags.FULLNAME_RE.match(artifact.path):
        return artifact.path
    stem = posixpath.basename(artifact.path).split(".")[0] or "model"
    suggestion = re.sub(r"[^a-zA-Z0-9-_]", "-", stem).strip("-_") or "model"
    raise ConfigError(
        f"{artifact.path} has no name a release tag can carry (GTO names allow no dots)",
        f"name it in dvc.yaml: artifacts: {{{suggestion}: {{path: {artifact.path}}}}}")


def tag_name(name: str, version: str) -> str:
    """``NAME@vX.Y.Z``: GTO's version-registration tag."""
    return f"{gto_tags.name_to_tag(name)}@{check_version(version)}"


def stage_tag_name(name: str, stage: str, counter: int) -> str:
    """``NAME#STAGE#N``: GTO's stage-assignment tag (N counts the artifact's stage tags)."""
    return f"{gto_tags.name_to_tag(name)}#{check_stage(stage)}#{counter}"


def next_stage_counter(existing_tags: Iterable[str], name: str) -> int:
    """The N for a new stage tag: GTO's counter, one more than the highest ``#N`` on any
    of the artifact's tags."""
    return gto_tags.next_counter(existing_tags, name)


def parse_release_tag(tag: str) -> tuple[str, str] | None:
    """(artifact name, version) of a tag GTO reads as a version registration
    (``NAME@vX.Y.Z``, ``NAME@vX.Y.Z#N``), None for any other tag."""
    return gto_tags.registration(tag)


def bundle_path(name: str, version: str) -> str:
    """Where a release's Sigstore bundle is committed: outside every artifact folder."""
    return (f"{SIGNATURES_DIR}/{gto_tags.name_to_tag(name)}/{check_version(version)}"
            f"{BUNDLE_SUFFIX}")


@dataclass(frozen=True)
class ReleaseRecord:
    """What a release tag's message records."""

    name: str
    version: str  # v1.2.0
    artifact: str  # output path
    label: str  # md5:<hex> (the DVC version)
    digest: str  # sha256:<hex>, the in-toto subject digest over the per-file digests
    bundle: str  # repo-relative bundle path
    signer: str
    method: str

    @property
    def tag(self) -> str:
        return tag_name(self.name, self.version)


def tag_message(record: ReleaseRecord) -> str:
    """The annotated tag's message: GTO's subject line, then archivist's fields as trailers."""
    return (
        f"Registering artifact {record.name} version {record.version}\n\n"
        f"{TRAILER_ARTIFACT}: {record.artifact}\n"
        f"{TRAILER_VERSION}: {record.label}\n"
        f"{TRAILER_DIGEST}: {record.digest}\n"
        f"{TRAILER_BUNDLE}: {record.bundle}\n"
        f"{TRAILER_METHOD}: {record.method}\n"
        f"{TRAILER_SIGNER}: {record.signer}\n"
    )


def stage_message(name: str, version: str, stage: str) -> str:
    return f"Assigning stage {stage} to artifact {name} version {version}\n"


def parse_trailers(text: str) -> dict[str, str]:
    """``Key: value`` lines of a message (the first occurrence of each key wins)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.startswith("Archivist-") and " " not in key:
            found.setdefault(key, value.strip())
    return found


def parse_tag_message(tag: str, text: str) -> ReleaseRecord | None:
    """The record in a release tag's message, None when archivist did not write it."""
    parsed = parse_release_tag(tag)
    fields = parse_trailers(text)
    needed = (TRAILER_ARTIFACT, TRAILER_VERSION, TRAILER_DIGEST, TRAILER_BUNDLE)
    if parsed is None or any(k not in fields for k in needed):
        return None
    return ReleaseRecord(name=parsed[0], version=parsed[1], artifact=fields[TRAILER_ARTIFACT],
                         label=fields[TRAILER_VERSION], digest=fields[TRAILER_DIGEST],
                         bundle=fields[TRAILER_BUNDLE], signer=fields.get(TRAILER_SIGNER, ""),
                         method=fields.get(TRAILER_METHOD, ""))


def subject_digest(items: Mapping[str, str]) -> str:
    """model-signing's subject digest: sha256 over the per-item digests in name order."""
    hasher = hashlib.sha256()
    for name in sorted(items):
        hasher.update(bytes.fromhex(items[name]))
    return f"sha256:{hasher.hexdigest()}"


def display_item(artifact: str, item: str) -> str:
    """A manifest item as a repo path (``.`` is the single file itself)."""
    return artifact if item == SINGLE_FILE_ITEM else f"{artifact}/{item}"


def manifest_problems(artifact: str, signed: Mapping[str, str],
                      actual: Mapping[str, str]) -> list[str]:
    """One line per file whose bytes differ from what the signature vouches for."""
    problems = []
    for item in sorted(set(signed) | set(actual)):
        path = display_item(artifact, item)
        if item not in actual:
            problems.append(f"{path}: signed, but missing from the content")
        elif item not in signed:
            problems.append(f"{path}: extra file, not in the signed release")
        elif signed[item] != actual[item]:
            problems.append(f"{path}: sha256 {actual[item][:16]}… differs from the signed "
                            f"{signed[item][:16]}…")
    return problems


def key_fingerprint(pem_spki: bytes) -> str:
    """How a public key is named: sha256 of its PEM SubjectPublicKeyInfo (model-signing's hint)."""
    return f"sha256:{hashlib.sha256(pem_spki).hexdigest()}"
