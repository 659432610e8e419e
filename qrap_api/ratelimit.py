"""Rate limits (``QRAP_RATE_LIMIT`` requests a minute): a moving window kept in Redis, so every
API process shares the same counters.

Pure ASGI middleware, outside the idempotency middleware (a replay counts, and a refused
request never claims a key) and inside the body-size limit and the security headers (a 429
carries those headers and a request id). Who is counted:

- an authenticated caller by its principal (``kind:subject``), whatever address it calls from;
- a caller who presents no credentials by its client address, with the same limit;
- a caller whose credentials fail by its client address, with a fifth of the limit, so that
  guessing keys or tokens is throttled. ``authenticate_request`` caches the outcome on the
  request, so the routes and the idempotency middleware do not check the credentials again.
- a dashboard browser (a path under ``/ui/``) by the principal of its session cookie; a cookie
  whose credential fails counts as failed authentication, as a header's would;
- the dashboard's sign-in form (``POST /ui/login``) carries its credential in the body: it is
  counted by its client address with the same limit, and each refused credential (a 401
  answer) is also charged to that address's failed-authentication counter. Once that counter
  is spent, the form is answered 429 before the credential is checked, so API headers and the
  form share one budget of guesses.

Health probes (``/healthz``, ``/health``) and Prometheus scrapes (``/metrics``) are never
limited. Every limited answer carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (epoch seconds); a refused one is a 429 ``RateLimited`` with
``Retry-After``. When Redis cannot be reached the request is served with a warning logged
(``QRAP_RATE_LIMIT_FAIL_OPEN=true``, the default) or refused with a 503 (``false``).

The Redis connection is made lazily on the first request, on that request's event loop (and
again should a later request run on another loop), never at import time.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING

from anyio import to_thread
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.util import WindowStats
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qrap_api.auth import authenticate_request_async
from qrap_api.errors import error_response
from qrap_api.ui.session import session_authorization
from qrap_core.errors import Unauthorized
from qrap_core.logging import get_logger
from qrap_core.settings import Settings

if TYPE_CHECKING:
    from qrap_api.state import AppState

log = get_logger(__name__)

# Probes and Prometheus scrapes: a scrape every 15 s per target must never be refused.
EXEMPT_PATHS = frozenset({"/healthz", "/health", "/metrics"})
KEY_PREFIX = "qrap-ratelimit"
# Failed authentication gets this fraction of the limit, per client address.
FAILED_AUTH_DIVISOR = 5
# The dashboard's sign-in form (qrap_api/ui/pages.py): a 401 from it is a refused credential.
SIGN_IN_PATH = "/ui/login"
_UI_PREFIX = "/ui/"
_UI_STATIC = "/ui/static/"
_REDIS_TIMEOUT_SECONDS = 1.0
_WARN_EVERY_SECONDS = 60.0


def _sign_in_identity(scope: Scope) -> str | None:
    """The failed-authentication counter a dashboard sign-in is charged to, if it is one."""
    if scope.get("method") != "POST" or scope.get("path") != SIGN_IN_PATH:
        return None
    client = scope.get("client")
    return f"auth-failed:{client[0] if client else 'unknown'}"


def _reads_session(path: str) -> bool:
    """Whether the dashboard checks the session cookie here (its static files do not)."""
    return path.startswith(_UI_PREFIX) and not path.startswith(_UI_STATIC)


def _headers(item: RateLimitItem, stats: WindowStats) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(item.amount),
        "X-RateLimit-Remaining": str(max(0, stats.remaining)),
        "X-RateLimit-Reset": str(math.ceil(stats.reset_time)),
    }


def _refuse(item: RateLimitItem, stats: WindowStats) -> ASGIApp:
    headers = _headers(item, stats)
    headers["Retry-After"] = str(max(1, math.ceil(stats.reset_time - time.time())))
    return error_response(429, "rate limit exceeded", "RateLimited", headers=headers)


class RateLimit:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.redis_url = settings.redis_url
        self.fail_open = settings.rate_limit_fail_open
        self.limit = RateLimitItemPerMinute(settings.rate_limit, namespace=KEY_PREFIX)
        self.failed_limit = RateLimitItemPerMinute(
            max(1, settings.rate_limit // FAILED_AUTH_DIVISOR), namespace=KEY_PREFIX
        )
        self._limiter: MovingWindowRateLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_warning = -math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        item, identity = await self._classify(scope)
        sign_in = _sign_in_identity(scope)
        try:
            limiter = self._get_limiter()
            if sign_in is not None and not await limiter.test(self.failed_limit, sign_in):
                stats = await limiter.get_window_stats(self.failed_limit, sign_in)
                await _refuse(self.failed_limit, stats)(scope, receive, send)
                return
            allowed = await limiter.hit(item, identity)
            stats = await limiter.get_window_stats(item, identity)
        except (StorageError, OSError) as exc:  # Redis is unavailable
            await self._unavailable(exc, scope, receive, send)
            return
        if not allowed:
            await _refuse(item, stats)(scope, receive, send)
            return
        raw = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in _headers(item, stats).items()
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *raw]
                if sign_in is not None and message["status"] == 401:
                    await self._count_failed_sign_in(limiter, sign_in)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _count_failed_sign_in(self, limiter: MovingWindowRateLimiter, identity: str) -> None:
        try:
            await limiter.hit(self.failed_limit, identity)
        except (StorageError, OSError) as exc:
            log.warning("rate limiter unavailable", error=repr(exc), action="sign-in not counted")

    async def _classify(self, scope: Scope) -> tuple[RateLimitItem, str]:
        """The limit that applies to this request and the counter it is charged to."""
        connection = HTTPConnection(scope)
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        # The app's authenticator, as the idempotency middleware and the routes use it.
        state: AppState = scope["app"].state.qrap
        if state.authenticator is None:  # QRAP_AUTH_DISABLED: everyone is the same admin
            return self.limit, f"ip:{address}"
        headers = connection.headers
        if headers.get("authorization") or headers.get("x-api-key"):
            # Off the event loop: a stored key is a database lookup, a JWKS refresh a fetch.
            outcome = authenticate_request_async(connection, state.authenticator)
        elif _reads_session(scope.get("path", "")) and (
            session := session_authorization(connection.cookies)
        ):
            # A dashboard session cookie is a credential too: a forged one is a guess.
            outcome = to_thread.run_sync(state.authenticator.authenticate, session, None)
        else:
            return self.limit, f"ip:{address}"
        try:
            actor = await outcome
        except Unauthorized:
            return self.failed_limit, f"auth-failed:{address}"
        return self.limit, f"principal:{actor.kind}:{actor.subject}"

    def _get_limiter(self) -> MovingWindowRateLimiter:
        loop = asyncio.get_running_loop()
        if self._limiter is None or self._loop is not loop:
            storage = RedisStorage(
                "async+" + self.redis_url,
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                socket_timeout=_REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            )
            self._limiter = MovingWindowRateLimiter(storage)
            self._loop = loop
        return self._limiter

    async def _unavailable(
        self, exc: BaseException, scope: Scope, receive: Receive, send: Send
    ) -> None:
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning(
                "rate limiter unavailable",
                error=repr(exc),
                action="serving unlimited" if self.fail_open else "refusing with 503",
            )
        if self.fail_open:
            await self.app(scope, receive, send)
            return
        refused = error_response(
            503, "rate limiter unavailable", "ServiceUnavailable", headers={"Retry-After": "5"}
        )
        await refused(scope, receive, send)
