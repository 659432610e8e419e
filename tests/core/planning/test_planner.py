"""The migration planner: targets by usage, urgency order, effort, skipped assets."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

import pytest

from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import RiskLevel, Usage
from qrap_core.planning import PlanInput, plan_from_findings, plan_migration
from qrap_core.planning.planner import MANUAL_REVIEW, RSA_UNKNOWN_USAGE_TARGET
from qrap_core.rules import RuleContext, evaluate

KEX = Usage.KEY_ESTABLISHMENT
SIG = Usage.SIGNATURE
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def one_step(item: PlanInput) -> dict[str, Any]:
    plan = plan_migration([item])
    assert len(plan.steps) == 1, plan
    return asdict(plan.steps[0])


class TestTargets:
    @pytest.mark.parametrize(
        ("algorithm", "usage", "protocol", "target", "effort"),
        [
            ("ECDSA-P256", None, None, "ML-DSA-65", "HIGH"),
            ("Ed25519", None, None, "ML-DSA-65", "HIGH"),
            ("DSA-2048", None, None, "ML-DSA-65", "HIGH"),
            ("ECDSA-P521", None, None, "ML-DSA-87", "HIGH"),
            ("RSA-2048", SIG, None, "ML-DSA-65", "HIGH"),
            ("RSA-15360", SIG, None, "ML-DSA-87", "HIGH"),
            ("X25519", None, None, "X25519MLKEM768", "LOW"),  # a TLS group name
            ("secp256r1", KEX, None, "X25519MLKEM768", "LOW"),
            ("ffdhe2048", None, None, "X25519MLKEM768", "LOW"),
            ("ECDH-P256", None, None, "ML-KEM-768", "MEDIUM"),
            ("ECDH-P256", None, "TLSv1.3", "X25519MLKEM768", "LOW"),
            ("ECDH-P521", None, None, "ML-KEM-1024", "MEDIUM"),
            ("DH-2048", None, None, "ML-KEM-768", "MEDIUM"),
            ("RSA-2048", KEX, None, "ML-KEM-768", "MEDIUM"),
            ("curve25519-sha256", None, "SSH", "mlkem768x25519-sha256", "LOW"),
            ("RSA-2048", None, None, RSA_UNKNOWN_USAGE_TARGET, "HIGH"),
            ("RSA", Usage.UNKNOWN, None, RSA_UNKNOWN_USAGE_TARGET, "HIGH"),
            ("3DES", None, None, "AES-256-GCM", "LOW"),
            ("DES", None, None, "AES-256-GCM", "LOW"),
            ("RC4", None, None, "AES-256-GCM", "LOW"),
            ("SHA-1", None, None, "SHA-256", "LOW"),
            ("MD5", None, None, "SHA-256", "LOW"),
            ("X25519Kyber768Draft00", None, None, "X25519MLKEM768", "LOW"),
            ("Kyber768", None, None, "ML-KEM-768", "LOW"),
            ("TLSv1.0", None, None, "TLSv1.3", "LOW"),
            ("SSLv3", None, None, "TLSv1.3", "LOW"),
            ("sha1WithRSAEncryption", None, None, "sha256WithRSAEncryption", "MEDIUM"),
            ("ecdsa-with-SHA1", None, None, "ecdsa-with-SHA256", "MEDIUM"),
            ("sha256WithRSAEncryption", None, None, "ML-DSA-65", "HIGH"),
            ("DES-CBC3-SHA", None, None, "AES-256-GCM", "LOW"),
            ("AES128-SHA", None, None, "X25519MLKEM768", "LOW"),
            ("ECDHE-RSA-AES128-SHA", None, None, "AES-128-GCM", "LOW"),
            ("GOST R 34.10-2012", None, None, MANUAL_REVIEW, "MEDIUM"),
        ],
    )
    def test_target(
        self,
        algorithm: str,
        usage: Usage | None,
        protocol: str | None,
        target: str,
        effort: str,
    ) -> None:
        step = one_step(PlanInput("asset", algorithm, usage=usage, protocol=protocol))
        assert (step["target_algorithm"], step["estimated_effort"]) == (target, effort)

    def test_current_algorithm_is_canonical(self) -> None:
        step = one_step(PlanInput("asset", "prime256v1", usage=SIG))
        assert step["current_algorithm"] == "P-256"
        assert step["target_algorithm"] == "ML-DSA-65"

    def test_notes_carry_the_ir8547_deadline(self) -> None:
        assert "2030-12-31" in one_step(PlanInput("a", "RSA-2048", usage=SIG))["notes"]
        assert "2035-12-31" in one_step(PlanInput("a", "ECDSA-P256"))["notes"]

    def test_explicit_target_and_effort_win(self) -> None:
        step = one_step(
            PlanInput("a", "ECDSA-P384", target_algorithm="SLH-DSA-SHA2-192s", effort="MEDIUM")
        )
        assert (step["target_algorithm"], step["estimated_effort"]) == (
            "SLH-DSA-SHA2-192s",
            "MEDIUM",
        )

    def test_caller_notes_are_appended(self) -> None:
        assert one_step(PlanInput("a", "3DES", notes="payroll export"))["notes"].endswith(
            "payroll export"
        )


class TestSkipped:
    @pytest.mark.parametrize(
        ("algorithm", "reason"),
        [
            ("ML-KEM-768", "already post-quantum"),
            ("ML-DSA-65", "already post-quantum"),
            ("SLH-DSA-SHA2-128s", "already post-quantum"),
            ("X25519MLKEM768", "already on a post-quantum hybrid"),
            ("mlkem768x25519-sha256", "already on a post-quantum hybrid"),
            ("AES-128", "symmetric or hash algorithm that stays acceptable"),
            ("AES-256-GCM", "symmetric or hash algorithm that stays acceptable"),
            ("ChaCha20-Poly1305", "symmetric or hash algorithm that stays acceptable"),
            ("SHA-256", "symmetric or hash algorithm that stays acceptable"),
        ],
    )
    def test_left_out_with_a_reason(self, algorithm: str, reason: str) -> None:
        plan = plan_migration([PlanInput("asset", algorithm, urgency=RiskLevel.CRITICAL)])
        assert plan.steps == []
        assert [(s.algorithm, s.reason) for s in plan.skipped] == [(algorithm, reason)]
        assert (plan.total_assets, plan.critical_count, plan.estimated_phases) == (1, 0, 0)


class TestPlanMigration:
    def test_original_shape_and_order(self) -> None:
        plan = plan_migration(
            [
                PlanInput("low", "SHA-1", RiskLevel.LOW),
                PlanInput("crit-1", "RSA-1024", RiskLevel.CRITICAL, SIG),
                PlanInput("med", "X25519"),
                PlanInput("done", "ML-KEM-768", RiskLevel.HIGH),
                PlanInput("crit-2", "DES", RiskLevel.CRITICAL),
                PlanInput("high", "ECDSA-P256", RiskLevel.HIGH),
            ]
        )
        body = plan.to_dict()
        assert set(body) >= {"steps", "total_assets", "critical_count", "estimated_phases"}
        assert set(body) - {"steps", "total_assets", "critical_count", "estimated_phases"} == {
            "phases",
            "skipped",
            "profile",
            "unknown_algorithms",
        }
        assert [s["asset"] for s in body["steps"]] == ["crit-1", "crit-2", "high", "med", "low"]
        assert [s["priority"] for s in body["steps"]] == [
            "CRITICAL",
            "CRITICAL",
            "HIGH",
            "MEDIUM",
            "LOW",
        ]
        assert set(body["steps"][0]) >= {
            "asset",
            "current_algorithm",
            "target_algorithm",
            "priority",
            "estimated_effort",
            "notes",
        }
        # Phases: classical (RSA-1024, DES, SHA-1), key establishment (X25519), signatures.
        assert (body["total_assets"], body["critical_count"], body["estimated_phases"]) == (6, 2, 3)
        assert [p["key"] for p in body["phases"]] == [
            "classical",
            "key-establishment",
            "signatures",
        ]
        json.dumps(body)  # JSON-ready: dates as strings

    def test_urgency_defaults_to_medium(self) -> None:
        assert plan_migration([PlanInput("a", "X25519")]).steps[0].priority is RiskLevel.MEDIUM

    def test_empty(self) -> None:
        plan = plan_migration([])
        assert (plan.steps, plan.total_assets, plan.critical_count, plan.estimated_phases) == (
            [],
            0,
            0,
            0,
        )


def tls_assets() -> list[CryptoAsset]:
    host = "127.0.0.1:8443"
    return [
        CryptoAsset(
            kind="certificate",
            name="CN=root",
            location=host,
            usage=SIG,
            algorithm="RSA",
            family="RSA",
            key_size=4096,
            details={
                "subject": "CN=root",
                "is_ca": True,
                "self_signed": True,
                "lifetime_days": 7300,
                "signature_hash": "sha256",
                "not_after": "2045-01-01T00:00:00Z",
            },
        ),
        CryptoAsset("protocol", "TLSv1.0", host, Usage.PROTOCOL, "TLSv1.0"),
        CryptoAsset("cipher_suite", "RC4-SHA", host, Usage.ENCRYPTION, "RC4-SHA"),
        CryptoAsset("key_exchange", "X25519", host, KEX, "X25519", "ECDH", protocol="TLSv1.3"),
        CryptoAsset(
            "key_exchange",
            "X25519MLKEM768",
            host,
            KEX,
            "X25519MLKEM768",
            "hybrid",
            details={"hybrid_pqc": True},
        ),
        CryptoAsset("algorithm", "vault", "vault", Usage.UNKNOWN, "RSA-2048", "RSA", 2048),
        CryptoAsset("algorithm", "backups", "backups", Usage.ENCRYPTION, "AES-256-GCM", "AES", 256),
    ]


class TestPlanFromFindings:
    def test_plans_assets_with_findings_at_their_worst_level(self) -> None:
        assets = tls_assets()
        findings = evaluate(assets, RuleContext(now=datetime(2026, 1, 1, tzinfo=UTC)))
        plan = plan_from_findings(assets, findings)
        steps = {s.asset: s for s in plan.steps}
        assert set(steps) == {
            "127.0.0.1:8443 (CN=root)",
            "127.0.0.1:8443 (TLSv1.0)",
            "127.0.0.1:8443 (RC4-SHA)",
            "127.0.0.1:8443 (X25519)",
            "vault",
        }
        root = steps["127.0.0.1:8443 (CN=root)"]
        assert (root.target_algorithm, root.priority) == ("SLH-DSA-SHA2-128s", RiskLevel.HIGH)
        assert "QRAP-PQC-002" in root.notes
        assert steps["127.0.0.1:8443 (TLSv1.0)"].target_algorithm == "TLSv1.3"
        suite = steps["127.0.0.1:8443 (RC4-SHA)"]
        assert (suite.target_algorithm, suite.estimated_effort) == ("AES-256-GCM", "LOW")
        group = steps["127.0.0.1:8443 (X25519)"]
        # A hybrid is offered too: a legacy-client fallback, PQC-001 at MEDIUM and no HNDL.
        assert (group.target_algorithm, group.priority) == ("X25519MLKEM768", RiskLevel.MEDIUM)
        assert steps["vault"].target_algorithm == RSA_UNKNOWN_USAGE_TARGET
        assert plan.total_assets == 5

    def test_no_findings_no_steps(self) -> None:
        plan = plan_from_findings(tls_assets(), [])
        assert (plan.steps, plan.total_assets) == ([], 0)


def chain_assets() -> list[CryptoAsset]:
    """A root, an intermediate and a leaf at one TLS endpoint, all RSA."""
    host = "shop.example.com:443"

    def cert(subject: str, issuer: str, size: int, **details: Any) -> CryptoAsset:
        return CryptoAsset(
            kind="certificate",
            name=subject,
            location=host,
            usage=SIG,
            algorithm="RSA",
            family="RSA",
            key_size=size,
            details={
                "subject": subject,
                "issuer": issuer,
                "signature_hash": "sha256",
                "not_after": "2030-01-01T00:00:00+00:00",
                "lifetime_days": 398,
                "is_ca": False,
                "self_signed": False,
            }
            | details,
        )

    return [
        cert("CN=leaf", "CN=issuing", 2048),
        cert("CN=issuing", "CN=root", 3072, is_ca=True, lifetime_days=3650),
        cert("CN=root", "CN=root", 4096, is_ca=True, self_signed=True, lifetime_days=9125,
             not_after="2049-01-01T00:00:00+00:00"),
    ]  # fmt: skip


class TestPhases:
    def test_roots_before_leaves(self) -> None:
        assets = chain_assets()
        plan = plan_from_findings(assets, evaluate(assets, RuleContext(now=NOW)))
        phases = {p.key: p for p in plan.phases}
        assert list(phases) == ["roots", "intermediates", "signatures"]
        assert phases["intermediates"].depends_on == [phases["roots"].number]
        assert phases["signatures"].depends_on == [phases["intermediates"].number]
        steps = {s.asset: s for s in plan.steps}
        root = steps["shop.example.com:443 (CN=root)"]
        issuing = steps["shop.example.com:443 (CN=issuing)"]
        leaf = steps["shop.example.com:443 (CN=leaf)"]
        assert root.target_algorithm.startswith("SLH-DSA")
        assert (root.role, issuing.role, leaf.role) == (
            "root-ca",
            "intermediate-ca",
            "leaf-certificate",
        )
        assert issuing.depends_on == [root.asset]
        assert leaf.depends_on == [issuing.asset]
        assert root.phase < issuing.phase < leaf.phase
        # Within one priority, steps follow the phases.
        order = [s.asset for s in plan.steps if s.priority is root.priority]
        assert order.index(root.asset) < order.index(issuing.asset)

    def test_phase_deadline_is_its_earliest_step(self) -> None:
        plan = plan_migration(
            [
                PlanInput("a", "RSA-2048", usage=SIG),  # IR 8547: 2030
                PlanInput("b", "ECDSA-P256"),  # 2035
            ]
        )
        (phase,) = plan.phases
        assert phase.deadline == date(2030, 12, 31)
        assert [s.deadline for s in plan.steps] == [date(2030, 12, 31), date(2035, 12, 31)]

    def test_key_establishment_waits_for_tls13(self) -> None:
        plan = plan_migration([PlanInput("web", "TLSv1.0"), PlanInput("web-kex", "X25519")])
        phases = {p.key: p for p in plan.phases}
        assert phases["key-establishment"].depends_on == [phases["classical"].number]
        assert phases["classical"].deadline == date(2024, 1, 1)

    def test_explicit_dependencies_between_planned_assets(self) -> None:
        plan = plan_migration(
            [
                PlanInput("leaf", "ECDSA-P256", role="leaf-certificate", depends_on=("ca", "x")),
                PlanInput("ca", "ECDSA-P384", role="root-ca"),
            ]
        )
        leaf = next(s for s in plan.steps if s.asset == "leaf")
        assert leaf.depends_on == ["ca"]  # "x" is not in the plan

    def test_unknown_algorithms_go_to_review(self) -> None:
        plan = plan_migration([PlanInput("legacy", "GOST R 34.10-2012")])
        assert plan.unknown_algorithms == ["GOST R 34.10-2012"]
        assert [p.key for p in plan.phases] == ["review"]
        assert plan.steps[0].target_algorithm == MANUAL_REVIEW


class TestRolesAndProfiles:
    @pytest.mark.parametrize(
        ("item", "profile", "target"),
        [
            (PlanInput("fw", "ECDSA-P256", role="firmware-signing"), "nist", "LMS"),
            (PlanInput("fw", "RSA-3072", role="code-signing"), "cnsa2", "LMS"),
            (PlanInput("root", "RSA-4096", role="root-ca"), "nist", "SLH-DSA-SHA2-128s"),
            (PlanInput("root", "RSA-4096", role="root-ca"), "cnsa2", "ML-DSA-87"),
            (PlanInput("sig", "RSA-2048", usage=SIG), "cnsa2", "ML-DSA-87"),
            (PlanInput("kt", "RSA-2048", usage=KEX), "nist", "ML-KEM-768"),
            (PlanInput("kt", "RSA-2048", usage=KEX), "cnsa2", "ML-KEM-1024"),
            (PlanInput("web", "X25519", protocol="TLSv1.3"), "nist", "X25519MLKEM768"),
            (PlanInput("web", "X25519", protocol="TLSv1.3"), "cnsa2", "SecP384r1MLKEM1024"),
            (PlanInput("ssh", "curve25519-sha256"), "nist", "mlkem768x25519-sha256"),
            (PlanInput("ssh", "curve25519-sha256"), "cnsa2", "mlkem1024nistp384-sha384"),
            (PlanInput("pq", "ML-KEM-768"), "cnsa2", "ML-KEM-1024"),
            (PlanInput("data", "AES-128-GCM"), "cnsa2", "AES-256-GCM"),
            (PlanInput("digest", "SHA-256"), "cnsa2", "SHA-384"),
        ],
    )
    def test_target(self, item: PlanInput, profile: Any, target: str) -> None:
        plan = plan_migration([item], profile=profile)
        assert [s.target_algorithm for s in plan.steps] == [target]
        assert plan.profile == profile

    def test_cnsa2_deadlines_by_system(self) -> None:
        plan = plan_migration(
            [
                PlanInput("fw", "ECDSA-P384", role="firmware-signing"),
                PlanInput("web", "X25519", protocol="TLSv1.3", role="tls-server"),
            ],
            profile="cnsa2",
        )
        deadlines = {s.asset: s.deadline for s in plan.steps}
        assert deadlines == {"fw": date(2030, 12, 31), "web": date(2033, 12, 31)}
        assert "CNSA 2.0" in plan.steps[0].notes

    def test_cnsa2_keeps_its_own_suite_out(self) -> None:
        plan = plan_migration(
            [PlanInput("a", "ML-KEM-1024"), PlanInput("b", "AES-256-GCM")], profile="cnsa2"
        )
        assert plan.steps == []
        assert len(plan.skipped) == 2

    def test_weak_signature_scheme_is_re_signed_first(self) -> None:
        (step,) = plan_migration([PlanInput("cert", "sha1WithRSAEncryption")]).steps
        assert step.target_algorithm == "sha256WithRSAEncryption"
        assert step.deadline == date(2013, 12, 31)
