"""What every demo step gets: the sample repository and a way to show commands running."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


@dataclass
class Demo:
    work: Path  # the temporary folder holding everything
    root: Path  # the sample git + DVC repository
    remotes: dict[str, Path] = field(default_factory=dict)  # DVC remote name -> folder

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env["DVC_NO_ANALYTICS"] = "1"
        env.update(extra or {})
        return env

    def say(self, text: str) -> None:
        print(f"\n=== {text}", flush=True)

    def sh(self, *args: str | Path, expect: int | None = 0, env: dict[str, str] | None = None,
           show: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command in the sample repository, print it and its output, check its exit."""
        cmd = [str(a) for a in args]
        if show:
            print(f"$ {shlex.join(cmd)}", flush=True)
        proc = subprocess.run(cmd, cwd=cwd or self.root, env=self.env(env), text=True,
                              capture_output=True, check=False)
        if show:
            out = (proc.stdout + proc.stderr).rstrip()
            if out:
                print("  " + out.replace("\n", "\n  "), flush=True)
        if expect is not None and proc.returncode != expect:
            raise SystemExit(f"demo: `{shlex.join(cmd)}` exited {proc.returncode}, "
                             f"expected {expect}\n{proc.stdout}{proc.stderr}")
        return proc
