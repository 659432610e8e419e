"""Helpers for tests that use the dashboard as a browser does: cookies, the sign-in form and
the CSRF token every form carries."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def csrf(client: TestClient, path: str = "/ui/login") -> str:
    """The CSRF token of the page at ``path``, valid for the client's current cookies."""
    answer = client.get(path)
    assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text[:300]}"
    match = CSRF.search(answer.text)
    assert match is not None, f"no CSRF token in {path}"
    return match.group(1)


def sign_in(client: TestClient, credential: str, kind: str = "apikey") -> httpx.Response:
    """Post the sign-in form (fetching its token first); the answer, not followed."""
    answer: httpx.Response = client.post(
        "/ui/login",
        data={"csrf_token": csrf(client), "credential": credential, "kind": kind, "next": "/ui/"},
        follow_redirects=False,
    )
    return answer


def signed_in(client: TestClient, credential: str, kind: str = "apikey") -> str:
    """Sign in afresh (no earlier cookies) and return a CSRF token bound to the new session."""
    client.cookies.clear()
    answer = sign_in(client, credential, kind)
    assert answer.status_code == 303, f"sign-in as {kind}: {answer.status_code} {answer.text[:300]}"
    return csrf(client, "/ui/hndl")
