"""Policy patterns run on RE2: no value can make `tag` or the hook hang."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from archivist.errors import ConfigError
from archivist.policy import parse_policy
from realrepo import BIN, Repo, _env

# Exponential for a backtracking engine: 2**41 ways to split 41 hex digits before failing.
NESTED = "^([0-9a-f]+)*$"
VALUE = "0123456789abcdef0123456789abcdef01234567g"  # 41 characters; the last is no hex digit


def policy(pattern: str) -> str:
    return ("version: 1\ntags:\n  - match: {paths: [\"models/**\"]}\n    require:\n"
            f"      train.commit: {{pattern: '{pattern}'}}\n")


def timed(repo: Repo, *args: str, limit: float = 60) -> tuple[subprocess.CompletedProcess[str],
                                                           float]:
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "archivist"), *args], cwd=repo.root, capture_output=True,
                          text=True, env=_env(), timeout=limit, check=False)
    return proc, time.perf_counter() - start


@pytest.fixture
def repo(dvc_repo: Repo) -> Repo:
    dvc_repo.write("archivist.yaml", policy(NESTED))
    dvc_repo.write("models/clf.pkl", b"weights\n")
    dvc_repo.dvc("add", "-q", "models/clf.pkl")
    dvc_repo.commit("model and policy")
    return dvc_repo


def test_a_nested_quantifier_does_not_hang_tag_or_check(repo: Repo) -> None:
    assert len(VALUE) == 41
    tagged, seconds = timed(repo, "tag", "models/clf.pkl", f"train.commit={VALUE}")
    assert tagged.returncode == 0, tagged.stderr
    assert f"does not match {NESTED!r}" in tagged.stdout and seconds < 30
    assert f"commit: {VALUE}" in repo.read("models/clf.pkl.dvc")
    repo.git("add", "--", "models/clf.pkl.dvc")
    for args in (("check", "--all"), ("check", "--staged"), ("check", "models/clf.pkl.dvc")):
        proc, seconds = timed(repo, *args)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "train.commit" in proc.stdout and "does not match" in proc.stdout
        assert seconds < 30, (args, seconds)


def test_a_matching_value_passes(repo: Repo) -> None:
    tagged, _ = timed(repo, "tag", "models/clf.pkl", f"train.commit={VALUE[:40]}")
    assert tagged.returncode == 0 and "still" not in tagged.stdout, tagged.stdout
    proc, _ = timed(repo, "check", "--all")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("pattern", [r"^(a+)\1$", "^(?=.*@).*$", "^(?!tmp).*$",
                                     "(?<=x)y", "^[a-"])
def test_what_re2_cannot_compile_is_refused_at_load(pattern: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy(policy(pattern))
    message = str(info.value)
    assert message.startswith("archivist.yaml:5: pattern of 'train.commit'")
    assert "RE2 syntax" in message and "\n" not in message


def test_the_hook_says_so_in_one_line(repo: Repo) -> None:
    repo.write("archivist.yaml", policy("^(?!tmp).*$"))
    proc, _ = timed(repo, "check", "--all")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()  # RE2's own logging is silenced
    assert "archivist.yaml:5:" in line and "RE2 syntax" in line


def test_re2_is_imported_only_for_a_policy_with_patterns() -> None:
    code = ("import sys; from archivist.policy import parse_policy; "
            "parse_policy(sys.argv[1]); print('re2' in sys.modules)")
    plain = "version: 1\ntags:\n  - match: {paths: [a]}\n    require: {owner: {}}\n"
    for text, expected in ((plain, "False"), (policy("^[0-9a-f]{7,40}$"), "True")):
        out = subprocess.run([sys.executable, "-c", code, text], capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == expected
