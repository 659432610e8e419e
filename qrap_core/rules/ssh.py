"""SSH rules: what a server's KEXINIT shows that the algorithm-level rules cannot judge.

The catalog rules already see key exchanges (quantum and key-size rules) and declared RC4 or
3DES ciphers. These add the SSH-specific weaknesses: protocol 1, the "none" cipher, CBC-mode
ciphers, weak MACs, SHA-1 host-key signatures and SHA-1 key exchanges (RFC 9142, RFC 8332,
RFC 4251 §9.3, and OpenSSH's own deprecations).
"""

from __future__ import annotations

from qrap_core.enums import FindingCategory, RiskLevel
from qrap_core.rules.base import (
    SP_800_131A,
    AssetFacts,
    FindingDraft,
    Rule,
    RuleContext,
    RuleSpec,
    draft,
)

RFC_4253 = "RFC 4253"
RFC_9142 = "RFC 9142"
RFC_8332 = "RFC 8332"
RFC_4344 = "RFC 4344"

SSH_PROTOCOL_1 = RuleSpec(
    "QRAP-SSH-001",
    FindingCategory.DEPRECATED_PROTOCOL,
    "SSH protocol 1 accepted",
    "The server announces SSH-1.x (or 1.99): protocol 1 is broken",
)
SSH_WEAK_CIPHER = RuleSpec(
    "QRAP-SSH-002",
    FindingCategory.WEAK_ALGORITHM,
    "weak SSH cipher offered",
    "The 'none' cipher (critical) or a CBC-mode cipher (plaintext recovery, CVE-2008-5161)",
)
SSH_WEAK_MAC = RuleSpec(
    "QRAP-SSH-003",
    FindingCategory.WEAK_ALGORITHM,
    "weak SSH MAC offered",
    "An MD5 or SHA-1 based MAC, a 64-bit tag, or no MAC at all",
)
SSH_SHA1_SIGNATURE = RuleSpec(
    "QRAP-SSH-004",
    FindingCategory.WEAK_ALGORITHM,
    "SHA-1 host key signatures offered",
    "ssh-rsa (RSA with SHA-1) or ssh-dss host key signatures",
)
SSH_SHA1_KEX = RuleSpec(
    "QRAP-SSH-005",
    FindingCategory.WEAK_ALGORITHM,
    "SHA-1 key exchange offered",
    "A diffie-hellman-*-sha1 key exchange (RFC 9142: SHOULD NOT / MUST NOT)",
)


def _ssh(facts: AssetFacts) -> bool:
    return (facts.asset.protocol or "").upper().startswith("SSH")


def protocol_1(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-SSH-001: "SSH-1.99" means the server still speaks protocol 1 too."""
    if facts.kind != "protocol" or not _ssh(facts):
        return None
    version = facts.asset.name.removeprefix("SSH-")
    if not version.startswith("1."):
        return None
    return draft(
        SSH_PROTOCOL_1,
        facts,
        risk_level=RiskLevel.CRITICAL,
        title=f"SSH protocol {version} is accepted",
        description=(
            f"{facts.asset.location} announces SSH-{version}: protocol 1 has no integrity "
            "protection worth the name (CRC-32 insertion attacks) and was removed from OpenSSH."
        ),
        remediation="Disable protocol 1; offer SSH-2.0 only.",
        current_algorithm=f"SSH-{version}",
        recommended_algorithm="SSH-2.0",
        evidence={"banner": facts.details.get("banner")},
        references=(RFC_4253,),
    )


def weak_cipher(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-SSH-002: "none" sends traffic in clear; CBC modes leak plaintext (RFC 4344)."""
    if facts.details.get("ssh_role") != "cipher":
        return None
    name = facts.asset.name.lower()
    if name == "none":
        level, reason = RiskLevel.CRITICAL, "it does not encrypt at all"
    elif "-cbc" in name and facts.family not in ("3DES", "RC4", "DES"):
        # 3DES, RC4 and DES are the classical rules' findings already.
        level, reason = RiskLevel.LOW, "CBC mode allows plaintext recovery (CVE-2008-5161)"
    else:
        return None
    return draft(
        SSH_WEAK_CIPHER,
        facts,
        risk_level=level,
        title=f"SSH cipher {facts.asset.name} is offered",
        description=f"{facts.asset.location} offers the cipher {facts.asset.name}: {reason}.",
        remediation=(
            "Offer chacha20-poly1305@openssh.com, aes256-gcm@openssh.com or aes*-ctr only."
        ),
        current_algorithm=facts.asset.name,  # the name sshd_config uses
        recommended_algorithm="chacha20-poly1305@openssh.com",
        evidence={"cipher": facts.asset.name, "reason": reason},
        references=(RFC_4344, RFC_4253),
    )


def weak_mac(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-SSH-003: MD5 MACs, SHA-1 MACs, 64-bit tags (UMAC-64, *-96) and "none"."""
    if facts.details.get("ssh_role") != "mac":
        return None
    name = facts.asset.name.lower()
    if name == "none":
        level, reason = RiskLevel.CRITICAL, "no message authentication at all"
    elif "md5" in name:
        level, reason = RiskLevel.MEDIUM, "MD5 is broken and the tag is short"
    elif "sha1" in name or name.endswith("-96") or "umac-64" in name:
        level, reason = RiskLevel.LOW, "a SHA-1 based or 64/96-bit tag, weaker than current MACs"
    else:
        return None
    return draft(
        SSH_WEAK_MAC,
        facts,
        risk_level=level,
        title=f"SSH MAC {facts.asset.name} is offered",
        description=f"{facts.asset.location} offers the MAC {facts.asset.name}: {reason}.",
        remediation=(
            "Offer hmac-sha2-256-etm@openssh.com / hmac-sha2-512-etm@openssh.com (or AEAD "
            "ciphers, which need no separate MAC)."
        ),
        current_algorithm=facts.asset.name,
        recommended_algorithm="hmac-sha2-256-etm@openssh.com",
        evidence={"mac": facts.asset.name, "reason": reason},
        references=(RFC_4253, SP_800_131A),
    )


def sha1_signature(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-SSH-004: ssh-rsa signs with SHA-1 (RFC 8332); ssh-dss is 1024-bit DSA with SHA-1."""
    if facts.details.get("ssh_role") != "host_key":
        return None
    variants = [str(v) for v in facts.details.get("signature_algorithms") or []]
    weak = [v for v in variants if v in ("ssh-rsa", "ssh-dss")]
    if not weak:
        return None
    level = RiskLevel.HIGH if "ssh-dss" in weak else RiskLevel.MEDIUM
    return draft(
        SSH_SHA1_SIGNATURE,
        facts,
        risk_level=level,
        title=f"SHA-1 host key signatures ({', '.join(weak)}) are offered",
        description=(
            f"{facts.asset.location} offers {', '.join(weak)}: host authentication signed with "
            "SHA-1, whose chosen-prefix collisions are practical; OpenSSH disabled ssh-rsa by "
            "default in 8.8."
        ),
        remediation="Offer rsa-sha2-512/rsa-sha2-256 or ssh-ed25519 host key signatures.",
        current_algorithm=weak[0],
        recommended_algorithm="rsa-sha2-512" if "ssh-rsa" in weak else "ssh-ed25519",
        evidence={"signature_algorithms": variants, "sha1": weak},
        references=(RFC_8332, SP_800_131A),
    )


def sha1_kex(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-SSH-005: RFC 9142 moves every SHA-1 key exchange to SHOULD NOT or MUST NOT."""
    if facts.kind != "key_exchange" or not _ssh(facts):
        return None
    name = facts.asset.name.lower()
    if not name.endswith("-sha1"):
        return None
    return draft(
        SSH_SHA1_KEX,
        facts,
        risk_level=RiskLevel.MEDIUM,
        title=f"SHA-1 key exchange {facts.asset.name} is offered",
        description=(
            f"{facts.asset.location} offers {facts.asset.name}, which hashes the exchange with "
            "SHA-1; RFC 9142 deprecates it."
        ),
        remediation="Remove it; offer mlkem768x25519-sha256 and curve25519-sha256.",
        current_algorithm=facts.asset.name,
        recommended_algorithm="mlkem768x25519-sha256",
        evidence={"kex": facts.asset.name},
        references=(RFC_9142,),
    )


RULES = (
    Rule(SSH_PROTOCOL_1, protocol_1),
    Rule(SSH_WEAK_CIPHER, weak_cipher),
    Rule(SSH_WEAK_MAC, weak_mac),
    Rule(SSH_SHA1_SIGNATURE, sha1_signature),
    Rule(SSH_SHA1_KEX, sha1_kex),
)
