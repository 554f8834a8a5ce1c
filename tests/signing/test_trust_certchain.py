"""certchain on plain certificates made with cryptography: what a certificate names and
claims, and which anchor vouches for it."""

from __future__ import annotations

import pytest
from cryptography import x509
from signing_helpers import _days, make_ca, make_leaf
from sigstore_local import der_utf8

from archivist.release import certchain

FULCIO = "1.3.6.1.4.1.57264.1"


def _ext(number: int, value: str, v2: bool = True) -> x509.UnrecognizedExtension:
    raw = der_utf8(value) if v2 else value.encode()
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(f"{FULCIO}.{number}"), raw)


def test_identities_are_sans_only() -> None:
    root = make_ca("Acme corp root")
    other = x509.OtherName(x509.ObjectIdentifier(certchain.SIGSTORE_OTHERNAME),
                           der_utf8("ana"))
    leaf = make_leaf(root, common_name="cn@acme.example",
                     extensions=(x509.SubjectAlternativeName(
                         [x509.RFC822Name("bot@acme.example"),
                          x509.UniformResourceIdentifier("https://acme.example/ci"),
                          other]),), email=None).cert
    assert certchain.san_identities(leaf, keyless=False) == ["bot@acme.example",
                                                             "https://acme.example/ci"]
    assert certchain.san_identities(leaf, keyless=True)[-1] == "ana"


def test_claims_read_v2_and_only_same_text_legacy_extensions() -> None:
    root = make_ca("Fulcio")
    legacy = make_leaf(root, extensions=(
        _ext(5, "acme/models", v2=False), _ext(6, "refs/heads/main", v2=False),
        _ext(2, "push", v2=False))).cert
    # The legacy repository holds "owner/repo", not the URI: never read as the claim.
    assert certchain.fulcio_claims(legacy) == {"ref": "refs/heads/main", "event": "push"}
    both = make_leaf(root, extensions=(
        _ext(12, "https://github.com/acme/models"), _ext(14, "refs/tags/v1"),
        _ext(6, "refs/heads/other", v2=False), _ext(20, "workflow_dispatch"),
        _ext(18, "https://github.com/acme/models/.github/workflows/r.yml@refs/tags/v1"))).cert
    assert certchain.fulcio_claims(both) == {
        "repository": "https://github.com/acme/models", "ref": "refs/tags/v1",
        "event": "workflow_dispatch",
        "workflow": "https://github.com/acme/models/.github/workflows/r.yml@refs/tags/v1"}


@pytest.mark.parametrize(("wanted", "actual", "ok"), [
    ("https://github.com/a/b/.github/workflows/r.yml",
     "https://github.com/a/b/.github/workflows/r.yml@refs/tags/v1", True),
    ("https://github.com/a/b/.github/workflows/r.yml@refs/heads/main",
     "https://github.com/a/b/.github/workflows/r.yml@refs/tags/v1", False),
    ("https://github.com/a/b/.github/workflows/r.yml",
     "https://github.com/a/b/.github/workflows/r.yml.evil@refs/tags/v1", False),
    ("https://github.com/a/b/.github/workflows/r.yml", None, False),
])
def test_workflow_claim_without_a_ref_matches_any_ref(wanted, actual, ok) -> None:
    assert certchain.claim_matches("workflow", wanted, actual) is ok


def test_chain_names_the_anchor_and_refuses_a_retired_one() -> None:
    acme = make_ca("Acme corp root")
    partner = make_ca("Partner root", org="Partner")
    issuing = make_ca("Acme issuing", issuer=acme)
    leaf = make_leaf(issuing).cert
    anchors = [certchain.Anchor("acme.pem", acme.cert),
               certchain.Anchor("partner.pem", partner.cert)]
    anchor, chain = certchain.verify_chain(leaf, [issuing.cert], anchors, _days(0))
    assert anchor.source == "acme.pem" and len(chain) == 3
    with pytest.raises(certchain.ChainError):
        certchain.verify_chain(leaf, [issuing.cert], anchors[1:], _days(0))
    # Ten years on, the chain's CAs have retired.
    with pytest.raises(certchain.ChainError, match="is valid"):
        certchain.verify_chain(leaf, [issuing.cert], anchors, _days(3700))
    # A CA:FALSE "intermediate" issues nothing.
    fake = make_leaf(acme, email="ca@acme.example", common_name="Acme issuing")
    under_fake = make_leaf(fake).cert
    with pytest.raises(certchain.ChainError, match=r"basicConstraints|not a CA"):
        certchain.verify_chain(under_fake, [fake.cert], anchors, _days(0))
