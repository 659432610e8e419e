"""Status columns read back as their StrEnums and keep the schema they had as plain VARCHARs."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from qrap_core.assessment.models import Assessment, AssessmentRun, RunExecution
from qrap_core.enum_type import enum_type
from qrap_core.enums import (
    AssessmentStatus,
    AttemptOutcome,
    DeliveryStatus,
    ExecutionOutcome,
    TriageStatus,
)
from qrap_core.finding.models import Finding
from qrap_core.models import Base
from qrap_core.organization.models import Organization
from qrap_core.webhook.models import WebhookAttempt, WebhookDelivery

_POSTGRES = create_engine("postgresql+psycopg2://").dialect  # no connection is made
_METADATA = MetaData()
_ROWS = Table(
    "rows",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("s", enum_type(TriageStatus, 32)),
)


@pytest.fixture
def connection() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    _METADATA.create_all(engine)
    with engine.begin() as conn:
        yield conn
    engine.dispose()


class TestEnumType:
    def test_members_are_stored_as_values_and_read_back_as_members(
        self, connection: Connection
    ) -> None:
        connection.execute(insert(_ROWS).values(id=1, s=TriageStatus.ACCEPTED_RISK))

        stored = connection.execute(text("SELECT s FROM rows")).scalar_one()
        read = connection.execute(select(_ROWS.c.s)).scalar_one()

        assert (stored, read) == ("accepted_risk", TriageStatus.ACCEPTED_RISK)
        assert isinstance(read, TriageStatus)

    def test_plain_strings_are_written_as_they_are(self, connection: Connection) -> None:
        # The tables' CHECK constraints, not the type, refuse a bad value: as before.
        connection.execute(insert(_ROWS).values(id=1, s="fixed"))
        connection.execute(insert(_ROWS).values(id=2, s="not-a-status"))

        stored = connection.execute(text("SELECT s FROM rows ORDER BY id")).scalars().all()

        assert stored == ["fixed", "not-a-status"]

    def test_a_value_outside_the_enum_cannot_be_read(self, connection: Connection) -> None:
        connection.execute(text("INSERT INTO rows (id, s) VALUES (1, 'not-a-status')"))

        with pytest.raises(LookupError):
            connection.execute(select(_ROWS.c.s)).scalar_one()

    def test_comparisons_take_members_and_strings(self, connection: Connection) -> None:
        connection.execute(insert(_ROWS).values(id=1, s=TriageStatus.OPEN))

        by_member = select(_ROWS.c.id).where(_ROWS.c.s == TriageStatus.OPEN)
        by_string = select(_ROWS.c.id).where(_ROWS.c.s.in_(["open", "fixed"]))

        assert connection.execute(by_member).scalar_one() == 1
        assert connection.execute(by_string).scalar_one() == 1


@pytest.mark.parametrize(
    ("column", "enum", "ddl"),
    [
        (Assessment.__table__.c.status, AssessmentStatus, "VARCHAR(16)"),
        (AssessmentRun.__table__.c.status, AssessmentStatus, "VARCHAR(16)"),
        (RunExecution.__table__.c.outcome, ExecutionOutcome, "VARCHAR(16)"),
        (Finding.__table__.c.triage_status, TriageStatus, "VARCHAR(32)"),
        (WebhookDelivery.__table__.c.status, DeliveryStatus, "VARCHAR(16)"),
        (WebhookAttempt.__table__.c.outcome, AttemptOutcome, "VARCHAR(16)"),
    ],
)
def test_status_columns_keep_their_schema(
    column: Column[str], enum: type[StrEnum], ddl: str
) -> None:
    assert column.type.compile(dialect=_POSTGRES) == ddl
    assert getattr(column.type, "enum_class", None) is enum


def test_an_assessment_reads_back_its_status_as_the_enum() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        org = Organization(name="o", created_by="t", updated_by="t")
        session.add(org)
        session.flush()
        session.add(Assessment(organization_id=org.id, name="a", created_by="t", updated_by="t"))
        session.commit()
        session.expunge_all()

        status = session.scalars(select(Assessment.status)).one()

    engine.dispose()
    assert status is AssessmentStatus.DRAFT
