"""Plain-git adapter: every git process archivist starts goes through here.

Argument lists only (never a shell), ``--`` before paths, and ``rev-parse --verify`` to
test refs. Blobs are read in bulk through one ``git cat-file --batch`` process. Every
listing of paths is read NUL-separated (``-z``): a file name may hold a newline (DVC
tracks ``models/a.bin\nx``), and a line-based reading would let it pass unseen.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from archivist.errors import GitError

# A hook runs with GIT_INDEX_FILE (and, in worktrees, GIT_DIR) set: they are kept on purpose
# so that `git` sees the same index and repository as the commit in progress.


def git(args: Sequence[str], cwd: Path | str, *, input: bytes | None = None,
        check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run ``git ARGS`` in ``cwd``; return stdout as text, or raise GitError with stderr."""
    return git_bytes(args, cwd, input=input, check=check, env=env).decode("utf-8", "replace")


def git_bytes(args: Sequence[str], cwd: Path | str, *, input: bytes | None = None,
              check: bool = True, env: dict[str, str] | None = None) -> bytes:
    full_env = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                              env=full_env, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", "install git") from None
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = message[-1] if message else f"exit {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {detail.removeprefix('fatal: ')}")
    return proc.stdout


def toplevel(start: Path | str = ".") -> Path | None:
    """The work tree root containing ``start``, or None outside a git repository."""
    plain = _plain_top(start)
    if plain is not None:
        return plain
    try:
        out = git(["rev-parse", "--show-toplevel"], start)
    except GitError:
        return None
    return Path(out.strip())


# Anything that lets git put the work tree somewhere other than beside its ``.git``.
_RELOCATING_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CONFIG_COUNT")
_RELOCATING_WORDS = (b"worktree", b"include")  # core.worktree, include/includeIf
_TRUE = (b"true", b"yes", b"on", b"1")


def _plain_top(start: Path | str) -> Path | None:
    """``start`` itself when it is plainly the top of a work tree, else None (ask git).

    Git runs hooks, and the pre-commit framework its hooks, from the top of the work
    tree: there a ``.git`` folder with ``HEAD`` and ``objects`` answers what ``git
    rev-parse --show-toplevel`` would, without a process on every commit. Anything less
    plain (a linked worktree's ``.git`` file, ``core.worktree``, an ``include``, GIT_DIR)
    is left to git.
    """
    if any(name in os.environ for name in _RELOCATING_ENV) or \
            "worktree" in os.environ.get("GIT_CONFIG_PARAMETERS", "").lower():
        return None
    top = os.path.realpath(start)
    dotgit = os.path.join(top, ".git")
    try:
        if not (os.path.isfile(os.path.join(dotgit, "HEAD")) and
                os.path.isdir(os.path.join(dotgit, "objects"))):
            return None
        with open(os.path.join(dotgit, "config"), "rb") as handle:
            config = handle.read(1 << 16).lower()
    except (OSError, ValueError):
        return None
    if len(config) >= 1 << 16 or any(word in config for word in _RELOCATING_WORDS):
        return None
    for line in config.splitlines():
        key, _, value = line.partition(b"=")
        if key.strip() == b"bare" and value.split(b"#")[0].split(b";")[0].strip() in _TRUE:
            return None
    return Path(top)


def require_toplevel(start: Path | str = ".") -> Path:
    root = toplevel(start)
    if root is None:
        raise GitError(f"{Path(start).resolve()} is not inside a git repository",
                       "run archivist from a git checkout (git init)")
    return root


def resolve_commit(root: Path, ref: str) -> str:
    """Full SHA of ``ref`` as a commit, or a GitError naming the ref."""
    if ref.startswith("-"):
        raise GitError(f"{ref!r} is not a git revision")
    try:
        return git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
                   root).strip()
    except GitError:
        raise GitError(f"unknown git revision {ref!r}",
                       "fetch it first, or check the spelling (git rev-parse --verify)") from None


def current_branch(root: Path) -> str | None:
    out = git(["symbolic-ref", "--quiet", "--short", "HEAD"], root, check=False).strip()
    return out or None


def ls_files(root: Path, *, untracked: bool = True) -> list[str]:
    """Paths in the index, plus untracked files not ignored (as a user sees the tree)."""
    args = ["ls-files", "-z", "--cached"]
    if untracked:
        args += ["--others", "--exclude-standard"]
    out = git_bytes(args, root)
    seen: dict[str, None] = {}
    for raw in out.split(b"\0"):
        if raw:
            seen[raw.decode("utf-8", "surrogateescape")] = None
    return list(seen)


def tracked_named(root: Path, name: str) -> list[str]:
    """Paths in the index whose last component is ``name`` (every ``dvc.yaml``).

    Found in the raw listing before anything is decoded: at 10,000 tracked files,
    splitting and decoding every name cost the hook more than git's listing itself.
    """
    out = git_bytes(["ls-files", "-z", "--cached"], root)
    raw = name.encode("utf-8", "surrogateescape")
    needle = raw + b"\0"  # every entry ends in NUL, the last one too
    found: dict[str, None] = {}  # an unmerged path is listed once per stage
    at = out.find(needle)
    while at != -1:
        start = out.rfind(b"\0", 0, at) + 1
        if start == at or out[at - 1:at] == b"/":
            found[out[start:at + len(raw)].decode("utf-8", "surrogateescape")] = None
        at = out.find(needle, at + len(needle))
    return list(found)


def ls_tree(root: Path, rev: str) -> list[str]:
    return zsplit(git_bytes(["ls-tree", "-r", "-z", "--name-only", "--full-tree", rev], root))


def staged_files(root: Path) -> list[str]:
    """Paths added, copied or modified in the index against HEAD (what a commit adds)."""
    out = git_bytes(["diff", "--cached", "--name-only", "-z", "--no-renames",
                     "--diff-filter=ACMR"], root)
    return zsplit(out)


def zsplit(out: bytes) -> list[str]:
    """The paths of a NUL-separated git listing (names as git stores them)."""
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def changed_files_by_commit(root: Path, from_ref: str, to_ref: str,
                            ) -> list[tuple[str, list[str]]]:
    """(commit, paths added, copied or modified) for each commit in FROM..TO, oldest first.

    One ``git log --raw`` for the whole range (``log``: every path is read by position).
    Merge commits list no files: their parents are in the range.
    """
    return [(r.fields[0], [f.path for f in r.files])
            for r in log(root, ["--reverse", "--diff-filter=ACMR", f"{from_ref}..{to_ref}"],
                         ("%H",), files="raw")]


# Reading ``git log``: every caller names the placeholders it wants and gets one record a
# commit. The fields are NUL-separated (no commit text holds a NUL), each header starts
# with a record separator, and each file follows its status (``--name-status``) or its raw
# record (``--raw``): read by position, no byte a file name holds (a newline, a record
# separator) can be taken for a commit boundary. Renames are always off, so a status is
# followed by exactly one path. Plain classes, not dataclasses: the hook imports this.

# These would change how git reads archivist's pathspecs, so they are not passed on.
PATHSPEC_ENV = ("GIT_GLOB_PATHSPECS", "GIT_NOGLOB_PATHSPECS", "GIT_LITERAL_PATHSPECS",
                "GIT_ICASE_PATHSPECS")


class FileChange:
    """One file a commit changed: its status letter (A, C, D, M, T...), its path, and with
    ``--raw`` the blob it has after the commit (all zeros when deleted)."""

    __slots__ = ("blob", "path", "status")

    def __init__(self, status: str, path: str, blob: str | None = None) -> None:
        self.status, self.path, self.blob = status, path, blob

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FileChange) and \
            (self.status, self.path, self.blob) == (other.status, other.path, other.blob)

    def __repr__(self) -> str:
        return f"FileChange({self.status!r}, {self.path!r}, {self.blob!r})"


class LogRecord:
    """One commit ``log`` read: the values of the placeholders asked for, in that order,
    and the files it changed (empty unless ``files`` asked for them)."""

    __slots__ = ("fields", "files")

    def __init__(self, fields: tuple[str, ...], files: tuple[FileChange, ...]) -> None:
        self.fields, self.files = fields, files

    def __repr__(self) -> str:
        return f"LogRecord({self.fields!r}, {self.files!r})"


def log(root: Path, args: Sequence[str], fields: Sequence[str], *,
        files: str = "", paths: Sequence[str] = (), stdin: Sequence[str] | None = None,
        fix: str = "check the branch or revision name") -> Iterator[LogRecord]:
    """``git log ARGS -- PATHS``, one record a commit as git prints them, streamed.

    ``fields`` are format placeholders (``%H``, ``%aI``, ``%(trailers:only,unfold)``...);
    ``files`` is ``"status"`` (``--name-status``), ``"raw"`` (``--raw``, with blob ids) or
    ``""`` (none); ``stdin`` lists revisions for ``--stdin``. Raises ``GitError`` (with
    ``fix``) when git fails, after the records it printed.
    """
    cmd = ["git", "log", "-z", "--no-renames", "--format=%x1e" + "%x00".join(fields)]
    if files == "status":
        cmd.append("--name-status")
    elif files == "raw":
        cmd += ["--raw", "--no-abbrev"]
    cmd += [*args, *(["--stdin"] if stdin is not None else []), "--", *paths]
    env = {k: v for k, v in os.environ.items() if k not in PATHSPEC_ENV}
    try:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                stdin=subprocess.PIPE if stdin is not None else
                                subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", "install git") from None
    assert proc.stdout is not None and proc.stderr is not None
    if proc.stdin is not None:
        # git log reads every revision of --stdin before it prints anything
        proc.stdin.write("".join(f"{r}\n" for r in stdin or ()).encode())
        proc.stdin.close()
    try:
        yield from _log_records(_zsplit_stream(proc.stdout), len(fields))
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode("utf-8", "replace").strip()
        proc.stderr.close()
        code = proc.wait()
    if code != 0:
        detail = err.splitlines()[-1] if err else f"exit {code}"
        raise GitError(f"git log failed: {detail.removeprefix('fatal: ')}", fix)


def _zsplit_stream(stream: IO[bytes]) -> Iterator[bytes]:
    """The NUL-separated tokens of ``stream``, as they arrive."""
    rest = b""
    while chunk := stream.read(1 << 16):
        *done, rest = (rest + chunk).split(b"\0")
        yield from done
    if rest:
        yield rest


def _log_records(tokens: Iterator[bytes], nfields: int) -> Iterator[LogRecord]:
    header: tuple[str, ...] | None = None
    changes: list[FileChange] = []
    for token in tokens:
        if token.startswith(b"\n"):  # git ends the header line before the first file
            token = token[1:]
        if token.startswith(b"\x1e"):
            if header is not None:
                yield LogRecord(header, tuple(changes))
            values = [token[1:], *(next(tokens, b"") for _ in range(nfields - 1))]
            header, changes = tuple(v.decode("utf-8", "replace") for v in values), []
            continue
        if not token:
            continue
        path = next(tokens, None)
        if header is None or path is None or token.startswith(b"::"):
            raise GitError("git log: unexpected output (not a commit's file list)")
        blob = None
        if token.startswith(b":"):  # :old-mode new-mode old-blob new-blob status
            meta = token[1:].split()
            token, blob = meta[-1], meta[3].decode("ascii")
        changes.append(FileChange(token[:1].decode("ascii", "replace"),
                                  path.decode("utf-8", "surrogateescape"), blob))
    if header is not None:
        yield LogRecord(header, tuple(changes))


def read_blobs(root: Path, shas: list[str]) -> dict[str, bytes]:
    """Many blobs through one ``git cat-file --batch``, requests and replies pipelined
    (a writer thread feeds the names while this one reads): no round trip per blob."""
    import threading

    proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=root, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    stdin = proc.stdin

    def feed() -> None:
        try:
            stdin.write(b"".join(s.encode() + b"\n" for s in shas))
        finally:
            stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    blobs: dict[str, bytes] = {}
    stdout = proc.stdout
    for sha in shas:
        header = stdout.readline()
        parts = header.split()
        if len(parts) != 3:
            continue  # "<sha> missing"
        data = stdout.read(int(parts[2]))
        stdout.read(1)
        if parts[1] == b"blob":
            blobs[sha] = data
    writer.join()
    stdout.close()
    proc.wait()
    return blobs


def on_first_parent_chain(root: Path, base: str, head: str) -> bool:
    """Whether ``base`` (still there) is a first-parent ancestor of ``head``."""
    proc = git_proc(["rev-list", "--first-parent", "--parents", "--reverse",
                     "--end-of-options", f"{base}..{head}"], root)
    if proc.returncode != 0:
        return False
    oldest = proc.stdout.split(b"\n", 1)[0].split()
    return len(oldest) >= 2 and oldest[1].decode() == base


def common_dir(root: Path) -> str | None:
    """``git rev-parse --git-common-dir`` as git prints it (relative to ``root``, or
    absolute); None when git cannot say."""
    try:
        proc = git_proc(["rev-parse", "--git-common-dir"], root)
    except (OSError, GitError):
        return None
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    return lines[-1] if proc.returncode == 0 and lines and lines[-1] else None


def _object_id(root: Path, spec: str) -> str | None:
    """The object id ``spec`` names (``rev:path``, ``:path``), None when there is none."""
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "--end-of-options", spec],
                          cwd=root, capture_output=True, check=False)
    text = proc.stdout.decode("ascii", "replace").strip()
    return text if proc.returncode == 0 and text else None


class CatFile:
    """One long-lived ``git cat-file --batch``: read many blobs at one process' cost."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._proc = subprocess.Popen(
            ["git", "cat-file", "--batch"], cwd=root, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )

    def read(self, spec: str) -> bytes | None:
        """Content of ``spec`` (``sha``, ``rev:path``, ``:path``), None when missing."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        if "\n" in spec:
            # The batch protocol is one spec a line: name the object by its id instead
            # (rev-parse takes the spec as one argument, newline and all).
            found = _object_id(self._root, spec)
            if found is None:
                return None
            spec = found
        self._proc.stdin.write(spec.encode("utf-8", "surrogateescape") + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline()
        if not header or header.endswith(b" missing\n") or header.endswith(b" ambiguous\n"):
            return None
        parts = header.split()
        kind, size = parts[1], int(parts[2])
        data = self._proc.stdout.read(size)
        self._proc.stdout.read(1)  # the newline after the content
        return data if kind == b"blob" else None

    def read_many(self, specs: Iterable[str]) -> dict[str, bytes | None]:
        return {spec: self.read(spec) for spec in specs}

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait()

    def __enter__(self) -> CatFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Publishing (ledgerpush): one atomic push, the fetch that follows a rejection, the replay.


def git_proc(args: Sequence[str], cwd: Path | str, *, input: bytes | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` and hand back the whole result (exit code, stdout, stderr)."""
    full_env = None if env is None else {**os.environ, **env}
    try:
        return subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                              env=full_env, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", "install git") from None


def push_atomic(root: Path, remote: str, refspecs: Sequence[str],
                ) -> tuple[int, list[tuple[str, str, str]], str]:
    """``git push --atomic --porcelain``: (exit code, [(flag, remote ref, summary)], stderr).

    Flags as git prints them: ``!`` rejected, ``*`` new, `` `` fast-forward, ``-`` deleted,
    ``=`` up to date. With ``--atomic`` either every ref moves or none does.
    """
    proc = git_proc(["push", "--atomic", "--porcelain", "--no-signed", "--", remote,
                     *refspecs], root)
    refs = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            refs.append((parts[0], parts[1].rpartition(":")[2], parts[2]))
    return proc.returncode, refs, proc.stderr.decode("utf-8", "replace")


def fetch_branch(root: Path, remote: str, branch: str) -> str | None:
    """The commit ``branch`` is at on ``remote`` now (fetched), None when it has no such branch.
    """
    listed = git_proc(["ls-remote", "--heads", "--", remote, f"refs/heads/{branch}"], root)
    if listed.returncode != 0:
        lines = listed.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = next((ln for ln in lines if ln.startswith("fatal: ")),
                      lines[-1] if lines else "git ls-remote failed")
        raise GitError(f"cannot read {branch!r} from {remote}: "
                       f"{detail.removeprefix('fatal: ')}",
                       "check the remote's URL and the credentials the job pushes with")
    if not listed.stdout.strip():
        return None
    git(["fetch", "--quiet", "--no-tags", "--", remote, f"refs/heads/{branch}"], root)
    return git(["rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}"], root).strip()


def remote_tags(root: Path, remote: str, tags: Iterable[str]) -> dict[str, str]:
    """Which of ``tags`` exist on ``remote``: name -> the object the remote tag names."""
    tags = list(tags)
    if not tags:
        return {}
    out = git(["ls-remote", "--tags", "--", remote, *(f"refs/tags/{t}" for t in tags)], root)
    found = {}
    for line in out.splitlines():
        obj, _, ref = line.partition("\t")
        found[ref] = obj
    return {t: found[f"refs/tags/{t}"] for t in tags if f"refs/tags/{t}" in found}


def upstream(root: Path, rev: str = "HEAD") -> str | None:
    """The remote-tracking branch ``rev``'s branch follows (``refs/remotes/origin/main``),
    None when it follows none."""
    proc = git_proc(["rev-parse", "--verify", "--quiet", "--symbolic-full-name",
                     f"{rev}@{{upstream}}"], root)
    text = proc.stdout.decode("utf-8", "replace").strip()
    return text if proc.returncode == 0 and text else None


def commits_between(root: Path, base: str, tip: str) -> set[str]:
    """The commits ``tip`` has and ``base`` has not (``git rev-list BASE..TIP``)."""
    return set(git(["rev-list", "--end-of-options", f"{base}..{tip}"], root).split())


def is_ancestor(root: Path, ancestor: str, descendant: str) -> bool:
    return git_proc(["merge-base", "--is-ancestor", ancestor, descendant], root).returncode == 0


def rebase_onto(root: Path, upstream: str, *, sign: bool) -> str | None:
    """Replay the current branch's own commits on ``upstream``; None (and nothing changed)
    when git cannot do it without help."""
    args = ["rebase", "--quiet", "--no-verify", "--no-autostash"]
    if sign:
        args.append("--gpg-sign")
    proc = git_proc([*args, upstream], root, env={"GIT_EDITOR": "true"})
    if proc.returncode != 0:
        git_proc(["rebase", "--abort"], root)
        lines = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip().splitlines()
        return lines[0] if lines else f"git rebase exited {proc.returncode}"
    return None


def tag_targets(root: Path) -> dict[str, tuple[str, str, bool]]:
    """Every local tag: name -> (tag object or commit, peeled commit, annotated)."""
    out = git(["for-each-ref", "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)"
               "%00%(objecttype)", "refs/tags/"], root)
    tags = {}
    for line in out.splitlines():
        name, obj, peeled, kind = line.split("\0")
        tags[name] = (obj, peeled or obj, kind == "tag")
    return tags


def taggers(root: Path) -> dict[str, tuple[str | None, str | None]]:
    """Every local tag: name -> (tagger ``Name <email>``, tagger date ISO 8601); both None
    for a lightweight tag."""
    out = git(["for-each-ref", "--format=%(refname:strip=2)%00%(taggername) "
               "%(taggeremail)%00%(taggerdate:iso-strict)", "refs/tags/"], root)
    found: dict[str, tuple[str | None, str | None]] = {}
    for line in out.splitlines():
        parts = line.split("\0")
        if len(parts) == 3:
            found[parts[0]] = (parts[1].strip() or None, parts[2] or None)
    return found


def move_tag(root: Path, tag: str, commit: str) -> None:
    """Point ``tag`` at ``commit``, keeping an annotated tag's message (signed again when it
    was signed)."""
    obj, _, annotated = tag_targets(root)[tag]
    if not annotated:
        git(["tag", "--force", "--", tag, commit], root)
        return
    raw = git_bytes(["cat-file", "tag", obj], root)
    message = raw.split(b"\n\n", 1)[1] if b"\n\n" in raw else b""
    signed = False
    for marker in (b"-----BEGIN PGP SIGNATURE-----", b"-----BEGIN SSH SIGNATURE-----",
                   b"-----BEGIN SIGNED MESSAGE-----"):
        if marker in message:
            message, signed = message.split(marker, 1)[0], True
    args = ["tag", "--force", "--annotate", "--cleanup=verbatim", "-F", "-"]
    if signed:
        args.append("--sign")
    git([*args, "--", tag, commit], root, input=message)


def create_bundle(root: Path, path: Path, refs: Sequence[str], exclude: str | None) -> None:
    """A git bundle of ``refs`` (minus what ``exclude`` has), for a job to keep as a file."""
    git(["bundle", "create", "--quiet", str(path), *refs, *([f"^{exclude}"] if exclude else [])],
        root)


# Signatures (authority): git checks them, with the allowed-signers file the caller names.


def signature_records(root: Path, commits: Sequence[str], allowed_signers: Path | None,
                      ) -> dict[str, tuple[str, str, str]]:
    """``commit -> (%G?, signer principal, key fingerprint)`` from one ``git log --no-walk``.

    git runs ``ssh-keygen -Y verify`` per signature with ``allowed_signers`` and the
    commit's own time (so valid-after/valid-before apply at that time); OpenPGP signatures
    are checked against the user's keyring as git always does.
    """
    if not commits:
        return {}
    config = ["-c", f"gpg.ssh.allowedSignersFile={allowed_signers}"] if allowed_signers \
        else ["-c", f"gpg.ssh.allowedSignersFile={os.devnull}"]
    out = git_bytes([*config, "log", "--no-walk=unsorted", "-z",
                     "--format=%H%x1f%G?%x1f%GS%x1f%GF", "--stdin"], root,
                    input="".join(f"{c}\n" for c in commits).encode())
    records: dict[str, tuple[str, str, str]] = {}
    for record in out.split(b"\0"):
        fields = record.decode("utf-8", "replace").strip("\n").split("\x1f")
        if len(fields) == 4:
            records[fields[0]] = (fields[1], fields[2], fields[3])
    return records


def blob_id(root: Path, rev: str, path: str) -> str | None:
    """The id of ``path`` in ``rev``; None when ``rev`` or the path does not exist."""
    return _object_id(root, f"{rev}:{path}")


_COMMIT_FIELDS = ("%H", "%P", "%an <%ae>", "%cI", "%s", "%(trailers:only,unfold)")


def commit_records(root: Path, revs: Sequence[str], *, first_parent: bool = False,
                   stdin: Sequence[str] | None = None,
                   ) -> list[tuple[list[str], list[tuple[str, str]]]]:
    """``([sha, parents, author, committer date, subject, trailers], [(status, path)])``
    for each commit of ``git log REVS`` (or of the commits given on ``stdin``), oldest
    first, from one ``git log --name-status`` (with ``first_parent`` a merge shows its
    diff against its first parent)."""
    args = ["--no-walk=unsorted"] if stdin is not None else ["--reverse"]
    if first_parent:
        args.append("--first-parent")
    return [(list(r.fields), [(f.status, f.path) for f in r.files])
            for r in log(root, [*args, *revs], _COMMIT_FIELDS, files="status", stdin=stdin)]


def verify_tag(root: Path, tag: str, allowed_signers: Path | None,
               ) -> tuple[str, str, str]:
    """``(%G?-like letter, principal, key fingerprint)`` of ``git verify-tag TAG``: G good,
    U good but no allowed signer matches (then), N not signed (or a lightweight tag), B bad.

    git judges an SSH signature with ``allowed_signers`` at the tagger's time.
    """
    config = f"gpg.ssh.allowedSignersFile={allowed_signers or os.devnull}"
    proc = git_proc(["-c", config, "verify-tag", "--", tag], root)
    text = (proc.stderr + proc.stdout).decode("utf-8", "replace")
    key = ""
    principal = ""
    for line in text.splitlines():
        if line.startswith('Good "git" signature'):
            head, _, key = line.rpartition(" key ")
            if " for " in head:
                principal = head.split(" for ", 1)[1].rsplit(" with ", 1)[0]
    if proc.returncode == 0:
        return "G", principal, key.strip()
    if "no signature found" in text or "cannot verify a non-tag object" in text:
        return "N", "", ""
    return ("U" if key else "B"), "", key.strip()


def config_value(root: Path, key: str) -> str | None:
    """``git config KEY`` as git resolves it (repository, global, system), None when unset."""
    proc = git_proc(["config", "--get", key], root)
    text = proc.stdout.decode("utf-8", "replace").strip()
    return text if proc.returncode == 0 and text else None


def probe_signature(root: Path, allowed_signers: Path | None,
                    ) -> tuple[str, str, str] | str:
    """Sign a throwaway commit as ``git commit -S`` would, and judge it as ``git log`` does.

    The commit goes to a temporary object store (the repository's objects are only read
    through it), so nothing in the repository changes. Returns ``(%G?, principal, key
    fingerprint)`` with ``allowed_signers`` as the signers file (valid-after/valid-before
    judged now), or git's own line when it cannot sign (no key, agent or passphrase).
    """
    import tempfile

    objects = git(["rev-parse", "--path-format=absolute", "--git-path", "objects"],
                  root).strip()
    with tempfile.TemporaryDirectory(prefix="archivist-probe-") as tmp:
        env = {"GIT_OBJECT_DIRECTORY": tmp, "GIT_ALTERNATE_OBJECT_DIRECTORIES": objects}
        empty = git_proc(["hash-object", "-t", "tree", "-w", "--stdin"], root, input=b"",
                         env=env)
        made = git_proc(["commit-tree", "-S", empty.stdout.decode().strip()], root,
                        input=b"archivist: signing probe\n", env=env)
        if made.returncode != 0 or empty.returncode != 0:
            lines = [line.strip() for line in made.stderr.decode("utf-8", "replace")
                     .splitlines() if line.strip()]
            errors = [line for line in lines if line.startswith(("error:", "fatal:"))]
            return (errors or lines or [f"git commit-tree exited {made.returncode}"])[0]
        sha = made.stdout.decode().strip()
        config = f"gpg.ssh.allowedSignersFile={allowed_signers or os.devnull}"
        out = git(["-c", config, "log", "--no-walk", "--format=%G?%x1f%GS%x1f%GF", sha],
                  root, env=env)
    letter, principal, key = [*out.strip("\n").split("\x1f"), "", "", ""][:3]
    return letter, principal, key


# Shared remotes: another repository's branch and tags, read into a private namespace.


def fetch_refs(root: Path, url: str, refspecs: Sequence[str]) -> None:
    """``git fetch`` of ``refspecs`` (forced, destinations pruned) from ``url`` into refs
    of this repository: nothing is written to ``url``, no tag is followed into
    ``refs/tags`` (another repository's release tags must never pin versions here), no
    ``FETCH_HEAD``, no maintenance, never a credential prompt.

    Raises ``GitError`` with git's own reason (unreachable, no such branch, not a
    repository)."""
    if url.startswith("-"):
        raise GitError(f"{url!r} is not a repository URL", "write a path or a URL")
    # a URL from a policy file: the transports git trusts by default, never ext:: or
    # another remote helper (protocol.allow=never, then each one allowed by name)
    allowed = [arg for name in ("file", "git", "http", "https", "ssh")
               for arg in ("-c", f"protocol.{name}.allow=always")]
    proc = git_proc(["-c", "protocol.allow=never", *allowed, "fetch", "--quiet",
                     "--no-tags", "--prune", "--force", "--no-write-fetch-head",
                     "--no-auto-maintenance",
                     "--no-recurse-submodules", "--", url, *refspecs], root,
                    env={"GIT_TERMINAL_PROMPT": "0"})
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = next((ln for ln in lines if ln.startswith("fatal: ")),
                      lines[-1] if lines else f"git fetch exited {proc.returncode}")
        raise GitError(f"cannot fetch from {url}: {detail.removeprefix('fatal: ')}",
                       "check the URL and branch in remotes.shared_with, and that this "
                       "machine may read that repository")

