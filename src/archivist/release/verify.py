"""Verifying releases: a tag, its release commit, its bundle, and the bytes DVC stores.

``verify_tag`` reads the tag's record, the bundle and the DVC files from the tagged
commit, the version's bytes from the DVC cache or the remotes (each object hashed against
its name), and checks, in this order, that the tag is on the governed branch's release
commit, that the bundle's signer is trusted and its signature holds, that the signed
statement names this release and its provenance as the release commit records it, and
that every file's sha256 is the signed one. Every failure is a problem with a
``VerifyStatus`` in the ``VerifyOutcome``; only an unusable policy raises.

Public API for other commands: ``verify_tag``, ``verify_record``,
``verify_release_files`` (restored bytes of a released version), ``verify_files`` (a
bundle over files on disk); ``records.list_release_tags`` lists the tags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archivist import dvccache, gitrepo
from archivist.dvccache import ContentFile
from archivist.dvcfiles import Version
from archivist.errors import ArchivistError, IntegrityError
from archivist.history import governed_head, governed_policy
from archivist.policy import Policy
from archivist.release import names, provenance, records
from archivist.release.bundle import check_bundle
from archivist.release.hashing import FileDigests, dos2unix_md5, files_at, hash_files
from archivist.release.names import VerifyStatus
from archivist.release.provenance import Provenance
from archivist.release.trust import load_trust


def verify_files(root: Path, policy: Policy, bundle: bytes, files: Path) -> list[str]:
    """Problems with ``bundle`` over the file or folder ``files``; empty when it verifies.

    The bundle must be signed by a key, certificate root or identity the policy (read from
    the governed branch) trusts, and every file's sha256 must match the signed manifest.
    """
    check = check_bundle(bundle, load_trust(root, policy))
    if not check.ok:
        return list(check.problems)
    actual = {item: d.sha256 for item, d in hash_files(files_at(files)).items()}
    return names.manifest_problems(str(files), check.items, actual)


@dataclass(frozen=True)
class VerifyOutcome:
    """The verdict on one release tag; ``status`` is what callers branch on."""

    ok: bool
    tag: str
    artifact: str | None  # output path
    version: str | None  # md5:<hex>
    digest: str | None  # sha256:<hex> subject digest
    signer: str | None
    problems: list[str]
    method: str | None = None
    commit: str | None = None
    source: str | None = None  # where the bytes were read: "cache", "remote storage"...
    status: VerifyStatus = VerifyStatus.OK  # the first problem's kind; ok/legacy pass
    signed_time: str | None = None  # which time the signer's certificate was checked at
    provenance: Provenance | None = None  # as signed, and as the release commit's DVC files say


def name_problems(root: Path, artifact: str, version: Version, files: Sequence[ContentFile],
                  digests: Mapping[str, FileDigests]) -> list[str]:
    """One line per file whose bytes do not hash to the object name they were read under.

    A poisoned object is removed from the cache (its bytes are provably not the object),
    so no later ``dvc checkout`` delivers it.
    """
    problems = []
    for f in files:
        got = digests[f.item].md5
        if got == f.md5 or (version.algorithm == "md5-dos2unix"
                            and dos2unix_md5(f.path) == f.md5):
            continue
        problems.append(f"{names.display_item(artifact, f.item)}: the bytes stored as md5 "
                        f"{f.md5} hash to md5 {got} (object replaced in the cache or a remote)")
        dvccache.discard(root, f.md5, version.algorithm)
    return problems


def verify_tag(root: Path, tag: str, policy: Policy, *,
               policy_rev: str | None = None, fetch: bool = True) -> VerifyOutcome:
    """Verify one release tag against ``policy`` (the governed branch's, never the tag's).

    Reads the tag's message, the bundle and the DVC files from the tagged commit, the
    version's bytes from the cache or the remotes (each object hashed against its name),
    and checks that the tagged commit is the governed branch's release commit, the
    signature and signer, and every file's digest. Key and certificate files named by the
    policy are read from ``policy_rev`` (default: the governed branch's head), which is
    also the branch the release commit must be on. With ``fetch=False`` no remote is read:
    bytes the cache lacks give ``CONTENT_MISSING`` (everything else is still checked).
    Per-tag failures are problems (and a status) in the outcome; a policy that cannot be
    used raises ConfigError.
    """
    if names.parse_release_tag(tag) is None:
        return _Verdict(tag).fail(VerifyStatus.NOT_A_RELEASE,
                                  f"{tag}: not a release tag (NAME@vX.Y.Z)")
    info = records.read_tag(root, tag)
    if info is None:
        return _Verdict(tag).fail(VerifyStatus.NOT_A_RELEASE,
                                  f"{tag}: no such tag, or it names no commit")
    record = names.parse_tag_message(tag, info.message) if info.annotated else None
    verdict = _Verdict(tag, commit=info.commit)
    governed = policy_rev or governed_head(root, policy.branch)
    if record is None:
        adoption = records.find_adoption(root, tag, governed)
        if adoption is not None:
            commit, adopted = adoption
            return verify_record(root, tag, adopted, info.commit, policy, policy_rev=governed,
                                 governed=governed, verdict=verdict, bundle_commit=commit,
                                 fetch=fetch)
        if records.is_legacy(root, policy, info, governed):
            return verdict.done(VerifyStatus.LEGACY)
        return verdict.fail(VerifyStatus.UNSIGNED, f"{tag}: not an archivist release (no "
                            "annotated tag message with the artifact, version, digest and "
                            "bundle, and no adoption on the governed branch)")
    return verify_record(root, tag, record, info.commit, policy, policy_rev=governed,
                         governed=governed, verdict=verdict, fetch=fetch)


def _edited_provenance(bundle: bytes, built_from: Provenance) -> list[str]:
    """How the provenance in a bundle whose signature fails differs from the release
    commit's DVC files: only to name what was edited (nothing unsigned is believed)."""
    import base64
    import json

    try:
        envelope = json.loads(bundle)["dsseEnvelope"]
        statement = json.loads(base64.b64decode(envelope["payload"], validate=True))
        claimed = statement["predicate"][names.PREDICATE_KEY]["provenance"]
        return [f"provenance: {d}" for d in
                provenance.differences(provenance.from_statement(claimed), built_from)]
    except (KeyError, TypeError, ValueError):
        return []


class _Verdict:
    """The problems found so far on one tag, and the status of the first."""

    def __init__(self, tag: str, **fields: Any) -> None:
        self.tag = tag
        self.fields: dict[str, Any] = {"artifact": None, "version": None, "digest": None,
                                       "signer": None, **fields}
        self.problems: list[str] = []
        self.status = VerifyStatus.OK

    def add(self, status: VerifyStatus, problems: Sequence[str]) -> None:
        if problems and self.status is VerifyStatus.OK:
            self.status = status
        self.problems += [p if p.startswith(f"{self.tag}: ") else f"{self.tag}: {p}"
                          for p in problems]

    def fail(self, status: VerifyStatus, problem: str) -> VerifyOutcome:
        self.add(status, [problem])
        return self.done()

    def done(self, status: VerifyStatus | None = None) -> VerifyOutcome:
        final = status or self.status
        return VerifyOutcome(ok=final.passes, tag=self.tag, problems=self.problems,
                             status=final, **self.fields)


def verify_record(root: Path, tag: str, record: names.ReleaseRecord, commit: str,
                  policy: Policy, *, policy_rev: str | None, governed: str | None,
                  verdict: _Verdict | None = None, bundle_commit: str | None = None,
                  fetch: bool = True) -> VerifyOutcome:
    """Verify the release ``record`` of ``tag`` as made at ``commit``.

    ``governed`` is the head whose first-parent history must hold the release commit
    (None skips that test: only for a commit checked before any tag points at it). An
    adopted release (``bundle_commit``) keeps its bundle in that later commit of the
    governed branch, and signs the tagged ``commit`` it was adopted at.
    """
    from archivist.inventory import load_artifacts
    from archivist.remotes import MissingCredentials
    from archivist.trees import CommitTree

    verdict = verdict or _Verdict(tag, commit=commit)
    verdict.fields.update(artifact=record.artifact, version=record.label,
                          digest=record.digest, commit=commit, method=record.method or None)
    expected_bundle = names.bundle_path(record.name, record.version)
    if record.bundle != expected_bundle:
        return verdict.fail(VerifyStatus.RECORD_MISMATCH, f"the tag names bundle "
                            f"{record.bundle}, expected {expected_bundle}")
    cat = gitrepo.CatFile(root)
    try:
        tree = CommitTree(root, commit, cat=cat)
        bundle = (CommitTree(root, bundle_commit, cat=cat) if bundle_commit else tree).read(
            record.bundle)
        artifacts = [a for a in load_artifacts(tree) if a.path == record.artifact]
        staged = artifacts[0] if artifacts and artifacts[0].stage else None
        lock = tree.read(provenance.lock_path(staged)) if staged else None
        pipeline = tree.read(staged.declared_in) if staged else None
    except ArchivistError as exc:
        return verdict.fail(VerifyStatus.MALFORMED,
                            f"cannot read commit {commit[:10]}: {exc}")
    finally:
        cat.close()
    if bundle is None:
        return verdict.fail(VerifyStatus.UNSIGNED,
                            f"commit {commit[:10]} has no bundle {record.bundle}")
    if governed is not None:
        moved = records.release_commit_problem(root, tag, bundle_commit or commit,
                                               record.bundle, governed)
        if moved:
            verdict.add(VerifyStatus.MOVED, [moved])
    if bundle_commit is not None:
        adopted = records.trailer_values(root, bundle_commit, records.TRAILER_ADOPTED)
        if adopted != [commit]:
            verdict.add(VerifyStatus.MOVED, [
                f"the tag points to {commit[:10]}, but {bundle_commit[:10]} adopted the "
                f"release at {','.join(adopted)[:10]} (was the tag moved?)"])
    if not artifacts or artifacts[0].version is None:
        return verdict.fail(VerifyStatus.RECORD_MISMATCH, f"commit {commit[:10]} tracks no "
                            f"version of {record.artifact}")
    version = artifacts[0].version
    if version.label != record.label:
        verdict.add(VerifyStatus.RECORD_MISMATCH, [
            f"commit {commit[:10]} records {record.artifact} as {version.label}, but the "
            f"release recorded {record.label}"])
    check = check_bundle(bundle, load_trust(root, policy, policy_rev),
                         signed_at=records.commit_time(root, commit))
    verdict.fields.update(signer=check.signer or record.signer or None, method=check.method,
                          signed_time=check.signed_time or None)
    # What the release was built from, read again from the DVC files it was made with:
    # the parent of a release commit (which adds only the bundle and its event), or the
    # tagged commit of an adoption.
    made_at = commit if bundle_commit is not None else records.first_parent(root, commit)
    unreadable = ""
    try:
        built_from: Provenance | None = provenance.of_artifact(artifacts[0], made_at or commit,
                                                               lock, pipeline)
    except ArchivistError as exc:
        built_from, unreadable = None, exc.message
    if not check.ok:
        verdict.add(check.status, list(check.problems))
        if check.status is VerifyStatus.BAD_SIGNATURE and built_from is not None:
            verdict.add(check.status, [f"{p} (in the statement as edited, unsigned)" for p in
                                       _edited_provenance(bundle, built_from)])
        return verdict.done()
    if check.digest != record.digest:
        verdict.add(VerifyStatus.RECORD_MISMATCH, [
            f"the tag records digest {record.digest}, the bundle signs {check.digest}"])
    claimed = check.extra
    wanted = [("tag", tag), ("artifact", record.artifact), ("version", version.label)]
    if bundle_commit is not None:
        wanted.append(("commit", commit))  # an adoption signs the commit GTO registered
    for key, want in wanted:
        if claimed.get(key) != want:
            verdict.add(VerifyStatus.RECORD_MISMATCH, [
                f"the signed statement names {key} {claimed.get(key)!r}, not {want!r} "
                "(bundle copied from another release?)"])
    if "provenance" in claimed:  # releases made before provenance was recorded have none
        try:
            signed = provenance.from_statement(claimed["provenance"])
        except ValueError as exc:
            verdict.add(VerifyStatus.RECORD_MISMATCH,
                        [f"the signed provenance cannot be read: {exc}"])
        else:
            if built_from is None:
                verdict.add(VerifyStatus.RECORD_MISMATCH, [
                    f"the release commit's DVC files give no provenance: {unreadable}"])
            else:
                differ = provenance.differences(signed, built_from)
                verdict.add(VerifyStatus.RECORD_MISMATCH,
                            [f"provenance: {d}" for d in differ])
                if not differ:
                    verdict.fields["provenance"] = signed
    try:
        files, source = dvccache.version_content(root, version, policy,
                                                 use_remotes=fetch)
    except IntegrityError as exc:
        return verdict.fail(VerifyStatus.CONTENT_MISMATCH, str(exc))
    except MissingCredentials:
        raise
    except ArchivistError as exc:
        return verdict.fail(VerifyStatus.CONTENT_MISSING, str(exc))
    verdict.fields["source"] = source
    digests = hash_files(files)
    # A file whose sha256 is the signed one is the signed file, whose md5 release checked
    # against DVC's name: only the others are hashed against their object names too
    # (measured: md5 beside sha256 takes verify from 0.9 s to 1.6-2.3 s per 300 MB).
    suspects = [f for f in files if check.items.get(f.item) != digests[f.item].sha256]
    if suspects:
        verdict.add(VerifyStatus.CONTENT_MISMATCH, name_problems(
            root, record.artifact, version, suspects, hash_files(suspects, md5=True)))
    actual = {item: d.sha256 for item, d in digests.items()}
    verdict.add(VerifyStatus.CONTENT_MISMATCH,
                names.manifest_problems(record.artifact, check.items, actual))
    return verdict.done()


def verify_release_files(root: Path, artifact: str, version: str, files: Mapping[str, Path],
                         policy: Policy | None = None) -> list[str]:
    """Problems with restored bytes of a released version; empty when none or all verify.

    ``files`` maps each path inside the artifact (``""`` for a single file) to a local
    copy. Every release that records this artifact and version is checked: its bundle
    (from the release commit, or the adoption commit of an adopted GTO tag) against the
    governed branch's policy, and each file's sha256. Versions never released return no
    problems (and import no signing library).
    """
    label = version if version.startswith("md5:") else f"md5:{version}"
    matches: list[tuple[str, str, names.ReleaseRecord]] = []  # tag, bundle commit, record
    unrecorded = []
    for tag in records.list_release_tags(root):
        info = records.read_tag(root, tag)
        record = names.parse_tag_message(tag, info.message) if info and info.annotated \
            else None
        if record is None:
            unrecorded.append(tag)
        elif info is not None and record.artifact == artifact and record.label == label:
            matches.append((tag, info.commit, record))
    rev = None
    if unrecorded:  # adopted GTO tags keep their record on the governed branch
        if policy is None:
            policy, rev = governed_policy(root)
        governed = rev or governed_head(root, policy.branch if policy else None)
        for tag in unrecorded:
            adoption = records.find_adoption(root, tag, governed)
            if adoption is not None and adoption[1].artifact == artifact \
                    and adoption[1].label == label:
                matches.append((tag, *adoption))
    if not matches:
        return []
    if policy is None:
        policy, rev = governed_policy(root)
    if policy is None or policy.signing is None:
        return [f"{artifact} {label} is released ({matches[0][0]}), but the governed "
                "branch's policy has no signing: section to verify it with"]
    contents = [ContentFile(item or names.SINGLE_FILE_ITEM, path, "")
                for item, path in files.items()]
    actual = {item: d.sha256 for item, d in hash_files(contents).items()}
    trust = load_trust(root, policy, rev)
    problems: list[str] = []
    for tag, commit, record in matches:
        with gitrepo.CatFile(root) as cat:
            bundle = cat.read(f"{commit}:{record.bundle}")
        if bundle is None:
            problems.append(f"{tag}: commit {commit[:10]} has no bundle {record.bundle}")
            continue
        check = check_bundle(bundle, trust, signed_at=records.commit_time(root, commit))
        problems += [f"{tag}: {p}" for p in check.problems]
        if check.ok:
            problems += [f"{tag}: {p}" for p in
                         names.manifest_problems(artifact, check.items, actual)]
    return problems
