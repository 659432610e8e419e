"""Real TLS servers on 127.0.0.1 for probe tests: ``openssl s_server`` and a pyOpenSSL server."""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

CERTS = Path(__file__).resolve().parents[1] / "qrap_core" / "examples" / "certs"
OPENSSL = "/usr/bin/openssl"
START_TIMEOUT_S = 10.0
_ACCEPT_LINE = re.compile(rb"ACCEPT (?:\[?[0-9a-fA-F.:]+\]?):(\d+)")


def make_identity(folder: Path, key: Any, name: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate for ``key`` (valid a year), written as PEM into ``folder``."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, None if isinstance(key, Ed25519PrivateKey) else hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def cert_pair(name: str) -> tuple[Path, Path]:
    """The example certificate and key called ``name`` (``rsa2048``, ``tls-server``, ...)."""
    return CERTS / f"{name}.pem", CERTS / f"{name}.key"


@contextlib.contextmanager
def openssl_server(certfile: Path, keyfile: Path, extra_args: Sequence[str] = ()) -> Iterator[int]:
    """Run ``openssl s_server`` (system OpenSSL) on an ephemeral port; yield the port.

    The port comes from the server's own ACCEPT line, so no other process can take it
    between picking and binding. The process is always killed on exit.
    """
    argv = [
        OPENSSL,
        "s_server",
        "-accept",
        "127.0.0.1:0",
        "-cert",
        str(certfile),
        "-key",
        str(keyfile),
        # -www answers each connection on its own and never reads our stdin.
        "-www",
        *extra_args,
    ]
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        port = _read_accept_port(proc)
        # s_server logs every failed handshake; a full pipe would block it, so keep reading.
        threading.Thread(target=_drain, args=(proc,), daemon=True).start()
        _wait_listening(port)
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=START_TIMEOUT_S)


def _drain(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdout is not None
    with contextlib.suppress(OSError, ValueError), proc.stdout:
        while proc.stdout.read(65536):
            pass


def _read_accept_port(proc: subprocess.Popen[bytes]) -> int:
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    output = b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(remaining):
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            output += chunk
            match = _ACCEPT_LINE.search(output)
            if match:
                return int(match.group(1))
    raise RuntimeError(f"openssl s_server did not start: {output.decode(errors='replace')}")


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@contextlib.contextmanager
def pyopenssl_server(certfile: Path, keyfile: Path) -> Iterator[int]:
    """Serve TLS with pyOpenSSL's bundled OpenSSL and its server defaults; yield the port.

    With OpenSSL 3.5 or later that default prefers the X25519MLKEM768 hybrid group.
    """
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.use_certificate_chain_file(str(certfile))
    context.use_privatekey_file(str(keyfile))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stop = threading.Event()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.1)
        port: int = listener.getsockname()[1]
        thread = threading.Thread(target=_pyopenssl_loop, args=(listener, context, stop))
        thread.daemon = True
        thread.start()
        try:
            yield port
        finally:
            stop.set()
            thread.join(timeout=START_TIMEOUT_S)
    finally:
        listener.close()


def _pyopenssl_loop(listener: socket.socket, context: SSL.Context, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            sock, _addr = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(target=_pyopenssl_handshake, args=(sock, context), daemon=True).start()


def _pyopenssl_handshake(sock: socket.socket, context: SSL.Context) -> None:
    # pyOpenSSL wants a blocking socket; a kernel receive timeout still bounds a stalled client.
    sock.setblocking(True)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 5, 0))
    with sock, contextlib.suppress(SSL.Error, OSError):
        conn = SSL.Connection(context, sock)
        conn.set_accept_state()
        conn.do_handshake()
        conn.shutdown()


@contextlib.contextmanager
def plain_tcp_server(reply: bytes) -> Iterator[int]:
    """Accept TCP connections, send ``reply``, hang up: a port that does not speak TLS."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                sock, _addr = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with sock, contextlib.suppress(OSError):
                sock.sendall(reply)

    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.1)
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield listener.getsockname()[1]
        finally:
            stop.set()
            thread.join(timeout=START_TIMEOUT_S)
    finally:
        listener.close()


SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
CLASSICAL_KEX = "curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256"


@contextlib.contextmanager
def sshd_server(folder: Path, kex: str | None = None) -> Iterator[int]:
    """Run Debian's OpenSSH ``sshd`` in the foreground on 127.0.0.1; yield its port.

    Host keys are generated into ``folder`` with the config, so nothing of the system's sshd
    is used or touched. ``kex`` overrides KexAlgorithms (None keeps OpenSSH's default list).
    The port is picked by binding port 0 and closing it just before sshd starts; sshd's
    ``-e`` log says when it listens.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for kind in ("ed25519", "ecdsa", "rsa"):
        key = folder / f"ssh_host_{kind}_key"
        if not key.exists():
            subprocess.run(
                [SSH_KEYGEN, "-q", "-t", kind, "-N", "", "-f", str(key)],
                check=True,
                stdin=subprocess.DEVNULL,
            )
    with socket.socket() as probe_sock:
        probe_sock.bind(("127.0.0.1", 0))
        port = probe_sock.getsockname()[1]
    lines = [
        f"ListenAddress 127.0.0.1:{port}",
        *(f"HostKey {folder / f'ssh_host_{k}_key'}" for k in ("ed25519", "ecdsa", "rsa")),
        f"PidFile {folder / 'sshd.pid'}",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin no",
        "AuthorizedKeysFile none",
        "StrictModes no",
    ]
    if kex is not None:
        lines.append(f"KexAlgorithms {kex}")
    config = folder / f"sshd_config_{port}"
    config.write_text("\n".join(lines) + "\n")
    # sshd refuses to start without its privilege separation directory (root runs only).
    with contextlib.suppress(PermissionError):
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    threading.Thread(target=_drain, args=(proc,), daemon=True).start()
    try:
        _wait_listening(port)
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=START_TIMEOUT_S)


# RFC 2409 §6.2, the second Oakley group: a well-known 1024-bit MODP prime (generator 2) in
# PKCS#3 PEM, as `openssl dhparam` writes it. Too small today, which makes it the test case.
DH1024_PARAMS = b"""-----BEGIN DH PARAMETERS-----
MIGHAoGBAP//////////yQ/aoiFowjTExmKLgNwc0SkCTgiKZ8x0Agu+pjsTmyJR
Sgh5jjQE3e+VGbPNOkMbMCsKbfJfFDdP4TVtbVHCReSFtXZiXn7G9ExC6aY37WsL
/1y29Aa37e44a/taiZ+lrp8kEXxLH+ZJKGZR7OZTgf//////////AgEC
-----END DH PARAMETERS-----
"""


def ssh_keygen_list(public_key: Path) -> tuple[int, str]:
    """(bits, SHA256 fingerprint) of a key file as ``ssh-keygen -l`` reports them."""
    line = subprocess.run(
        [SSH_KEYGEN, "-l", "-f", str(public_key)],
        check=True,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    ).stdout.split()
    return int(line[0]), line[1]
