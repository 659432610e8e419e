"""Certificate rules: weak signature hashes and validity."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from qrap_core.enums import FindingCategory, RiskLevel
from qrap_core.rules.base import (
    SP800_131A_LEGACY_DISALLOWED_AFTER,
    SP_800_131A,
    AssetFacts,
    FindingDraft,
    Rule,
    RuleContext,
    RuleSpec,
    draft,
)

WEAK_SIGNATURE_HASH = RuleSpec(
    "QRAP-CERT-001",
    FindingCategory.WEAK_ALGORITHM,
    "certificate signed with a broken hash",
    "Certificate signature uses MD5/MD2 (critical) or SHA-1 (high); medium on a self-signed cert",
)
CERTIFICATE_EXPIRED = RuleSpec(
    "QRAP-CERT-002",
    FindingCategory.CERTIFICATE_EXPIRY,
    "certificate expired",
    "The certificate's notAfter is in the past",
)
CERTIFICATE_EXPIRING = RuleSpec(
    "QRAP-CERT-003",
    FindingCategory.CERTIFICATE_EXPIRY,
    "certificate expiring soon",
    "The certificate expires within the warning window (30 days by default)",
)

_BROKEN_HASHES = {"md2": RiskLevel.CRITICAL, "md4": RiskLevel.CRITICAL, "md5": RiskLevel.CRITICAL}
_WEAK_HASHES = {"sha1": RiskLevel.HIGH}
_HASH_DISPLAY = {"md2": "MD2", "md4": "MD4", "md5": "MD5", "sha1": "SHA-1"}


def weak_signature_hash(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-CERT-001: collisions in the signature hash let an attacker forge certificates.

    A self-signed certificate is trusted as itself, not through its own signature, so its
    hash matters less: MEDIUM.
    """
    if facts.kind != "certificate":
        return None
    hash_name = signature_hash(facts.details)
    level = _BROKEN_HASHES.get(hash_name) or _WEAK_HASHES.get(hash_name)
    if level is None:
        return None
    self_signed = bool(facts.details.get("self_signed"))
    if self_signed:
        level = RiskLevel.MEDIUM
    recommended = _recommended_signature(facts)
    subject = facts.details.get("subject") or facts.asset.name
    trust_note = (
        " The certificate is self-signed, so clients trust it as a whole rather than by this "
        "signature; replace it at its next rotation."
        if self_signed
        else " Collisions in this hash let an attacker forge a certificate with the same signature."
    )
    return draft(
        WEAK_SIGNATURE_HASH,
        facts,
        risk_level=level,
        title=f"Certificate signed with {_HASH_DISPLAY[hash_name]}",
        description=(
            f"The certificate {subject} is signed with "
            f"{facts.details.get('signature_algorithm') or hash_name}.{trust_note}"
        ),
        remediation=f"Re-issue the certificate with a {recommended} signature.",
        current_algorithm=str(facts.details.get("signature_algorithm") or hash_name),
        recommended_algorithm=recommended,
        evidence={
            "signature_algorithm": facts.details.get("signature_algorithm"),
            "signature_hash": hash_name,
            "self_signed": self_signed,
            "is_ca": bool(facts.details.get("is_ca")),
            "chain_index": facts.details.get("chain_index"),
            "subject": subject,
        },
        deadline=SP800_131A_LEGACY_DISALLOWED_AFTER,
        references=(SP_800_131A,),
    )


def certificate_expired(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-CERT-002: clients refuse an expired certificate, or users learn to click through."""
    validity = _validity(facts, ctx)
    if validity is None or validity.remaining > timedelta(0):
        return None
    subject = facts.details.get("subject") or facts.asset.name
    return draft(
        CERTIFICATE_EXPIRED,
        facts,
        risk_level=RiskLevel.HIGH,
        title="Certificate has expired",
        description=f"The certificate {subject} expired {-validity.days} day(s) ago.",
        remediation=(
            "Renew the certificate now; when re-issuing, prefer a key that will not need "
            "replacing again for the post-quantum transition."
        ),
        evidence=validity.evidence(facts),
        deadline=validity.expiry(ctx),
        references=(SP_800_131A,),
    )


def certificate_expiring(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-CERT-003: expires within ``ctx.expiry_warning_days``; renew before it lapses."""
    validity = _validity(facts, ctx)
    if validity is None or validity.remaining <= timedelta(0):
        return None
    if validity.remaining > timedelta(days=ctx.expiry_warning_days):
        return None
    subject = facts.details.get("subject") or facts.asset.name
    return draft(
        CERTIFICATE_EXPIRING,
        facts,
        risk_level=RiskLevel.MEDIUM,
        title=f"Certificate expires in {validity.days} day(s)",
        description=(
            f"The certificate {subject} expires within the {ctx.expiry_warning_days}-day "
            "warning window."
        ),
        remediation="Renew the certificate before it expires and automate renewal (ACME).",
        evidence=validity.evidence(facts) | {"warning_days": ctx.expiry_warning_days},
        deadline=validity.expiry(ctx),
        references=(SP_800_131A,),
    )


def signature_hash(details: dict[str, Any]) -> str:
    """The certificate's signature hash, lower case without dashes ("sha1"), or ""."""
    declared = details.get("signature_hash")
    if isinstance(declared, str) and declared:
        return declared.lower().replace("-", "")
    algorithm = re.sub(r"[\s_\-]", "", str(details.get("signature_algorithm") or "").lower())
    for name in ("md2", "md4", "md5", "sha1"):
        # OpenSSL names put the hash first ("sha1WithRSAEncryption") or last ("ecdsa-with-SHA1").
        if algorithm.startswith(f"{name}with") or algorithm.endswith(f"with{name}"):
            return name
    return ""


@dataclass(frozen=True, slots=True)
class _Validity:
    not_after: datetime | None
    remaining: timedelta

    @property
    def days(self) -> int:
        return self.remaining.days

    def expiry(self, ctx: RuleContext) -> date:
        """notAfter's date, or the run's clock plus the days the analyzer counted."""
        return (self.not_after or ctx.now_utc + self.remaining).date()

    def evidence(self, facts: AssetFacts) -> dict[str, Any]:
        return {
            "not_before": facts.details.get("not_before"),
            "not_after": facts.details.get("not_after"),
            "days_to_expiry": self.days,
            "subject": facts.details.get("subject"),
            "is_ca": bool(facts.details.get("is_ca")),
            "chain_index": facts.details.get("chain_index"),
        }


def _validity(facts: AssetFacts, ctx: RuleContext) -> _Validity | None:
    """Time left measured against the run's clock; the analyzer's day count as a fallback."""
    if facts.kind != "certificate":
        return None
    not_after = parse_timestamp(facts.details.get("not_after"))
    if not_after is not None:
        return _Validity(not_after, not_after - ctx.now_utc)
    days = facts.details.get("days_to_expiry")
    if isinstance(days, int) and not isinstance(days, bool):
        # Without notAfter, "0 days left" counts as expiring today, not as expired.
        remaining = timedelta(days=days) if days < 0 else timedelta(days=days, seconds=1)
        return _Validity(None, remaining)
    return None


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 string or datetime as an aware datetime (naive ones are UTC); else None."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _recommended_signature(facts: AssetFacts) -> str:
    family = facts.family or ""
    strong = (facts.classical_bits or 0) >= 192
    if family == "RSA":
        return "sha384WithRSAEncryption" if strong else "sha256WithRSAEncryption"
    if family in ("EC", "ECDSA"):
        return "ecdsa-with-SHA384" if strong else "ecdsa-with-SHA256"
    return "SHA-256"


RULES = (
    Rule(WEAK_SIGNATURE_HASH, weak_signature_hash),
    Rule(CERTIFICATE_EXPIRED, certificate_expired),
    Rule(CERTIFICATE_EXPIRING, certificate_expiring),
)
