"""Semantic errors raised by the core. The API maps each base class to a status code."""

from __future__ import annotations

from typing import Any


class QrapError(Exception):
    """Base of every expected failure; ``details`` names offending fields where it can."""

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(QrapError):
    """The caller sent something we cannot accept (bad target, malformed certificate, ...)."""


class NotFound(QrapError):
    pass


class Conflict(QrapError):
    pass


class InvalidState(QrapError):
    """The object exists but is in a state that does not allow the operation."""


class Unauthorized(QrapError):
    pass


class Forbidden(QrapError):
    pass


class OrganizationNotFound(NotFound):
    pass


class AssessmentNotFound(NotFound):
    pass


class FindingNotFound(NotFound):
    pass


class InvalidTarget(InvalidInput):
    pass


class InvalidCertificate(InvalidInput):
    pass


class TargetNotAllowed(InvalidInput):
    """The network policy forbids probing this address."""


class ConfigurationError(QrapError):
    """Settings are invalid; raised at start with the variable named."""
