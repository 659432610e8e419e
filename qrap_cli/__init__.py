"""Command-line interface: the ``qrap`` Typer app and its embedded mode."""
