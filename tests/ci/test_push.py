"""archivist push against a real bare origin, with real concurrent pushes from a second clone.

What a user would check afterwards: origin's main holds every event file and bundle, the
release tag names a commit on main, a fresh clone verifies the release, and nothing is
half-pushed when the push is refused.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ci.cirepo import CISample as Sample
from ci.cirepo import make_ci_sample
from realrepo import BIN, Repo, run


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return make_ci_sample(tmp_path_factory.mktemp("push-base"))


@pytest.fixture
def sample(base: Sample, tmp_path: Path) -> Sample:
    return base.copy(tmp_path / "team")


def _release(repo: Repo, sample: Sample, version: str = "v1.1.0") -> None:
    repo.dvc("pull", "-q")
    proc = repo.archivist("release", "clf", version, "--key", sample.keys.private)
    assert proc.returncode == 0, proc.stderr


def _origin(sample: Sample, *args: str, check: bool = True) -> str:
    return run(["git", "--git-dir", str(sample.origin), *args], sample.origin.parent,
               check=check).stdout


def _events_on_main(sample: Sample) -> set[str]:
    out = _origin(sample, "ls-tree", "-r", "--name-only", "main", "--", ".archivist/")
    return set(out.split())


def _local_events(repo: Repo) -> set[str]:
    return set(repo.git("ls-tree", "-r", "--name-only", "HEAD", "--", ".archivist/")
               .stdout.split())


def _human_push(person: Repo, name: str) -> str:
    person.git("pull", "-q", "--ff-only")
    person.write(f"notes/{name}.md", f"{name}\n")
    sha = person.commit(f"notes: {name}")
    person.git("push", "-q", "origin", "main")
    return sha


def _race_hook(publisher: Repo, person: Repo, times: int) -> None:
    """A pre-push hook in the publisher's clone: during each of its first ``times`` pushes,
    the person pushes a commit of their own, so the publisher's push loses the race."""
    hook = publisher.root / ".git" / "hooks" / "pre-push"
    count = publisher.root / ".git" / "race-count"
    hook.write_text(f"""#!/bin/sh
n=$(cat "{count}" 2>/dev/null || echo 0)
[ "$n" -ge {times} ] && exit 0
echo $((n + 1)) > "{count}"
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX
cd "{person.root}" && git pull -q --ff-only && echo "race $n" > "race-$n.txt" &&
git add "race-$n.txt" && git commit -q --no-verify -m "race $n" && git push -q origin main
""")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)


def test_release_after_a_concurrent_push_lands_whole_and_verifies(sample: Sample,
                                                                 tmp_path: Path) -> None:
    publisher = sample.clone("runner", "archivist release", "bot@example.com")
    person = sample.clone("bob", "Bob Stone", "bob@example.com")
    _origin(sample, "tag", "release/clf/v1.1.0", "main")  # the request tag someone pushed
    publisher.git("fetch", "-q", "--tags")
    _release(publisher, sample)
    theirs = _human_push(person, "meanwhile")  # lands between the release commit and push

    proc = publisher.archivist("push", "--delete-tag", "release/clf/v1.1.0", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["replayed"] == 1 and out["tags"] == ["clf@v1.1.0"]

    tagged = _origin(sample, "rev-parse", "clf@v1.1.0^{commit}").strip()
    run(["git", "--git-dir", str(sample.origin), "merge-base", "--is-ancestor", tagged,
         "main"], sample.origin.parent)
    run(["git", "--git-dir", str(sample.origin), "merge-base", "--is-ancestor", theirs,
         "main"], sample.origin.parent)
    assert _local_events(publisher) == _events_on_main(sample)
    assert any(p.endswith("v1.1.0.sig") for p in _events_on_main(sample))
    assert "release/clf/v1.1.0" not in _origin(sample, "tag", "--list")

    fresh = sample.clone("auditor")
    fresh.git("fetch", "-q", "--tags")
    verified = fresh.archivist("verify", "clf@v1.1.0", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    gto = run([BIN / "gto", "show", "clf", "--json"], fresh.root).stdout
    assert "v1.1.0" in gto


def test_push_retries_while_others_keep_pushing(sample: Sample, tmp_path: Path) -> None:
    publisher = sample.clone("runner", "archivist release", "bot@example.com")
    person = sample.clone("bob", "Bob Stone", "bob@example.com")
    _release(publisher, sample)
    _race_hook(publisher, person, times=2)

    proc = publisher.archivist("push", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["attempts"] == 3
    main = _origin(sample, "ls-tree", "-r", "--name-only", "main").split()
    assert {"race-0.txt", "race-1.txt"} <= set(main)
    assert _local_events(publisher) == _events_on_main(sample)
    tagged = _origin(sample, "rev-parse", "clf@v1.1.0^{commit}").strip()
    assert tagged in _origin(sample, "rev-list", "main").split()


def test_push_overtaken_every_time_pushes_nothing_and_keeps_the_record(
        sample: Sample, tmp_path: Path) -> None:
    publisher = sample.clone("runner", "archivist release", "bot@example.com")
    person = sample.clone("bob", "Bob Stone", "bob@example.com")
    _release(publisher, sample)
    _race_hook(publisher, person, times=99)
    before = _events_on_main(sample)
    bundle = tmp_path / "unpushed.bundle"

    proc = publisher.archivist("push", "--attempts", "2", "--bundle", bundle)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "2 attempts" in proc.stderr
    assert _events_on_main(sample) == before  # atomic: neither branch nor tag moved
    assert _origin(sample, "tag", "--list", "clf@v1.1.0").strip() == ""
    heads = run(["git", "bundle", "list-heads", str(bundle)], tmp_path).stdout
    assert "refs/heads/main" in heads and "refs/tags/clf@v1.1.0" in heads
    # The bundle holds what origin lacks: fetched into a fresh clone, the record is whole.
    kept = sample.clone("kept")
    kept.git("fetch", "-q", str(bundle), "refs/heads/main:refs/heads/recovered")
    kept.git("switch", "-q", "recovered")
    assert _local_events(kept) == _local_events(publisher) != before


def test_release_whose_artifact_moved_meanwhile_is_refused(sample: Sample,
                                                           tmp_path: Path) -> None:
    publisher = sample.clone("runner", "archivist release", "bot@example.com")
    person = sample.clone("bob", "Bob Stone", "bob@example.com")
    _release(publisher, sample)
    person.write("models/clf.pkl", os.urandom(1024))
    person.dvc("add", "-q", "models/clf.pkl")
    person.commit("clf: retrained")
    person.git("push", "-q", "origin", "main")
    main_before = _origin(sample, "rev-parse", "main")

    proc = publisher.archivist("push")
    assert proc.returncode == 1
    assert "models/clf.pkl" in proc.stderr and "clf@v1.1.0" in proc.stderr
    assert _origin(sample, "rev-parse", "main") == main_before
    assert "clf@v1.1.0" not in _origin(sample, "tag", "--list")


def test_a_persons_unpushed_commit_is_not_replayed(sample: Sample, tmp_path: Path) -> None:
    publisher = sample.clone("runner")
    person = sample.clone("bob", "Bob Stone", "bob@example.com")
    publisher.write("notes/mine.md", "mine\n")
    mine = publisher.commit("notes: mine")
    _human_push(person, "theirs")
    main_before = _origin(sample, "rev-parse", "main")

    proc = publisher.archivist("push")
    assert proc.returncode == 2
    assert mine[:10] in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert _origin(sample, "rev-parse", "main") == main_before
    assert publisher.head() == mine  # left as it was


def test_push_with_nothing_new_says_so(sample: Sample, tmp_path: Path) -> None:
    publisher = sample.clone("runner")
    proc = publisher.archivist("push", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "up-to-date"


def test_push_without_access_is_one_line_and_shows_no_secret(sample: Sample,
                                                             tmp_path: Path) -> None:
    publisher = sample.clone("runner", "archivist release", "bot@example.com")
    _release(publisher, sample)
    # a closed port on the loopback: refused at once, as a remote without access would be
    url = "https://bot:s3cr3t-token@127.0.0.1:9/acme/models.git"
    proc = publisher.archivist("push", "--remote", url)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "s3cr3t-token" not in proc.stdout + proc.stderr
    assert "***@127.0.0.1" in proc.stderr
