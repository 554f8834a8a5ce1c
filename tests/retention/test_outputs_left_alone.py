"""Outputs retention leaves alone, on a real DVC project: ``cache: false`` and ``push:
false`` stage outputs (dvc stage add / dvc repro), a ``dvc import`` from a second local
DVC repository and a ``dvc import-url`` of a local file; an output with its own
``remote:`` is planned against that remote. Remotes are local folders, looked at
directly."""

from __future__ import annotations

import json
from pathlib import Path

from realrepo import init_repo
from retention.remotes_helpers import cache_oids, events
from retention.sample import LocalView, Sample, dated, md5

M1, M2 = b"\0model one " * 300, b"\0model two " * 300
S1, S2 = b"source one\n" * 50, b"source two\n" * 50
U1, U2 = b"\0url one " * 200, b"\0url two " * 200
G1, G2 = "generated one\n", "generated two\n"
P1, P2 = "private one\n", "private two\n"
SIDE = b"\0side model " * 200

PIPELINE = """\
stages:
  private:
    cmd: cp priv.in priv.bin
    deps: [priv.in]
    outs:
    - priv.bin:
        push: false
  side:
    cmd: cp side.in side.bin
    deps: [side.in]
    outs:
    - side.bin:
        remote: side
"""


def _source(tmp_path: Path) -> Path:
    """A second DVC repository that the sample imports ``data/src.bin`` from."""
    src = init_repo(tmp_path / "source")
    src.dvc("init", "-q")
    src.write("data/src.bin", S1)
    src.dvc("add", "-q", "data/src.bin")
    src.commit("source v1", env=dated("2019-06-01"))
    return src.root


def _update_source(root: Path) -> None:
    src = Sample(root)
    src.write("data/src.bin", S2)
    src.dvc("add", "-q", "data/src.bin")
    src.commit("source v2", env=dated("2020-06-01"))


def project(sample: Sample, tmp_path: Path) -> dict[str, Path]:
    """Two versions of each kind of output, dated 2020 (v1) and 2021 (v2); all pushed."""
    side = tmp_path / "remotes" / "side"
    side.mkdir(parents=True)
    sample.dvc("remote", "add", "side", str(side))
    source = _source(tmp_path)
    url_file = tmp_path / "outside" / "url.bin"
    url_file.parent.mkdir()
    url_file.write_bytes(U1)

    # v1 of everything, 2020-01-10
    sample.write("models/m.bin", M1)
    sample.dvc("add", "-q", "models/m.bin")
    sample.write("gen.in", G1)
    sample.dvc("stage", "add", "-q", "-n", "generate", "-d", "gen.in", "-O", "gen.txt",
               "cp gen.in gen.txt")
    sample.write("dvc.yaml", sample.read("dvc.yaml") + PIPELINE.removeprefix("stages:\n"))
    sample.write("priv.in", P1)
    sample.write("side.in", SIDE)
    sample.dvc("repro", "-q")
    sample.dvc("import", "-q", str(source), "data/src.bin", "-o", "imported.bin")
    sample.dvc("import-url", "-q", str(url_file), "url.bin")
    sample.commit("v1 of every output", env=dated("2020-01-10"))

    # v2, 2021-01-10 (side.bin keeps its one version: current)
    sample.write("models/m.bin", M2)
    sample.dvc("add", "-q", "models/m.bin")
    sample.write("gen.in", G2)
    sample.write("priv.in", P2)
    sample.dvc("repro", "-q")
    _update_source(source)
    sample.dvc("update", "-q", "imported.bin.dvc")
    url_file.write_bytes(U2)
    sample.dvc("update", "-q", "url.bin.dvc")
    sample.commit("v2 of every output", env=dated("2021-01-10"))
    # each output goes where DVC sends it: models to storage, side.bin to side
    sample.dvc("push", "-q", "--all-commits")
    return {"side": side}


def _plan(sample: Sample, as_of: str) -> dict:
    proc = sample.archivist("plan", "--json", "--as-of", as_of)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_plan_leaves_alone_cache_false_push_false_and_imports(local_sample: Sample,
                                                              tmp_path: Path) -> None:
    sample = local_sample
    where = project(sample, tmp_path)
    side = LocalView(where["side"])
    # DVC's own view: gen.txt is in git, priv.bin never reached a remote, side.bin is on side
    assert "gen.txt" in sample.git("ls-files").stdout.split()
    assert md5(P1.encode()) not in sample.remotes["storage"].oids()
    assert md5(SIDE) in side.oids() and md5(SIDE) not in sample.remotes["storage"].oids()

    plan = _plan(sample, "2022-01-01")
    by_path: dict[str, list[dict]] = {}
    for item in plan["items"]:
        by_path.setdefault(item["path"], []).append(item)
    assert set(by_path) == {"models/m.bin", "side.bin"}
    assert [(i["version"], i["action"]) for i in by_path["models/m.bin"]] == [
        (f"md5:{md5(M1)}", "archive"), (f"md5:{md5(M2)}", "keep")]
    assert [(i["state"], i["remote"]) for i in by_path["side.bin"]] == [("current", "side")]
    assert "active remote 'side'" in by_path["side.bin"][0]["reason"]
    assert by_path["models/m.bin"][0]["remote"] is None


def test_archive_and_dispose_touch_only_planned_outputs(local_sample: Sample,
                                                        tmp_path: Path) -> None:
    sample = local_sample
    project(sample, tmp_path)
    storage, archive = sample.remotes["storage"], sample.remotes["archive"]
    untouched = storage.oids() - {md5(M1)}  # whatever DVC pushed besides m.bin v1
    cached_private = {md5(P1.encode()), md5(P2.encode())}
    assert cached_private <= cache_oids(sample)

    proc = sample.archivist("archive", "--apply", "--as-of", "2022-01-01")
    assert proc.returncode == 0, proc.stderr
    assert archive.oids() == {md5(M1)}
    assert storage.oids() == untouched

    proc = sample.archivist("dispose", "--apply", "--as-of", "2026-01-01")
    assert proc.returncode == 0, proc.stderr
    assert archive.oids() == set()
    assert storage.oids() == untouched
    assert cached_private <= cache_oids(sample)  # push: false bytes stay on this machine
    # DVC pushes import-url copies to the default remote: they stay there too
    assert {md5(U1), md5(U2)} <= storage.oids()

    # the ledger speaks of m.bin only: no tombstone for bytes that never left git
    assert events(sample)[-2:] == ["archive", "dispose"]
    ledger_text = sample.git("log", "--format=%B", "-2").stdout
    assert f"md5:{md5(M1)}" in ledger_text
    for data in (G1.encode(), P1.encode(), S1, U1):
        assert md5(data) not in ledger_text
    for path in ("gen.txt", "priv.bin", "imported.bin", "url.bin", "side.bin"):
        assert path not in ledger_text
