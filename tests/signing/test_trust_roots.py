"""Certificate identities are tied to a root, not to a name any CA can write.

Two roots are trusted: the company's and a partner's. The partner can mint any name it
likes under its own root: an intermediate called ``CN=Acme corp root``, or a leaf carrying
Fulcio's OIDC-issuer extension set to "Acme corp root". Neither may release as Acme's bot.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography import x509
from signing_helpers import make_ca, make_leaf, resign_release, write_signer
from sigstore_local import OIDC_ISSUER_V1, OIDC_ISSUER_V2, der_utf8

BOT = "^release-bot@acme\\\\.example$"
PARTNER_CI = "^ci@partner\\\\.example$"

POLICY_BOUND = f"""\
version: 1
branch: main
signing:
  method: certificate
  certificate_roots: [keys/acme-root.pem, keys/partner-root.pem]
  identities:
    - {{identity: "{BOT}", root: keys/acme-root.pem}}
    - {{identity: "{PARTNER_CI}", root_sha256: "{{partner_sha}}"}}
"""

# archivist 0.1's shape: the CA named by its name, with two roots in the policy.
POLICY_BY_NAME = f"""\
version: 1
branch: main
signing:
  method: certificate
  certificate_roots: [keys/acme-root.pem, keys/partner-root.pem]
  identities:
    - {{issuer: "Acme corp root", identity: "{BOT}"}}
"""


def _roots(sample, policy: str):  # type: ignore[no-untyped-def]
    acme = make_ca("Acme corp root")
    partner = make_ca("Partner root", org="Partner")
    sample.write("keys/acme-root.pem", acme.pem)
    sample.write("keys/partner-root.pem", partner.pem)
    sample.write("archivist.yaml", policy.replace("{partner_sha}", partner.sha256))
    sample.commit("policy: two certificate roots")
    return acme, partner


def _release(repo, folder: Path, leaf, *chain):  # type: ignore[no-untyped-def]
    key, paths = write_signer(folder, leaf, *chain)
    return repo.archivist("release", "clf", "v1.0.0", "--key", key, "--cert-chain", *paths,
                          "--json")


def _forged_intermediate(partner):  # type: ignore[no-untyped-def]
    """The partner's intermediate named like Acme's root, and a bot leaf under it."""
    lookalike = make_ca("Acme corp root", issuer=partner, org="Partner")
    return make_leaf(lookalike), lookalike


def _forged_fulcio_leaf(partner):  # type: ignore[no-untyped-def]
    extensions = (x509.UnrecognizedExtension(OIDC_ISSUER_V1, b"Acme corp root"),
                  x509.UnrecognizedExtension(OIDC_ISSUER_V2, der_utf8("Acme corp root")))
    return make_leaf(partner, extensions=extensions)


def test_each_identity_verifies_under_its_own_root(sample, tmp_path) -> None:
    acme, partner = _roots(sample, POLICY_BOUND)
    proc = _release(sample, tmp_path / "bot", make_leaf(acme))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["signer"] == ("certificate release-bot@acme.example "
                                                 "(root keys/acme-root.pem)")
    issuing = make_ca("Partner issuing CA", issuer=partner)
    key, paths = write_signer(tmp_path / "ci2", make_leaf(issuing, email="ci@partner.example"),
                              issuing)
    proc = sample.archivist("release", "clf", "v1.0.1", "--key", key, "--cert-chain", *paths,
                            "--json")
    # The partner's CI releases too, under its root (bound by the root's fingerprint).
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(root keys/partner-root.pem)" in json.loads(proc.stdout)["signer"]
    verify = sample.archivist("verify", "--json")
    assert verify.returncode == 0, verify.stdout
    assert json.loads(verify.stdout)["verified"] == 2


def test_lookalike_intermediate_under_the_partner_root_is_refused(sample, tmp_path) -> None:
    acme, partner = _roots(sample, POLICY_BOUND)
    leaf, lookalike = _forged_intermediate(partner)
    head = sample.head()
    proc = _release(sample, tmp_path / "forged", leaf, lookalike)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "does not chain to keys/acme-root.pem" in proc.stdout
    assert sample.head() == head and sample.git("tag", "-l").stdout.strip() == ""
    # The same forged chain swapped into a genuine release: verify refuses it too.
    assert _release(sample, tmp_path / "bot", make_leaf(acme)).returncode == 0
    key, paths = write_signer(tmp_path / "forged2", leaf, lookalike)
    resign_release(sample, "clf@v1.0.0", key, paths)
    verify = sample.archivist("verify")
    assert verify.returncode == 1, verify.stdout
    assert "does not chain to keys/acme-root.pem" in verify.stdout
    assert "issuer" not in verify.stdout  # no forged CA name presented as the issuer


def test_forged_fulcio_issuer_extension_is_refused(sample, tmp_path) -> None:
    acme, partner = _roots(sample, POLICY_BOUND)
    forged = _forged_fulcio_leaf(partner)
    proc = _release(sample, tmp_path / "forged", forged)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "does not chain to keys/acme-root.pem" in proc.stdout
    assert _release(sample, tmp_path / "bot", make_leaf(acme)).returncode == 0
    key, paths = write_signer(tmp_path / "forged2", forged)
    resign_release(sample, "clf@v1.0.0", key, paths)
    verify = sample.archivist("verify", "--json")
    assert verify.returncode == 1, verify.stdout
    outcome = json.loads(verify.stdout)["releases"][0]
    assert not outcome["ok"]
    assert "Acme corp root" not in verify.stdout  # never shown as who vouched


def test_fulcio_extension_means_nothing_in_certificate_mode(sample, tmp_path) -> None:
    """One root, an entry by name: the name is the CA's, never Fulcio's extension."""
    partner = make_ca("Partner root", org="Partner")
    sample.write("keys/ca.pem", partner.pem)
    sample.write("archivist.yaml", POLICY_BY_NAME.replace(
        "[keys/acme-root.pem, keys/partner-root.pem]", "[keys/ca.pem]"))
    sample.commit("policy: one root")
    proc = _release(sample, tmp_path / "forged", _forged_fulcio_leaf(partner))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "matches no signing.identities entry" in proc.stdout
    assert "Acme corp root" not in proc.stdout


def test_entries_by_name_with_two_roots_are_a_configuration_error(sample, tmp_path) -> None:
    """Which root vouches for the bot? The policy does not say: refuse, exit 2."""
    acme, partner = _roots(sample, POLICY_BY_NAME)
    leaf, lookalike = _forged_intermediate(partner)
    proc = _release(sample, tmp_path / "forged", leaf, lookalike)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "must name the root that vouches for it" in proc.stderr
    # A release made before the policy changed is refused by verify the same way.
    sample.write("archivist.yaml", POLICY_BOUND.replace("{partner_sha}", partner.sha256))
    sample.commit("policy: bound identities")
    assert _release(sample, tmp_path / "bot", make_leaf(acme)).returncode == 0
    sample.write("archivist.yaml", POLICY_BY_NAME)
    sample.commit("policy: back to names")
    verify = sample.archivist("verify")
    assert verify.returncode == 2 and "root: FILE" in verify.stderr


def test_root_bindings_are_checked_when_the_policy_loads(sample, tmp_path) -> None:
    from archivist.errors import ConfigError
    from archivist.policy import parse_policy

    text = POLICY_BOUND.replace("{partner_sha}", "ab" * 32)
    bad = [
        (text.replace("root: keys/acme-root.pem", "root: keys/other.pem"),
         "is not one of signing.certificate_roots"),
        (text.replace("ab" * 32, "not-a-fingerprint"), "is not a SHA-256 fingerprint"),
        (text.replace("root: keys/acme-root.pem",
                      "root: keys/acme-root.pem, repository: acme/models"),
         "is a claim of Sigstore's keyless certificates"),
        (text.replace("root: keys/acme-root.pem", "root: keys/acme-root.pem, "
                      f"root_sha256: \"{'cd' * 32}\""), "names root and root_sha256"),
        (text.replace(', root: keys/acme-root.pem', ""), "needs an issuer"),
    ]
    for policy, message in bad:
        try:
            parse_policy(policy)
        except ConfigError as exc:
            assert message in str(exc), str(exc)
            assert "archivist.yaml:" in str(exc)
        else:
            raise AssertionError(f"accepted: {policy}")
    # A fingerprint that matches no root in the files is refused when verifying.
    acme = make_ca("Acme corp root")
    sample.write("keys/acme-root.pem", acme.pem)
    sample.write("keys/partner-root.pem", make_ca("Partner root").pem)
    sample.write("archivist.yaml", text)
    sample.commit("policy: a fingerprint of nothing")
    key, paths = write_signer(tmp_path / "bot", make_leaf(acme))
    proc = sample.archivist("release", "clf", "v1.0.0", "--key", key, "--cert-chain", *paths)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"root_sha256 {'ab' * 32} is none of the certificates" in proc.stderr
