"""One malformed bundle is one problem on its tag: every other release is still verified.

Real bundles (key, certificate, keyless against the local Sigstore instance) are broken
the ways an attacker or a bad merge would break them; ``archivist verify`` must report
each as ``malformed`` (or refused) on its own tag and exit 1, never 3. A hypothesis fuzz
test mutates real bundles and calls the checker directly: no mutation may raise, and a
mutation that still verifies vouches for exactly the content the original signed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from signing_helpers import POLICY_KEY, make_pki, run, write_trust_config
from sigstore_local import SCT_LIST, der_octets

from archivist.policy import parse_policy
from archivist.release import names as release_names
from archivist.release.bundle import check_bundle
from archivist.release.names import VerifyStatus
from archivist.release.sign import SigningRequest, sign_bundle
from archivist.release.trust import load_trust
from archivist.release.verify import verify_tag
from realrepo import Repo

GOOD = "clf@v1.0.0"


def _released(repo: Repo, key: Path) -> dict[str, Any]:
    proc = repo.archivist("release", "clf", "v1.0.0", "--key", key, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def plant(repo: Repo, tag: str, bundle: bytes, label: str) -> None:
    """A release commit on main (trailers, bundle) and its tag, as a bad merge leaves them."""
    name, version = release_names.parse_release_tag(tag) or ("", "")
    path = release_names.bundle_path(name, version)
    repo.write(path, bundle)
    repo.git("add", "--", path)
    repo.git("commit", "-q", "--no-verify", "-m",
             f"release: {tag}\n\nArchivist-Event: release\nArchivist-Tag: {tag}\n")
    record = release_names.ReleaseRecord(name=name, version=version, artifact="models/clf.pkl",
                                    label=label, digest="sha256:" + "0" * 64, bundle=path,
                                    signer="", method="key")
    run(["git", "tag", "-a", tag, "-F", "-"], repo.root, input=release_names.tag_message(record))


def _cert_bundle(good: bytes, der: bytes) -> bytes:
    doc = json.loads(good)
    doc["verificationMaterial"] = {"x509CertificateChain": {
        "certificates": [{"rawBytes": base64.b64encode(der).decode()}]}}
    return json.dumps(doc).encode()


def _cert_with_broken_san() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "release-bot")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
                                                      b"\x30\x05\x87\x09garbage"),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def test_each_malformed_bundle_is_one_problem_on_its_tag(sample, keys) -> None:
    out = _released(sample, keys.private)
    good = (sample.root / out["bundle"]).read_bytes()
    label = out["version"]
    bad = {
        "clf@v1.0.1": b'{"verificationMaterial": "publicKey"}',
        "clf@v1.0.2": b"[" * 100_000,
        "clf@v1.0.3": os.urandom(4096),
        "clf@v1.0.4": _cert_bundle(good, _cert_with_broken_san()),
        "clf@v1.0.5": json.dumps({**json.loads(good), "dsseEnvelope": {
            "payload": "!!", "payloadType": 7, "signatures": "none"}}).encode(),
        "clf@v1.0.6": good.replace(b'"publicKey"', b'"publicKey": null, "x"', 1),
        "clf@v1.0.7": b"\xff\xfe" + good,
    }
    for tag, bundle in bad.items():
        plant(sample, tag, bundle, label)
    proc = sample.archivist("verify", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    report = json.loads(proc.stdout)
    status = {r["tag"]: r["status"] for r in report["releases"]}
    assert status == {GOOD: "ok", **{tag: "malformed" for tag in bad}}, report
    for release in report["releases"]:
        if release["tag"] != GOOD:
            assert len(release["problems"]) == 1, release
            assert release["problems"][0].startswith(f"{release['tag']}: the bundle")
    assert (report["verified"], report["failed"]) == (1, len(bad))
    # The human form lists every tag too, and the good one as ok.
    text = sample.archivist("verify").stdout
    assert f"ok  {GOOD}" in text and all(f"FAIL  {tag}" in text for tag in bad)


def test_keyless_certificate_with_an_empty_sct_list(sample, sigstore, monkeypatch) -> None:
    trust_file = write_trust_config(sample, sigstore)
    sample.write("archivist.yaml", sample.read("archivist.yaml").replace(
        "  public_keys: [keys/release.pub]\n",
        f"  public_keys: [keys/release.pub]\n  trust_config: {trust_file}\n"
        f"  identities:\n    - {{issuer: \"{sigstore.issuer}\", "
        "identity: \"^ana@example\\\\.com$\"}\n"))
    sample.commit("policy: keyless too")
    proc = sample.archivist("release", "clf", "v1.0.0", "--sign", "sigstore", "--json",
                            env={"SIGSTORE_IDENTITY_TOKEN": sigstore.token()})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    doc = json.loads((sample.root / out["bundle"]).read_bytes())
    material = doc["verificationMaterial"]
    leaf = x509.load_der_x509_certificate(base64.b64decode(material["certificate"]["rawBytes"]))
    builder = (x509.CertificateBuilder().subject_name(leaf.subject).issuer_name(leaf.issuer)
               .public_key(leaf.public_key()).serial_number(leaf.serial_number)
               .not_valid_before(leaf.not_valid_before_utc)
               .not_valid_after(leaf.not_valid_after_utc))
    for ext in leaf.extensions:
        if ext.oid != SCT_LIST:
            builder = builder.add_extension(ext.value, ext.critical)
    empty = builder.add_extension(x509.UnrecognizedExtension(
        SCT_LIST, der_octets(struct.pack("!H", 0))), critical=False).sign(
        sigstore.ca_key, hashes.SHA256())
    material["certificate"]["rawBytes"] = base64.b64encode(
        empty.public_bytes(serialization.Encoding.DER)).decode()
    plant(sample, "clf@v1.0.1", json.dumps(doc).encode(), out["version"])
    proc = sample.archivist("verify", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    status = {r["tag"]: r for r in json.loads(proc.stdout)["releases"]}
    assert status[GOOD]["ok"] and not status["clf@v1.0.1"]["ok"]
    assert status["clf@v1.0.1"]["status"] in ("malformed", "untrusted-signer",
                                             "bad-signature"), status
    # The audit's reader: verify_tag gives the same verdict in-process.
    policy = parse_policy(sample.read("archivist.yaml"))
    assert verify_tag(sample.root, "clf@v1.0.1", policy).status is not VerifyStatus.OK


# ------------------------------------------------------------------------------- fuzzing


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=40)
    | st.sampled_from(["", "AAAA", "!!", "e30=", "W10=", "bnVsbA==", "publicKey"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=6)


@st.composite
def mutations(draw: st.DrawFn, original: bytes) -> bytes:
    kind = draw(st.sampled_from(["json", "json", "json", "flip", "cut", "splice"]))
    if kind == "flip":
        data = bytearray(original)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        return bytes(data)
    if kind == "cut":
        return original[:draw(st.integers(0, len(original) - 1))]
    if kind == "splice":
        i = draw(st.integers(0, len(original)))
        return original[:i] + draw(st.binary(max_size=64)) + original[i:]
    doc = json.loads(original)
    path = draw(st.sampled_from(_paths(doc)))
    delete = bool(path) and draw(st.booleans())
    return json.dumps(_set(doc, path, draw(JSON_VALUES), delete)).encode()


def _fuzz(original: bytes, trust: Any, examples: int) -> None:
    signed = check_bundle(original, trust)
    assert signed.ok, signed.problems

    @settings(max_examples=examples, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def check(data: st.DataObject) -> None:
        mutated = data.draw(mutations(original))
        result = check_bundle(mutated, trust)  # must never raise
        assert isinstance(result.status, VerifyStatus)
        assert result.ok == (result.status is VerifyStatus.OK) == (not result.problems)
        if result.ok:  # still verifies: then it vouches for exactly what was signed
            assert (dict(result.items), result.digest) == (dict(signed.items), signed.digest)

    check()


def _digests(repo: Repo) -> dict[str, str]:
    return {".": hashlib.sha256((repo.root / "models/clf.pkl").read_bytes()).hexdigest()}


EXTRA = {"tag": GOOD, "name": "clf", "artifact": "models/clf.pkl", "version": "md5:x"}


def test_fuzz_key_and_certificate_bundles(sample, keys, tmp_path) -> None:
    pki = make_pki(tmp_path / "pki")
    sample.write("keys/ca.pem", pki.root.read_bytes())
    sample.write("archivist.yaml", POLICY_KEY.replace(
        "  public_keys: [keys/release.pub]",
        "  public_keys: [keys/release.pub]\n  certificate_roots: [keys/ca.pem]"))
    sample.commit("policy: keys and a PKI")
    policy = parse_policy(sample.read("archivist.yaml"))
    trust = load_trust(sample.root, policy)
    key_bundle = sign_bundle(SigningRequest("key", key=keys.private), "clf.pkl",
                             _digests(sample), EXTRA)
    cert_bundle = sign_bundle(SigningRequest("certificate", key=pki.key,
                                             cert_chain=(pki.leaf,)),
                              "clf.pkl", _digests(sample), EXTRA)
    _fuzz(key_bundle, trust, 150)
    _fuzz(cert_bundle, trust, 150)


def test_fuzz_keyless_bundles(sample, sigstore, monkeypatch) -> None:
    trust_file = write_trust_config(sample, sigstore)
    sample.write("archivist.yaml", POLICY_KEY.replace(
        "  public_keys: [keys/release.pub]",
        f"  trust_config: {trust_file}\n  identities:\n"
        f"    - {{issuer: \"{sigstore.issuer}\", identity: \"^ana@example\\\\.com$\"}}"))
    sample.commit("policy: keyless")
    policy = parse_policy(sample.read("archivist.yaml"))
    trust = load_trust(sample.root, policy)
    monkeypatch.setenv("SIGSTORE_IDENTITY_TOKEN", sigstore.token())
    bundle = sign_bundle(SigningRequest("sigstore", trust_config=trust.trust_config[1]),
                         "clf.pkl", _digests(sample), EXTRA)
    _fuzz(bundle, trust, 100)


@pytest.mark.parametrize("bundle", [b"", b"null", b"[]", b"{}", b"1e999999", b'"x"',
                                    b"{" * 100_000, b"[" * 100_000 + b"]" * 100_000,
                                    b'{"verificationMaterial": {"publicKey": {}}}',
                                    b" " * (2 << 20)])
def test_bundles_that_are_no_bundle_at_all(sample, bundle: bytes) -> None:
    trust = load_trust(sample.root, parse_policy(sample.read("archivist.yaml")))
    result = check_bundle(bundle, trust)
    assert result.status is VerifyStatus.MALFORMED and len(result.problems) == 1


def test_a_release_tag_on_a_blob_is_one_problem(sample, keys) -> None:
    _released(sample, keys.private)
    blob = run(["git", "hash-object", "-w", "--stdin"], sample.root, input="x").stdout.strip()
    sample.git("tag", "-a", "clf@v1.0.1", "-m", "Registering artifact clf version v1.0.1", blob)
    sample.git("tag", "clf@v1.0.2", "HEAD^{tree}")
    proc = sample.archivist("verify", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    status = {r["tag"]: r["status"] for r in json.loads(proc.stdout)["releases"]}
    assert status == {GOOD: "ok", "clf@v1.0.1": "not-a-release",
                      "clf@v1.0.2": "not-a-release"}
