"""Migration planner: what each asset should move to, how hard that is, by when, in which order.

Steps keep the original contract: sorted by urgency (CRITICAL first), assets already on PQC
(or a standard hybrid) and symmetric ciphers and hashes that stay acceptable (AES-128+,
SHA-256+) left out and listed as skipped with the reason. On top of that every step belongs to
a phase, and phases run in an order that respects what depends on what:

1. classical: retire what is broken today (old protocols and suites, DES/RC4/3DES, MD5/SHA-1,
   keys under 112 bits); hybrid groups need TLS 1.3, so this comes first;
2. key establishment: hybrid or ML-KEM key exchange, since recorded traffic is at risk now;
3. roots of trust: root CAs, firmware and code signing (SLH-DSA, LMS);
4. intermediate CAs, after their roots;
5. leaf certificates and other signing keys, after the CAs that issue them;
6. symmetric upgrades a CNSA 2.0 profile requires (AES-256, SHA-384);
7. review: algorithms the catalog does not know, and keys whose usage nobody declared.

Targets come from the catalog's one replacement policy (``crypto.policy``); the CNSA 2.0
profile picks ML-KEM-1024 / ML-DSA-87 and CNSA dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from qrap_core.crypto import IR8547_DEPRECATED_AFTER, AlgorithmInfo, parse_algorithm, policy
from qrap_core.crypto.names import signature_scheme
from qrap_core.crypto.policy import Profile
from qrap_core.crypto.protocols import is_deprecated, is_ssl
from qrap_core.crypto.suites import parse_cipher_suite
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import RISK_ORDER, FindingCategory, RiskLevel, Usage
from qrap_core.rules.base import FindingDraft
from qrap_core.rules.stored import StoredAsset, StoredFinding, from_stored

Effort = Literal["LOW", "MEDIUM", "HIGH"]

RSA_UNKNOWN_USAGE_TARGET = "ML-KEM-768 (key transport) / ML-DSA-65 (signatures)"
MANUAL_REVIEW = "manual review"
_TLS_GROUP_FAMILIES = frozenset({"ECDH", "EC", "DH"})
_CA_ROLES = frozenset({"root-ca", "intermediate-ca"})


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    key: str
    name: str
    description: str


PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(
        "classical",
        "Retire classically broken cryptography",
        "Old protocol versions, broken cipher suites and algorithms, keys under 112 bits: "
        "exploitable today, and TLS 1.3 is the prerequisite for hybrid key exchange.",
    ),
    PhaseSpec(
        "key-establishment",
        "Hybrid or ML-KEM key establishment",
        "Traffic recorded today can be decrypted once a CRQC exists (harvest now, decrypt "
        "later): move key exchange and key transport first among the quantum steps.",
    ),
    PhaseSpec(
        "roots",
        "Roots of trust",
        "Root CAs, firmware and code signing keys: they sign for years and everything below "
        "depends on them, so they move before the leaves.",
    ),
    PhaseSpec(
        "intermediates",
        "Intermediate CAs",
        "Re-issue intermediate CAs under the new roots.",
    ),
    PhaseSpec(
        "signatures",
        "Leaf certificates and signing keys",
        "Re-issue leaf certificates and other signing keys once their issuers have moved; "
        "signatures are driven by the NIST deadlines, not by harvesting.",
    ),
    PhaseSpec(
        "symmetric",
        "Symmetric algorithms (CNSA 2.0)",
        "CNSA 2.0 requires AES-256 and SHA-384/512.",
    ),
    PhaseSpec(
        "review",
        "Identify and decide",
        "Algorithms the catalog does not know and keys whose usage was not declared: "
        "identify them to plan their migration.",
    ),
)
_PHASE_ORDER = {spec.key: index for index, spec in enumerate(PHASES)}
_PHASE_SPEC = {spec.key: spec for spec in PHASES}
# Phase -> the phases that must be done first (when they are part of the plan).
_PHASE_DEPENDS: dict[str, tuple[str, ...]] = {
    "key-establishment": ("classical",),
    "intermediates": ("roots",),
    "signatures": ("intermediates", "roots"),
}


@dataclass(frozen=True, slots=True)
class PlanInput:
    """One asset to plan. ``target_algorithm`` and ``effort`` override the planner's choice;
    ``role`` (see ``crypto.policy.ROLES``) and ``depends_on`` (other assets' names) order it;
    ``deadline`` (from findings) wins when it is earlier than the catalog's."""

    asset: str
    algorithm: str
    urgency: RiskLevel = RiskLevel.MEDIUM
    usage: Usage | None = None
    protocol: str | None = None
    key_size: int | None = None
    target_algorithm: str | None = None
    effort: Effort | None = None
    notes: str | None = None
    role: str | None = None
    depends_on: tuple[str, ...] = ()
    deadline: date | None = None
    classical: bool = False


@dataclass(frozen=True, slots=True)
class MigrationStep:
    """The original step fields, then the phase, deadline and dependencies."""

    asset: str
    current_algorithm: str
    target_algorithm: str
    priority: RiskLevel
    estimated_effort: Effort
    notes: str
    phase: int = 0
    deadline: date | None = None
    depends_on: list[str] = field(default_factory=list)
    usage: str | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Phase:
    number: int
    key: str
    name: str
    description: str
    priority: RiskLevel
    deadline: date | None
    depends_on: list[int]
    assets: list[str]


@dataclass(frozen=True, slots=True)
class SkippedAsset:
    asset: str
    algorithm: str
    reason: str


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """The original plan fields, plus phases, the profile and the assets that need no step."""

    steps: list[MigrationStep]
    total_assets: int
    critical_count: int
    estimated_phases: int
    skipped: list[SkippedAsset] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    profile: Profile = "nist"
    unknown_algorithms: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the ``POST /migration-plan`` answer (dates as ISO strings)."""
        return {
            "steps": [_step_dict(step) for step in self.steps],
            "total_assets": self.total_assets,
            "critical_count": self.critical_count,
            "estimated_phases": self.estimated_phases,
            "phases": [
                {
                    "number": p.number,
                    "key": p.key,
                    "name": p.name,
                    "description": p.description,
                    "priority": p.priority.value,
                    "deadline": _iso(p.deadline),
                    "depends_on": p.depends_on,
                    "assets": p.assets,
                }
                for p in self.phases
            ],
            "skipped": [
                {"asset": s.asset, "algorithm": s.algorithm, "reason": s.reason}
                for s in self.skipped
            ],
            "profile": self.profile,
            "unknown_algorithms": self.unknown_algorithms,
        }


@dataclass(frozen=True, slots=True)
class _Target:
    algorithm: str
    effort: Effort
    note: str
    phase: str


def plan_migration(items: Sequence[PlanInput], *, profile: Profile = "nist") -> MigrationPlan:
    """Plan every item: a step per asset that must move, CRITICAL first, in phases.

    ``total_assets`` counts the input; ``estimated_phases`` counts the phases the steps fall
    into. Within one priority, steps follow the phase order (roots before leaves), then input
    order.
    """
    drafts: list[tuple[MigrationStep, str, int]] = []
    skipped: list[SkippedAsset] = []
    unknown: list[str] = []
    for position, item in enumerate(items):
        drafted = draft_step(item, profile)
        if drafted.unknown is not None:
            unknown.append(drafted.unknown)
        if drafted.skipped is not None:
            skipped.append(drafted.skipped)
        elif drafted.step is not None:
            drafts.append((drafted.step, drafted.phase, position))
    return _assemble(drafts, skipped, len(items), profile, unknown)


@dataclass(frozen=True, slots=True)
class DraftedStep:
    """One item planned on its own: its step and phase key (``phase`` is the key, the step's
    ``phase`` number is not set yet), or why it needs none; ``unknown`` is an algorithm name
    the catalog does not know."""

    step: MigrationStep | None
    phase: str
    skipped: SkippedAsset | None = None
    unknown: str | None = None


def draft_step(item: PlanInput, profile: Profile = "nist") -> DraftedStep:
    """What ``plan_migration`` makes of one item before it orders the steps: the part of the
    plan that depends on the item alone."""
    info = parse_algorithm(item.algorithm, item.key_size)
    reason = _skip_reason(info, profile)
    if reason is not None and item.target_algorithm is None:
        return DraftedStep(None, "", skipped=SkippedAsset(item.asset, item.algorithm, reason))
    target = _target(item, info, profile)
    unknown = None
    if target.algorithm == MANUAL_REVIEW:
        unknown = item.algorithm.strip()
        if item.target_algorithm is not None:
            # The caller knows what this is (a cipher suite, say); the catalog does not.
            target = _Target(item.target_algorithm, "MEDIUM", "", "classical")
    elif item.classical and target.phase not in ("review",):
        target = _Target(target.algorithm, target.effort, target.note, "classical")
    notes = " ".join(part for part in (target.note, item.notes or "") if part)
    step = MigrationStep(
        asset=item.asset,
        current_algorithm=info.canonical if info.known else item.algorithm.strip(),
        target_algorithm=item.target_algorithm or target.algorithm,
        priority=item.urgency,
        estimated_effort=item.effort or target.effort,
        notes=notes,
        deadline=_earliest(item.deadline, _deadline(info, target.phase, item, profile)),
        depends_on=list(dict.fromkeys(item.depends_on)),
        usage=_effective_usage(item, info).value,
        role=item.role,
    )
    return DraftedStep(step, target.phase, unknown=unknown)


def _assemble(
    drafts: list[tuple[MigrationStep, str, int]],
    skipped: list[SkippedAsset],
    total: int,
    profile: Profile,
    unknown: list[str],
) -> MigrationPlan:
    used = sorted({phase for _, phase, _ in drafts}, key=_PHASE_ORDER.__getitem__)
    numbers = {key: index + 1 for index, key in enumerate(used)}
    planned = {step.asset for step, _, _ in drafts}
    steps = [
        _with(
            step, numbers[phase], [d for d in step.depends_on if d in planned and d != step.asset]
        )
        for step, phase, _ in sorted(
            drafts, key=lambda d: (RISK_ORDER[d[0].priority], _PHASE_ORDER[d[1]], d[2])
        )
    ]
    phases = []
    for key in used:
        members = [step for step in steps if step.phase == numbers[key]]
        deadlines = [step.deadline for step in members if step.deadline is not None]
        spec = _PHASE_SPEC[key]
        phases.append(
            Phase(
                number=numbers[key],
                key=key,
                name=spec.name,
                description=spec.description,
                priority=min((s.priority for s in members), key=RISK_ORDER.__getitem__),
                deadline=min(deadlines) if deadlines else None,
                depends_on=_phase_dependencies(key, numbers),
                assets=[step.asset for step in members],
            )
        )
    return MigrationPlan(
        steps=steps,
        total_assets=total,
        critical_count=sum(1 for step in steps if step.priority is RiskLevel.CRITICAL),
        estimated_phases=len(phases),
        skipped=skipped,
        phases=phases,
        profile=profile,
        unknown_algorithms=sorted(set(unknown)),
    )


def _phase_dependencies(key: str, numbers: dict[str, int]) -> list[int]:
    for candidate in _PHASE_DEPENDS.get(key, ()):
        if candidate in numbers:
            # The nearest earlier phase that exists carries the chain (leaves -> intermediates
            # -> roots): listing one is enough.
            return [numbers[candidate]]
    return []


def _with(step: MigrationStep, phase: int, depends_on: list[str]) -> MigrationStep:
    return MigrationStep(
        asset=step.asset,
        current_algorithm=step.current_algorithm,
        target_algorithm=step.target_algorithm,
        priority=step.priority,
        estimated_effort=step.estimated_effort,
        notes=step.notes,
        phase=phase,
        deadline=step.deadline,
        depends_on=depends_on,
        usage=step.usage,
        role=step.role,
    )


# --- from a run's assets and findings ---------------------------------------------------------


def plan_from_findings(
    assets: Sequence[CryptoAsset],
    findings: Sequence[FindingDraft],
    *,
    profile: Profile = "nist",
) -> MigrationPlan:
    """Plan the assets that have findings; each one's urgency is its highest finding level.

    A MISSING_PQC finding's recommendation (which knows about CA roots and TLS groups) is
    the target under the NIST profile; otherwise the planner's own choice, or, for what the
    catalog cannot place (protocol versions, cipher suites), the most urgent finding's
    recommendation. Certificates are ordered along their chain: a certificate depends on the
    CA certificate that issued it.
    """
    by_asset: dict[int, list[FindingDraft]] = {}
    for finding in findings:
        if 0 <= finding.asset_index < len(assets):
            by_asset.setdefault(finding.asset_index, []).append(finding)
    labels = {index: _label(assets[index]) for index in by_asset}
    issuers = _issuer_labels(assets, labels)
    items = [
        _input_for(assets[index], by_asset[index], labels[index], issuers.get(index), profile)
        for index in sorted(by_asset)
    ]
    return plan_migration(items, profile=profile)


def _label(asset: CryptoAsset) -> str:
    return asset_label(asset.location, asset.name)


def asset_label(location: str, name: str) -> str:
    """How a step names an asset: its location, with its name when that differs."""
    return location if name == location else f"{location} ({name})"


def _issuer_labels(assets: Sequence[CryptoAsset], labels: dict[int, str]) -> dict[int, str]:
    """For each planned certificate, the planned CA certificate (same location) that issued it."""
    subjects: dict[tuple[str, str], str] = {}
    for index, label in labels.items():
        asset = assets[index]
        subject = asset.details.get("subject")
        if asset.kind == "certificate" and asset.details.get("is_ca") and subject:
            subjects[(asset.location, str(subject))] = label
    out: dict[int, str] = {}
    for index in labels:
        asset = assets[index]
        issuer = asset.details.get("issuer")
        if asset.kind != "certificate" or not issuer or asset.details.get("self_signed"):
            continue
        parent = subjects.get((asset.location, str(issuer)))
        if parent is not None and parent != labels[index]:
            out[index] = parent
    return out


def _input_for(
    asset: CryptoAsset,
    findings: list[FindingDraft],
    label: str,
    issuer: str | None,
    profile: Profile,
) -> PlanInput:
    ordered = sorted(findings, key=lambda f: RISK_ORDER[f.risk_level])
    urgency = ordered[0].risk_level
    pqc = next(
        (
            f.recommended_algorithm
            for f in ordered
            if f.category is FindingCategory.MISSING_PQC and f.recommended_algorithm
        ),
        None,
    )
    # With no declared usage the rule had to pick one; the planner names both options instead.
    # Under CNSA 2.0 the planner's own (category 5) choice replaces the rule's.
    if asset.usage is Usage.UNKNOWN or profile == "cnsa2":
        pqc = None
    algorithm = asset.algorithm or asset.name
    info = parse_algorithm(algorithm, asset.key_size)
    target = pqc
    if target is None and (not info.known or _skip_reason(info, profile) is not None):
        target = next((f.recommended_algorithm for f in ordered if f.recommended_algorithm), None)
    if target is None and is_deprecated(algorithm):
        target = "TLSv1.3"
    rule_ids = ", ".join(sorted({f.rule_id for f in findings}))
    classical = any(
        f.category not in (FindingCategory.MISSING_PQC, FindingCategory.HARVEST_NOW_DECRYPT_LATER)
        and RISK_ORDER[f.risk_level] <= RISK_ORDER[RiskLevel.HIGH]
        for f in findings
    )
    deadlines = [f.deadline for f in findings if f.deadline is not None]
    return PlanInput(
        asset=label,
        algorithm=algorithm,
        urgency=urgency,
        usage=asset.usage,
        protocol=asset.protocol,
        key_size=asset.key_size,
        target_algorithm=target,
        # Protocol versions and cipher suites change in server configuration only.
        effort="LOW" if asset.kind in ("protocol", "cipher_suite") else None,
        notes=f"Findings: {rule_ids}.",
        role=_role(asset),
        depends_on=(issuer,) if issuer else (),
        deadline=min(deadlines) if deadlines else None,
        classical=classical,
    )


def _role(asset: CryptoAsset) -> str | None:
    details = asset.details
    declared = details.get("role")
    if isinstance(declared, str) and declared in policy.ROLES:
        return declared
    if asset.kind == "certificate":
        if details.get("is_ca"):
            return "root-ca" if details.get("self_signed") else "intermediate-ca"
        return "leaf-certificate"
    if asset.kind in ("key_exchange", "cipher_suite", "protocol"):
        return "ssh" if policy.protocol_kind(asset.protocol) == "ssh" else "tls-server"
    return None


# --- from stored rows (reports, GET /assessments/{id}/migration-plan) -------------------------


def plan_from_stored(
    assets: Sequence[StoredAsset],
    findings: Sequence[StoredFinding],
    *,
    profile: Profile = "nist",
) -> MigrationPlan:
    """``plan_from_findings`` over a stored run (findings without an asset are left out)."""
    live, drafts = from_stored(assets, findings)
    return plan_from_findings(live, drafts, profile=profile)


# --- targets ----------------------------------------------------------------------------------


def _skip_reason(info: AlgorithmInfo, profile: Profile) -> str | None:
    if not info.known or info.deprecated:
        return None
    if info.post_quantum:
        if profile == "cnsa2" and not policy.cnsa2_approved(info):
            return None
        return "already post-quantum" if info.pqc else "already on a post-quantum hybrid"
    if info.usage in (Usage.ENCRYPTION, Usage.HASH) and not info.quantum_vulnerable:
        if policy.replacement(info, profile=profile) is not None:
            return None
        # NIST keeps AES-128 and SHA-256 acceptable against quantum attacks (IR 8547).
        return "symmetric or hash algorithm that stays acceptable"
    return None


def _target(item: PlanInput, info: AlgorithmInfo, profile: Profile) -> _Target:
    if is_deprecated(item.algorithm):
        return _Target(
            "TLSv1.3",
            "LOW",
            "Disable the old version; TLS 1.3 is needed for PQC.",
            "classical",
        )
    scheme = _weak_signature_scheme(item.algorithm)
    if scheme is not None:
        return scheme
    if not info.known:
        return _named_outside_catalog(item.algorithm) or _Target(
            MANUAL_REVIEW,
            "MEDIUM",
            "Algorithm not in the catalog: identify it before planning.",
            "review",
        )
    if info.deprecated and info.post_quantum:
        successor = policy.replacement(info, profile=profile) or "ML-KEM-768"
        return _Target(
            successor,
            "LOW",
            "Pre-standard draft: switch to the FIPS algorithm.",
            "key-establishment",
        )
    if not info.quantum_vulnerable and not info.post_quantum:
        return _symmetric_target(info, profile)
    if info.post_quantum:
        # Only reached under CNSA 2.0: post-quantum, but not at category 5.
        return _public_key_target(item, info, profile, upgrade=True)
    return _public_key_target(item, info, profile)


def _symmetric_target(info: AlgorithmInfo, profile: Profile) -> _Target:
    target = policy.replacement(info, profile=profile)
    if target is None:
        return _Target(MANUAL_REVIEW, "MEDIUM", "", "review")
    if info.deprecated:
        note = (
            "Broken hash; SHA-384 where CNSA 2.0 applies."
            if info.usage is Usage.HASH and info.primitive != "mac"
            else "Broken or deprecated cipher."
            if info.usage is Usage.ENCRYPTION
            else "Deprecated MAC."
        )
        return _Target(target, "LOW", note, "classical")
    return _Target(target, "LOW", "CNSA 2.0 requires AES-256 and SHA-384/512.", "symmetric")


def _public_key_target(
    item: PlanInput, info: AlgorithmInfo, profile: Profile, *, upgrade: bool = False
) -> _Target:
    usage = _effective_usage(item, info)
    protocol = _protocol_of(item, info, usage)
    target = policy.replacement(info, usage, protocol=protocol, role=item.role, profile=profile)
    deadline = policy.deadline(info, profile=profile, role=item.role)
    by = _by(deadline, profile)
    weak = info.quantum_vulnerable and (info.classical_bits or 128) < 112
    classical_phase = "classical" if weak or info.deprecated else None
    if target is None:
        return _Target(MANUAL_REVIEW, "MEDIUM", "", "review")
    if upgrade:
        return _Target(
            target,
            "LOW" if protocol else "MEDIUM",
            f"CNSA 2.0 needs category 5 parameters.{by}",
            "key-establishment" if usage is not Usage.SIGNATURE else _signature_phase(item),
        )
    if usage is Usage.SIGNATURE:
        note = "Re-issue keys and certificates (CA before leaves)."
        if item.role in policy.SIGNING_ROLES:
            note = "Sign with LMS (SP 800-208): plan the one-time-key state in an HSM."
        elif target.startswith("SLH-DSA"):
            note = "A long-lived root: a stateless hash-based signature (FIPS 205)."
        return _Target(target, "HIGH", f"{note}{by}", classical_phase or _signature_phase(item))
    if usage in (Usage.KEY_ESTABLISHMENT, Usage.ENCRYPTION):
        kind = policy.protocol_kind(protocol)
        effort: Effort
        if kind == "ssh":
            note, effort = "Enable the hybrid SSH key exchange.", "LOW"
        elif kind == "tls":
            note, effort = "Enable the hybrid TLS 1.3 group.", "LOW"
        else:
            note, effort = "Replace the key establishment in the application.", "MEDIUM"
        phase = classical_phase or "key-establishment"
        return _Target(target, effort, f"{note}{by}", phase)
    return _Target(
        target,
        "HIGH",
        f"Usage not declared: the target depends on what the key does.{by}",
        classical_phase or "review",
    )


def _signature_phase(item: PlanInput) -> str:
    if item.role == "root-ca" or item.role in policy.SIGNING_ROLES:
        return "roots"
    if item.role == "intermediate-ca":
        return "intermediates"
    return "signatures"


def _effective_usage(item: PlanInput, info: AlgorithmInfo) -> Usage:
    if item.usage is not None and item.usage is not Usage.UNKNOWN:
        return item.usage
    if item.role in _CA_ROLES or item.role in policy.SIGNING_ROLES:
        return Usage.SIGNATURE
    if item.role == "leaf-certificate":
        return Usage.SIGNATURE
    return info.usage


def _protocol_of(item: PlanInput, info: AlgorithmInfo, usage: Usage) -> str | None:
    if item.protocol:
        return item.protocol
    if usage not in (Usage.KEY_ESTABLISHMENT, Usage.ENCRYPTION):
        return None
    if item.role == "ssh":
        return "SSH"
    if item.role == "tls-server" or _is_tls_group(item.algorithm, info):
        return "TLS"
    raw = item.algorithm.strip().lower()
    # SSH key exchange names carry their hash ("ecdh-sha2-nistp256", "curve25519-sha256").
    if "-sha" in raw or "@" in raw:
        return "SSH"
    return None


def _by(deadline: date | None, profile: Profile) -> str:
    if deadline is None:
        return ""
    source = "NIST IR 8547 / CNSA 2.0" if profile == "cnsa2" else "NIST IR 8547"
    return f" {source}: migrate by {deadline.isoformat()}."


def _deadline(info: AlgorithmInfo, phase: str, item: PlanInput, profile: Profile) -> date | None:
    if not info.known:
        return _deadline_outside_catalog(item.algorithm)
    if phase == "classical":
        return policy.classical_deadline(info) or policy.deadline(
            info, profile=profile, role=item.role
        )
    if phase == "symmetric":
        return policy.cnsa2_deadline(info, item.role)
    return policy.deadline(info, profile=profile, role=item.role)


def _deadline_outside_catalog(name: str) -> date | None:
    """Protocol versions (SP 800-52 Rev. 2) and cipher suites (by their bulk cipher)."""
    if is_deprecated(name):
        ssl = is_ssl(name)
        return policy.SP800_131A_LEGACY_DISALLOWED_AFTER if ssl else policy.SP800_52_TLS13_BY
    suite = parse_cipher_suite(name)
    if suite.cipher == "?":
        return None
    retired = policy.retired_after(suite.cipher, tls=True)
    if retired is not None:
        return retired
    if suite.weak:  # NULL, EXPORT, anonymous
        return policy.SP800_131A_LEGACY_DISALLOWED_AFTER
    if suite.forward_secrecy is False:
        return IR8547_DEPRECATED_AFTER
    if suite.mac == "SHA1":
        return policy.SHA1_RETIRED_AFTER
    return None


def _earliest(*dates: date | None) -> date | None:
    known = [d for d in dates if d is not None]
    return min(known) if known else None


# The SHA-2 scheme to re-sign with first, by signer. FIPS 186-5 dropped DSA: straight to PQC.
# RSA-PSS is not listed: its keys follow their own plan.
_SHA256_SCHEME = {
    "RSA": "sha256WithRSAEncryption",
    "ECDSA": "ecdsa-with-SHA256",
    "DSA": "ML-DSA-65",
}


def _weak_signature_scheme(name: str) -> _Target | None:
    """A signature scheme with a broken hash ("sha1WithRSAEncryption"): first re-sign with
    SHA-2, which the PQC plan of the key then follows."""
    scheme = signature_scheme(name)
    if scheme is None:
        return None
    digest, signer = scheme
    # MD2 has no catalog entry: it is older and weaker than MD5.
    if digest != "MD2" and not parse_algorithm(digest).deprecated:
        return None
    target = _SHA256_SCHEME.get(signer)
    if target is None:
        return None
    return _Target(target, "MEDIUM", "Re-issue with a SHA-2 signature.", "classical")


def _named_outside_catalog(name: str) -> _Target | None:
    """Cipher suites, which findings name and the catalog lists as components only."""
    suite = parse_cipher_suite(name)
    if suite.cipher == "?":
        return None
    if suite.weak:
        return _Target(
            "AES-256-GCM", "LOW", "Remove the cipher suite from the configuration.", "classical"
        )
    if suite.forward_secrecy is False:
        return _Target(
            "X25519MLKEM768",
            "LOW",
            "Offer ephemeral (ECDHE, hybrid) key exchange.",
            "key-establishment",
        )
    if suite.mode == "CBC":
        return _Target("AES-128-GCM", "LOW", "Prefer AEAD cipher suites.", "classical")
    return None


def _is_tls_group(algorithm: str, info: AlgorithmInfo) -> bool:
    """TLS named groups people write as such: x25519, secp256r1, ffdhe2048."""
    name = algorithm.strip().lower()
    return info.family in _TLS_GROUP_FAMILIES and (
        name in ("x25519", "x448") or name.startswith(("secp", "ffdhe", "brainpool"))
    )


def _step_dict(step: MigrationStep) -> dict[str, Any]:
    return {
        "asset": step.asset,
        "current_algorithm": step.current_algorithm,
        "target_algorithm": step.target_algorithm,
        "priority": step.priority.value,
        "estimated_effort": step.estimated_effort,
        "notes": step.notes,
        "phase": step.phase,
        "deadline": _iso(step.deadline),
        "depends_on": step.depends_on,
        "usage": step.usage,
        "role": step.role,
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
