"""What the commands share: the error console, exits, settings, logging and progress.

Imported by command bodies, never by ``qrap_cli.main`` itself, so that ``qrap --help`` loads
neither rich nor pydantic-settings nor anything of the pipeline.
"""

from __future__ import annotations

import sys
import warnings
from functools import lru_cache
from typing import Any

import typer
from cryptography.utils import CryptographyDeprecationWarning
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from qrap_core.errors import QrapError
from qrap_core.logging import configure as configure_logging
from qrap_core.settings import Settings, load_settings


@lru_cache(maxsize=1)
def err() -> Console:
    """The console on stderr: notes, warnings and errors (stdout carries the answer)."""
    return Console(stderr=True, soft_wrap=True)


def die(message: str, code: int = 2) -> typer.Exit:
    err().print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def settings(**overrides: Any) -> Settings:
    try:
        loaded = load_settings()
    except QrapError as exc:
        raise die(exc.message) from None
    return loaded.model_copy(update=overrides) if overrides else loaded


def progress_bar() -> Progress:
    """A transient bar on stderr, so stdout carries only the report."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def report_console(output_format: str) -> Console:
    # Piped table output would otherwise be cut to 80 columns, folding rule ids and categories;
    # machine formats go to stdout raw, so the console (progress, notes) uses stderr.
    return Console(stderr=output_format != "table", width=None if sys.stdout.isatty() else 200)


def quiet_logs() -> None:
    # stdout carries the report; the pipeline's progress logs would only clutter it.
    configure_logging("warning", json=False)
    quiet_library_warnings()


def quiet_library_warnings() -> None:
    """Keep libraries' deprecation notices off the terminal.

    They address QRAP's developers, not its users: cryptography warns on every CA-bundle root
    with a non-positive serial number, pyOpenSSL on its own API. ``python -W`` and
    PYTHONWARNINGS still decide when given.
    """
    if sys.warnoptions:
        return
    for category in (DeprecationWarning, PendingDeprecationWarning, CryptographyDeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
