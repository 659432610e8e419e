"""One HTTP attempt of a webhook, under the network policy.

The host is resolved once and every answer vetted; the request then goes to that vetted address
(Host header and TLS SNI keep the name, so certificates are still checked against it). Redirects
are never followed and a 3xx counts as a failure. No proxy from the environment is used: a proxy
would dial an address that the policy never saw. The first bytes of an answer are kept for the
delivery log only when it came from a public address.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from qrap_core import metrics
from qrap_core.errors import QrapError
from qrap_core.netpolicy import NetworkPolicy, ResolutionError, is_public

USER_AGENT = "QRAP-Webhooks/1"
EXCERPT_BYTES = 2048
# docs/reliability.md / Standard Webhooks: loopback and private ranges open only on request.
PRIVATE_NETWORKS = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)


def webhook_policy(allow_private: bool) -> NetworkPolicy:
    return NetworkPolicy(
        PRIVATE_NETWORKS if allow_private else (),
        setting="QRAP_WEBHOOK_ALLOW_PRIVATE=true",
        openable=PRIVATE_NETWORKS,
    )


@dataclass(frozen=True, slots=True)
class AttemptResult:
    status_code: int | None
    error: str | None
    duration_ms: int
    excerpt: str | None
    retry_after: float | None = None
    dialled: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def vet_url(url: str, policy: NetworkPolicy) -> str:
    """Resolve and vet the URL's host; return the address to dial (or raise ValueError,
    InvalidTarget, TargetNotAllowed or ResolutionError)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:  # not a ValueError: it would escape as a 500
        raise ValueError(f"not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("a webhook URL must be http(s) with a host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return policy.resolve(parsed.host, port)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    policy: NetworkPolicy,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
) -> AttemptResult:
    """POST ``body`` once. Never raises for network or policy failures: they become the result."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        address = vet_url(url, policy)
    except (QrapError, ResolutionError, ValueError) as exc:
        message = exc.message if isinstance(exc, QrapError) else str(exc)
        metrics.WEBHOOK_ATTEMPTS.labels("refused").inc()
        return AttemptResult(None, f"refused by network policy: {message}", elapsed(), None)
    parsed = httpx.URL(url)
    host = parsed.host
    target = parsed.copy_with(host=address)  # httpx brackets an IPv6 address itself
    request_headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": parsed.netloc.decode("ascii"),
        **headers,
    }
    extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
    try:
        with httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            transport=transport,
        ) as client:
            request = client.build_request(
                "POST", target, content=body, headers=request_headers, extensions=extensions
            )
            response = client.send(request, stream=True)
            try:
                # An internal service's answer (QRAP_WEBHOOK_ALLOW_PRIVATE) is never read,
                # stored or shown: only its status and timing are recorded.
                excerpt = _read_excerpt(response) if is_public(address) else None
            finally:
                response.close()
    except httpx.TimeoutException as exc:
        metrics.WEBHOOK_ATTEMPTS.labels("timeout").inc()
        return AttemptResult(
            None,
            f"timed out after {timeout:g} s ({type(exc).__name__})",
            elapsed(),
            None,
            dialled=address,
        )
    except httpx.HTTPError as exc:
        metrics.WEBHOOK_ATTEMPTS.labels("connection_error").inc()
        return AttemptResult(None, f"{type(exc).__name__}: {exc}", elapsed(), None, dialled=address)
    status = response.status_code
    metrics.webhook_answered(status)
    error = None
    if 300 <= status < 400:
        error = f"redirect {status} not followed (webhooks never follow redirects)"
    elif not 200 <= status < 300:
        error = f"HTTP {status}"
    return AttemptResult(
        status,
        error,
        elapsed(),
        excerpt,
        _retry_after(response.headers.get("retry-after")),
        address,
    )


def _read_excerpt(response: httpx.Response) -> str:
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= EXCERPT_BYTES:
            break
    return data[:EXCERPT_BYTES].decode("utf-8", "replace")


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: too rare to be worth parsing here
    return seconds if seconds >= 0 else None
