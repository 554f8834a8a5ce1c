"""``archivist release``: check, hash, sign, commit the bundle, tag in GTO's format.

Every refusal happens before anything is written: metadata, the working tree against the
hash DVC records, an existing tag, the signature checked against the policy it will be
verified with. Then the bundle and the release event are committed together and the tags
created on that commit. A crash between the commit and the tag is finished by running the
same command again (the commit is found, and only the tags are made).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archivist import dvccache, gitrepo, ledger
from archivist.dvccache import ContentFile
from archivist.dvcfiles import Artifact, Version
from archivist.errors import EXIT_VIOLATIONS, ArchivistError, ConfigError, UsageError
from archivist.gate.rules import check_artifact
from archivist.inventory import find_artifact, load_artifacts, load_tree_policy
from archivist.policy import Policy
from archivist.release import names as release_names
from archivist.release import provenance, records
from archivist.release.bundle import check_bundle
from archivist.release.hashing import FileDigests, dos2unix_md5, hash_files
from archivist.release.provenance import Provenance
from archivist.release.sign import SigningRequest, sign_bundle
from archivist.release.trust import load_trust
from archivist.release.verify import name_problems, verify_record
from archivist.trees import CommitTree, WorkingTree


class ReleaseRefused(ArchivistError):
    """The release would break a rule; nothing was written (exit 1)."""

    exit_code = EXIT_VIOLATIONS

    def __init__(self, message: str, problems: Sequence[str], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.problems = list(problems)


@dataclass(frozen=True)
class ReleaseResult:
    record: release_names.ReleaseRecord
    commit: str
    tags: tuple[str, ...]
    resumed: bool = False
    provenance: Provenance | None = None  # what the signed statement records

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        return {"tag": r.tag, "tags": list(self.tags), "name": r.name, "release": r.version,
                "artifact": r.artifact, "version": r.label, "digest": r.digest,
                "bundle": r.bundle, "method": r.method, "signer": r.signer,
                "commit": self.commit, "resumed": self.resumed,
                "provenance": self.provenance.as_dict() if self.provenance else None}


def tag_exists(root: Path, tag: str) -> bool:
    return bool(gitrepo.git(["for-each-ref", "--format=%(refname)", f"refs/tags/{tag}"],
                            root).strip())


def _all_tags(root: Path) -> list[str]:
    out = gitrepo.git(["for-each-ref", "--format=%(refname)", "refs/tags/"], root)
    return [line.removeprefix("refs/tags/") for line in out.splitlines()]


def _find(artifacts: list[Artifact], spec: str, repo_path: str | None) -> Artifact:
    """The artifact ``spec`` names; a typo is one line that offers the close names."""
    try:
        return find_artifact(artifacts, spec, repo_path)
    except ConfigError:
        named = {spec, repo_path}
        for a in artifacts:
            if named & {a.name, (a.name or "").rpartition(":")[2], a.path, a.declared_in} \
                    or (repo_path or "").startswith(a.path + "/"):
                raise  # it names something: the error says what is wrong with it
        known = sorted({a.name for a in artifacts if a.name} | {a.path for a in artifacts})
        close = difflib.get_close_matches(spec, known, n=3, cutoff=0.6)
        if not close:
            raise
        raise ConfigError(f"no artifact {spec!r} here", f"did you mean {' or '.join(close)}? "
                          "(archivist ls lists them)") from None


def _uncommitted(root: Path, head_tree: CommitTree, artifact: Artifact) -> list[str]:
    """Declaring files whose working-tree bytes differ from the commit being released."""
    work = WorkingTree(root, git=True)
    files = {artifact.declared_in, artifact.tags_in}
    if artifact.stage:
        files.add(posixpath.join(posixpath.dirname(artifact.declared_in), "dvc.lock"))
    return sorted(f for f in files if work.read(f) != head_tree.read(f))


def _content(root: Path, artifact: Artifact, version: Version, policy: Policy,
             ) -> tuple[list[ContentFile], list[str]]:
    """The files to sign (working tree when present, else DVC's copy) and any extras."""
    target = root / artifact.path
    if not target.exists():
        files, _ = dvccache.version_content(root, version, policy)
        return files, []
    if version.is_dir and dvccache.missing_objects(root, version)[:1] == [version.digest]:
        for remote in dvccache.remote_order(policy):
            try:
                dvccache.fetch(root, version, [version.digest], remote)
                break
            except ConfigError:
                continue
    files = dvccache.workspace_files(root, artifact.path, version)
    extras = dvccache.extra_workspace_files(root, artifact.path, files) if version.is_dir \
        else []
    return files, extras


def _content_problems(artifact: Artifact, version: Version, files: Sequence[ContentFile],
                      digests: dict[str, FileDigests], extras: Sequence[str],
                      ) -> list[str]:
    problems = []
    for f in files:
        shown = release_names.display_item(artifact.path, f.item)
        got = digests[f.item].md5
        if got != f.md5 and not (version.algorithm == "md5-dos2unix"
                                 and dos2unix_md5(f.path) == f.md5):
            problems.append(f"{shown}: content md5 {got} differs from md5 {f.md5} that DVC "
                            "records")
    problems += [f"{artifact.path}/{e}: not in the version DVC records" for e in extras]
    return problems


def _check_requested(root: Path, at: str, head: str, artifact: Artifact) -> None:
    """Refuse unless HEAD records the version of ``artifact`` that commit ``at`` records.

    The release commit lands on HEAD, and a release commit must record the version it
    signs: a request made on an older commit whose version is no longer current cannot
    be honoured by signing HEAD's version instead.
    """
    requested = gitrepo.resolve_commit(root, at)
    if requested not in records.first_parents(root, head):
        raise ReleaseRefused(f"{at} is commit {requested[:10]}, which is not on the "
                             "first-parent history of HEAD", [],
                             "request the release on a commit of the governed branch")
    with gitrepo.CatFile(root) as cat:
        there = [a for a in load_artifacts(CommitTree(root, requested, cat=cat))
                 if a.path == artifact.path]
    was = there[0].version if there else None
    now = artifact.version
    if was is None or now is None or (was.algorithm, was.digest) != (now.algorithm,
                                                                     now.digest):
        shown = was.label if was else "nothing"
        raise ReleaseRefused(
            f"{at} ({requested[:10]}) records {artifact.path} as {shown}, but HEAD records "
            f"{now.label if now else 'nothing'}: the requested version is not the current "
            "one", [], "request the release on the head of the governed branch, or "
            "release the version HEAD holds")


def _resume(root: Path, tag: str, stage: str | None, policy: Policy) -> ReleaseResult | None:
    """The release commit at HEAD whose tags a crash left unmade, finished now.

    Only a commit whose bundle verifies (signer, statement, content, as ``verify`` would
    check the tag) is finished: a commit that merely carries the trailers and an event file
    is refused, and nothing is tagged.
    """
    head = gitrepo.resolve_commit(root, "HEAD")
    commits = ledger.read_ledger(root, head)
    last = commits[-1] if commits else None
    if last is None or last.sha != head or tag not in last.values("Archivist-Tag"):
        return None
    event_file = next((p for s, p in last.changes if s == "A"
                       and p.startswith(ledger.EVENTS_DIR)), None)
    refused = f"HEAD {head[:10]} claims to be the release commit of {tag}, but"
    hint = "if it is not a release, remove it (git reset --keep HEAD~1) and release again"
    if event_file is None:
        raise ReleaseRefused(f"{refused} adds no event file: not resuming", [], hint)
    doc = ledger.read_event_file(root, head, event_file)
    entries = doc.get("entries") if isinstance(doc, dict) else None
    entry = entries[0] if isinstance(entries, list) and entries else None
    keys = ("artifact", "version", "digest", "bundle", "signer", "method")
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in keys):
        raise ReleaseRefused(f"{refused} its event file {event_file} is not a release "
                             "record: not resuming", [], hint)
    name, version = release_names.parse_release_tag(tag) or ("", "")
    record = release_names.ReleaseRecord(
        name=name, version=version, artifact=entry["artifact"], label=entry["version"],
        digest=entry["digest"], bundle=entry["bundle"], signer=entry["signer"],
        method=entry["method"])
    outcome = verify_record(root, tag, record, head, policy, policy_rev=head,
                                    governed=head)
    if not outcome.ok:
        raise ReleaseRefused(f"{refused} its release does not verify ({outcome.status}): "
                             "not resuming", outcome.problems, hint)
    tags = _make_tags(root, head, record, stage, None)
    return ReleaseResult(record, head, tags, resumed=True)


def _make_tags(root: Path, commit: str, record: release_names.ReleaseRecord, stage: str | None,
               message: str | None) -> tuple[str, ...]:
    text = release_names.tag_message(record)
    if message:
        text = message.strip() + "\n\n" + text.split("\n\n", 1)[1]
    made = [record.tag]
    kind = "-s" if ledger.signs(root) else "-a"  # authority: tags signed as commits are
    gitrepo.git(["tag", kind, "-F", "-", "--", record.tag, commit], root,
                input=text.encode("utf-8"))
    if stage:
        counter = release_names.next_stage_counter(_all_tags(root), record.name)
        stage_tag = release_names.stage_tag_name(record.name, stage, counter)
        gitrepo.git(["tag", kind, "-F", "-", "--", stage_tag, commit], root,
                    input=release_names.stage_message(record.name, record.version, stage)
                    .encode("utf-8"))
        made.append(stage_tag)
    return tuple(made)


def release_artifact(root: Path, spec: str, repo_path: str | None, version: str, *,
                     stage: str | None = None, method: str | None = None,
                     key: Path | None = None, cert_chain: Sequence[Path] = (),
                     message: str | None = None, interactive: bool = False,
                     now: dt.datetime | None = None, at: str | None = None,
                     progress: Callable[[int], None] | None = None) -> ReleaseResult:
    """Release ``spec`` (a dvc.yaml artifact name or output path) as ``version``.

    ``at`` names the commit a release was requested on (a request tag): its version of
    the artifact is released, on HEAD, only when HEAD still records that same version and
    the commit is on HEAD's first-parent history; otherwise the release is refused.
    """
    release_names.check_version(version)
    if stage:
        release_names.check_stage(stage)
    now = now or dt.datetime.now(dt.UTC)
    head = gitrepo.resolve_commit(root, "HEAD")
    cat = gitrepo.CatFile(root)
    try:
        head_tree = CommitTree(root, head, cat=cat)
        policy = load_tree_policy(head_tree)
        artifact = _find(load_artifacts(head_tree), spec, repo_path)
        dirty = _uncommitted(root, head_tree, artifact)
        lock = head_tree.read(provenance.lock_path(artifact)) if artifact.stage else None
        pipeline = head_tree.read(artifact.declared_in) if artifact.stage else None
    finally:
        cat.close()
    name = release_names.release_name(artifact)
    tag = release_names.tag_name(name, version)
    if at is not None:
        _check_requested(root, at, head, artifact)
    if tag_exists(root, tag):
        raise ReleaseRefused(f"tag {tag} exists already", [f"tag {tag} exists already"],
                             "choose the next version; a release is never re-signed")
    resumed = _resume(root, tag, stage, policy)
    if resumed is not None:
        return resumed
    if dirty:
        raise ConfigError(f"uncommitted changes in {', '.join(dirty)}",
                          "commit them first: a release tags what git records")
    if policy.signing is None:
        raise ConfigError("archivist.yaml has no signing: section",
                          "add signing: with the public_keys, certificate_roots or "
                          "identities that verify releases")
    if artifact.version is None:
        raise ConfigError(f"{artifact.path}: DVC records no version",
                          f"dvc add {artifact.path} (or dvc commit), then commit")
    violations = check_artifact(artifact, policy)
    if violations:
        raise ReleaseRefused(f"{artifact.path}: tags do not satisfy the policy",
                             [v.render() for v in violations], violations[-1].fix)
    built_from = provenance.of_artifact(artifact, head, lock, pipeline)
    bundle_rel = release_names.bundle_path(name, version)
    if gitrepo.git(["ls-files", "--", bundle_rel], root).strip():
        raise ConfigError(f"{bundle_rel} is already committed, but tag {tag} is missing",
                          "restore the tag from its release commit, or release another "
                          "version")
    ledger.ensure_can_commit(root, policy.branch, action="release")
    version_ = artifact.version
    files, extras = _content(root, artifact, version_, policy)
    digests = hash_files(files, md5=True, progress=progress)
    problems = _content_problems(artifact, version_, files, digests, extras)
    if problems:
        raise ReleaseRefused(f"{artifact.path}: the content differs from what DVC records",
                             problems, f"dvc add {artifact.path} (or dvc checkout), commit, "
                             "and release again")
    sha = {item: d.sha256 for item, d in digests.items()}
    method = method or policy.signing.method
    record, path = _sign_and_write(
        root, policy, head, SigningRequest(
            method=method, key=key, cert_chain=tuple(cert_chain), trust_config=None,
            interactive=interactive),
        release_names.ReleaseRecord(name=name, version=version, artifact=artifact.path,
                               label=version_.label, digest="", bundle=bundle_rel,
                               signer="", method=method),
        sha, now, {"tag": tag, "provenance": built_from.as_dict()})
    event = ledger.Event(
        kind="release", subject=f"release: {tag} ({artifact.path} {version_.label})",
        entries=(ledger.EventEntry(artifact.path, version_.label, details={
            "tag": tag, "digest": record.digest, "bundle": bundle_rel,
            "signer": record.signer, "method": method, "files": len(files),
            "provenance": built_from.as_dict()}),),
        extra_trailers=((release_names.TRAILER_TAG, tag),
                        (release_names.TRAILER_SIGNER, record.signer)),
    )
    try:
        commit = ledger.record(root, event, body=message or "", files=[bundle_rel], now=now)
    except BaseException:
        if not gitrepo.git(["ls-files", "--", bundle_rel], root).strip():
            path.unlink(missing_ok=True)
        raise
    tags = _make_tags(root, commit, record, stage, message)
    return ReleaseResult(record, commit, tags, provenance=built_from)


def adopt_release(root: Path, tag: str, *, method: str | None = None, key: Path | None = None,
                  cert_chain: Sequence[Path] = (), interactive: bool = False,
                  now: dt.datetime | None = None,
                  progress: Callable[[int], None] | None = None) -> ReleaseResult:
    """Sign the version an existing GTO tag registered, leaving the tag where it is.

    The version is the one the tagged commit's DVC files record, its bytes are hashed
    against DVC's names for them, and the bundle is committed on the governed branch with
    a release event naming the tag and the adopted commit (``Archivist-Adopted``), which
    the signed statement names too: moving the tag later breaks the adoption.
    """
    parsed = release_names.parse_release_tag(tag)
    if parsed is None:
        raise UsageError(f"{tag!r} is not a release tag NAME@vX.Y.Z", "e.g. clf@v1.2.0")
    name, version = parsed
    info = records.read_tag(root, tag)
    if info is None:
        raise ConfigError(f"no tag {tag}", "list the registry's tags with: gto show")
    if info.annotated and release_names.parse_tag_message(tag, info.message) is not None:
        raise ReleaseRefused(f"{tag} is an archivist release already", [],
                             f"archivist verify {tag}")
    now = now or dt.datetime.now(dt.UTC)
    head = gitrepo.resolve_commit(root, "HEAD")
    with gitrepo.CatFile(root) as cat:
        policy = load_tree_policy(CommitTree(root, head, cat=cat))
        tagged = CommitTree(root, info.commit, cat=cat)
        registered = load_artifacts(tagged)
        locks = {a.path: (tagged.read(provenance.lock_path(a)), tagged.read(a.declared_in))
                 for a in registered if a.stage}
    if policy.signing is None:
        raise ConfigError("archivist.yaml has no signing: section",
                          "add signing: with the keys or identities that verify releases")
    ledger.ensure_can_commit(root, policy.branch, action="release")
    if info.commit not in records.first_parents(root, head):
        raise ReleaseRefused(f"{tag} points at {info.commit[:10]}, which is not on the "
                             "first-parent history of HEAD", [],
                             "adopt tags of the governed branch only")
    found = [a for a in registered if name in (a.name, a.path)]
    if len(found) != 1 or found[0].version is None:
        raise ConfigError(f"{tag}: commit {info.commit[:10]} records no version of an "
                          f"artifact named {name}", "gto show lists what the tag registered")
    artifact, version_ = found[0], found[0].version
    built_from = provenance.of_artifact(artifact, info.commit,
                                        *locks.get(artifact.path, (None, None)))
    bundle_rel = release_names.bundle_path(name, version)
    if records.find_adoption(root, tag, head) is not None or \
            gitrepo.git(["ls-files", "--", bundle_rel], root).strip():
        raise ReleaseRefused(f"{bundle_rel} is committed already: {tag} is adopted", [],
                             f"archivist verify {tag}")
    files, _ = dvccache.version_content(root, version_, policy)
    digests = hash_files(files, md5=True, progress=progress)
    problems = name_problems(root, artifact.path, version_, files, digests)
    if problems:
        raise ReleaseRefused(f"{artifact.path}: the stored bytes are not what DVC records",
                             problems, "dvc push them from a clone whose cache is right")
    sha = {item: d.sha256 for item, d in digests.items()}
    method = method or policy.signing.method
    record, path = _sign_and_write(
        root, policy, head, SigningRequest(
            method=method, key=key, cert_chain=tuple(cert_chain), trust_config=None,
            interactive=interactive),
        release_names.ReleaseRecord(name=name, version=version, artifact=artifact.path,
                               label=version_.label, digest="", bundle=bundle_rel,
                               signer="", method=method),
        sha, now, {"tag": tag, "commit": info.commit, "provenance": built_from.as_dict()})
    event = ledger.Event(
        kind="release",
        subject=f"release: adopt {tag} ({artifact.path} {version_.label})",
        entries=(ledger.EventEntry(artifact.path, version_.label, details={
            "tag": tag, "digest": record.digest, "bundle": bundle_rel,
            "signer": record.signer, "method": method, "files": len(files),
            "adopted": info.commit, "provenance": built_from.as_dict()}),),
        extra_trailers=((release_names.TRAILER_TAG, tag),
                        (release_names.TRAILER_SIGNER, record.signer),
                        (records.TRAILER_ADOPTED, info.commit)),
    )
    try:
        commit = ledger.record(root, event, files=[bundle_rel], now=now)
    except BaseException:
        if not gitrepo.git(["ls-files", "--", bundle_rel], root).strip():
            path.unlink(missing_ok=True)
        raise
    return ReleaseResult(record, commit, (), resumed=False, provenance=built_from)


def _sign_and_write(root: Path, policy: Policy, head: str, request: SigningRequest,
                    draft: release_names.ReleaseRecord, sha: dict[str, str], now: dt.datetime,
                    payload: dict[str, Any]) -> tuple[release_names.ReleaseRecord, Path]:
    """Sign ``sha`` (release and adopt alike), check the bundle under the policy it will
    be verified with, and write it to the draft's bundle path; nothing is committed."""
    trust = load_trust(root, policy, head)
    request = dataclasses.replace(
        request, trust_config=trust.trust_config[1] if trust.trust_config else None)
    extra = {**payload, "name": draft.name, "artifact": draft.artifact,
             "version": draft.label}
    bundle = sign_bundle(request, posixpath.basename(draft.artifact), sha, extra)
    check = check_bundle(bundle, trust, signed_at=now)
    if not check.ok:
        raise ReleaseRefused("the new signature would not verify under the policy",
                             list(check.problems),
                             "sign with a key, certificate or identity the policy lists")
    record = dataclasses.replace(draft, digest=check.digest, signer=check.signer)
    path = root / draft.bundle
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bundle)
    return record, path
