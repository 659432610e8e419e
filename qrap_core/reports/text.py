"""Text from a run made safe to print: control characters spelled out, never passed raw.

Names, banners and certificate subjects come from the peers QRAP probes and the documents it
is given. A raw ESC (``\\x1b[31m``) in an export recolours, moves or rewrites the terminal
that ``cat``s the file; a raw CR or LF splits one cell into what looks like several rows.
Each C0 and C1 control character and DEL is therefore written as a visible escape (``\\n``,
``\\r``, ``\\t``, ``\\x1b``, ``\\x85``), so the text stays readable and cannot act.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _spell(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"


def printable(text: str) -> str:
    """``text`` with every C0/C1 control character and DEL replaced by a visible escape."""
    return _CONTROL.sub(_spell, text)
