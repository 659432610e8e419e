"""What the commands share: the error console, exits, settings, logging and progress.

Imported by command bodies, never by ``qrap_cli.main`` itself, so that ``qrap --help`` loads
neither rich nor pydantic-settings nor anything of the pipeline.
"""

from __future__ import annotations

import os
import sys
import warnings
from functools import lru_cache
from typing import Any

import typer
from cryptography.utils import CryptographyDeprecationWarning
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.text import Text

from qrap_core.errors import QrapError
from qrap_core.logging import configure as configure_logging
from qrap_core.reports.text import printable
from qrap_core.settings import Settings, load_settings


@lru_cache(maxsize=1)
def err() -> Console:
    """The console on stderr: notes, warnings and errors (stdout carries the answer)."""
    return Console(stderr=True, soft_wrap=True)


def die(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr, the message taken literally (it often quotes what a
    peer or a file said: no rich markup, control characters escaped), and return the exit."""
    err().print(Text.assemble(("error:", "red"), " ", printable(message)), highlight=False)
    return typer.Exit(code)


def warn(message: str) -> None:
    """``warning: message`` on stderr, taken literally like ``die``'s."""
    err().print(Text.assemble(("warning:", "yellow"), " ", printable(message)), highlight=False)


def settings(**overrides: Any) -> Settings:
    try:
        loaded = load_settings()
    except QrapError as exc:
        raise die(exc.message) from None
    return loaded.model_copy(update=overrides) if overrides else loaded


def progress_bar() -> Progress:
    """A transient bar on stderr, so stdout carries only the report; none when stderr is not a
    terminal (a log file or CI would keep only the blank lines a bar leaves behind)."""
    console = Console(stderr=True)
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def pipe_closed() -> None:
    """The reader of stdout went away (``qrap ... | head``): that is not an error.

    Later writes, and the interpreter's flush at exit, go to /dev/null instead of raising
    BrokenPipeError again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class _PipeConsole(Console):
    """A console whose reader may leave: ``qrap ... | head`` is not an error."""

    def on_broken_pipe(self) -> None:
        # rich's own handler exits 1; the command goes on (its exit status, --fail-on, stand)
        # and later output goes to /dev/null.
        self.quiet = True
        pipe_closed()


def report_console(output_format: str) -> Console:
    # Piped table output would otherwise be cut to 80 columns, folding rule ids and categories;
    # machine formats go to stdout raw, so the console (progress, notes) uses stderr.
    return _PipeConsole(stderr=output_format != "table", width=None if sys.stdout.isatty() else 200)


def quiet_logs() -> None:
    # stdout carries the report; the pipeline's logs would only clutter it, and what a run's
    # warnings say (a target not reached, a failed run) the command prints itself, once.
    configure_logging("error", json=False)
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
