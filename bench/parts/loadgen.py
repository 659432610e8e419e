"""A load generator in a process of its own: POSTs one JSON body over ``--connections``
keep-alive connections, for ``--duration`` seconds or ``--count`` requests in all.

Prints one JSON line: requests, seconds, rps, p50_ms, p99_ms, statuses, started_at (epoch).

    python -m bench.parts.loadgen --url http://127.0.0.1:8083/api/v1/assessments \
        --header "Authorization: ApiKey ..." --body-file body.json --duration 15
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import httpx


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


async def _connection(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    state: dict[str, int],
    deadline: float,
    count: int,
) -> tuple[list[float], Counter[str]]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()  # status codes, or the transport error's class
    while time.monotonic() < deadline and (count <= 0 or state["sent"] < count):
        state["sent"] += 1
        started = time.perf_counter()
        try:
            response = await http.post(url, content=body)
            statuses[str(response.status_code)] += 1
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1
            continue
        latencies.append(time.perf_counter() - started)
    return latencies, statuses


async def drive(args: argparse.Namespace) -> dict[str, object]:
    headers = dict(h.split(": ", 1) for h in args.header)
    headers["Content-Type"] = "application/json"
    body = Path(args.body_file).read_bytes()
    limits = httpx.Limits(max_connections=args.connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=args.timeout) as http:
        state = {"sent": 0}
        started_at = time.time()
        started = time.monotonic()
        deadline = started + (args.duration if args.duration > 0 else 1e9)
        results = await asyncio.gather(
            *(
                _connection(http, args.url, body, state, deadline, args.count)
                for _ in range(args.connections)
            )
        )
        seconds = time.monotonic() - started
    latencies = sorted(x for lat, _ in results for x in lat)
    statuses: Counter[str] = Counter()
    for _, counted in results:
        statuses.update(counted)
    return {
        "requests": len(latencies),  # answered, whatever the status
        "seconds": seconds,
        "rps": len(latencies) / seconds,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "statuses": dict(sorted(statuses.items())),
        "started_at": started_at,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=0.0, help="seconds (0: use --count)")
    parser.add_argument("--count", type=int, default=0, help="requests in all (0: no limit)")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    if args.duration <= 0 and args.count <= 0:
        parser.error("give --duration or --count")
    print(json.dumps(asyncio.run(drive(args))))


if __name__ == "__main__":
    main()
