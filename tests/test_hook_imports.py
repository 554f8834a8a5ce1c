"""The hook path stays light: what the pre-commit hook runs never imports the heavy stacks.

Each commit pays for every module the hook imports (dvc 0.3 s, sigstore 0.5 s,
model_signing 0.6 s, GitPython 0.13 s, against 0.013 s for a bare interpreter), and the
hook environment pre-commit installs does not even hold them. ruamel.yaml is for
``archivist tag`` only.
"""

from __future__ import annotations

import json
import sys

import pytest

from realrepo import Repo, run

# Top-level packages the hook path must not import.
FORBIDDEN = ("dvc", "dvc_data", "dvc_objects", "scmrepo", "gto", "sigstore", "model_signing",
             "git", "dulwich", "pygit2", "ruamel", "rich", "tqdm", "fsspec", "requests")

# Runs the CLI in-process, then reports every module it loaded (after archivist's output).
WRAPPER = """\
import json, sys
from archivist.cli import main
code = main(sys.argv[1:])
print("\\n@@modules " + json.dumps(sorted(sys.modules)))
sys.exit(code)
"""

POLICY = """\
version: 1
tags:
  - match: {paths: ["models/**"]}
    require:
      owner: {type: email}
      retention: {enum: [experiment, standard, regulated]}
"""


@pytest.fixture
def tagged_repo(dvc_repo: Repo) -> Repo:
    """A DVC repository with one tagged and one untagged model, the untagged one staged."""
    dvc_repo.write("archivist.yaml", POLICY)
    for name in ("good", "bad"):
        dvc_repo.write(f"models/{name}.pkl", f"{name} weights\n")
        dvc_repo.dvc("add", "-q", f"models/{name}.pkl")
    dvc_repo.archivist("tag", "models/good.pkl", "owner=ana@example.com",
                       "retention=standard")
    dvc_repo.commit("models", "archivist.yaml", "models")
    dvc_repo.write("models/bad.pkl", "bad weights, retrained\n")
    dvc_repo.dvc("add", "-q", "models/bad.pkl")
    dvc_repo.git("add", "--", "models/bad.pkl.dvc")
    return dvc_repo


def _modules(repo: Repo, *args: str) -> tuple[int, str, set[str]]:
    proc = run([sys.executable, "-c", WRAPPER, *args], repo.root, check=False)
    output, marker, listing = proc.stdout.partition("\n@@modules ")
    assert marker, f"the CLI did not return normally:\n{proc.stdout}\n{proc.stderr}"
    return proc.returncode, output + proc.stderr, set(json.loads(listing))


@pytest.mark.parametrize("args", [
    ("check", "models/bad.pkl.dvc"),
    ("check", "--staged"),
    ("check", "--all"),
    ("check", "--all", "--json"),
    ("require-dvc", "models/bad.pkl.dvc"),
], ids=" ".join)
def test_hook_path_imports_no_heavy_package(tagged_repo: Repo, args: tuple[str, ...]) -> None:
    code, output, modules = _modules(tagged_repo, *args)

    # The command did its real work: the untagged model is found, the tagged one passes.
    if args[0] == "check":
        assert code == 1, output
        assert "models/bad.pkl" in output and "owner" in output
        assert "good.pkl" not in output
        assert "archivist.gate.check" in modules and "archivist.yamlload" in modules
        if "--all" not in args:
            # What the hook pays on every commit: the policy and a .dvc file as DVC writes
            # them are read without PyYAML, dataclasses, or shutil (argparse's help width).
            assert not {"yaml", "dataclasses", "inspect", "shutil"} & modules, output
    else:
        assert code == 0, output
    heavy = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)
    assert heavy == [], f"archivist {' '.join(args)} imported {heavy}"
    # signatures are the range check's (CI), never a commit's: no ssh-keygen per commit
    assert not [m for m in modules if m.startswith("archivist.authority")]
