"""The dashboard's sign-in: the credential an API caller sends in a header, kept in a cookie.

The cookie holds the ``Authorization`` value itself (``ApiKey ...`` or ``Bearer ...``), and
every page checks it with the API's own ``Authenticator``, so a revoked key or an expired token
stops working in the browser exactly when it stops working for the API, and an
organization-bound principal sees what it would see through the API.

Forms carry a CSRF token: an HMAC, under ``QRAP_UI_SECRET``, of a random nonce kept in its own
cookie and of the session cookie (a signed double-submit token, bound to the session). Both
cookies are HttpOnly and SameSite=Strict, and Secure except over plain http to a loopback
address in development (``secure_cookies``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from starlette.responses import Response

from qrap_api.auth import ANONYMOUS_ADMIN, ROLES, authenticate_request
from qrap_api.deps import get_state
from qrap_core.audit.service import Actor
from qrap_core.errors import Forbidden, Unauthorized

SESSION_COOKIE = "qrap_session"
CSRF_COOKIE = "qrap_csrf"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/ui"
LOGIN_PATH = "/ui/login"
CredentialKind = Literal["apikey", "bearer"]
_SCHEMES: dict[str, str] = {"apikey": "ApiKey", "bearer": "Bearer"}
MAX_CREDENTIAL_LENGTH = 8192
_LOOPBACK_NAMES = frozenset({"localhost"})


class SignInRequired(Exception):
    """No usable credential in the cookie: the browser is sent to the sign-in page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CsrfRejected(Exception):
    """A form came back without a valid CSRF token."""


def authorization_for(kind: CredentialKind, credential: str) -> str:
    """The Authorization header value an API client would send with this credential."""
    return f"{_SCHEMES[kind]} {credential.strip()}"


def encode_session(authorization: str) -> str:
    return base64.urlsafe_b64encode(authorization.encode()).decode()


def _decode_session(raw: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(raw.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def session_authorization(cookies: Mapping[str, str]) -> str | None:
    """The Authorization value kept in the session cookie, if there is a readable one."""
    raw = cookies.get(SESSION_COOKIE)
    return _decode_session(raw) if raw else None


def authenticate_authorization(request: Request, authorization: str) -> Actor:
    """Check an Authorization value with the API's authenticator; raises Unauthorized."""
    authenticator = get_state(request).authenticator
    if authenticator is None:  # QRAP_AUTH_DISABLED (development only)
        return ANONYMOUS_ADMIN
    return authenticator.authenticate(authorization, None)


def ui_actor(request: Request) -> Actor:
    """The signed-in caller, or SignInRequired. Sync: a stored API key is looked up in the
    database, so FastAPI runs this in its thread pool."""
    authenticator = get_state(request).authenticator
    if authenticator is None:
        actor = ANONYMOUS_ADMIN
    elif request.headers.get("authorization") or request.headers.get("x-api-key"):
        # An API client reading a page: its headers, as every API route reads them.
        try:
            actor = authenticate_request(request, authenticator)
        except Unauthorized as exc:
            raise SignInRequired(exc.message) from None
    else:
        authorization = session_authorization(request.cookies)
        if not authorization:
            raise SignInRequired("sign in to continue")
        try:
            actor = authenticate_authorization(request, authorization)
        except Unauthorized as exc:
            raise SignInRequired(f"your session has ended: {exc.message}") from None
    return replace(actor, request_id=request.scope.get("state", {}).get("request_id"))


def ui_require(role: str) -> Any:
    """A dependency that lets through signed-in callers with ``role`` or a stronger one."""
    needed = ROLES.index(role)

    def check(actor: Annotated[Actor, Depends(ui_actor)]) -> Actor:
        if ROLES.index(actor.role) < needed:
            raise Forbidden(f"this needs the {role} role; you have {actor.role}")
        return actor

    return Depends(check)


UiViewer = Annotated[Actor, ui_require("viewer")]
UiAnalyst = Annotated[Actor, ui_require("analyst")]
UiAdmin = Annotated[Actor, ui_require("admin")]


def secure_cookies(request: Request) -> bool:
    """Secure everywhere but plain http to a loopback host outside production: a browser
    drops a Secure cookie over http, and a local trial of ``qrap serve`` has no TLS."""
    if request.url.scheme == "https" or get_state(request).settings.env == "production":
        return True
    host = (request.url.hostname or "").strip("[]")
    if host in _LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def _secret(request: Request) -> bytes:
    secret: bytes = request.app.state.qrap_ui_secret
    return secret


def csrf_nonce(request: Request) -> tuple[str, bool]:
    """The browser's CSRF nonce, and whether it is new (then the response must set it)."""
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if 16 <= len(nonce) <= 128:
        return nonce, False
    return secrets.token_urlsafe(32), True


def csrf_token(request: Request, nonce: str, session: str | None = None) -> str:
    """The token forms carry: HMAC(secret, nonce, session cookie)."""
    if session is None:
        session = request.cookies.get(SESSION_COOKIE, "")
    message = f"{nonce}\x00{session}".encode()
    return hmac.new(_secret(request), message, hashlib.sha256).hexdigest()


async def verify_csrf(request: Request) -> None:
    """Refuse a form whose token does not match this browser's nonce and session.

    It reads the form itself (Starlette keeps the parsed form for the route's own fields).
    """
    presented = (await request.form()).get(CSRF_FIELD)
    nonce = request.cookies.get(CSRF_COOKIE, "")
    expected = csrf_token(request, nonce) if nonce else ""
    if not expected or not isinstance(presented, str):
        raise CsrfRejected
    if not hmac.compare_digest(expected, presented):
        raise CsrfRejected


CsrfChecked = Depends(verify_csrf)


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path=COOKIE_PATH,
        httponly=True,
        secure=secure_cookies(request),
        samesite="strict",
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        secure=secure_cookies(request),
        samesite="strict",
    )


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard path only, never another site."""
    if (
        target
        and target.startswith("/ui")
        and not target.startswith("/ui/login")
        and "//" not in target
        and "\\" not in target
    ):
        return target
    return "/ui/"
