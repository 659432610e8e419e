"""The Celery queues, by name: the worker consumes them, the API's /metrics reports their depth.

A module of its own so that reading the names configures no Celery app.
"""

from __future__ import annotations

QUEUES = ("assessments", "scoring.cpu", "scoring.gpu", "maintenance", "webhooks")
