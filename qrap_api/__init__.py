"""HTTP API (FastAPI): thin routes over qrap_core."""
