"""A throwaway TLS server on 127.0.0.1 for demos and tests: it completes handshakes and hangs up."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

_POLL_S = 0.1
_CLIENT_TIMEOUT_S = 5.0


@contextlib.contextmanager
def serve_tls(certfile: Path, keyfile: Path, *, host: str = "127.0.0.1") -> Iterator[int]:
    """Serve TLS (Python ``ssl`` defaults) on an ephemeral port of ``host``; yield the port.

    Each connection gets its own daemon thread with a socket timeout, so a client that stalls
    or aborts its handshake never blocks the others. Leaving the block stops accepting and
    joins the accept loop.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    stop = threading.Event()
    try:
        listener.bind((host, 0))
        listener.listen(16)
        # accept() would not return when another thread closes the socket; a timeout lets
        # the loop notice the stop flag.
        listener.settimeout(_POLL_S)
        port: int = listener.getsockname()[1]
        thread = threading.Thread(
            target=_accept_loop,
            args=(listener, context, stop),
            name=f"demo-tls-{port}",
            daemon=True,
        )
        thread.start()
        try:
            yield port
        finally:
            stop.set()
            thread.join(timeout=5)
    finally:
        listener.close()


def _accept_loop(listener: socket.socket, context: ssl.SSLContext, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            conn, _addr = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(target=_handshake, args=(conn, context), daemon=True).start()


def _handshake(conn: socket.socket, context: ssl.SSLContext) -> None:
    conn.settimeout(_CLIENT_TIMEOUT_S)
    # Probes hang up mid-handshake or right after it, and scanners send garbage: a failed
    # handshake is routine here, never a reason to stop serving.
    with contextlib.suppress(OSError), conn, context.wrap_socket(conn, server_side=True) as tls:
        tls.unwrap()
