"""Raw TLS ClientHellos and the server's first answer, over asyncio streams.

A library handshake can only offer what its OpenSSL build supports and hides which part of
the offer the server took. Writing the ClientHello ourselves lets a probe offer exactly one
version, one list of suites or one key-exchange group, and read the server's decision from
the ServerHello, HelloRetryRequest or alert that comes back in clear (RFC 8446 §4.1, RFC 5246
§7.4). Nothing here completes a handshake: no key is derived, no application data is sent.
"""

from __future__ import annotations

import asyncio
import functools
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from qrap_core.crypto.protocols import SSL3, TLS10, TLS12, TLS13, WIRE_CODES, WIRE_NAMES
from qrap_core.discovery.tls_suites import TLS13_SUITES

HANDSHAKE = 22
ALERT = 21
_WARNING = 1  # alert level
_SERVER_HELLO = 2
_CERTIFICATE = 11
_SERVER_KEY_EXCHANGE = 12
_SERVER_HELLO_DONE = 14
# RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello whose random is SHA-256 of this text.
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
_EXT_SERVER_NAME = 0
_EXT_SUPPORTED_GROUPS = 10
_EXT_EC_POINT_FORMATS = 11
_EXT_SIGNATURE_ALGORITHMS = 13
_EXT_SUPPORTED_VERSIONS = 43
_EXT_PSK_MODES = 45
_EXT_KEY_SHARE = 51
_RENEGOTIATION_SCSV = 0x00FF
_MAX_RECORD = 18432  # 2^14 plus the largest expansion RFC 5246 allows
_MAX_READ = 256 * 1024  # a certificate chain bigger than this is not worth waiting for

GroupKind = Literal["classical", "hybrid", "pq", "legacy-pq-draft"]


@dataclass(frozen=True, slots=True)
class Group:
    code: int
    name: str  # the IANA name
    kind: GroupKind
    tls12: bool = False  # also negotiable as an ECDHE curve in TLS 1.0-1.2


# IANA TLS Supported Groups registry. Order is the probe's preference when it needs one.
GROUPS: tuple[Group, ...] = (
    Group(0x11EC, "X25519MLKEM768", "hybrid"),
    Group(0x11EB, "SecP256r1MLKEM768", "hybrid"),
    Group(0x11ED, "SecP384r1MLKEM1024", "hybrid"),
    Group(0x11EE, "curveSM2MLKEM768", "hybrid"),
    Group(0x0200, "MLKEM512", "pq"),
    Group(0x0201, "MLKEM768", "pq"),
    Group(0x0202, "MLKEM1024", "pq"),
    Group(0x6399, "X25519Kyber768Draft00", "legacy-pq-draft"),
    Group(0x001D, "x25519", "classical", tls12=True),
    Group(0x0017, "secp256r1", "classical", tls12=True),
    Group(0x0018, "secp384r1", "classical", tls12=True),
    Group(0x0019, "secp521r1", "classical", tls12=True),
    Group(0x001E, "x448", "classical", tls12=True),
    Group(0x0100, "ffdhe2048", "classical"),
    Group(0x0101, "ffdhe3072", "classical"),
    Group(0x0102, "ffdhe4096", "classical"),
    Group(0x0103, "ffdhe6144", "classical"),
    Group(0x0104, "ffdhe8192", "classical"),
)
GROUPS_BY_CODE = {g.code: g for g in GROUPS}
GROUPS_BY_NAME = {g.name.lower(): g for g in GROUPS}
_EC_GROUPS = tuple(g.code for g in GROUPS if g.tls12)
# Signature schemes a modern client offers (RFC 8446 §4.2.3), plus SHA-1 ones so that old
# servers whose only certificate signs with SHA-1 still answer.
_SIGNATURE_SCHEMES = (
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806,
    0x0401, 0x0501, 0x0601, 0x0201, 0x0203, 0x0202,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class KeyShare:
    group: int
    key: bytes


def x25519_share() -> KeyShare:
    """A fresh X25519 key share: lets a TLS 1.3 server answer with a ServerHello at once."""
    public = X25519PrivateKey.generate().public_key()
    return KeyShare(0x001D, public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def client_hello(
    version: str,
    suites: Sequence[int],
    *,
    sni: str | None,
    groups: Sequence[int] = _EC_GROUPS,
    key_shares: Sequence[KeyShare] = (),
) -> bytes:
    """One ClientHello record offering exactly ``version`` and ``suites``.

    For TLS 1.3 the version goes in supported_versions (the legacy field says TLS 1.2) and
    ``key_shares`` may be empty: a server that accepts one of ``groups`` then answers with a
    HelloRetryRequest naming it. SSLv3 hellos carry no extensions, which SSLv3 servers may
    not parse.
    """
    code = WIRE_CODES[version]
    tls13 = version == TLS13
    body = bytearray()
    body += struct.pack("!H", WIRE_CODES[TLS12] if tls13 else code)
    body += os.urandom(32)
    body += b"\x20" + os.urandom(32)  # a session id, as middlebox-compatible clients send
    suite_list = list(suites) + ([] if tls13 else [_RENEGOTIATION_SCSV])
    body += _vec16(_u16s(suite_list))
    body += b"\x01\x00"  # compression: null only
    if version != SSL3:
        extensions = bytearray()
        if sni:
            name = sni.encode("idna")
            server_name = b"\x00" + _vec16(name)
            extensions += _extension(_EXT_SERVER_NAME, _vec16(server_name))
        extensions += _extension(_EXT_SUPPORTED_GROUPS, _vec16(_u16s(groups)))
        if not tls13:
            extensions += _extension(_EXT_EC_POINT_FORMATS, b"\x01\x00")
        if code >= WIRE_CODES[TLS12]:
            extensions += _extension(_EXT_SIGNATURE_ALGORITHMS, _vec16(_u16s(_SIGNATURE_SCHEMES)))
        if tls13:
            extensions += _extension(_EXT_SUPPORTED_VERSIONS, b"\x02\x03\x04")
            extensions += _extension(_EXT_PSK_MODES, b"\x01\x01")
            shares = b"".join(struct.pack("!H", s.group) + _vec16(s.key) for s in key_shares)
            extensions += _extension(_EXT_KEY_SHARE, _vec16(shares))
        body += _vec16(bytes(extensions))
    handshake = bytes([1]) + len(body).to_bytes(3, "big") + bytes(body)
    # Record version 0x0301 for every TLS hello, as browsers send: some servers drop others.
    record_version = code if version == SSL3 else WIRE_CODES[TLS10]
    return struct.pack("!BHH", HANDSHAKE, record_version, len(handshake)) + handshake


def _u16s(values: Sequence[int]) -> bytes:
    return _packed(tuple(values))


@functools.lru_cache(maxsize=4096)
def _packed(values: tuple[int, ...]) -> bytes:
    # Enumeration re-offers shrinking suite lists thousands of times per run.
    return struct.pack(f"!{len(values)}H", *values)


def _vec16(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _extension(kind: int, data: bytes) -> bytes:
    return struct.pack("!HH", kind, len(data)) + data


ReplyKind = Literal["server_hello", "hello_retry", "alert", "closed", "not_tls", "timeout"]


@dataclass(slots=True)
class ServerReply:
    """What the server said to one ClientHello.

    ``version`` is the negotiated version's name (from supported_versions when present).
    For TLS 1.0-1.2 with ``want_certificate`` the Certificate and ServerKeyExchange messages
    that follow in clear are read too.
    """

    kind: ReplyKind
    version: str | None = None
    cipher_suite: int | None = None
    group: int | None = None
    alert: int | None = None
    certificates: list[bytes] = field(default_factory=list)
    dh_bits: int | None = None  # size of the server's finite-field DHE prime
    error: str | None = None

    @property
    def answered(self) -> bool:
        return self.kind in ("server_hello", "hello_retry")


class _Incomplete(Exception):
    pass


class _Parser:
    """Accumulates records; knows when the answer is complete."""

    def __init__(self, want_certificate: bool) -> None:
        self.buffer = b""
        self.handshake = b""
        self.want_certificate = want_certificate
        self.reply: ServerReply | None = None

    def feed(self, data: bytes) -> ServerReply | None:
        self.buffer += data
        while len(self.buffer) >= 5:
            content, _version, length = struct.unpack("!BHH", self.buffer[:5])
            if content not in (HANDSHAKE, ALERT, 20) or length > _MAX_RECORD:
                return self._done(ServerReply("not_tls", error="the answer is not a TLS record"))
            if len(self.buffer) < 5 + length:
                return None
            fragment, self.buffer = self.buffer[5 : 5 + length], self.buffer[5 + length :]
            if content == ALERT:
                if self.reply is not None:
                    return self._done(self.reply)  # alerts after the hello change nothing
                level = fragment[0] if fragment else None
                code = fragment[1] if len(fragment) >= 2 else None
                if level == _WARNING and code not in (0, None):
                    # RFC 6066 §3: a warning unrecognized_name and the handshake goes on.
                    continue
                return self._done(ServerReply("alert", alert=code, error=_alert_text(code)))
            if content == HANDSHAKE:
                self.handshake += fragment
                finished = self._messages()
                if finished is not None:
                    return self._done(finished)
        return None

    def _done(self, reply: ServerReply) -> ServerReply:
        self.reply = reply
        return reply

    def _messages(self) -> ServerReply | None:
        while len(self.handshake) >= 4:
            kind = self.handshake[0]
            length = int.from_bytes(self.handshake[1:4], "big")
            if len(self.handshake) < 4 + length:
                return None
            body, self.handshake = self.handshake[4 : 4 + length], self.handshake[4 + length :]
            if self.reply is None:
                if kind != _SERVER_HELLO:
                    return ServerReply("not_tls", error=f"unexpected handshake message {kind}")
                try:
                    self.reply = _server_hello(body)
                except (_Incomplete, struct.error, IndexError):
                    return ServerReply("not_tls", error="malformed ServerHello")
                if not self._continue():
                    return self.reply
            elif kind == _CERTIFICATE:
                self.reply.certificates = _certificates(body)
            elif kind == _SERVER_KEY_EXCHANGE:
                self.reply.dh_bits, group = _key_exchange_params(body)
                if group is not None:
                    self.reply.group = group
            elif kind == _SERVER_HELLO_DONE:
                return self.reply
        return None

    def _continue(self) -> bool:
        reply = self.reply
        return (
            self.want_certificate
            and reply is not None
            and reply.kind == "server_hello"
            and reply.version not in (None, TLS13)
        )


def _server_hello(body: bytes) -> ServerReply:
    legacy_version = struct.unpack("!H", body[0:2])[0]
    random = body[2:34]
    offset = 34
    session_length = body[offset]
    offset += 1 + session_length
    suite = struct.unpack("!H", body[offset : offset + 2])[0]
    offset += 3  # suite, compression method
    version = legacy_version
    group = None
    if offset + 2 <= len(body):
        ext_length = struct.unpack("!H", body[offset : offset + 2])[0]
        offset += 2
        end = offset + ext_length
        while offset + 4 <= end:
            kind, length = struct.unpack("!HH", body[offset : offset + 4])
            data = body[offset + 4 : offset + 4 + length]
            offset += 4 + length
            if kind == _EXT_SUPPORTED_VERSIONS and len(data) == 2:
                version = struct.unpack("!H", data)[0]
            elif kind == _EXT_KEY_SHARE and len(data) >= 2:
                group = struct.unpack("!H", data[:2])[0]
    reply_kind: ReplyKind = "hello_retry" if random == HRR_RANDOM else "server_hello"
    name = WIRE_NAMES.get(version, f"0x{version:04x}")
    return ServerReply(reply_kind, version=name, cipher_suite=suite, group=group)


def _certificates(body: bytes) -> list[bytes]:
    total = int.from_bytes(body[0:3], "big")
    offset, end, certs = 3, min(3 + total, len(body)), []
    while offset + 3 <= end:
        length = int.from_bytes(body[offset : offset + 3], "big")
        certs.append(body[offset + 3 : offset + 3 + length])
        offset += 3 + length
    return certs


def _key_exchange_params(body: bytes) -> tuple[int | None, int | None]:
    """(DH prime bits, named group) from a ServerKeyExchange, whichever it carries.

    An ECDHE one starts with curve type 3 (named_curve) and the group; a DHE one with the
    prime p as a 16-bit vector. Which one applies follows from the suite, but the shapes do
    not overlap for real keys (a 3-byte-long prime is no DHE group), so the bytes decide.
    """
    if len(body) >= 4 and body[0] == 3:
        return None, struct.unpack("!H", body[1:3])[0]
    if len(body) >= 2:
        p_length = struct.unpack("!H", body[0:2])[0]
        if p_length >= 32 and len(body) >= 2 + p_length:
            prime = body[2 : 2 + p_length].lstrip(b"\x00")
            return len(prime) * 8, None
    return None, None


# RFC 8446 §6: the alerts a server sends when it refuses what was offered.
ALERT_NAMES = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    47: "illegal_parameter",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    120: "no_application_protocol",
}
# Alerts that mean "not this offer", as opposed to a broken or confused server.
REFUSALS = frozenset({40, 47, 70, 71, 109})
# A version offer is refused with more than protocol_version: OpenSSL 3 answers internal_error
# to a version that its security level rules out, others close_notify or
# inappropriate_fallback. Only alerts saying our bytes were not understood prove nothing.
_NOT_UNDERSTOOD = frozenset({10, 20, 22, 50})


def refuses_version(reply: ServerReply) -> bool:
    """The server answered a hello for one version with a refusal of that version."""
    return reply.kind == "alert" and reply.alert not in _NOT_UNDERSTOOD


def _alert_text(code: int | None) -> str:
    return f"alert {ALERT_NAMES.get(code or -1, code)}"


@dataclass(slots=True)
class Dialer:
    """Where and how to connect: the vetted address, the connect/read timeout, a shared limit."""

    address: str
    port: int
    timeout: float
    limit: asyncio.Semaphore


async def exchange(dialer: Dialer, hello: bytes, *, want_certificate: bool = False) -> ServerReply:
    """Send ``hello`` on a fresh connection and read the server's first answer.

    Raises OSError (refused, reset before connecting) and TimeoutError from the connect, so the
    caller can tell an unreachable endpoint from one that refuses the offer; after a connection
    is made every outcome is a ServerReply.
    """
    async with dialer.limit:
        # asyncio.timeout rather than wait_for: no extra task per connection (thousands/run).
        async with asyncio.timeout(dialer.timeout):
            reader, writer = await asyncio.open_connection(dialer.address, dialer.port)
        parser = _Parser(want_certificate)
        try:
            writer.write(hello)
            received = 0
            async with asyncio.timeout(dialer.timeout):
                while True:
                    data = await reader.read(65536)
                    if not data:
                        return parser.reply or ServerReply("closed", error="connection closed")
                    received += len(data)
                    reply = parser.feed(data)
                    if reply is not None:
                        return reply
                    if received > _MAX_READ:
                        return parser.reply or ServerReply("not_tls", error="answer too long")
        except TimeoutError:
            return parser.reply or ServerReply("timeout", error="no answer in time")
        except OSError as exc:
            return parser.reply or ServerReply("closed", error=exc.strerror or str(exc))
        finally:
            # The answer is read; the rest of the server's flight is of no interest. Aborting
            # closes at once (no wait for a FIN exchange, no TIME_WAIT left behind).
            writer.transport.abort()


__all__ = [
    "GROUPS",
    "GROUPS_BY_CODE",
    "GROUPS_BY_NAME",
    "REFUSALS",
    "TLS13_SUITES",
    "Dialer",
    "Group",
    "KeyShare",
    "ServerReply",
    "client_hello",
    "exchange",
    "refuses_version",
    "x25519_share",
]
