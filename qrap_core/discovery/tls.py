"""TLS probe: real handshakes and raw ClientHellos against a vetted address.

Per endpoint, all over asyncio so that many endpoints are probed at once:

1. One full handshake with pyOpenSSL's defaults (its bundled OpenSSL offers X25519MLKEM768)
   gives the negotiated version, cipher and group and the certificate chain. It is driven
   through memory BIOs, so it needs no thread.
2. One raw ClientHello per version (SSLv3 to TLS 1.3), each offering every suite we know for
   that version: the version is accepted when the ServerHello names it, rejected when a
   ServerHello names another or a fatal alert answers (protocol_version, or the
   internal_error OpenSSL 3 sends), unless that alert says the hello was unreadable.
3. Per accepted version, the suites it accepts: offer all, remove the server's choice, repeat
   until it refuses (what sslyze and testssl.sh do, but reading only the ServerHello).
4. Per key-exchange group, one TLS 1.3 ClientHello whose supported_groups holds only that
   group and whose key_share is empty: a HelloRetryRequest (or ServerHello) naming the group
   means accepted, a refusal alert means not. Anything else is "not_tested",
   never "rejected".

An unreachable endpoint is a target error with no assets; a reachable one that refuses every
version is one too, since nothing was learned about its cryptography.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from OpenSSL import SSL

from qrap_core.crypto.protocols import SSL3, TLS13, WIRE_CODES, normalise_protocol
from qrap_core.crypto.suites import parse_cipher_suite
from qrap_core.discovery.certificate import certificate_assets
from qrap_core.discovery.targets import TlsTarget
from qrap_core.discovery.tls_hello import (
    GROUPS,
    GROUPS_BY_CODE,
    GROUPS_BY_NAME,
    REFUSALS,
    Dialer,
    Group,
    ServerReply,
    client_hello,
    exchange,
    refuses_version,
)
from qrap_core.discovery.tls_suites import CIPHER_SUITES, LEGACY_SUITES, TLS13_SUITES, suite_name
from qrap_core.discovery.types import CryptoAsset, TargetResult
from qrap_core.enums import Usage
from qrap_core.errors import InvalidTarget, TargetNotAllowed
from qrap_core.netpolicy import NetworkPolicy, ResolutionError, is_hostname

Status = Literal["accepted", "rejected", "not_tested"]
KexVerdict = Literal["pq-only", "hybrid-pq", "legacy-pq-draft", "classical-only", "not-tested"]
# Every version a raw hello can offer, oldest first.
VERSIONS: tuple[str, ...] = tuple(WIRE_CODES)
_PRE_TLS13 = VERSIONS[: VERSIONS.index(TLS13)]
# Connections one endpoint may have open at once: enough to finish quickly, few enough that a
# production server does not see a flood.
PER_TARGET_CONNECTIONS = 6
DEFAULT_CONCURRENCY = 256

_PQ_VERDICTS = ("pq-only", "hybrid-pq")
# OpenSSL 3.5 and later offer X25519MLKEM768 first in a client's default groups.
_LIBRARY_OFFERS_HYBRID = SSL.OPENSSL_VERSION_NUMBER >= 0x30500000
_SUITE_CODES = {name: code for code, name in CIPHER_SUITES.items()}

# Key: the name in lower case, as OpenSSL spellings vary ("x25519", "prime256v1", "P-256").
_GROUP_INFO: dict[str, tuple[str, str, int | None]] = {
    "x25519": ("X25519", "ECDH", 256),
    "x448": ("X448", "ECDH", 448),
    **dict.fromkeys(("secp256r1", "prime256v1", "p-256"), ("secp256r1", "ECDH", 256)),
    **dict.fromkeys(("secp384r1", "p-384"), ("secp384r1", "ECDH", 384)),
    **dict.fromkeys(("secp521r1", "p-521"), ("secp521r1", "ECDH", 521)),
    **dict.fromkeys(("secp224r1", "p-224"), ("secp224r1", "ECDH", 224)),
    **dict.fromkeys(("brainpoolp256r1", "brainpoolp256r1tls13"), ("brainpoolP256r1", "ECDH", 256)),
    **dict.fromkeys(("brainpoolp384r1", "brainpoolp384r1tls13"), ("brainpoolP384r1", "ECDH", 384)),
    **dict.fromkeys(("brainpoolp512r1", "brainpoolp512r1tls13"), ("brainpoolP512r1", "ECDH", 512)),
    **{f"ffdhe{n}": (f"ffdhe{n}", "DH", n) for n in (2048, 3072, 4096, 6144, 8192)},
    "x25519mlkem768": ("X25519MLKEM768", "hybrid", None),
    "secp256r1mlkem768": ("SecP256r1MLKEM768", "hybrid", None),
    "secp384r1mlkem1024": ("SecP384r1MLKEM1024", "hybrid", None),
    "curvesm2mlkem768": ("curveSM2MLKEM768", "hybrid", None),
    "x25519kyber768draft00": ("X25519Kyber768Draft00", "hybrid", None),
    **{f"mlkem{n}": (f"MLKEM{n}", "ML-KEM", None) for n in (512, 768, 1024)},
}


class _UnreachableError(Exception):
    """No TLS conversation happened: TCP failed or the server never answered in time."""


class _RejectedError(Exception):
    """The server answered and the handshake failed (alert, reset, EOF, not TLS)."""


@dataclass(frozen=True, slots=True)
class _Handshake:
    version: str
    cipher: str
    bits: int | None
    group: str | None
    chain: list[x509.Certificate] = field(default_factory=list)
    dh_bits: int | None = None


@dataclass(slots=True)
class _Suite:
    name: str
    versions: list[str] = field(default_factory=list)
    dh_bits: int | None = None


@dataclass(slots=True)
class _Findings:
    """What the raw probes learned about one endpoint."""

    versions: dict[str, Status] = field(default_factory=dict)
    version_notes: dict[str, str] = field(default_factory=dict)
    first_reply: dict[str, ServerReply] = field(default_factory=dict)
    suites: dict[str, list[int]] = field(default_factory=dict)
    dh_bits: dict[int, int] = field(default_factory=dict)
    groups: dict[str, Status] = field(default_factory=dict)
    group_notes: dict[str, str] = field(default_factory=dict)


def probe(
    target: TlsTarget, *, policy: NetworkPolicy, timeout: float = 5.0, now: datetime
) -> TargetResult:
    """Synchronous ``probe_async`` for one target (tests, scripts)."""
    return asyncio.run(probe_async(target, policy=policy, timeout=timeout, now=now))


async def probe_async(
    target: TlsTarget,
    *,
    policy: NetworkPolicy,
    timeout: float = 5.0,
    now: datetime,
    limit: asyncio.Semaphore | None = None,
    test_groups: bool = True,
    enumerate_suites: bool = True,
) -> TargetResult:
    """Describe what ``target`` negotiates and accepts.

    Resolves once through ``policy`` (in a thread: getaddrinfo blocks) and dials only that
    address. ``timeout`` bounds each connect and each answer; ``limit`` caps connections
    across every endpoint probed concurrently.
    """
    label = target.label()
    sni = target.sni or (None if _is_ip(target.host) else target.host)
    if sni is not None and not is_hostname(sni):
        return TargetResult.failed(label, "tls", f"SNI {sni!r} is not a host name")
    address = await _resolve(target, policy)
    if isinstance(address, TargetResult):
        return address
    shared = limit or asyncio.Semaphore(DEFAULT_CONCURRENCY)
    dialer = _TargetDialer(Dialer(address, target.port, timeout, shared))

    default_error = None
    try:
        default: _Handshake | None = await _full_handshake(dialer, sni)
    except _UnreachableError as exc:
        return TargetResult.failed(label, "tls", f"cannot connect to {label} ({address}): {exc}")
    except _RejectedError as exc:
        default, default_error = None, str(exc)

    found = _Findings()
    await _probe_versions(dialer, sni, found)
    if default is not None:
        # A completed handshake is proof, whatever a raw hello at that version said.
        found.versions[default.version] = "accepted"
    accepted_versions = [v for v in VERSIONS if found.versions.get(v) == "accepted"]
    if not accepted_versions:
        return TargetResult.failed(
            label, "tls", f"TLS handshake failed on every version: {default_error}"
        )
    await _probe_suites(dialer, sni, found, accepted_versions, enumerate_suites=enumerate_suites)
    if test_groups:
        await _probe_groups(dialer, sni, found)
    else:
        found.groups = {g.name: "not_tested" for g in GROUPS}
        found.group_notes = dict.fromkeys(found.groups, "group tests were not requested")
    negotiated = _negotiated(default, found, accepted_versions)
    verdict = key_exchange_verdict(found.groups, found.versions)
    assets = _assets(negotiated, found, verdict, location=label, library=default is not None)
    assets.extend(certificate_assets(negotiated.chain, location=label, now=now))
    return TargetResult(
        target=label,
        type="tls",
        status="ok",
        assets=assets,
        details={
            "address": address,
            "sni": sni,
            "negotiated_version": negotiated.version,
            "cipher": negotiated.cipher,
            "group": negotiated.group,
            "versions": found.versions,
            "cipher_suites": {
                v: [suite_name(c) for c in found.suites.get(v, [])] for v in accepted_versions
            },
            "groups": found.groups,
            "key_exchange": verdict,
            **({"notes": _notes(found)} if _notes(found) else {}),
        },
    )


async def _resolve(target: TlsTarget, policy: NetworkPolicy) -> str | TargetResult:
    """The vetted address to dial, or the target's failure."""
    try:
        if _is_ip(target.host):
            return policy.resolve(target.host, target.port)
        return await asyncio.to_thread(policy.resolve, target.host, target.port)
    except (TargetNotAllowed, InvalidTarget) as exc:
        return TargetResult.failed(target.label(), "tls", exc.message)
    except ResolutionError as exc:
        return TargetResult.failed(target.label(), "tls", str(exc))


async def _probe_suites(
    dialer: _TargetDialer,
    sni: str | None,
    found: _Findings,
    accepted_versions: list[str],
    *,
    enumerate_suites: bool,
) -> None:
    """Every accepted suite per accepted version, or only the first reply's when not asked."""
    if enumerate_suites:
        await asyncio.gather(*(_enumerate_suites(dialer, sni, v, found) for v in accepted_versions))
        return
    for version in accepted_versions:
        reply = found.first_reply.get(version)
        found.suites[version] = [reply.cipher_suite] if reply and reply.cipher_suite else []


def _negotiated(
    default: _Handshake | None, found: _Findings, accepted_versions: list[str]
) -> _Handshake:
    """The library's handshake, completed with what the raw hellos learned (or built from them)."""
    negotiated = default or _negotiated_from_raw(found, accepted_versions)
    if negotiated.group is not None:
        known = GROUPS_BY_NAME.get(_group_key(negotiated.group))
        if known is not None:
            found.groups[known.name] = "accepted"
            found.group_notes.pop(known.name, None)
    if not negotiated.chain:
        negotiated = replace(negotiated, chain=_raw_chain(found))
    if negotiated.dh_bits is None and negotiated.cipher in _SUITE_CODES:
        # The library does not say the DHE group's size; the raw hello for that suite did.
        negotiated = replace(negotiated, dh_bits=found.dh_bits.get(_SUITE_CODES[negotiated.cipher]))
    return negotiated


@dataclass(slots=True)
class _TargetDialer:
    """The vetted endpoint; its connections count against its own and the shared limit."""

    dialer: Dialer
    own: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(PER_TARGET_CONNECTIONS)
    )


async def _hello(
    dialer: _TargetDialer, hello: bytes, *, want_certificate: bool = False
) -> ServerReply:
    async with dialer.own:
        try:
            return await exchange(dialer.dialer, hello, want_certificate=want_certificate)
        except TimeoutError:
            return ServerReply("timeout", error="connection timed out")
        except OSError as exc:
            return ServerReply("closed", error=exc.strerror or str(exc))


# --- versions and suites -------------------------------------------------------------------


def _version_hello(version: str, suites: Sequence[int], sni: str | None) -> bytes:
    if version == TLS13:
        # No key share: the server answers with a HelloRetryRequest that already names the
        # version and suite, and spends no signature on a handshake we abandon anyway.
        groups = [g.code for g in GROUPS if g.kind == "classical"]
        return client_hello(version, suites, sni=sni, groups=groups, key_shares=[])
    return client_hello(version, suites, sni=sni)


async def _probe_versions(dialer: _TargetDialer, sni: str | None, found: _Findings) -> None:
    async def one(version: str) -> None:
        offer = TLS13_SUITES if version == TLS13 else LEGACY_SUITES
        reply = await _hello(
            dialer, _version_hello(version, offer, sni), want_certificate=version != TLS13
        )
        if reply.answered and reply.version == version:
            found.versions[version] = "accepted"
            found.first_reply[version] = reply
            if reply.dh_bits and reply.cipher_suite is not None:
                found.dh_bits[reply.cipher_suite] = reply.dh_bits
        elif reply.answered or refuses_version(reply):
            # A ServerHello for another version, or an alert, is the server saying "not this
            # one"; only a hello the server could not read leaves the version untested.
            found.versions[version] = "rejected"
        else:
            found.versions[version] = "not_tested"
            found.version_notes[version] = reply.error or reply.kind

    await asyncio.gather(*(one(v) for v in VERSIONS))
    answered = any(s == "accepted" for s in found.versions.values())
    for version, note in list(found.version_notes.items()):
        # A TLS server that answers other offers and hangs up on this one (or calls it
        # malformed) refuses it; a silent or confused endpoint proves nothing.
        if answered and note.startswith(("connection closed", "Connection reset", "alert ")):
            found.versions[version] = "rejected"
            del found.version_notes[version]


async def _enumerate_suites(
    dialer: _TargetDialer, sni: str | None, version: str, found: _Findings
) -> None:
    offer = list(TLS13_SUITES if version == TLS13 else LEGACY_SUITES)
    chosen: list[int] = []
    first = found.first_reply.get(version)
    if first is not None and first.cipher_suite in offer:
        chosen.append(first.cipher_suite)
        offer.remove(first.cipher_suite)
    while offer:
        reply = await _hello(
            dialer, _version_hello(version, offer, sni), want_certificate=version != TLS13
        )
        suite = reply.cipher_suite
        if not (reply.answered and reply.version == version) or suite is None or suite not in offer:
            break
        chosen.append(suite)
        offer.remove(suite)
        if reply.dh_bits:
            found.dh_bits[suite] = reply.dh_bits
    found.suites[version] = chosen


# --- key-exchange groups -------------------------------------------------------------------


async def _probe_groups(dialer: _TargetDialer, sni: str | None, found: _Findings) -> None:
    tls13 = found.versions.get(TLS13)
    if tls13 == "accepted":
        await asyncio.gather(*(_probe_group_tls13(dialer, sni, g, found) for g in GROUPS))
        return
    # SSLv3 hellos carry no supported_groups extension: no group can be offered there.
    legacy = [v for v in _PRE_TLS13 if v != SSL3 and found.versions.get(v) == "accepted"]
    for group in GROUPS:
        if tls13 == "rejected" and not group.tls12:
            # Hybrid and ML-KEM groups exist only in TLS 1.3, which this server refuses.
            found.groups[group.name] = "rejected" if group.kind != "classical" else "not_tested"
            if group.kind == "classical":
                found.group_notes[group.name] = "finite-field groups are only probed in TLS 1.3"
            else:
                found.group_notes[group.name] = "TLS 1.3 is not accepted"
        elif tls13 != "rejected":
            found.groups[group.name] = "not_tested"
            found.group_notes[group.name] = "TLS 1.3 could not be tested"
    if tls13 != "rejected":
        return
    ecdhe = [c for c in LEGACY_SUITES if "_ECDHE_" in CIPHER_SUITES[c]]
    accepted_ecdhe = any(
        "_ECDHE_" in CIPHER_SUITES.get(c, "") for v in legacy for c in found.suites.get(v, [])
    )
    for group in (g for g in GROUPS if g.tls12):
        if not accepted_ecdhe:
            found.groups[group.name] = "rejected"
            found.group_notes[group.name] = "no ECDHE suite is accepted"
    if accepted_ecdhe:
        version = legacy[-1]
        await asyncio.gather(
            *(_probe_group_tls12(dialer, sni, version, ecdhe, g, found) for g in GROUPS if g.tls12)
        )


async def _probe_group_tls13(
    dialer: _TargetDialer, sni: str | None, group: Group, found: _Findings
) -> None:
    hello = client_hello(TLS13, TLS13_SUITES, sni=sni, groups=[group.code], key_shares=[])
    _record_group(group, await _hello(dialer, hello), found, TLS13)


async def _probe_group_tls12(
    dialer: _TargetDialer,
    sni: str | None,
    version: str,
    suites: list[int],
    group: Group,
    found: _Findings,
) -> None:
    hello = client_hello(version, suites, sni=sni, groups=[group.code])
    _record_group(group, await _hello(dialer, hello, want_certificate=True), found, version)


def _record_group(group: Group, reply: ServerReply, found: _Findings, version: str) -> None:
    if reply.answered and reply.version == version and reply.group in (group.code, None):
        # TLS 1.2 ServerHellos name no group: the ECDHE suite was only possible with ours.
        found.groups[group.name] = "accepted"
    elif reply.answered and reply.group is not None and reply.group != group.code:
        found.groups[group.name] = "not_tested"
        found.group_notes[group.name] = f"server answered with another group (0x{reply.group:04x})"
    elif reply.kind == "alert" and reply.alert in REFUSALS:
        found.groups[group.name] = "rejected"
    else:
        found.groups[group.name] = "not_tested"
        found.group_notes[group.name] = reply.error or reply.kind


def key_exchange_verdict(groups: dict[str, Status], versions: dict[str, Status]) -> dict[str, Any]:
    """The post-quantum verdict of an endpoint's key exchange.

    ``pq-only``: only pure ML-KEM groups are accepted. ``hybrid-pq``: a standard hybrid (or
    ML-KEM alongside other groups) is accepted; ``classical_fallback`` says whether classical
    key exchange is still accepted too (a classical TLS 1.3 group, or any TLS 1.2 and older
    handshake, which has no PQ groups). ``legacy-pq-draft``: the only PQ group accepted is the
    obsolete X25519Kyber768Draft00. ``classical-only``: every PQ group was tested and refused.
    ``not-tested``: some PQ group could not be tested and none was accepted.
    """
    by_kind: dict[str, dict[str, Status]] = {}
    for group in GROUPS:
        by_kind.setdefault(group.kind, {})[group.name] = groups.get(group.name, "not_tested")

    def accepted(kind: str) -> list[str]:
        return [name for name, s in by_kind.get(kind, {}).items() if s == "accepted"]

    hybrid, pure, draft = accepted("hybrid"), accepted("pq"), accepted("legacy-pq-draft")
    classical = accepted("classical")
    legacy_versions = [v for v in _PRE_TLS13 if versions.get(v) == "accepted"]
    fallback = bool(classical or legacy_versions)
    pq_statuses = [s for k in ("hybrid", "pq") for s in by_kind.get(k, {}).values()]
    verdict: KexVerdict
    if (hybrid or pure) and not hybrid and not classical and not draft and not legacy_versions:
        verdict = "pq-only"
    elif hybrid or pure:
        verdict = "hybrid-pq"
    elif draft:
        verdict = "legacy-pq-draft"
    elif pq_statuses and all(s == "rejected" for s in pq_statuses):
        verdict = "classical-only"
    else:
        verdict = "not-tested"
    return {
        "verdict": verdict,
        "classical_fallback": fallback if verdict in ("hybrid-pq", "legacy-pq-draft") else None,
        "pq_groups": hybrid + pure,
        "legacy_pq_groups": draft,
        "classical_groups": classical,
        "not_tested_groups": [name for name, s in groups.items() if s == "not_tested"],
    }


# --- the full handshake (pyOpenSSL over asyncio) ------------------------------------------


async def _full_handshake(dialer: _TargetDialer, sni: str | None) -> _Handshake:
    """A complete handshake with the bundled OpenSSL's client defaults, for chain and group."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    endpoint = dialer.dialer
    async with dialer.own, endpoint.limit:
        try:
            async with asyncio.timeout(endpoint.timeout):
                reader, writer = await asyncio.open_connection(endpoint.address, endpoint.port)
        except TimeoutError as exc:
            raise _UnreachableError("connection timed out") from exc
        except OSError as exc:
            raise _UnreachableError(exc.strerror or str(exc)) from exc
        conn = SSL.Connection(context, None)
        conn.set_connect_state()
        if sni is not None:
            conn.set_tlsext_host_name(sni.encode("idna"))
        try:
            async with asyncio.timeout(endpoint.timeout):
                await _drive(conn, reader, writer)
            handshake = _Handshake(
                version=_version_name(conn.get_protocol_version_name()),
                cipher=_standard_cipher_name(conn.get_cipher_name() or "unknown"),
                bits=conn.get_cipher_bits(),
                group=conn.get_group_name(),
                chain=_parse_chain(c.to_cryptography for c in conn.get_peer_cert_chain() or []),
            )
            with contextlib.suppress(SSL.Error):
                conn.shutdown()  # a close_notify keeps server logs quiet; no need to wait
                writer.write(conn.bio_read(65536))
            return handshake
        except TimeoutError as exc:
            raise _UnreachableError("TLS handshake timed out") from exc
        except SSL.Error as exc:
            raise _RejectedError(_ssl_message(exc)) from exc
        except (OSError, EOFError) as exc:
            raise _RejectedError(str(exc) or "connection closed during the handshake") from exc
        finally:
            writer.close()  # flushes the close_notify; nothing to wait for


async def _drive(
    conn: SSL.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while True:
        try:
            conn.do_handshake()
            done = True
        except SSL.WantReadError:
            done = False
        with contextlib.suppress(SSL.WantReadError):
            outgoing = conn.bio_read(65536)
            writer.write(outgoing)
            await writer.drain()
        if done:
            return
        data = await reader.read(65536)
        if not data:
            raise EOFError("connection closed during the handshake")
        conn.bio_write(data)


def _ssl_message(exc: SSL.Error) -> str:
    queue = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
    reasons = [str(err[2]) for err in queue if isinstance(err, tuple) and len(err) > 2]
    return "; ".join(reasons) or "TLS handshake failed"


@functools.cache
def _openssl_to_iana() -> dict[str, str]:
    """OpenSSL cipher names ("ECDHE-RSA-AES128-GCM-SHA256") to IANA ones, via their codes."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with contextlib.suppress(ssl.SSLError):
        context.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    names = {}
    for cipher in context.get_ciphers():
        code = int(cipher["id"]) & 0xFFFF
        if code in CIPHER_SUITES:
            names[str(cipher["name"])] = CIPHER_SUITES[code]
    return names


def _standard_cipher_name(name: str) -> str:
    return _openssl_to_iana().get(name, name)


# --- from raw replies to assets ------------------------------------------------------------


def _negotiated_from_raw(found: _Findings, accepted: list[str]) -> _Handshake:
    """When the library handshake failed: the newest accepted version and its first suite."""
    version = accepted[-1]
    reply = found.first_reply.get(version)
    suites = found.suites.get(version) or []
    code = suites[0] if suites else (reply.cipher_suite if reply else None)
    group = GROUPS_BY_CODE.get(reply.group) if reply and reply.group is not None else None
    return _Handshake(
        version=version,
        cipher=suite_name(code) if code is not None else "unknown",
        bits=parse_cipher_suite(suite_name(code)).effective_bits if code is not None else None,
        group=group.name if group else None,
        dh_bits=found.dh_bits.get(code) if code is not None else None,
    )


def _raw_chain(found: _Findings) -> list[x509.Certificate]:
    for version in reversed(VERSIONS):
        reply = found.first_reply.get(version)
        if reply is not None and reply.certificates:
            return _parse_chain(
                functools.partial(x509.load_der_x509_certificate, der) for der in reply.certificates
            )
    return []


def _notes(found: _Findings) -> dict[str, str]:
    notes = {f"version {v}": n for v, n in found.version_notes.items()}
    notes.update({f"group {g}": n for g, n in found.group_notes.items()})
    return notes


def _assets(
    negotiated: _Handshake,
    found: _Findings,
    verdict: dict[str, Any],
    *,
    location: str,
    library: bool,
) -> list[CryptoAsset]:
    assets = [
        CryptoAsset(
            kind="protocol",
            name=version,
            location=location,
            usage=Usage.PROTOCOL,
            algorithm=version,
            protocol=version,
            details={"negotiated": version == negotiated.version, "accepted": True},
        )
        for version in VERSIONS
        if found.versions.get(version) == "accepted"
    ]
    assets.extend(_suite_assets(negotiated, found, location=location))
    assets.extend(_kex_assets(negotiated, found, verdict, location=location, library=library))
    return assets


def _suite_assets(negotiated: _Handshake, found: _Findings, *, location: str) -> list[CryptoAsset]:
    """One asset per accepted suite (the negotiated one first), at its newest version."""
    suites: dict[str, _Suite] = {}
    for version in reversed(VERSIONS):
        for code in found.suites.get(version, []):
            entry = suites.setdefault(suite_name(code), _Suite(suite_name(code)))
            entry.versions.append(version)
            entry.dh_bits = entry.dh_bits or found.dh_bits.get(code)
    if negotiated.cipher not in suites:
        suites[negotiated.cipher] = _Suite(negotiated.cipher, [negotiated.version])
    order = [negotiated.cipher] + [name for name in suites if name != negotiated.cipher]
    assets = []
    for name in order:
        suite = suites[name]
        profile = parse_cipher_suite(name)
        # A suite negotiated in TLS 1.3 is forward-secret and AEAD whatever its name says.
        tls13 = profile.tls13 or suite.versions[0] == TLS13
        details: dict[str, Any] = {
            "bits": negotiated.bits if name == negotiated.cipher and negotiated.bits else None,
            "forward_secrecy": tls13 or profile.forward_secrecy is True,
            "aead": tls13 or profile.aead,
            "weaknesses": list(profile.weaknesses),
            "versions": sorted(suite.versions, key=VERSIONS.index),
            "negotiated": name == negotiated.cipher,
        }
        if details["bits"] is None:
            details["bits"] = profile.effective_bits
        if suite.dh_bits:
            details["dh_bits"] = suite.dh_bits
        assets.append(
            CryptoAsset(
                kind="cipher_suite",
                name=name,
                location=location,
                usage=Usage.ENCRYPTION,
                algorithm=name,
                protocol=suite.versions[0],
                details=details,
            )
        )
    return assets


def _kex_assets(
    negotiated: _Handshake,
    found: _Findings,
    verdict: dict[str, Any],
    *,
    location: str,
    library: bool,
) -> list[CryptoAsset]:
    """The negotiated key exchange, every accepted PQ group, the classical fallback, DHE groups.

    One classical exchange stands for the endpoint in the quantum findings
    (``endpoint_representative``): the negotiated one, or, when that one is post-quantum, the
    fallback that clients without PQ support land on (``fallback``: current clients get PQ,
    only legacy ones land there). The finite-field groups of accepted DHE suites are assets
    for their size. Other accepted classical groups are listed in the target's details only:
    one finding per curve a server also accepts would bury the one that matters.
    """
    first = _key_exchange(negotiated, location=location, negotiated=True)
    assets = [first]
    seen = {first.name}
    for name in (*verdict["pq_groups"], *verdict["legacy_pq_groups"]):
        algorithm, family, size = describe_group(name)
        if algorithm in seen:
            continue
        seen.add(algorithm)
        assets.append(_group_asset(algorithm, family, size, name, location, negotiated=False))
    pq_endpoint = verdict["verdict"] in _PQ_VERDICTS
    representative: CryptoAsset | None
    if not first.details["pqc"]:
        representative = first
        # Our library offers X25519MLKEM768: landing on classical at an endpoint that accepts
        # a hybrid is the server's preference, and current clients land there too.
        fallback = pq_endpoint and not (library and _LIBRARY_OFFERS_HYBRID)
    else:
        representative = _fallback_asset(negotiated, found, verdict, location=location)
        fallback = True
        if representative is not None:
            assets.append(representative)
    assets.extend(_dhe_assets(found, assets, location=location))
    for asset in assets:
        stands = asset is representative
        asset.details.update(
            endpoint_verdict=verdict["verdict"],
            endpoint_representative=stands,
            fallback=stands and fallback,
        )
    return assets


def _fallback_asset(
    negotiated: _Handshake, found: _Findings, verdict: dict[str, Any], *, location: str
) -> CryptoAsset | None:
    """Where a client without PQ support lands: a classical TLS 1.3 group, else TLS 1.2 or older."""
    if not verdict["classical_fallback"]:
        return None
    if verdict["classical_groups"]:
        name = verdict["classical_groups"][0]
        algorithm, family, size = describe_group(name)
        return _group_asset(algorithm, family, size, name, location, negotiated=False)
    legacy = [v for v in _PRE_TLS13 if found.versions.get(v) == "accepted"]
    if not legacy:
        return None
    handshake = replace(_negotiated_from_raw(found, legacy), chain=negotiated.chain)
    return _key_exchange(handshake, location=location, negotiated=False)


def _dhe_assets(
    found: _Findings, listed: Sequence[CryptoAsset], *, location: str
) -> list[CryptoAsset]:
    """One asset per size of finite-field group that the accepted DHE suites use."""
    by_size: dict[int, tuple[str, list[str]]] = {}
    for version in reversed(VERSIONS):
        for code in found.suites.get(version, []):
            bits = found.dh_bits.get(code)
            if bits is None:
                continue
            _newest, names = by_size.setdefault(bits, (version, []))
            if suite_name(code) not in names:
                names.append(suite_name(code))
    assets = []
    for bits, (version, names) in sorted(by_size.items()):
        if any(a.family == "DH" and a.key_size == bits for a in listed):
            continue  # the negotiated exchange already is this group
        assets.append(
            CryptoAsset(
                kind="key_exchange",
                name="DH",
                location=location,
                usage=Usage.KEY_ESTABLISHMENT,
                algorithm="DH",
                family="DH",
                key_size=bits,
                protocol=version,
                details={
                    "group": None,
                    "hybrid_pqc": False,
                    "pqc": False,
                    "negotiated": False,
                    "dh_bits": bits,
                    "cipher_suites": names,
                },
            )
        )
    return assets


def _group_asset(
    algorithm: str, family: str, size: int | None, group: str, location: str, *, negotiated: bool
) -> CryptoAsset:
    return CryptoAsset(
        kind="key_exchange",
        name=algorithm,
        location=location,
        usage=Usage.KEY_ESTABLISHMENT,
        algorithm=algorithm,
        family=family,
        key_size=size,
        protocol=TLS13,
        details={
            "group": group,
            "hybrid_pqc": family == "hybrid",
            "pqc": family in ("hybrid", "ML-KEM"),
            "negotiated": negotiated,
        },
    )


def _key_exchange(handshake: _Handshake, *, location: str, negotiated: bool) -> CryptoAsset:
    suite = parse_cipher_suite(handshake.cipher)
    kex = suite.key_exchange
    if handshake.group is not None:
        algorithm, family, key_size = describe_group(handshake.group)
    elif kex in ("DHE", "DHEPSK") or (kex == "DH" and suite.anonymous):
        algorithm, family, key_size = "DH", "DH", handshake.dh_bits
    elif kex in ("ECDHE", "ECDHEPSK"):
        algorithm, family, key_size = "ECDH", "ECDH", None
    else:
        # No ephemeral exchange: the client encrypts the secret to the certificate's RSA key.
        leaf_key = handshake.chain[0].public_key() if handshake.chain else None
        size = leaf_key.key_size if isinstance(leaf_key, rsa.RSAPublicKey) else None
        algorithm, family, key_size = "RSA", "RSA", size
    return CryptoAsset(
        kind="key_exchange",
        name=algorithm,
        location=location,
        usage=Usage.KEY_ESTABLISHMENT,
        algorithm=algorithm,
        family=family,
        key_size=key_size,
        protocol=handshake.version,
        details={
            "group": handshake.group,
            "hybrid_pqc": family == "hybrid",
            # True whenever an ML-KEM share protects the secret, hybrid or alone.
            "pqc": family in ("hybrid", "ML-KEM"),
            "negotiated": negotiated,
        },
    )


def _group_key(reported: str) -> str:
    info = _GROUP_INFO.get(reported.lower())
    return (info[0] if info else reported).lower()


def describe_group(reported: str) -> tuple[str, str, int | None]:
    """(algorithm, family, key size) for a group name as OpenSSL or IANA spells it."""
    known = _GROUP_INFO.get(reported.lower())
    if known is not None:
        return known
    upper = reported.upper()
    if "MLKEM" in upper or "KYBER" in upper:
        return reported, ("ML-KEM" if upper.startswith("MLKEM") else "hybrid"), None
    return reported, ("DH" if upper.startswith("FFDHE") else "ECDH"), None


def _parse_chain(loaders: Any) -> list[x509.Certificate]:
    """Parse what the server sent, skipping certificates cryptography cannot read.

    OpenSSL accepts encodings that cryptography rejects (negative serials, bad times); one
    odd certificate must not cost the whole probe.
    """
    chain = []
    for load in loaders:
        with contextlib.suppress(ValueError):
            chain.append(load())
    return chain


def _version_name(name: str) -> str:
    """OpenSSL's name for a version ("TLSv1") as the probes spell it ("TLSv1.0")."""
    return normalise_protocol(name) or name


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


__all__ = [
    "VERSIONS",
    "describe_group",
    "key_exchange_verdict",
    "probe",
    "probe_async",
]
