"""The floor for a_submit: a bare FastAPI app that inserts one row and enqueues one task.

No authentication, audit, idempotency or validation beyond the body's types: what any
FastAPI + SQLAlchemy + Celery service pays per request on this machine. It uses QRAP's own
Celery configuration and pool sizes, and runs under the same uvicorn flags.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from celery import Celery
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import create_engine, text

from qrap_core.settings import get_settings
from qrap_worker.app import configure

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS bench_baseline (id uuid PRIMARY KEY, name text NOT NULL,"
    " organization_id uuid NOT NULL, body jsonb NOT NULL, created_at timestamptz DEFAULT now())"
)


class Submission(BaseModel):
    name: str
    organization_id: uuid.UUID
    target_assets: list[str] = []
    run: bool = False


def create_app() -> FastAPI:
    settings = get_settings()
    kept, overflow = settings.api_pool()  # QRAP's API pool: one connection per thread
    engine = create_engine(
        settings.sqlalchemy_url, pool_size=kept, max_overflow=overflow, pool_pre_ping=True
    )
    celery = Celery("bench-baseline")
    configure(celery, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        with engine.begin() as conn:
            conn.execute(text(TABLE_DDL))
        yield
        engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/submit", status_code=202)
    def submit(body: Submission) -> dict[str, str]:
        row_id = uuid.uuid4()
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO bench_baseline (id, name, organization_id, body)"
                    " VALUES (:id, :name, :org, CAST(:body AS jsonb))"
                ),
                {
                    "id": row_id,
                    "name": body.name,
                    "org": body.organization_id,
                    "body": json.dumps(body.model_dump(mode="json")),
                },
            )
        celery.send_task("bench.baseline", kwargs={"id": str(row_id)}, queue="assessments")
        return {"id": str(row_id)}

    return app
