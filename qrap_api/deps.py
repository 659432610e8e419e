"""Dependencies: the per-request unit of work, the caller, role checks, pagination."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Header, Query, Request

from qrap_api import idempotency
from qrap_api.auth import ROLES, authenticate_request
from qrap_api.state import AppState
from qrap_core.audit.service import Actor
from qrap_core.db import UnitOfWork
from qrap_core.errors import Forbidden
from qrap_core.pagination import DEFAULT_LIMIT, MAX_LIMIT


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.qrap
    return state


def get_uow(request: Request) -> Iterator[UnitOfWork]:
    """One session and transaction per request; committed before the response is sent."""
    state = get_state(request)
    with state.db.unit_of_work(state.dispatcher) as uow:
        # An Idempotency-Key is marked used in this same transaction (qrap_api/idempotency.py).
        idempotency.bind(request, uow)
        yield uow


# scope="function": the commit (and the task send after it) happens before the client hears 2xx.
Uow = Annotated[UnitOfWork, Depends(get_uow, scope="function")]


def get_read_uow(request: Request) -> Iterator[UnitOfWork]:
    """A read-only transaction for lists and reports: on the replica when QRAP_DB_READ_URL is
    set, else on the primary. A replica may lag, so a detail read after a write uses ``Uow``."""
    with get_state(request).db.read_unit_of_work() as uow:
        yield uow


ReadUow = Annotated[UnitOfWork, Depends(get_read_uow, scope="function")]


def get_actor(
    request: Request,
    # Declared so that the OpenAPI document lists them; authenticate_request reads them.
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Actor:
    actor = authenticate_request(request, get_state(request).authenticator)
    return replace(actor, request_id=request.scope.get("state", {}).get("request_id"))


def require(role: str) -> Callable[[Actor], Actor]:
    """A dependency that lets through callers with ``role`` or a stronger one."""
    needed = ROLES.index(role)

    def check(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
        if ROLES.index(actor.role) < needed:
            raise Forbidden(f"this operation needs the {role} role; you have {actor.role}")
        return actor

    return check


Viewer = Annotated[Actor, Depends(require("viewer"))]
Analyst = Annotated[Actor, Depends(require("analyst"))]
Admin = Annotated[Actor, Depends(require("admin"))]


@dataclass(frozen=True)
class Paging:
    offset: int
    limit: int


def paging(
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Paging:
    return Paging(offset, limit)


Page = Annotated[Paging, Depends(paging)]
