"""Which addresses a probe or a webhook may reach (docs/reliability.md, T14).

The policy resolves a host once, vets every answer, and hands back the address to dial, so
the address checked is the address connected to (no second lookup an attacker could rebind).
Ranges are explicit lists: on Python 3.11 ``ipaddress.is_global``/``is_private`` have wrong
ranges (CVE-2024-4032).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import NoReturn

from qrap_core.errors import ConfigurationError, InvalidTarget, TargetNotAllowed
from qrap_core.logging import get_logger

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses``: one lookup returning every A and AAAA answer as text."""


class ResolutionError(Exception):
    """The host name has no address (NXDOMAIN, no records, resolver failure)."""


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Never reached, whatever the allow list says. First match names the reason, so the more
# specific ranges come first.
_NEVER: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = (
    ("cloud metadata", _nets("169.254.169.254/32", "fd00:ec2::254/128")),
    ("unspecified", _nets("0.0.0.0/8", "::/128")),
    ("link-local", _nets("169.254.0.0/16", "fe80::/10")),
    ("multicast", _nets("224.0.0.0/4", "ff00::/8")),
    ("broadcast", _nets("255.255.255.255/32")),
    ("reserved", _nets("240.0.0.0/4", "100::/64", "fec0::/10")),
    # These embed an IPv4 address that a gateway would reach on our behalf.
    ("NAT64", _nets("64:ff9b::/96", "64:ff9b:1::/48")),
    ("6to4", _nets("2002::/16")),
    ("Teredo", _nets("2001::/32")),
    ("IPv4-compatible", _nets("::/96")),
)

# Reached only inside an allowed network. Checked after _NEVER, except that ::1 sits inside
# ::/96 above, so it is matched first by _vet.
_RESTRICTED: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = (
    ("loopback", _nets("127.0.0.0/8", "::1/128")),
    ("private", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
    ("CGNAT", _nets("100.64.0.0/10")),
    (
        "special-purpose",
        _nets(
            "192.0.0.0/24",
            "192.0.2.0/24",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "2001:db8::/32",
        ),
    ),
)
_LOOPBACK_V6 = ipaddress.IPv6Address("::1")
SCAN_SETTING = "QRAP_SCAN_ALLOW_NETWORKS"
log = get_logger(__name__)
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def is_hostname(value: str) -> bool:
    """RFC 1123 host name (letters, digits, hyphens; dot-separated labels)."""
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    # An all-numeric last label would be a malformed IPv4 address, not a name.
    if labels[-1].isdigit():
        return False
    return all(_LABEL.match(label) for label in labels)


def is_host(value: str) -> bool:
    """An IP address in standard notation or an RFC 1123 host name."""
    return _parse_ip(value) is not None or is_hostname(value)


def never_probed(host: str) -> str | None:
    """Why the IP literal ``host`` can never be probed, whatever the allow list; else None.

    Lets a submission be refused up front (400) for link-local, metadata and the other
    closed ranges; names and configurable ranges are decided after resolution, at run time.
    """
    addr = _parse_ip(host)
    if addr is None:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            return "scoped address"
        if addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
    if addr == _LOOPBACK_V6:
        return None
    return _match(addr, _NEVER)


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with one ``getaddrinfo`` call; every A and AAAA answer, in order, once."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolutionError(f"cannot resolve {host!r}: {exc}") from exc
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


class NetworkPolicy:
    """Decides which addresses may be dialled.

    ``allowed_networks`` (CIDR strings) opens loopback, private, CGNAT and special-purpose
    ranges; link-local, metadata, unspecified, multicast, broadcast, reserved and tunnel
    (NAT64, 6to4, Teredo) addresses stay closed whatever it says. Public addresses are open.

    A refusal never tells the caller what a name resolved to (that would map the server's
    network for them): it names the kind of address and ``setting``, the variable that opens
    it (``openable``: the ranges it can open, every restricted one when None). The address
    itself goes to the server's log only.
    """

    def __init__(
        self,
        allowed_networks: Iterable[str] = (),
        *,
        resolver: Resolver = system_resolver,
        setting: str = SCAN_SETTING,
        openable: Iterable[str] | None = None,
    ) -> None:
        nets: list[IPNetwork] = []
        for cidr in allowed_networks:
            try:
                nets.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError as exc:
                raise ConfigurationError(f"invalid allowed network {cidr!r}: {exc}") from exc
        self.allowed_networks: tuple[IPNetwork, ...] = tuple(nets)
        self._resolver = resolver
        self.setting = setting
        self._openable = None if openable is None else _nets(*openable)

    def check_ip(self, ip: str | IPAddress) -> str:
        """Vet one address: return it as text (IPv4-mapped unwrapped) or raise TargetNotAllowed."""
        addr = _parse_ip(ip) if isinstance(ip, str) else ip
        if addr is None:
            raise TargetNotAllowed(f"{ip!r} is not an IP address")
        return str(self._vet(addr, str(ip)))

    def resolve(self, host: str, port: int) -> str:
        """Return the address to dial for ``host:port``: the first answer, after vetting them all.

        Raises InvalidTarget for a bad port or a string that is neither an IP nor a host name,
        ResolutionError when the name has no address, and TargetNotAllowed when ANY answer
        is forbidden (a name with one private answer among public ones is refused whole).
        """
        if not 1 <= port <= 65535:
            raise InvalidTarget(f"port {port} is out of range (1-65535)")
        literal = _parse_ip(host)
        if literal is not None:
            return str(self._vet(literal, host))
        if not is_hostname(host):
            # Catches inet_aton spellings such as "127.1" or "2130706433" before getaddrinfo
            # would quietly turn them into addresses.
            raise InvalidTarget(f"{host!r} is neither an IP address nor a host name")
        answers = list(self._resolver(host, port))
        if not answers:
            raise ResolutionError(f"{host!r} has no address")
        vetted: list[IPAddress] = []
        for answer in answers:
            addr = _parse_ip(answer)
            if addr is None:
                raise ResolutionError(f"the resolver gave no usable address for {host!r}")
            vetted.append(self._vet(addr, host))
        return str(vetted[0])

    def _vet(self, addr: IPAddress, host: str) -> IPAddress:
        literal = _parse_ip(host) is not None  # the caller's own text: safe to repeat
        if isinstance(addr, ipaddress.IPv6Address):
            if addr.scope_id:
                self._refuse(host, addr, literal, "scoped", "never probed")
            if addr.ipv4_mapped is not None:
                addr = addr.ipv4_mapped
        if addr != _LOOPBACK_V6:
            reason = _match(addr, _NEVER)
            if reason is not None:
                self._refuse(host, addr, literal, reason, "never probed")
        reason = _match(addr, _RESTRICTED)
        if reason is not None and not any(addr in net for net in self.allowed_networks):
            openable = self._openable is None or any(addr in net for net in self._openable)
            hint = f"; {self.setting} allows it" if openable else ""
            self._refuse(host, addr, literal, reason, f"outside the allowed networks{hint}")
        return addr

    def _refuse(
        self, host: str, addr: IPAddress, literal: bool, reason: str, verdict: str
    ) -> NoReturn:
        if literal:
            raise TargetNotAllowed(f"{host} ({reason}) is {verdict}")
        log.info("netpolicy.refused", host=host, address=str(addr), reason=reason)
        raise TargetNotAllowed(f"{host!r} resolves to a {reason} address, which is {verdict}")


def is_public(ip: str) -> bool:
    """Whether ``ip`` is a public address: in none of the never-probed or restricted ranges."""
    addr = _parse_ip(ip)
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            return False
        if addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
    return _match(addr, _NEVER) is None and _match(addr, _RESTRICTED) is None


def _match(addr: IPAddress, table: tuple[tuple[str, tuple[IPNetwork, ...]], ...]) -> str | None:
    for reason, nets in table:
        if any(addr in net for net in nets):
            return reason
    return None


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
