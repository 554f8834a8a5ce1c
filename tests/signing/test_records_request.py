"""What a release request names is what gets released, or the release is refused.

A request tag (``release/NAME/vX.Y.Z``) points at a commit; ``archivist release --at TAG``
signs the version that commit records, which must still be the version HEAD records (the
release commit lands on HEAD). A typo in the artifact name is one line, exit 2.
"""

from __future__ import annotations

import json
import os

from signing_helpers import BIN, run


def test_request_on_an_older_version_is_refused_not_swapped(sample, keys) -> None:
    sample.git("tag", "release/clf/v1.0.0")  # requested on the 2022 model
    old = sample.head()
    sample.write("models/clf.pkl", os.urandom(2048))
    sample.dvc("add", "-q", "models/clf.pkl")
    sample.commit("retrain")
    head = sample.head()
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", keys.private,
                            "--at", "release/clf/v1.0.0")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"release/clf/v1.0.0 ({old[:10]}) records models/clf.pkl as md5:" in proc.stderr
    assert "the requested version is not the current one" in proc.stderr
    assert sample.head() == head and sample.git("tag", "-l", "clf@*").stdout.strip() == ""


def test_request_on_the_current_version_is_released(sample, keys) -> None:
    sample.git("tag", "release/clf/v1.0.0")
    requested = sample.git("show", "HEAD:models/clf.pkl.dvc").stdout
    sample.write("README.md", "docs only\n")
    sample.commit("docs")
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", keys.private,
                            "--at", "release/clf/v1.0.0", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["version"] == "md5:" + requested.split("md5: ")[1].split()[0]
    assert sample.archivist("verify").returncode == 0
    shown = json.loads(run([BIN / "gto", "show", "--json"], sample.root).stdout)
    assert shown["clf"]["version"] == "v1.0.0"


def test_request_off_the_governed_history_is_refused(sample, keys) -> None:
    sample.git("switch", "-q", "-c", "side")
    sample.write("README.md", "side\n")
    sample.commit("side work")
    sample.git("tag", "release/clf/v1.0.0")
    sample.git("switch", "-q", "main")
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", keys.private,
                            "--at", "release/clf/v1.0.0")
    assert proc.returncode == 1 and "not on the first-parent history of HEAD" in proc.stderr
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", keys.private,
                            "--at", "release/nope")
    assert proc.returncode == 2 and "unknown git revision" in proc.stderr
    assert sample.git("tag", "-l", "clf@*").stdout.strip() == ""


def test_typo_in_the_artifact_name_is_one_line(sample, keys) -> None:
    for typo, close in (("clff", "clf"), ("models/clf.pk", "models/clf.pkl")):
        proc = sample.archivist("release", typo, "v1.0.0", "--key", keys.private)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert f"no artifact {typo!r}" in lines[0] and f"did you mean {close}" in lines[0]
    proc = sample.archivist("release", "zzzz", "v1.0.0", "--key", keys.private)
    assert proc.returncode == 2 and "zzzz is not tracked by DVC" in proc.stderr
