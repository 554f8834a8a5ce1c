"""The parse cache: a warm run gives what a cold one does, and a bad cache is no failure."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from archivist import parsecache
from archivist.history import walk
from realrepo import Repo

DVC = "outs:\n- md5: {h}\n  size: 3\n  hash: md5\n  path: m{i}.pkl\n  meta:\n    owner: {o}\n"


def _walk(root: Path) -> tuple[list[tuple[str, list[object]]], list[str]]:
    """The walk as a new process makes it (nothing of the cache loaded yet)."""
    parsecache.forget()
    warnings: list[str] = []
    steps = [(c.sha, c.changes) for c in walk(root, "HEAD", warnings=warnings)]
    return steps, warnings


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """A few commits of two .dvc files and a dvc.yaml with its lock, one commit broken."""
    monkeypatch.delenv(parsecache.ENV_SWITCH, raising=False)
    repo = Repo(tmp_path / "repo")
    repo.root.mkdir()
    repo.git("init", "-q", "-b", "main")
    for n in range(3):
        for i in range(2):
            repo.write(f"models/m{i}.pkl.dvc", DVC.format(h=f"{n}{i}" * 16, i=i,
                                                          o=f"o{n}@example.com"))
        repo.write("dvc.yaml", "stages:\n  train:\n    cmd: x\n    outs:\n    - out.bin\n"
                   f"artifacts:\n  clf:\n    path: models/m0.pkl\n    desc: v{n}\n")
        repo.write("dvc.lock", "schema: '2.0'\nstages:\n  train:\n    outs:\n"
                   f"    - path: out.bin\n      md5: {f'{n:02d}' * 16}\n      hash: md5\n")
        repo.commit(f"v{n}")
    repo.write("models/m1.pkl.dvc", "outs: [\n")  # broken: keeps the previous meaning
    repo.commit("broken")
    return repo


def _cache_file(repo: Repo) -> Path:
    return repo.root / ".git" / "archivist" / "history.pickle"


def _snapshot(repo: Repo) -> Path:
    return repo.root / ".git" / "archivist" / "walk.pickle"


def _uncached(root: Path, monkeypatch: pytest.MonkeyPatch,
              ) -> tuple[list[tuple[str, list[object]]], list[str]]:
    with monkeypatch.context() as m:
        m.setenv(parsecache.ENV_SWITCH, "0")
        return _walk(root)


def test_warm_walk_equals_cold_and_reads_the_cache(history: Repo) -> None:
    cold = _walk(history.root)
    assert _cache_file(history).is_file()
    assert cold[1] and "its previous content is used" in cold[1][0]
    assert _walk(history.root) == cold
    # the parse cache alone (no walk snapshot) answers too: a planted entry shows through
    _snapshot(history).unlink()
    assert _walk(history.root) == cold
    _snapshot(history).unlink()
    stored = pickle.loads(_cache_file(history).read_bytes())
    key = next(k for k in stored["entries"] if k[0] == "models/m1.pkl.dvc"
               and isinstance(stored["entries"][k], str))
    stored["entries"][key] = "planted message"
    _cache_file(history).write_bytes(pickle.dumps(stored))
    assert any("planted message" in w for w in _walk(history.root)[1])


@pytest.mark.parametrize("damage", [b"", b"not a pickle", b"\x80\x05garbage"])
def test_corrupt_cache_is_ignored_and_rebuilt(history: Repo, damage: bytes) -> None:
    cold = _walk(history.root)
    _cache_file(history).write_bytes(damage)
    _snapshot(history).write_bytes(damage)
    assert _walk(history.root) == cold
    stored = pickle.loads(_cache_file(history).read_bytes())
    assert stored["fingerprint"] == parsecache._FINGERPRINT


def test_cache_from_another_schema_is_ignored(history: Repo) -> None:
    cold = _walk(history.root)
    stored = pickle.loads(_cache_file(history).read_bytes())
    entries = {k: "stale parse" for k in stored["entries"]}
    _cache_file(history).write_bytes(pickle.dumps(
        {"fingerprint": (parsecache.SCHEMA + 1, *parsecache._FINGERPRINT[1:]),
         "entries": entries}))
    _snapshot(history).unlink()
    assert _walk(history.root) == cold
    assert pickle.loads(_cache_file(history).read_bytes())["fingerprint"] == \
        parsecache._FINGERPRINT


def test_unwritable_cache_location_is_no_failure(history: Repo) -> None:
    # a file where the cache folder should be: nothing can be written below it
    (history.root / ".git" / "archivist").write_text("in the way\n")
    cold = _walk(history.root)
    assert (history.root / ".git" / "archivist").read_text() == "in the way\n"
    assert _walk(history.root) == cold


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_git_dir_is_no_failure(history: Repo) -> None:
    git_dir = history.root / ".git"
    git_dir.chmod(0o555)
    try:
        cold = _walk(history.root)
        assert not (git_dir / "archivist").exists()
    finally:
        git_dir.chmod(0o755)
    assert _walk(history.root) == cold


def test_cache_can_be_switched_off(history: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parsecache.ENV_SWITCH, "0")
    cold = _walk(history.root)
    assert not _cache_file(history).exists()
    monkeypatch.delenv(parsecache.ENV_SWITCH)
    assert _walk(history.root) == cold


def test_blob_id_is_gits(history: Repo) -> None:
    data = (history.root / "dvc.yaml").read_bytes()
    assert parsecache.blob_id(data) == history.git("hash-object", "dvc.yaml").stdout.strip()


def test_walk_resumes_from_an_earlier_head(history: Repo,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _walk(history.root)  # snapshot at the current head
    history.write("models/m0.pkl.dvc", DVC.format(h="ab" * 16, i=0, o="new@example.com"))
    history.commit("newer")
    history.write("dvc.lock", "schema: '2.0'\nstages:\n  train:\n    outs:\n"
                  f"    - path: out.bin\n      md5: {'cd' * 16}\n      hash: md5\n")
    history.commit("lock only")
    resumed = _walk(history.root)
    assert resumed == _uncached(history.root, monkeypatch)
    assert len(resumed[0]) == 5 and resumed[1]  # the old warning is still reported
    assert _walk(history.root) == resumed  # now straight from the snapshot


def test_walk_after_rewritten_history_starts_over(history: Repo,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _walk(history.root)
    history.write("models/m1.pkl.dvc", DVC.format(h="ef" * 16, i=1, o="fixed@example.com"))
    history.git("add", "models/m1.pkl.dvc")
    history.git("commit", "-q", "--amend", "--no-edit", "--no-verify")
    rewritten = _walk(history.root)
    assert rewritten == _uncached(history.root, monkeypatch)
    assert not rewritten[1]  # the broken version is gone from history


def test_snapshot_of_another_branch_is_not_used(history: Repo,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    history.git("switch", "-q", "-c", "side")
    history.write("models/m0.pkl.dvc", DVC.format(h="12" * 16, i=0, o="side@example.com"))
    history.commit("side")
    _walk(history.root)
    history.git("switch", "-q", "main")
    assert _walk(history.root) == _uncached(history.root, monkeypatch)


# ---------------------------------------------------------------- trees (check, audit)


@pytest.mark.parametrize("kind", ["working", "index", "commit"])
def test_tree_cache_gives_the_same_artifacts(history: Repo, monkeypatch: pytest.MonkeyPatch,
                                             kind: str) -> None:
    from archivist import inventory
    from archivist.trees import CommitTree, IndexTree, WorkingTree

    history.write("models/m1.pkl.dvc", DVC.format(h="77" * 16, i=1, o="ok@example.com"))
    history.commit("repaired")

    def load() -> list[object]:
        parsecache.forget()
        tree = {"working": lambda: WorkingTree(history.root),
                "index": lambda: IndexTree(history.root),
                "commit": lambda: CommitTree(history.root, history.head())}[kind]()
        try:
            return list(inventory.load_artifacts(tree))
        finally:
            tree.close()

    cold = load()
    assert len(cold) == 3
    monkeypatch.setattr(inventory, "CACHE_MIN_FILES", 1)
    folder = history.root / ".git" / "archivist"
    assert load() == cold and (folder / "tree.pickle").is_file()
    assert load() == cold  # warm
    commit_tree = CommitTree(history.root, history.head())
    try:  # one process, two trees: the second is served by the cache the first loaded
        assert inventory.load_artifacts(commit_tree) == cold
        assert inventory.load_artifacts(WorkingTree(history.root)) == cold
    finally:
        commit_tree.close()
    (folder / "tree.pickle").write_bytes(b"\x80\x05broken")
    assert load() == cold


def test_check_of_one_file_caches_only_registries(history: Repo) -> None:
    history.write("archivist.yaml", "version: 1\ntags:\n  - match: {paths: ['models/**']}\n"
                  "    require:\n      owner: {type: email}\n")
    history.write("models/m1.pkl.dvc", DVC.format(h="77" * 16, i=1, o="not an email"))
    history.commit("policy")
    runs = [history.archivist("check", "models/m1.pkl.dvc") for _ in range(2)]
    assert [r.returncode for r in runs] == [1, 1]
    assert runs[0].stdout == runs[1].stdout and "models/m1.pkl" in runs[0].stdout
    folder = history.root / ".git" / "archivist"
    assert (folder / "registries.pickle").is_file() and not (folder / "tree.pickle").exists()
    # a broken dvc.yaml is still reported, cache or not
    history.write("dvc.yaml", "stages: [\n")
    broken = history.archivist("check", "models/m1.pkl.dvc")
    assert broken.returncode == 2 and "dvc.yaml" in broken.stderr


def test_working_tree_links_still_checked(history: Repo) -> None:
    from archivist.errors import ConfigError
    from archivist.trees import WorkingTree

    outside = history.root.parent / "outside.dvc"
    outside.write_text("outs: []\n")
    (history.root / "models" / "link.dvc").symlink_to(outside)
    (history.root / "models" / "inside.dvc").symlink_to("m0.pkl.dvc")
    (history.root / "models" / "folder.dvc").mkdir()
    tree = WorkingTree(history.root)
    assert tree.read("models/inside.dvc") == tree.read("models/m0.pkl.dvc")
    assert tree.read("models/folder.dvc") is None
    assert tree.read("models/missing.dvc") is None
    with pytest.raises(ConfigError, match="outside the repository"):
        tree.read("models/link.dvc")


def test_linked_worktree_shares_the_common_cache(history: Repo, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    history.git("worktree", "add", "-q", str(linked), "HEAD")
    assert parsecache.cache_dir(linked) == history.root / ".git" / "archivist"
    assert _walk(linked) == _walk(history.root)


class _Planted:
    """A pickle that would create a file when loaded, were loading not restricted."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.target), "w"))


def test_a_planted_pickle_runs_nothing(history: Repo, tmp_path: Path) -> None:
    cold = _walk(history.root)
    marker = tmp_path / "pwned"
    planted = pickle.dumps({"fingerprint": parsecache._FINGERPRINT,
                            "entries": {("x", "y", None): _Planted(marker)}})
    _cache_file(history).write_bytes(planted)
    _snapshot(history).write_bytes(planted)
    assert _walk(history.root) == cold
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_device_in_the_cache_folder_is_skipped(history: Repo, kind: str) -> None:
    cold = _walk(history.root)
    for path in (_cache_file(history), _snapshot(history)):
        path.unlink()
        if kind == "fifo":
            os.mkfifo(path)  # a plain open() would wait for a writer forever
        else:
            path.symlink_to("/dev/zero")  # endless bytes
    # in a child process, so that a regression fails on the timeout instead of hanging
    code = ("import sys; from pathlib import Path; from archivist import history; "
            "print(len(list(history.walk(Path(sys.argv[1]), 'HEAD'))))")
    proc = subprocess.run([sys.executable, "-c", code, str(history.root)], timeout=60,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == len(cold[0])
    # the walk's own save replaced the odd files with a cache again
    assert _snapshot(history).is_file() and not _snapshot(history).is_symlink()
