"""Signed releases: adopting a GTO registry made before signing (signing.since, --adopt),
a key pair, a release tagged in GTO's format, verify, tamper, restore."""

from __future__ import annotations

import datetime as dt
import io
import os

from _demo import Demo
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from ruamel.yaml import YAML

from archivist.dvccache import cache_dir, object_path
from archivist.dvcfiles import parse_dvc_file


def _key_pair(demo: Demo) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    secrets = demo.work / "keys"
    secrets.mkdir(parents=True, exist_ok=True)
    private = secrets / "release.key"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    os.chmod(private, 0o600)
    public = demo.root / "keys" / "release.pub"
    public.parent.mkdir(exist_ok=True)
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    print(f"  private key {private} (kept outside the repository)")
    print("  public key  keys/release.pub (committed, reviewed with the policy)")


# Signing is required from tomorrow on: GTO tags made before then are legacy releases.
# (GTO stamps its tags with the time they are made, so the old tag is made today.)
SINCE = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()


def _policy_signs_with_key(demo: Demo) -> None:
    yaml = YAML()  # round-trip: the policy's comments and order stay
    path = demo.root / "archivist.yaml"
    data = yaml.load(path.read_text(encoding="utf-8"))
    data["signing"] = {"method": "key", "public_keys": ["keys/release.pub"], "since": SINCE}
    out = io.StringIO()
    yaml.dump(data, out)
    path.write_text(out.getvalue(), encoding="utf-8")


def _legacy_registry(demo: Demo) -> None:
    """The registry a team had before archivist: a version `gto register` tagged, unsigned."""
    demo.say("An existing GTO registry: clf@v0.9.0, registered before releases were signed")
    dvc_yaml = demo.root / "dvc.yaml"
    if not dvc_yaml.exists():
        # GTO names allow no dots: a dvc.yaml artifacts: entry names models/clf.pkl.
        dvc_yaml.write_text("artifacts:\n  clf:\n    path: models/clf.pkl\n    type: model\n",
                            encoding="utf-8")
        # A named artifact keeps its tags in its dvc.yaml entry: carry them over.
        dvc_file = (demo.root / "models/clf.pkl.dvc").read_bytes()
        tags = parse_dvc_file(dvc_file, "models/clf.pkl.dvc")[0].tags()
        demo.sh("archivist", "tag", "clf", *(f"{k}={v}" for k, v in tags.items()))
        demo.sh("git", "add", "dvc.yaml", show=False)
        demo.sh("git", "commit", "-q", "-m", "Name the model for GTO: clf")
    demo.sh("gto", "register", "clf", "--version", "v0.9.0")
    demo.sh("git", "for-each-ref", "--format=%(refname:strip=2) tagged %(taggerdate:short)",
            "refs/tags")


def run(demo: Demo) -> None:
    _legacy_registry(demo)
    demo.say(f"Releases are signed from {SINCE} on: a key pair, and a policy that trusts "
             "its public half")
    _key_pair(demo)
    _policy_signs_with_key(demo)
    demo.sh("git", "add", "archivist.yaml", "keys/release.pub", show=False)
    demo.sh("git", "commit", "-q", "-m", f"Sign releases with keys/release.pub from {SINCE}")

    demo.say("verify lists the older GTO tag as an unsigned legacy release, and passes")
    listed = demo.sh("archivist", "verify", "--all")
    assert "legacy" in listed.stdout + listed.stderr, "clf@v0.9.0 should be listed as legacy"

    demo.say("Adopt it: sign the bytes clf@v0.9.0 registered; the tag stays where it is")
    key = demo.work / "keys" / "release.key"
    tagged = demo.sh("git", "rev-parse", "clf@v0.9.0^{commit}", show=False).stdout
    demo.sh("archivist", "release", "--adopt", "clf@v0.9.0", "--key", key)
    assert demo.sh("git", "rev-parse", "clf@v0.9.0^{commit}", show=False).stdout == tagged
    demo.sh("archivist", "verify", "clf@v0.9.0")

    demo.say("Release the model: metadata checked, bytes hashed, bundle committed, GTO tags")
    demo.sh("archivist", "release", "clf", "v1.0.0", "--stage", "prod", "--key", key)
    demo.sh("git", "log", "-1", "--format=%s%n%(trailers)")
    demo.sh("gto", "show")
    demo.sh("archivist", "ls")  # the release and stage of each artifact, as GTO shows them
    demo.sh("archivist", "verify")

    demo.say("Someone alters the cached model bytes: verify names the file and fails")
    dvc_file = (demo.root / "models/clf.pkl.dvc").read_bytes()
    version = parse_dvc_file(dvc_file, "models/clf.pkl.dvc")[0].version
    assert version is not None
    cached = object_path(cache_dir(demo.root), version.digest)
    assert cached is not None
    original, mode = cached.read_bytes(), cached.stat().st_mode
    cached.chmod(0o644)
    cached.write_bytes(original[:-16] + bytes(16))
    try:
        demo.sh("archivist", "verify", "clf@v1.0.0", expect=1)
    finally:
        cached.write_bytes(original)  # later steps need the real bytes back
        cached.chmod(mode & 0o777)
    demo.say("The cache restored, the release verifies again")
    demo.sh("archivist", "verify", "clf@v1.0.0")
