"""Certificate findings over a real CA bundle: texts follow the real dates, roots are roots."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cryptography.utils import CryptographyDeprecationWarning

from qrap_core.discovery.certificate import certificate_assets, load_certificates
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import RiskLevel, Usage
from qrap_core.rules import RuleContext, evaluate
from qrap_core.rules.base import FindingDraft
from tests import cabundle
from tests.cabundle import GENERATED_AT, Root

CTX = RuleContext(now=GENERATED_AT)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Assessed:
    root: Root
    asset: CryptoAsset
    findings: dict[str, FindingDraft]


def _assets(pem: bytes, location: str) -> list[CryptoAsset]:
    with warnings.catch_warnings():
        # The negative-serial root makes cryptography warn; the CLI test covers the terminal.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return certificate_assets(load_certificates(pem), location=location, now=GENERATED_AT)


def _by_asset(assets: list[CryptoAsset]) -> list[dict[str, FindingDraft]]:
    found: list[dict[str, FindingDraft]] = [{} for _ in assets]
    for finding in evaluate(assets, CTX):
        found[finding.asset_index][finding.rule_id] = finding
    return found


@pytest.fixture(scope="session")
def assessed() -> list[Assessed]:
    """Every root of the 150-root bundle with its findings, in bundle order."""
    roots = cabundle.bundle().roots
    assets = _assets(cabundle.bundle().pem, "ca-certificates.crt")
    return [
        Assessed(root, asset, found)
        for root, asset, found in zip(roots, assets, _by_asset(assets), strict=True)
    ]


@pytest.fixture(scope="session")
def chain() -> list[dict[str, FindingDraft]]:
    """Findings of leaf, SHA-1-signed intermediate and root, by chain position."""
    return _by_asset(_assets(cabundle.sha1_intermediate_chain(), "chain.pem"))


def _pick(assessed: list[Assessed], **flags: bool) -> Iterator[Assessed]:
    matching = [a for a in assessed if all(getattr(a.root, k) is v for k, v in flags.items())]
    assert matching, flags
    yield from matching


def cert(**details: Any) -> CryptoAsset:
    base: dict[str, Any] = {
        "subject": "CN=root",
        "issuer": "CN=root",
        "not_before": "2010-01-01T00:00:00+00:00",
        "not_after": "2030-01-01T00:00:00+00:00",
        "lifetime_days": 7305,
        "is_ca": True,
        "self_signed": True,
        "signature_hash": "sha256",
        "signature_algorithm": "sha256WithRSAEncryption",
        "fingerprint_sha256": "cd" * 32,
    }
    return CryptoAsset(
        kind="certificate",
        name=str(details.get("subject", "CN=root")),
        location="bundle.pem",
        usage=Usage.SIGNATURE,
        algorithm="RSA",
        family="RSA",
        key_size=2048,
        details=base | details,
    )


def finding(asset: CryptoAsset, rule_id: str) -> FindingDraft:
    return {f.rule_id: f for f in evaluate([asset], RuleContext(now=NOW))}[rule_id]


class TestBundle:
    def test_every_root_is_a_self_signed_ca(self, assessed: list[Assessed]) -> None:
        assert len(assessed) == 150
        assert all(a.asset.details["self_signed"] and a.asset.details["is_ca"] for a in assessed)
        assert {a.asset.details["subject"] for a in assessed} == {a.root.subject for a in assessed}

    def test_no_text_claims_validity_past_the_deadlines_wrongly(
        self, assessed: list[Assessed]
    ) -> None:
        for item in assessed:
            for draft in item.findings.values():
                assert "transition deadlines" not in draft.description
                if "stays valid" in draft.description:
                    assert not item.root.expired
                    not_after = date.fromisoformat(item.asset.details["not_after"][:10])
                    assert not_after > (draft.deadline or date.max), draft.description


class TestWeakSignatureHash:
    def test_a_roots_own_sha1_signature_is_info_only(self, assessed: list[Assessed]) -> None:
        for item in _pick(assessed, sha1=True):
            draft = item.findings["QRAP-CERT-001"]
            assert draft.risk_level is RiskLevel.INFO
            assert draft.evidence["self_signed"] is True
            assert "SHA-1" in draft.title
            assert "nothing at risk" in draft.description
            assert "Re-issue" not in draft.remediation

    def test_expired_sha1_root_points_at_the_expiry(self, assessed: list[Assessed]) -> None:
        for item in _pick(assessed, sha1=True, expired=True):
            remediation = item.findings["QRAP-CERT-001"].remediation
            assert "expired on" in remediation
            assert "successor" not in remediation

    def test_sha256_roots_have_none(self, assessed: list[Assessed]) -> None:
        assert not any("QRAP-CERT-001" in a.findings for a in _pick(assessed, sha1=False))

    def test_sha1_intermediate_keeps_its_level(self, chain: list[dict[str, FindingDraft]]) -> None:
        leaf, intermediate, root = chain
        draft = intermediate["QRAP-CERT-001"]
        assert draft.risk_level is RiskLevel.HIGH
        assert draft.evidence["self_signed"] is False
        assert draft.evidence["is_ca"] is True
        assert "forge" in draft.description
        assert draft.remediation.startswith("Re-issue the certificate with")
        assert "QRAP-CERT-001" not in leaf
        assert "QRAP-CERT-001" not in root

    @pytest.mark.parametrize(
        ("details", "level"),
        [
            ({"signature_hash": "md5"}, RiskLevel.INFO),
            ({"signature_hash": "md5", "self_signed": False, "is_ca": False}, RiskLevel.CRITICAL),
            ({"signature_hash": "sha1", "self_signed": False}, RiskLevel.HIGH),
        ],
    )
    def test_levels(self, details: dict[str, Any], level: RiskLevel) -> None:
        assert finding(cert(**details), "QRAP-CERT-001").risk_level is level

    def test_expired_intermediate_asks_for_a_sound_replacement(self) -> None:
        asset = cert(signature_hash="sha1", self_signed=False, not_after="2020-05-01T00:00:00Z")
        draft = finding(asset, "QRAP-CERT-001")
        assert draft.risk_level is RiskLevel.HIGH
        assert "It expired on 2020-05-01." in draft.description
        assert draft.remediation == (
            "Make sure the certificate replacing it is signed with sha256WithRSAEncryption."
        )


class TestCertificateExpired:
    def test_expired_roots_are_low_and_removed_not_renewed(self, assessed: list[Assessed]) -> None:
        expired = list(_pick(assessed, expired=True))
        assert len(expired) == 15
        for item in expired:
            draft = item.findings["QRAP-CERT-002"]
            not_after = item.asset.details["not_after"][:10]
            assert draft.risk_level is RiskLevel.LOW
            assert draft.title == "Root certificate has expired"
            assert f"expired on {not_after}" in draft.description
            assert "years)" in draft.description
            assert draft.remediation.startswith("Remove it from the bundle")
            assert "Renew" not in draft.remediation

    def test_valid_roots_have_no_expiry_finding(self, assessed: list[Assessed]) -> None:
        for item in _pick(assessed, expired=False, expiring=False):
            assert not {"QRAP-CERT-002", "QRAP-CERT-003"} & set(item.findings)

    def test_an_expired_leaf_is_still_renewed(self) -> None:
        asset = cert(is_ca=False, self_signed=False, not_after="2025-12-01T00:00:00Z")
        draft = finding(asset, "QRAP-CERT-002")
        assert draft.risk_level is RiskLevel.HIGH
        assert "expired on 2025-12-01, 31 day(s) ago" in draft.description
        assert draft.remediation.startswith("Renew the certificate now")


class TestCertificateExpiring:
    def test_a_root_about_to_expire_needs_its_successor_distributed(
        self, assessed: list[Assessed]
    ) -> None:
        [item] = _pick(assessed, expiring=True)
        draft = item.findings["QRAP-CERT-003"]
        assert draft.title.startswith("Root certificate expires in")
        assert item.asset.details["not_after"][:10] in draft.description
        assert "successor root" in draft.remediation
        assert "ACME" not in draft.remediation


class TestQuantumVulnerableSignature:
    def test_expired_roots_are_info_with_nothing_to_reissue(self, assessed: list[Assessed]) -> None:
        for item in _pick(assessed, expired=True):
            draft = item.findings["QRAP-PQC-002"]
            assert draft.risk_level is RiskLevel.INFO
            assert f"It expired on {item.asset.details['not_after'][:10]}" in draft.description
            assert "stays valid" not in draft.description
            assert "CA key" not in draft.description
            assert draft.remediation.startswith("Nothing to re-issue")
            assert "Plan" not in draft.remediation
            assert draft.evidence["expired"] is True
            assert draft.evidence["long_lived"] is False

    def test_nothing_about_an_expired_root_is_above_low(self, assessed: list[Assessed]) -> None:
        for item in _pick(assessed, expired=True):
            levels = {d.risk_level for d in item.findings.values()}
            assert levels <= {RiskLevel.INFO, RiskLevel.LOW}, item.findings

    def test_valid_roots_state_their_real_dates(self, assessed: list[Assessed]) -> None:
        for item in _pick(assessed, expired=False):
            draft = item.findings["QRAP-PQC-002"]
            assert draft.risk_level is RiskLevel.HIGH
            not_after = item.asset.details["not_after"][:10]
            assert draft.deadline is not None
            if date.fromisoformat(not_after) > draft.deadline:
                assert f"stays valid until {not_after}, past {draft.deadline}" in (
                    draft.description
                )
            else:
                assert f"long-lived: valid for {item.asset.details['lifetime_days']:,} days" in (
                    draft.description
                )
                assert f"(until {not_after})" in draft.description
            assert draft.remediation.startswith("Plan the move to a ")

    def test_long_lived_but_gone_before_the_deadline(self) -> None:
        draft = finding(cert(), "QRAP-PQC-002")
        assert "It is long-lived: valid for 7,305 days (until 2030-01-01)." in draft.description
        assert "stays valid" not in draft.description

    def test_valid_past_the_deadline(self) -> None:
        draft = finding(cert(not_after="2040-06-30T00:00:00Z"), "QRAP-PQC-002")
        assert (
            "It stays valid until 2040-06-30, past 2030-12-31, the last day NIST IR 8547 "
            "allows this algorithm." in draft.description
        )

    def test_an_expired_leaf_is_info_and_points_at_renewal(self) -> None:
        asset = cert(is_ca=False, self_signed=False, not_after="2025-06-01T00:00:00Z")
        draft = finding(asset, "QRAP-PQC-002")
        assert draft.risk_level is RiskLevel.INFO
        assert draft.remediation.startswith("Renew it with ML-DSA-65 in mind")

    def test_intermediate_keeps_the_hierarchy_advice(self) -> None:
        draft = finding(cert(self_signed=False), "QRAP-PQC-002")
        assert draft.risk_level is RiskLevel.HIGH
        assert "starting with the CA hierarchy" in draft.remediation
