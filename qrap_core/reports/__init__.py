"""Exports of an assessment's results."""
