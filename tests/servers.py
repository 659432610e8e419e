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
from pathlib import Path

from OpenSSL import SSL

CERTS = Path(__file__).resolve().parents[1] / "qrap_core" / "examples" / "certs"
OPENSSL = "/usr/bin/openssl"
START_TIMEOUT_S = 10.0
_ACCEPT_LINE = re.compile(rb"ACCEPT (?:\[?[0-9a-fA-F.:]+\]?):(\d+)")


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
        _wait_listening(port)
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=START_TIMEOUT_S)
        if proc.stdout is not None:
            proc.stdout.close()


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
