"""Two real repositories on one set of DVC remotes: the sample (A) and a second one (B)
that names the same remotes differently and spells their URLs differently."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from configobj import ConfigObj

from retention.sample import Sample, dated

# B's names for A's remotes: the same places, other names
B_NAMES = {"storage": "lake", "archive": "cold"}
B_POLICY = """\
version: 1
remotes: {active: lake, archive: cold}
retention:
  default: standard
  classes:
    standard: {active: 180d, archive: 3y}
"""


def _sections(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    return {name: dict(values) for name, values in ConfigObj(str(path)).items()
            if isinstance(values, dict)}


def _write_config(path: Path, sections: dict[str, dict[str, str]]) -> None:
    lines = []
    for name, options in sections.items():
        lines.append(f"[{name}]" if name == "core" else f"['{name}']")
        lines += [f"    {k} = {v}" for k, v in options.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def shared_repo(sample: Sample, template: Path, dest: Path, *, policy: bool = True,
                remotes: tuple[str, ...] = ("storage", "archive")) -> Sample:
    """Repository B at ``dest``: git + DVC, its remotes ``lake``/``cold`` pointing where
    A's ``storage``/``archive`` are (a local path relative to B's ``.dvc``; an S3 endpoint
    with a trailing slash), B's policy committed unless ``policy`` is False."""
    shutil.copytree(template, dest, symlinks=True)
    other = Sample(dest)
    other.kind = sample.kind
    other.remotes = {B_NAMES[n]: sample.remotes[n] for n in remotes}
    public = _sections(sample.root / ".dvc" / "config")
    secret = _sections(sample.root / ".dvc" / "config.local")
    mine: dict[str, dict[str, str]] = {"core": {"remote": B_NAMES[remotes[0]]}}
    theirs: dict[str, dict[str, str]] = {}
    for name in remotes:
        options = dict(public[f'remote "{name}"'])
        if sample.kind == "local":
            options["url"] = os.path.relpath(options["url"], dest / ".dvc")
        else:
            options["endpointurl"] = options["endpointurl"] + "/"
        mine[f'remote "{B_NAMES[name]}"'] = options
        if f'remote "{name}"' in secret:
            theirs[f'remote "{B_NAMES[name]}"'] = secret[f'remote "{name}"']
    _write_config(dest / ".dvc" / "config", mine)
    if theirs:
        _write_config(dest / ".dvc" / "config.local", theirs)
    paths = [".dvc/config"]
    if policy:
        other.write("archivist.yaml", B_POLICY)
        paths.append("archivist.yaml")
    other.git("add", "--", *paths)
    other.git("commit", "-q", "--no-verify", "-m", "remotes", env=dated("2019-01-01"))
    return other


def share_with(sample: Sample, url: str, branch: str = "main") -> None:
    """Commit A's policy with ``remotes.shared_with: [{url, branch}]``."""
    text = sample.read("archivist.yaml").replace(
        "remotes: {active: storage, archive: archive}",
        "remotes:\n  active: storage\n  archive: archive\n"
        f"  shared_with:\n    - {{url: {url}, branch: {branch}}}")
    sample.write("archivist.yaml", text)
    sample.commit("share the remotes", "archivist.yaml", env=dated("2019-01-02"))


def refs(repo: Sample) -> str:
    """Every ref of a repository and where it points, and its HEAD."""
    return repo.git("for-each-ref", "--format=%(refname) %(objectname)").stdout + \
        repo.git("symbolic-ref", "HEAD").stdout
