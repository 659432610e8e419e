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
    "Certificate signature uses MD5/MD2 (critical) or SHA-1 (high); info on a self-signed cert",
)
CERTIFICATE_EXPIRED = RuleSpec(
    "QRAP-CERT-002",
    FindingCategory.CERTIFICATE_EXPIRY,
    "certificate expired",
    "The certificate's notAfter is in the past (low for a root: remove it from the trust store)",
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

    A self-signed certificate (a root) is trusted because it sits in a trust store, never
    through its own signature, so a weak hash there protects nothing and is INFO only.
    """
    if facts.kind != "certificate":
        return None
    hash_name = signature_hash(facts.details)
    level = _BROKEN_HASHES.get(hash_name) or _WEAK_HASHES.get(hash_name)
    if level is None:
        return None
    self_signed = bool(facts.details.get("self_signed"))
    recommended = _recommended_signature(facts)
    subject = facts.details.get("subject") or facts.asset.name
    algorithm = str(facts.details.get("signature_algorithm") or hash_name)
    hash_display = _HASH_DISPLAY[hash_name]
    current = validity(facts, ctx)
    expired_on = current.expired_on(ctx) if current is not None else None
    if self_signed:
        level = RiskLevel.INFO
        title = f"Self-signed certificate's own signature uses {hash_display}"
        description = (
            f"The certificate {subject} signs itself with {algorithm}. Clients trust a "
            "self-signed certificate because it is in their trust store, not through this "
            "signature, so the weak hash puts nothing at risk."
        )
        remediation = (
            "Nothing to do for this signature: the certificate expired on "
            f"{expired_on.isoformat()} (see QRAP-CERT-002)."
            if expired_on is not None
            else "Nothing to do for this signature; a successor certificate would be signed "
            f"with {recommended}."
        )
    else:
        title = f"Certificate signed with {hash_display}"
        description = (
            f"The certificate {subject} is signed with {algorithm}. Collisions in this hash let "
            "an attacker forge a certificate with the same signature."
        )
        if expired_on is not None:
            description += f" It expired on {expired_on.isoformat()}."
            remediation = f"Make sure the certificate replacing it is signed with {recommended}."
        else:
            remediation = f"Re-issue the certificate with a {recommended} signature."
    return draft(
        WEAK_SIGNATURE_HASH,
        facts,
        risk_level=level,
        title=title,
        description=description,
        remediation=remediation,
        current_algorithm=algorithm,
        recommended_algorithm=recommended,
        evidence={
            "signature_algorithm": facts.details.get("signature_algorithm"),
            "signature_hash": hash_name,
            "self_signed": self_signed,
            "is_ca": bool(facts.details.get("is_ca")),
            "chain_index": facts.details.get("chain_index"),
            "subject": subject,
            "expired": expired_on is not None,
        },
        deadline=SP800_131A_LEGACY_DISALLOWED_AFTER,
        references=(SP_800_131A,),
    )


def certificate_expired(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-CERT-002: clients refuse an expired certificate, or users learn to click through.

    An expired root is LOW: nothing chains to it any more, but RFC 5280 does not make clients
    check a trust anchor's dates, so it is removed from the trust store, not renewed.
    """
    current = validity(facts, ctx)
    if current is None or current.remaining > timedelta(0):
        return None
    subject = facts.details.get("subject") or facts.asset.name
    when = _expired_when(current, ctx)
    if is_root(facts):
        return draft(
            CERTIFICATE_EXPIRED,
            facts,
            risk_level=RiskLevel.LOW,
            title="Root certificate has expired",
            description=(
                f"The root certificate {subject} expired {when}. Certificates chaining to it "
                "are refused by clients that check a trust anchor's dates; those that do not "
                "(RFC 5280 does not require it) still trust it."
            ),
            remediation=(
                "Remove it from the bundle or trust store; a root that has expired is not renewed."
            ),
            evidence=current.evidence(facts),
            deadline=current.expiry(ctx),
            references=(SP_800_131A,),
        )
    return draft(
        CERTIFICATE_EXPIRED,
        facts,
        risk_level=RiskLevel.HIGH,
        title="Certificate has expired",
        description=f"The certificate {subject} expired {when}.",
        remediation=(
            "Renew the certificate now; when re-issuing, prefer a key that will not need "
            "replacing again for the post-quantum transition."
        ),
        evidence=current.evidence(facts),
        deadline=current.expiry(ctx),
        references=(SP_800_131A,),
    )


def certificate_expiring(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-CERT-003: expires within ``ctx.expiry_warning_days``; renew before it lapses."""
    current = validity(facts, ctx)
    if current is None or current.remaining <= timedelta(0):
        return None
    if current.remaining > timedelta(days=ctx.expiry_warning_days):
        return None
    subject = facts.details.get("subject") or facts.asset.name
    root = is_root(facts)
    remediation = (
        "Make sure the CA's successor root is in every client's trust store before this one "
        "expires, and that no certificate in use chains only to it."
        if root
        else "Renew the certificate before it expires and automate renewal (ACME)."
    )
    return draft(
        CERTIFICATE_EXPIRING,
        facts,
        risk_level=RiskLevel.MEDIUM,
        title=f"{'Root certificate' if root else 'Certificate'} expires in {current.days} day(s)",
        description=(
            f"The {'root ' if root else ''}certificate {subject} expires on "
            f"{current.expiry(ctx).isoformat()}, within the {ctx.expiry_warning_days}-day "
            "warning window."
        ),
        remediation=remediation,
        evidence=current.evidence(facts) | {"warning_days": ctx.expiry_warning_days},
        deadline=current.expiry(ctx),
        references=(SP_800_131A,),
    )


def is_root(facts: AssetFacts) -> bool:
    """A self-signed CA certificate: a trust anchor, replaced rather than renewed."""
    return bool(facts.details.get("is_ca")) and bool(facts.details.get("self_signed"))


def _expired_when(current: Validity, ctx: RuleContext) -> str:
    days = -current.days
    years = f" (about {round(days / 365.25)} years)" if days >= 365 else ""
    return f"on {current.expiry(ctx).isoformat()}, {days:,} day(s) ago{years}"


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
class Validity:
    """A certificate's notAfter and the time left by the run's clock (negative once expired)."""

    not_after: datetime | None
    remaining: timedelta

    @property
    def days(self) -> int:
        return self.remaining.days

    def expiry(self, ctx: RuleContext) -> date:
        """notAfter's date, or the run's clock plus the days the analyzer counted."""
        return (self.not_after or ctx.now_utc + self.remaining).date()

    def expired_on(self, ctx: RuleContext) -> date | None:
        """The expiry date once the certificate has expired by the run's clock, else None."""
        return None if self.remaining > timedelta(0) else self.expiry(ctx)

    def evidence(self, facts: AssetFacts) -> dict[str, Any]:
        return {
            "not_before": facts.details.get("not_before"),
            "not_after": facts.details.get("not_after"),
            "days_to_expiry": self.days,
            "subject": facts.details.get("subject"),
            "is_ca": bool(facts.details.get("is_ca")),
            "chain_index": facts.details.get("chain_index"),
        }


def validity(facts: AssetFacts, ctx: RuleContext) -> Validity | None:
    """Time left measured against the run's clock; the analyzer's day count as a fallback."""
    if facts.kind != "certificate":
        return None
    not_after = parse_timestamp(facts.details.get("not_after"))
    if not_after is not None:
        return Validity(not_after, not_after - ctx.now_utc)
    days = facts.details.get("days_to_expiry")
    if isinstance(days, int) and not isinstance(days, bool):
        # Without notAfter, "0 days left" counts as expiring today, not as expired.
        remaining = timedelta(days=days) if days < 0 else timedelta(days=days, seconds=1)
        return Validity(None, remaining)
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
