"""Celery worker: queues, routing and thin tasks over qrap_core."""
