"""Templates, the pages' security headers, and the error pages of the dashboard.

Pages set a Content-Security-Policy of their own (SecurityHeaders keeps a header the app set):
scripts, styles and images from this origin only, so still no inline script or style.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from redis.exceptions import RedisError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Scope

from qrap_api.errors import STATUS_BY_ERROR
from qrap_api.ui import session
from qrap_core.audit.service import Actor
from qrap_core.errors import QrapError
from qrap_core.logging import get_logger

log = get_logger(__name__)
HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")


def query(**params: Any) -> str:
    """``?a=1&b=2`` of the parameters that are set (for filter and pagination links)."""
    pairs = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    return "?" + urlencode(pairs) if pairs else ""


templates.env.globals["query"] = query
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def page(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    actor: Actor | None = None,
    status: int = 200,
) -> Response:
    """Render ``name``: every page gets the caller, the current path and a CSRF token."""
    nonce, new = session.csrf_nonce(request)
    values = {
        "actor": actor,
        "path": request.url.path,
        "csrf_field": session.CSRF_FIELD,
        "csrf_token": session.csrf_token(request, nonce),
        **context,
    }
    response = templates.TemplateResponse(request, name, values, status_code=status)
    secure(response)
    if new:
        session.set_cookie(request, response, session.CSRF_COOKIE, nonce)
    return response


def secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(url: str) -> Response:
    """After a form: 303, so that reloading the next page does not post again."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, title: str, message: str, **extra: Any) -> Response:
    return page(
        request,
        "error.html",
        {"title": title, "message": message, "status": status, **extra},
        status=status,
    )


def too_large_page(scope: Scope, limit: int) -> Response:
    """The 413 page of a form whose body (files included) is over ``limit`` bytes. The size
    limit answers it before the dashboard's routes run, so it names no signed-in caller."""
    request = Request(scope)
    size = f"{limit / 1_048_576:g} MiB" if limit >= 1_048_576 else f"{limit:,} bytes"
    return error_page(
        request, 413, "Too large",
        f"The form and its files are larger than the limit of {size} ({limit:,} bytes)."
        " Send smaller files, or fewer at a time.",
        fields=[{"field": "files", "message": f"over {limit:,} bytes in all"}],
    )  # fmt: skip


def _validation_page(request: Request, exc: RequestValidationError) -> Response:
    fields = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        fields.append({"field": ".".join(loc) or "form", "message": error.get("msg", "invalid")})
    names = ", ".join(sorted({f["field"] for f in fields}))
    return error_page(request, 400, "Invalid input", f"Check these fields: {names}.", fields=fields)


def _drop_empty_query_values(request: Request) -> None:
    """A filter form sends its unset fields as ``name=``: they mean "not set", not "invalid"."""
    raw = request.scope.get("query_string", b"").decode("latin-1")
    if raw:
        pairs = [(k, v) for k, v in parse_qsl(raw, keep_blank_values=True) if v != ""]
        request.scope["query_string"] = urlencode(pairs).encode("latin-1")


class UiRoute(APIRoute):
    """A route whose failures are pages, not JSON: sign-in redirects, 403/404/409 pages and a
    503 page while the database (or Redis) cannot be reached."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            _drop_empty_query_values(request)
            try:
                return await handler(request)
            except session.SignInRequired as exc:
                target = quote(
                    request.url.path + (f"?{request.url.query}" if request.url.query else "")
                )
                answer = redirect(f"{session.LOGIN_PATH}?next={target}&reason={quote(exc.reason)}")
                if request.cookies.get(session.SESSION_COOKIE):
                    # A refused session is dropped: sent again, each would count as a failed
                    # authentication against this address's budget.
                    session.clear_session(request, answer)
                return answer
            except session.CsrfRejected:
                return error_page(
                    request, 403, "Form expired",
                    "The form's security token did not match. Go back, reload the page and"
                    " send it again.",
                )  # fmt: skip
            except QrapError as exc:
                status = next((s for cls, s in STATUS_BY_ERROR if isinstance(exc, cls)), 400)
                return error_page(request, status, _TITLES.get(status, "Error"), exc.message,
                                  fields=exc.details)  # fmt: skip
            except RequestValidationError as exc:
                return _validation_page(request, exc)
            except (OperationalError, InterfaceError, RedisError, ConnectionError):
                log.warning("ui.backend_unreachable", path=request.url.path, exc_info=True)
                return error_page(
                    request, 503, "Service unavailable",
                    "The database cannot be reached right now. Your data is safe; try again"
                    " in a moment.",
                )  # fmt: skip

        return handle


_TITLES = {
    400: "Invalid input",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible right now",
    500: "Server error",
}
