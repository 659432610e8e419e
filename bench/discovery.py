"""Endpoints per second: QRAP's TLS probe against sslyze, on the same local servers.

Starts N ``openssl s_server`` processes (Debian's OpenSSL 3.0, ECDSA P-256 certificate, TLS 1.2
and 1.3) on 127.0.0.1, scans them all with QRAP's discovery registry (one asyncio loop), then
scans the same endpoints with sslyze for the checks both tools make: accepted versions and
cipher suites (SSL 2.0 to TLS 1.3), supported key-exchange groups (sslyze: elliptic curves)
and the certificate chain. Prints both rates and their ratio.

sslyze is not a QRAP dependency: install it in a separate environment and point ``--sslyze-python``
at it, e.g. ``python -m venv .venv-bench && .venv-bench/bin/pip install sslyze``. Traffic goes
to 127.0.0.1 only: the servers are started here, and the policy allows nothing else.

    .venv/bin/python bench/discovery.py --n 200
    .venv/bin/python bench/discovery.py --n 1000 --sslyze-n 100
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qrap_core.discovery.registry import DiscoveryContext, analyze_all  # noqa: E402
from qrap_core.discovery.targets import TlsTarget  # noqa: E402  (path set just above)
from qrap_core.netpolicy import NetworkPolicy  # noqa: E402

CERTS = ROOT / "qrap_core" / "examples" / "certs"
OPENSSL = "/usr/bin/openssl"

SSLYZE_SCRIPT = r"""
import json, sys, time
from sslyze import (Scanner, ServerNetworkLocation, ServerScanRequest, ScanCommand,
                    ServerScanStatusEnum)
ports = json.loads(sys.argv[1]); per_server = int(sys.argv[2]); servers = int(sys.argv[3])
commands = {ScanCommand.SSL_2_0_CIPHER_SUITES, ScanCommand.SSL_3_0_CIPHER_SUITES,
            ScanCommand.TLS_1_0_CIPHER_SUITES, ScanCommand.TLS_1_1_CIPHER_SUITES,
            ScanCommand.TLS_1_2_CIPHER_SUITES, ScanCommand.TLS_1_3_CIPHER_SUITES,
            ScanCommand.ELLIPTIC_CURVES, ScanCommand.CERTIFICATE_INFO}
started = time.monotonic()
scanner = Scanner(per_server_concurrent_connections_limit=per_server,
                  concurrent_server_scans_limit=servers)
scanner.queue_scans([ServerScanRequest(server_location=ServerNetworkLocation("127.0.0.1", p,
                     ip_address="127.0.0.1"), scan_commands=commands) for p in ports])
ok = 0; curves = set()
for result in scanner.get_results():
    if result.scan_status == ServerScanStatusEnum.COMPLETED:
        ok += 1
        ec = result.scan_result.elliptic_curves.result
        if ec is not None:
            curves.update(c.name for c in ec.supported_curves)
print(json.dumps({"seconds": time.monotonic() - started, "completed": ok,
                  "curves": sorted(curves)}))
"""


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (bound together so none repeats, then released)."""
    sockets, ports = [], []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            ports.append(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return ports


@contextlib.contextmanager
def servers(count: int) -> Iterator[list[int]]:
    """``count`` s_server processes; yields the ports that answer."""
    ports = free_ports(count)
    procs = []
    try:
        for port in ports:
            argv = [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-www", "-quiet"]
            argv += ["-cert", str(CERTS / "ecdsa-p256.pem"), "-key", str(CERTS / "ecdsa-p256.key")]
            argv += ["-no_ssl3", "-no_tls1", "-no_tls1_1"]
            procs.append(
                subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        ready = [p for p in ports if _wait(p)]
        yield ready
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def _wait(port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1.0):
            return True
        time.sleep(0.05)
    return False


def scan_qrap(ports: list[int], concurrency: int, timeout: float) -> dict[str, object]:
    targets = [TlsTarget(host="127.0.0.1", port=p) for p in ports]
    ctx = DiscoveryContext(
        policy=NetworkPolicy(["127.0.0.0/8"]),
        timeout=timeout,
        now=datetime.now(UTC),
        concurrency=concurrency,
        target_timeout=600,
    )
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    results = analyze_all(targets, ctx)
    seconds = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    ok = [r for r in results if r.status == "ok"]
    groups = sorted({g for r in ok for g, s in r.details["groups"].items() if s == "accepted"})
    return {
        "seconds": seconds,
        "completed": len(ok),
        "errors": sorted({r.error or "" for r in results if r.status != "ok"})[:3],
        "groups": groups,
        "cpu_seconds": (cpu_after.ru_utime + cpu_after.ru_stime)
        - (cpu_before.ru_utime + cpu_before.ru_stime),
        "suites_per_endpoint": (
            sum(len(v) for r in ok for v in r.details["cipher_suites"].values()) / max(1, len(ok))
        ),
    }


def scan_sslyze(
    python: str, ports: list[int], per_server: int, servers_at_once: int
) -> dict[str, object]:
    output = subprocess.run(
        [python, "-c", SSLYZE_SCRIPT, json.dumps(ports), str(per_server), str(servers_at_once)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return result


def _rate(result: dict[str, object]) -> float:
    """Completed endpoints per second of one scan's result."""
    return float(str(result["completed"])) / float(str(result["seconds"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="TLS servers to start (<= 1000)")
    parser.add_argument("--sslyze-n", type=int, default=None, help="endpoints sslyze scans")
    parser.add_argument("--concurrency", type=int, default=256, help="QRAP open connections")
    parser.add_argument("--timeout", type=float, default=10.0, help="QRAP per-answer timeout")
    parser.add_argument("--sslyze-python", default=str(ROOT / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--sslyze-servers", type=int, default=32, help="sslyze servers at once")
    parser.add_argument("--sslyze-connections", type=int, default=5, help="per server")
    args = parser.parse_args()
    if not 1 <= args.n <= 1000:
        parser.error("--n must be from 1 to 1000")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 16384)), hard))

    started = time.monotonic()
    with servers(args.n) as ports:
        print(
            f"{len(ports)} openssl s_server listeners on 127.0.0.1 "
            f"(started in {time.monotonic() - started:.1f} s, {os.cpu_count()} CPUs)"
        )
        qrap = scan_qrap(ports, args.concurrency, args.timeout)
        rate = _rate(qrap)
        print(
            f"QRAP:   {qrap['completed']}/{len(ports)} endpoints in {qrap['seconds']:.2f} s "
            f"= {rate:.1f} endpoints/s (client CPU {qrap['cpu_seconds']:.1f} s; "
            f"{qrap['suites_per_endpoint']:.1f} suites/endpoint; groups {qrap['groups']})"
        )
        if qrap["errors"]:
            print(f"        errors: {qrap['errors']}")
        subset = ports[: args.sslyze_n or len(ports)]
        if not Path(args.sslyze_python).exists():
            print(f"sslyze: skipped ({args.sslyze_python} not found)")
            return 0
        if len(subset) != len(ports):
            qrap_subset = scan_qrap(subset, args.concurrency, args.timeout)
            rate = _rate(qrap_subset)
            print(
                f"QRAP:   {qrap_subset['completed']}/{len(subset)} endpoints (sslyze's subset) "
                f"in {qrap_subset['seconds']:.2f} s = {rate:.1f} endpoints/s"
            )
        theirs = scan_sslyze(
            args.sslyze_python, subset, args.sslyze_connections, args.sslyze_servers
        )
        their_rate = _rate(theirs)
        print(
            f"sslyze: {theirs['completed']}/{len(subset)} endpoints in {theirs['seconds']:.2f} s "
            f"= {their_rate:.2f} endpoints/s (curves {theirs['curves']})"
        )
        print(
            f"ratio:  QRAP is {rate / their_rate:.1f}x sslyze's endpoints/s on the same "
            "endpoints and checks (versions, cipher suites, groups, certificate)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
