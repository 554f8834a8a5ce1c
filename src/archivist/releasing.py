"""``archivist release``: check, hash, sign, commit the bundle, tag in GTO's format.

Every refusal happens before anything is written: metadata, the working tree against the
hash DVC records, an existing tag, the signature checked against the policy it will be
verified with. Then the bundle and the release event are committed together and the tags
created on that commit. A crash between the commit and the tag is finished by running the
same command again (the commit is found, and only the tags are made).
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archivist import dvcobjects, gitrepo, ledger, releases, signing
from archivist.artifacts import Artifact, Version
from archivist.dvcobjects import ContentFile
from archivist.errors import EXIT_VIOLATIONS, ArchivistError, ConfigError
from archivist.inventory import find_artifact, load_artifacts, load_tree_policy
from archivist.metadata import check_artifact
from archivist.policy import Policy
from archivist.trees import CommitTree, WorkingTree


class ReleaseRefused(ArchivistError):
    """The release would break a rule; nothing was written (exit 1)."""

    exit_code = EXIT_VIOLATIONS

    def __init__(self, message: str, problems: Sequence[str], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.problems = list(problems)


@dataclass(frozen=True)
class ReleaseResult:
    record: releases.ReleaseRecord
    commit: str
    tags: tuple[str, ...]
    resumed: bool = False

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        return {"tag": r.tag, "tags": list(self.tags), "name": r.name, "release": r.version,
                "artifact": r.artifact, "version": r.label, "digest": r.digest,
                "bundle": r.bundle, "method": r.method, "signer": r.signer,
                "commit": self.commit, "resumed": self.resumed}


def tag_exists(root: Path, tag: str) -> bool:
    return bool(gitrepo.git(["for-each-ref", "--format=%(refname)", f"refs/tags/{tag}"],
                            root).strip())


def _all_tags(root: Path) -> list[str]:
    out = gitrepo.git(["for-each-ref", "--format=%(refname)", "refs/tags/"], root)
    return [line.removeprefix("refs/tags/") for line in out.splitlines()]


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
        files, _ = signing.version_content(root, version, policy)
        return files, []
    if version.is_dir and dvcobjects.missing_objects(root, version)[:1] == [version.digest]:
        for remote in signing.remote_order(policy):
            try:
                dvcobjects.fetch(root, version, [version.digest], remote)
                break
            except ConfigError:
                continue
    files = dvcobjects.workspace_files(root, artifact.path, version)
    extras = dvcobjects.extra_workspace_files(root, artifact.path, files) if version.is_dir \
        else []
    return files, extras


def _content_problems(artifact: Artifact, version: Version, files: Sequence[ContentFile],
                      digests: dict[str, signing.FileDigests], extras: Sequence[str],
                      ) -> list[str]:
    problems = []
    for f in files:
        shown = releases.display_item(artifact.path, f.item)
        got = digests[f.item].md5
        if got != f.md5 and not (version.algorithm == "md5-dos2unix"
                                 and signing.dos2unix_md5(f.path) == f.md5):
            problems.append(f"{shown}: content md5 {got} differs from md5 {f.md5} that DVC "
                            "records")
    problems += [f"{artifact.path}/{e}: not in the version DVC records" for e in extras]
    return problems


def _resume(root: Path, tag: str, stage: str | None) -> ReleaseResult | None:
    """The release commit at HEAD whose tags a crash left unmade, finished now."""
    head = gitrepo.resolve_commit(root, "HEAD")
    commits = ledger.read_ledger(root, head)
    last = commits[-1] if commits else None
    if last is None or last.sha != head or tag not in last.values("Archivist-Tag"):
        return None
    event_file = next((p for s, p in last.changes if s == "A"
                       and p.startswith(ledger.EVENTS_DIR)), None)
    if event_file is None:
        return None
    doc = ledger.read_event_file(root, head, event_file)
    entry = doc["entries"][0]
    name, version = releases.parse_release_tag(tag) or ("", "")
    record = releases.ReleaseRecord(
        name=name, version=version, artifact=entry["artifact"], label=entry["version"],
        digest=entry["digest"], bundle=entry["bundle"], signer=entry["signer"],
        method=entry["method"])
    tags = _make_tags(root, head, record, stage, None)
    return ReleaseResult(record, head, tags, resumed=True)


def _make_tags(root: Path, commit: str, record: releases.ReleaseRecord, stage: str | None,
               message: str | None) -> tuple[str, ...]:
    text = releases.tag_message(record)
    if message:
        text = message.strip() + "\n\n" + text.split("\n\n", 1)[1]
    made = [record.tag]
    gitrepo.git(["tag", "-a", "-F", "-", "--", record.tag, commit], root,
                input=text.encode("utf-8"))
    if stage:
        counter = releases.next_stage_counter(_all_tags(root), record.name)
        stage_tag = releases.stage_tag_name(record.name, stage, counter)
        gitrepo.git(["tag", "-a", "-F", "-", "--", stage_tag, commit], root,
                    input=releases.stage_message(record.name, record.version, stage)
                    .encode("utf-8"))
        made.append(stage_tag)
    return tuple(made)


def release_artifact(root: Path, spec: str, repo_path: str | None, version: str, *,
                     stage: str | None = None, method: str | None = None,
                     key: Path | None = None, cert_chain: Sequence[Path] = (),
                     message: str | None = None, interactive: bool = False,
                     now: dt.datetime | None = None,
                     progress: Callable[[int], None] | None = None) -> ReleaseResult:
    """Release ``spec`` (a dvc.yaml artifact name or output path) as ``version``."""
    releases.check_version(version)
    if stage:
        releases.check_stage(stage)
    now = now or dt.datetime.now(dt.UTC)
    head = gitrepo.resolve_commit(root, "HEAD")
    cat = gitrepo.CatFile(root)
    try:
        head_tree = CommitTree(root, head, cat=cat)
        policy = load_tree_policy(head_tree)
        artifact = find_artifact(load_artifacts(head_tree), spec, repo_path)
        dirty = _uncommitted(root, head_tree, artifact)
    finally:
        cat.close()
    name = releases.release_name(artifact)
    tag = releases.tag_name(name, version)
    if tag_exists(root, tag):
        raise ReleaseRefused(f"tag {tag} exists already", [f"tag {tag} exists already"],
                             "choose the next version; a release is never re-signed")
    resumed = _resume(root, tag, stage)
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
    bundle_rel = releases.bundle_path(name, version)
    if gitrepo.git(["ls-files", "--", bundle_rel], root).strip():
        raise ConfigError(f"{bundle_rel} is already committed, but tag {tag} is missing",
                          "restore the tag from its release commit, or release another "
                          "version")
    ledger.ensure_can_commit(root, policy.branch)
    version_ = artifact.version
    files, extras = _content(root, artifact, version_, policy)
    digests = signing.hash_files(files, md5=True, progress=progress)
    problems = _content_problems(artifact, version_, files, digests, extras)
    if problems:
        raise ReleaseRefused(f"{artifact.path}: the content differs from what DVC records",
                             problems, f"dvc add {artifact.path} (or dvc checkout), commit, "
                             "and release again")
    sha = {item: d.sha256 for item, d in digests.items()}
    method = method or policy.signing.method
    trust = signing.load_trust(root, policy, head)
    request = signing.SigningRequest(
        method=method, key=key, cert_chain=tuple(cert_chain),
        trust_config=trust.trust_config[1] if trust.trust_config else None,
        interactive=interactive)
    extra = {"tag": tag, "name": name, "artifact": artifact.path, "version": version_.label}
    bundle = signing.sign_bundle(request, posixpath.basename(artifact.path), sha, extra)
    check = signing.check_bundle(bundle, trust, signed_at=now)
    if not check.ok:
        raise ReleaseRefused("the new signature would not verify under the policy",
                             list(check.problems),
                             "sign with a key, certificate or identity the policy lists")
    record = releases.ReleaseRecord(
        name=name, version=version, artifact=artifact.path, label=version_.label,
        digest=check.digest, bundle=bundle_rel, signer=check.signer, method=method)
    path = root / bundle_rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bundle)
    event = ledger.Event(
        kind="release", subject=f"release: {tag} ({artifact.path} {version_.label})",
        entries=(ledger.EventEntry(artifact.path, version_.label, details={
            "tag": tag, "digest": record.digest, "bundle": bundle_rel,
            "signer": record.signer, "method": method, "files": len(files)}),),
        extra_trailers=(("Archivist-Tag", tag), ("Archivist-Signer", record.signer)),
    )
    try:
        commit = ledger.record(root, event, body=message or "", files=[bundle_rel], now=now)
    except BaseException:
        if not gitrepo.git(["ls-files", "--", bundle_rel], root).strip():
            path.unlink(missing_ok=True)
        raise
    tags = _make_tags(root, commit, record, stage, message)
    return ReleaseResult(record, commit, tags)
