"""Status columns typed as StrEnums: the members' values in a plain VARCHAR, read back as
members, so ``Mapped[AssessmentStatus]`` holds without a migration."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


def enum_type(enum: type[StrEnum], length: int) -> Enum:
    """VARCHAR(``length``) of ``enum``'s values. No native enum type and no CHECK of its own:
    the tables keep their constraints, so the schema stays as it was. A plain string is written
    as it is, for those constraints to judge as before; a value outside ``enum`` cannot be
    read back (LookupError)."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        validate_strings=False,
        length=length,
        values_callable=_values,
    )


def _values(enum: type[StrEnum]) -> list[str]:
    # Store values ("accepted_risk"), not member names ("ACCEPTED_RISK").
    return [member.value for member in enum]
