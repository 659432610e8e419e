"""SSL/TLS protocol versions: their spellings, wire codes, order and standing.

Probes, rules, the planner and the risk features read versions through this module, so that
"TLSv1", "TLS 1.0", "tls1_0" and 0x0301 are one version everywhere and "deprecated" means one
thing: SSL 2.0 and 3.0 (RFC 6176, RFC 7568) and TLS 1.0 and 1.1 (RFC 8996).
"""

from __future__ import annotations

import re

SSL2 = "SSLv2"
SSL3 = "SSLv3"
TLS10 = "TLSv1.0"
TLS11 = "TLSv1.1"
TLS12 = "TLSv1.2"
TLS13 = "TLSv1.3"

VERSIONS: tuple[str, ...] = (SSL2, SSL3, TLS10, TLS11, TLS12, TLS13)
"""Every version, oldest first."""

DEPRECATED: frozenset[str] = frozenset({SSL2, SSL3, TLS10, TLS11})

# SSLv2 is left out: its hello is another record format, which no probe writes or reads.
WIRE_CODES: dict[str, int] = {
    SSL3: 0x0300,
    TLS10: 0x0301,
    TLS11: 0x0302,
    TLS12: 0x0303,
    TLS13: 0x0304,
}
WIRE_NAMES: dict[int, str] = {code: name for name, code in WIRE_CODES.items()}

_SPELLING = re.compile(r"^(?P<name>ssl|tls)v?(?P<major>\d)(?:\.(?P<minor>\d))?$")


def normalise_protocol(text: str) -> str | None:
    """Spellings of a version ("TLSv1", "TLS 1.0", "tls1_0", "SSLv3.0") as "TLSv1.0" or "SSLv3".

    None when the text is not an SSL/TLS version.
    """
    key = re.sub(r"[\s-]", "", text.strip().lower()).replace("_", ".")
    match = _SPELLING.match(key)
    if match is None:
        return None
    major, minor = match["major"], match["minor"] or "0"
    if match["name"] == "ssl":
        return f"SSLv{major}"
    return f"TLSv{major}.{minor}"


def from_wire(code: int) -> str | None:
    """The version a ClientHello or ServerHello code stands for (0x0303 -> "TLSv1.2")."""
    return WIRE_NAMES.get(code)


def rank(text: str) -> int | None:
    """Position in ``VERSIONS`` (SSLv2 is 0, TLS 1.3 is 5); None for anything else."""
    version = normalise_protocol(text)
    return VERSIONS.index(version) if version in VERSIONS else None


def is_deprecated(text: str) -> bool:
    """True for SSL 2.0/3.0 and TLS 1.0/1.1, however spelled."""
    return normalise_protocol(text) in DEPRECATED


def is_ssl(text: str) -> bool:
    """True for any SSL version (broken outright, unlike TLS 1.0/1.1, which are deprecated)."""
    version = normalise_protocol(text)
    return version is not None and version.startswith("SSL")
