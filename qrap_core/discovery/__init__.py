"""Analyzers, one module per target type. Pure: no database, no queue."""
