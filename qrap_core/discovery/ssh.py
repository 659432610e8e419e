"""SSH probe: the server's banner and KEXINIT, read in clear, then its host keys.

RFC 4253 §4.2 and §7.1: after the two version lines each side sends SSH_MSG_KEXINIT listing
its key exchange, host key, cipher, MAC and compression algorithms, before anything is
encrypted. The probe sends its own version line, reads the server's KEXINIT and hangs up.
Then, per host key type the server offers, paramiko runs one real key exchange restricted to
that type, so the key's type and size are what the server proved it holds (the exchange hash
is signed with it). Nothing authenticates: each connection closes after the key exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from qrap_core.crypto import parse_algorithm
from qrap_core.discovery.targets import SshTarget
from qrap_core.discovery.types import CryptoAsset, TargetResult
from qrap_core.enums import Usage
from qrap_core.errors import InvalidTarget, TargetNotAllowed
from qrap_core.netpolicy import NetworkPolicy, ResolutionError

CLIENT_VERSION = b"SSH-2.0-QRAP_probe\r\n"
_MSG_KEXINIT = 20
_MAX_BANNER_LINES = 50  # RFC 4253 allows text lines before the version line
_MAX_LINE = 255
_MAX_PACKET = 35000  # RFC 4253 §6.1: implementations must handle 35000-byte packets
# Not algorithms: markers for extension negotiation and OpenSSH's strict KEX (CVE-2023-48795).
_PSEUDO_KEX = ("ext-info-", "kex-strict-", "kex-strict-s-v00@openssh.com")

KexClass = Literal["hybrid-pq", "pq", "classical", "unknown"]
# paramiko logs a refused key exchange as an error with its traceback; for a probe that is an
# expected outcome, and the target's details say it. Quiet by default, configurable by name.
_PARAMIKO_LOG = "qrap_core.discovery.ssh.paramiko"
logging.getLogger(_PARAMIKO_LOG).setLevel(logging.CRITICAL)


@dataclass(frozen=True, slots=True)
class KexInit:
    kex: list[str]
    host_key: list[str]
    ciphers_c2s: list[str]
    ciphers_s2c: list[str]
    macs_c2s: list[str]
    macs_s2c: list[str]
    compression: list[str]


@dataclass(frozen=True, slots=True)
class HostKey:
    """One host key as a key exchange showed it, or why none could be run for its type."""

    signature_algorithm: str  # the one the exchange was restricted to
    key_type: str | None = None  # e.g. "ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp384"
    bits: int | None = None
    fingerprint: str | None = None  # "SHA256:...", as ssh-keygen -l prints it
    error: str | None = None


class SshProtocolError(Exception):
    """The peer answered, but not with SSH."""


def parse_kexinit(payload: bytes) -> KexInit:
    """Parse an SSH_MSG_KEXINIT payload (message number, cookie, ten name-lists, ...)."""
    if not payload or payload[0] != _MSG_KEXINIT:
        raise SshProtocolError(f"expected KEXINIT (20), got message {payload[:1].hex() or '-'}")
    offset = 17  # message number and the 16-byte cookie
    lists: list[list[str]] = []
    for _ in range(10):
        if offset + 4 > len(payload):
            raise SshProtocolError("KEXINIT is truncated")
        (length,) = struct.unpack("!I", payload[offset : offset + 4])
        raw = payload[offset + 4 : offset + 4 + length]
        if len(raw) != length:
            raise SshProtocolError("KEXINIT name-list is truncated")
        offset += 4 + length
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise SshProtocolError("KEXINIT name-list is not ASCII") from exc
        lists.append([name for name in text.split(",") if name])
    return KexInit(
        kex=lists[0],
        host_key=lists[1],
        ciphers_c2s=lists[2],
        ciphers_s2c=lists[3],
        macs_c2s=lists[4],
        macs_s2c=lists[5],
        compression=lists[6],
    )


def classify_kex(name: str) -> KexClass:
    """hybrid-pq for sntrup761x25519 / mlkem768x25519 and the like; classical for the rest."""
    if name.startswith(_PSEUDO_KEX):
        return "unknown"
    info = parse_algorithm(name)
    if not info.known:
        lowered = name.lower()
        if "mlkem" in lowered or "sntrup" in lowered or "kyber" in lowered:
            return "hybrid-pq" if "x25519" in lowered or "nistp" in lowered else "pq"
        return "unknown"
    if info.hybrid:
        return "hybrid-pq"
    if info.pqc:
        return "pq"
    return "classical" if info.quantum_vulnerable else "unknown"


def probe(target: SshTarget, *, policy: NetworkPolicy, timeout: float = 5.0) -> TargetResult:
    """Synchronous ``probe_async`` (tests, scripts)."""
    return asyncio.run(probe_async(target, policy=policy, timeout=timeout))


async def probe_async(
    target: SshTarget,
    *,
    policy: NetworkPolicy,
    timeout: float = 5.0,
    limit: asyncio.Semaphore | None = None,
) -> TargetResult:
    """Banner and KEXINIT of ``target``; any failure is a target error with no assets."""
    label = target.label()
    try:
        address = await asyncio.to_thread(policy.resolve, target.host, target.port)
    except (TargetNotAllowed, InvalidTarget) as exc:
        return TargetResult.failed(label, "ssh", exc.message)
    except ResolutionError as exc:
        return TargetResult.failed(label, "ssh", str(exc))
    async with limit or contextlib.nullcontext():
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(address, target.port), timeout
            )
        except TimeoutError:
            return TargetResult.failed(label, "ssh", f"cannot connect to {label}: timed out")
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return TargetResult.failed(label, "ssh", f"cannot connect to {label}: {reason}")
        try:
            async with asyncio.timeout(timeout):
                banner, preamble = await _read_banner(reader)
                writer.write(CLIENT_VERSION)
                await writer.drain()
                kexinit = parse_kexinit(await _read_packet(reader))
        except TimeoutError:
            return TargetResult.failed(label, "ssh", f"{label}: no SSH answer in time")
        except (SshProtocolError, asyncio.IncompleteReadError, OSError) as exc:
            return TargetResult.failed(label, "ssh", f"{label} does not speak SSH: {exc}")
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
    host_keys = await _measure_host_keys(address, target.port, kexinit.host_key, timeout, limit)
    return describe(label, address, banner, kexinit, preamble, host_keys=host_keys)


async def _measure_host_keys(
    address: str,
    port: int,
    names: list[str],
    timeout: float,
    limit: asyncio.Semaphore | None,
) -> dict[str, HostKey]:
    """One key exchange per host key the server offers (in threads: paramiko blocks)."""

    async def one(variants: list[str]) -> HostKey:
        async with limit or contextlib.nullcontext():
            return await asyncio.to_thread(_exchange_host_key, address, port, variants, timeout)

    groups = _host_key_groups(names)
    measured = await asyncio.gather(*(one(variants) for variants in groups.values()))
    return dict(zip(groups, measured, strict=True))


def _exchange_host_key(address: str, port: int, variants: list[str], timeout: float) -> HostKey:
    """Run a key exchange with the host key restricted to ``variants``; never authenticate.

    Dials the vetted ``address`` itself and hands paramiko the connected socket, so the
    network policy's decision holds.
    """
    import paramiko  # ~70 ms: loaded by the first SSH probe, not by every command

    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError as exc:
        return HostKey(variants[0], error=f"cannot connect: {exc.strerror or exc}")
    transport = paramiko.Transport(sock)
    transport.set_log_channel(_PARAMIKO_LOG)
    try:
        options = transport.get_security_options()
        usable = [name for name in variants if name in options.key_types]
        if not usable:
            return HostKey(variants[0], error="paramiko cannot verify this host key type")
        options.key_types = usable
        transport.local_version = CLIENT_VERSION.decode("ascii").strip()
        transport.banner_timeout = timeout
        transport.handshake_timeout = timeout
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()  # raises when no exchange completed in time
        return HostKey(
            usable[0],
            key_type=str(key.get_name()),
            bits=int(key.get_bits()),
            fingerprint=str(key.fingerprint),
        )
    except (paramiko.SSHException, EOFError, OSError) as exc:
        return HostKey(variants[0], error=f"key exchange failed: {exc or type(exc).__name__}")
    finally:
        transport.close()
        sock.close()


async def _read_banner(reader: asyncio.StreamReader) -> tuple[str, list[str]]:
    preamble: list[str] = []
    for _ in range(_MAX_BANNER_LINES):
        line = await reader.readuntil(b"\n")
        if len(line) > _MAX_LINE + 2:
            raise SshProtocolError("identification line too long")
        text = line.rstrip(b"\r\n").decode("utf-8", "replace")
        if text.startswith("SSH-"):
            return text, preamble
        preamble.append(text)
    raise SshProtocolError("no SSH identification line")


async def _read_packet(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(5)
    length, padding = struct.unpack("!IB", header)
    if not 12 <= length + 4 <= _MAX_PACKET or padding >= length:
        raise SshProtocolError(f"implausible packet length {length}")
    body = await reader.readexactly(length - 1)
    return body[: length - 1 - padding]


def describe(
    label: str,
    address: str,
    banner: str,
    kexinit: KexInit,
    preamble: list[str] | None = None,
    *,
    host_keys: Mapping[str, HostKey] | None = None,
) -> TargetResult:
    """Assets and details for one server's banner, KEXINIT and measured host keys."""
    proto, _, rest = banner[4:].partition("-")
    software, _, comments = rest.partition(" ")
    kex = [k for k in kexinit.kex if not k.startswith(_PSEUDO_KEX)]
    classes = {k: classify_kex(k) for k in kex}
    pq = [k for k in kex if classes[k] in ("hybrid-pq", "pq")]
    classical = [k for k in kex if classes[k] == "classical"]
    verdict = _verdict(pq, classical, classes)
    protocol = f"SSH-{proto}"
    assets = [
        CryptoAsset(
            kind="protocol",
            name=protocol,
            location=label,
            usage=Usage.PROTOCOL,
            algorithm=protocol,
            protocol=protocol,
            details={"banner": banner, "software": software, "negotiated": True},
        )
    ]
    assets.extend(_kex_assets(label, protocol, kex, pq, classical, verdict["verdict"]))
    assets.extend(_host_key_assets(label, protocol, kexinit.host_key, host_keys or {}))
    ciphers = _union(kexinit.ciphers_s2c, kexinit.ciphers_c2s)
    macs = _union(kexinit.macs_s2c, kexinit.macs_c2s)
    assets.extend(_named(label, protocol, "cipher", name, Usage.ENCRYPTION) for name in ciphers)
    assets.extend(_named(label, protocol, "mac", name, Usage.HASH) for name in macs)
    details: dict[str, Any] = {
        "address": address,
        "banner": banner,
        "protocol_version": proto,
        "software": software,
        "comments": comments or None,
        "kex_algorithms": kexinit.kex,
        "host_key_algorithms": kexinit.host_key,
        "ciphers": ciphers,
        "macs": macs,
        "compression": _union(kexinit.compression, []),
        "key_exchange": verdict,
    }
    if host_keys:
        details["host_keys"] = {
            name: {k: v for k, v in asdict(key).items() if v is not None}
            for name, key in host_keys.items()
        }
    if preamble:
        details["preamble"] = preamble[:5]
    return TargetResult(target=label, type="ssh", status="ok", assets=assets, details=details)


def _verdict(pq: list[str], classical: list[str], classes: dict[str, KexClass]) -> dict[str, Any]:
    """The same vocabulary as the TLS probe: every offered method was seen, none is untested."""
    hybrid = [k for k in pq if classes[k] == "hybrid-pq"]
    verdict: str
    if pq and not hybrid and not classical:
        verdict = "pq-only"
    elif pq:
        verdict = "hybrid-pq"
    elif classical:
        verdict = "classical-only"
    else:
        verdict = "not-tested"
    return {
        "verdict": verdict,
        "classical_fallback": bool(classical) if pq else None,
        "pq_kex": pq,
        "classical_kex": classical,
    }


def _kex_assets(
    label: str, protocol: str, kex: list[str], pq: list[str], classical: list[str], verdict: str
) -> list[CryptoAsset]:
    """Every PQ and every classical method the server offers.

    RFC 4253 §7.1: the client's order decides, so each method the server lists is where some
    client lands. The server's first classical method stands for the endpoint in the quantum
    findings (``endpoint_representative``): with a PQ method beside it, it is the fallback of
    clients without PQ support (``fallback``); without one, what every client gets.
    """
    representative = classical[0] if classical else None
    assets = []
    for name in kex:
        if name not in pq and name not in classical:
            continue
        info = parse_algorithm(name)
        stands = name == representative
        assets.append(
            CryptoAsset(
                kind="key_exchange",
                name=name,
                location=label,
                usage=Usage.KEY_ESTABLISHMENT,
                algorithm=name,
                family=info.family,
                key_size=info.key_size,
                protocol=protocol,
                details={
                    "hybrid_pqc": info.hybrid or classify_kex(name) == "hybrid-pq",
                    "pqc": name in pq,
                    "preference": kex.index(name),
                    "fallback": stands and bool(pq),
                    "endpoint_verdict": verdict,
                    "endpoint_representative": stands,
                },
            )
        )
    return assets


def _host_key_groups(names: list[str]) -> dict[str, list[str]]:
    """Host key algorithms by key: RSA's signature variants are one key."""
    by_key: dict[str, list[str]] = {}
    for name in names:
        info = parse_algorithm(name)
        by_key.setdefault(info.canonical if info.known else name, []).append(name)
    return by_key


def _host_key_assets(
    label: str, protocol: str, names: list[str], measured: Mapping[str, HostKey]
) -> list[CryptoAsset]:
    """One asset per host key type, sized by its key exchange where one succeeded."""
    assets = []
    for key, variants in _host_key_groups(names).items():
        info = parse_algorithm(variants[0])
        host_key = measured.get(key)
        details: dict[str, Any] = {"ssh_role": "host_key", "signature_algorithms": variants}
        key_size: int | None
        if host_key is not None and host_key.bits is not None:
            key_size, source = host_key.bits, "key exchange"
            details |= {"key_type": host_key.key_type, "fingerprint": host_key.fingerprint}
        else:
            key_size, source = info.key_size, "name"  # RSA's size is unknown then
            if host_key is not None:
                details["key_error"] = host_key.error
        details["key_size_source"] = source
        assets.append(
            CryptoAsset(
                kind="algorithm",
                name=key,
                location=label,
                usage=Usage.SIGNATURE,
                algorithm=variants[0],
                family=info.family,
                key_size=key_size,
                protocol=protocol,
                details=details,
            )
        )
    return assets


def _named(label: str, protocol: str, role: str, name: str, usage: Usage) -> CryptoAsset:
    info = parse_algorithm(name)
    return CryptoAsset(
        kind="algorithm",
        name=name,
        location=label,
        usage=usage,
        algorithm=name,
        family=info.family if info.known else None,
        key_size=info.key_size,
        protocol=protocol,
        details={"ssh_role": role},
    )


def _union(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))
