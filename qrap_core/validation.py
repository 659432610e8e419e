"""Text the API accepts: what PostgreSQL can store, refused at the door otherwise.

PostgreSQL refuses the NUL character in ``text``/``varchar`` columns and in ``jsonb`` strings
(keys included), and a ``varchar(n)`` refuses a longer value. Either, left to the database,
is a 500 at insert time, or a run that fails long after the request was accepted. Every
string a client sends that is stored is therefore declared ``Text`` with a ``max_length``
matching its column (``name: Text = Field(max_length=255)``), and every free-form JSON value
that is stored is checked with ``check_json_text``. Both raise ValueError, which pydantic turns
into a 400 naming the field.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Annotated, Any

from pydantic import AfterValidator

NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"


def no_nul(value: str) -> str:
    """``value`` unchanged; ValueError when it holds a NUL character."""
    if NUL in value:
        raise ValueError(NUL_MESSAGE)
    return value


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def has_control(value: str) -> bool:
    """Whether ``value`` holds a C0 or C1 control character or DEL (CR, LF and ESC included)."""
    return _CONTROL.search(value) is not None


Text = Annotated[str, AfterValidator(no_nul)]
"""A string without NUL characters (give the column's length with ``Field(max_length=...)``)."""


def nul_path(value: Any, path: str = "") -> str | None:
    """The JSON-pointer-like path of the first string (value or key) holding a NUL, or None.

    Iterative, so a deeply nested value cannot exhaust the stack.
    """
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return where or "/"
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and NUL in key:
                    return f"{where}/{key.replace(NUL, '')}"
                stack.append((f"{where}/{key}", child))
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}/{index}", child) for index, child in enumerate(item))
    return None


def check_json_text(value: Any) -> Any:
    """``value`` unchanged; ValueError naming where a string in it holds a NUL character."""
    where = nul_path(value)
    if where is not None:
        raise ValueError(f"the string at {where} {NUL_MESSAGE}")
    return value


# --- JSON nesting, judged on the raw bytes before any parser recurses into them ------------

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # the end of an open string
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = tuple(1 if b in b"[{" else -1 for b in range(256))


class JsonDepth:
    """The nesting depth of JSON text that arrives in chunks, outside strings.

    ``feed`` returns False once arrays and objects nest deeper than ``limit``. Each chunk costs
    a few passes in C (regex, ``bytes.translate``, ``accumulate``), not a Python step per
    byte: strings are cut out, the brackets kept, and the depth is their running sum.
    Malformed text is not judged, only measured: the parser answers it.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.depth = 0
        self.in_string = False
        self.escaped = False  # inside a string, the next byte is escaped

    def feed(self, chunk: bytes) -> bool:
        start = 0
        if self.in_string:
            if self.escaped:
                start, self.escaped = 1, False
            end = _STRING_REST.match(chunk, start)
            if end is None:  # the whole chunk is string content
                self.escaped = _odd_backslashes(chunk[start:])
                return True
            start, self.in_string = end.end(), False
        outside = _JSON_STRING.sub(b"", chunk[start:])
        open_at = outside.find(b'"')
        if open_at >= 0:  # a string that goes on in the next chunk
            self.in_string = True
            self.escaped = _odd_backslashes(outside[open_at + 1 :])
            outside = outside[:open_at]
        brackets = outside.translate(None, _NOT_BRACKET)
        if not brackets:
            return True
        openers = brackets.count(b"[") + brackets.count(b"{")
        if self.depth + openers > self.limit:
            steps = accumulate(map(_STEP.__getitem__, brackets), initial=self.depth)
            if max(steps) > self.limit:
                return False
        self.depth += 2 * openers - len(brackets)
        return True


def _odd_backslashes(text: bytes) -> bool:
    return (len(text) - len(text.rstrip(b"\\"))) % 2 == 1


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether ``body``'s arrays and objects nest deeper than ``limit`` (see JsonDepth)."""
    return not JsonDepth(limit).feed(body)
