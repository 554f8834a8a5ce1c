"""Speed of signed releases: ``archivist release`` / ``verify`` against the hashing floor.

Builds a git + DVC repository with two artifacts, a 1 GiB single file (``big``) and a
folder of 1,000 small files (``many``), a key policy and a key pair, then times in the same
run (median of ``--runs`` after one untimed warm-up, page cache warm):

- the floor: ``hashlib.sha256`` over the same bytes in one process;
- ``verify_tag()`` in-process (the work of a verify, imports excluded), and the
  ``archivist verify TAG`` command (interpreter and imports included);
- ``model_signing verify key`` (the library's own CLI) over the checked-out files;
- ``archivist release`` once per artifact (it also checks DVC's md5 of every byte);
- the import cost of the signing path, against the hook path and a bare interpreter.

    .venv/bin/python benchmarks/bench_signing.py                    # 1 GiB + 1,000 files
    .venv/bin/python benchmarks/bench_signing.py --size-mib 256 --files 200 --runs 3
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

BIN = Path(sys.executable).parent
POLICY = """\
version: 1
branch: main
signing:
  method: key
  public_keys: [keys/release.pub]
"""
DVC_YAML = """\
artifacts:
  big: {path: data/big.bin, type: model}
  many: {path: data/many, type: model}
"""


def sh(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "NO_COLOR": "1",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("CI", None)
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} exited {proc.returncode}\n"
                         f"{proc.stdout}{proc.stderr}")
    return proc


def timed(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: page cache, lazy imports
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def sha256_floor(paths: Sequence[Path]) -> None:
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(4 * 1024 * 1024):
                digest.update(chunk)


def build(root: Path, size_mib: int, files: int) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    root.mkdir(parents=True)
    sh("git", "init", "-q", "-b", "main", cwd=root)
    sh("git", "config", "user.name", "Bench", cwd=root)
    sh("git", "config", "user.email", "bench@example.com", cwd=root)
    sh("git", "config", "commit.gpgsign", "false", cwd=root)
    sh("dvc", "init", "-q", cwd=root)
    data = root / "data"
    (data / "many").mkdir(parents=True)
    block = os.urandom(1024 * 1024)
    with open(data / "big.bin", "wb") as handle:
        for i in range(size_mib):  # distinct blocks, cheap to make
            handle.write(i.to_bytes(8, "big") + block[8:])
    for i in range(files):
        sub = data / "many" / f"part{i // 100:02d}"
        sub.mkdir(exist_ok=True)
        (sub / f"f{i:04d}.bin").write_bytes(os.urandom(2048 + (i * 37) % 6000))
    sh("dvc", "add", "-q", "data/big.bin", "data/many", cwd=root)
    key = ec.generate_private_key(ec.SECP256R1())
    private = root.parent / "release.key"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    (root / "keys").mkdir()
    (root / "keys/release.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    (root / "archivist.yaml").write_text(POLICY)
    (root / "dvc.yaml").write_text(DVC_YAML)
    sh("git", "add", "-A", cwd=root)
    sh("git", "commit", "-q", "-m", "bench data", cwd=root)
    return private


def import_cost(code: str, runs: int) -> float:
    def once() -> None:
        subprocess.run([sys.executable, "-c", code], check=True)
    return timed(once, runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build here and keep it")
    args = parser.parse_args()

    from archivist.policy import load_policy
    from archivist.release.verify import verify_tag

    work = args.keep or Path(tempfile.mkdtemp(prefix="archivist-bench-signing-"))
    root = work / "repo"
    try:
        t0 = time.perf_counter()
        private = build(root, args.size_mib, args.files)
        print(f"built {args.size_mib} MiB file + {args.files} small files in "
              f"{time.perf_counter() - t0:.1f} s ({work})", flush=True)
        rows: list[tuple[str, float, float]] = []
        for name, target in (("big", root / "data/big.bin"), ("many", root / "data/many")):
            paths = [target] if target.is_file() else sorted(
                p for p in target.rglob("*") if p.is_file())
            total = sum(p.stat().st_size for p in paths)
            label = f"{name} ({total / 2**20:,.0f} MiB, {len(paths)} file(s))"
            floor = timed(lambda p=paths: sha256_floor(p), args.runs)
            start = time.perf_counter()
            sh("archivist", "release", name, "v1.0.0", "--key", private, cwd=root)
            release = time.perf_counter() - start
            policy = load_policy(root)
            tag = f"{name}@v1.0.0"
            assert verify_tag(root, tag, policy).ok
            in_process = timed(lambda t=tag, pol=policy: verify_tag(root, t, pol), args.runs)
            command = timed(lambda t=tag: sh("archivist", "verify", t, cwd=root), args.runs)
            bundle = root / f".archivist/signatures/{name}/v1.0.0.sig"
            peer = timed(lambda t=target, b=bundle: sh(
                "model_signing", "verify", "key", t, "--signature", b, "--public_key",
                "keys/release.pub", cwd=root), args.runs)
            rows += [
                (f"{label}: hashlib.sha256, one process (floor)", floor, floor),
                (f"{label}: verify_tag() in-process", in_process, floor),
                (f"{label}: archivist verify {tag} (command)", command, floor),
                (f"{label}: model_signing verify key (its CLI)", peer, floor),
                (f"{label}: archivist release (md5 + sha256, sign, commit, tag)", release,
                 floor),
            ]
        bare = import_cost("pass", args.runs)
        hook = import_cost("import archivist.cli; archivist.cli.build_parser()", args.runs)
        ms = import_cost("import model_signing", args.runs)
        signing_path = import_cost(
            "import archivist.release.verify, archivist.release._backend as b; b.require();"
            "import model_signing._signing.sign_ec_key, model_signing._signing.sign_certificate,"
            "sigstore.verify, sigstore.models", args.runs)
        print()
        print(f"{'run':<78} {'seconds':>8} {'ratio':>7}")
        for what, seconds, base in rows:
            print(f"{what:<78} {seconds:8.3f} {seconds / base:6.2f}x")
        print()
        print(f"{'imports (new interpreter each)':<78} {'seconds':>8} {'vs bare':>7}")
        for what, seconds in (("python -c pass", bare),
                              ("hook path: archivist.cli + every command's parser", hook),
                              ("import model_signing", ms),
                              ("signing path: model_signing signers/verifiers + sigstore",
                               signing_path)):
            print(f"{what:<78} {seconds:8.3f} {seconds / bare:6.1f}x")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
