"""`make demo`: build a sample DVC repository in a temporary folder and run archivist on it.

Each demo/step_*.py file shows one part of archivist, in name order, on the same sample.
Everything is local: git, DVC with two directory remotes, the pre-commit framework
installing the hooks from this checkout. Nothing touches the network.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _demo import Demo  # noqa: E402


def main() -> int:
    work = Path(os.environ.get("ARCHIVIST_DEMO_DIR") or tempfile.mkdtemp(prefix="archivist-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    demo = Demo(work=work, root=work / "sample")
    for path in sorted(HERE.glob("step_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        try:
            module.run(demo)
        except subprocess.CalledProcessError as exc:
            print(f"demo: {path.name} failed: {exc}", file=sys.stderr)
            return 1
    print(f"\nThe sample repository is in {demo.root}")
    print(f"Look around:  cd {demo.root} && git log --format='%h %an %s%n%(trailers)'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
