"""A delivery attempt keeps status and timing always, and the answer's body only when it came
from a public address: an internal service reached through QRAP_WEBHOOK_ALLOW_PRIVATE never
has its answer read, stored or logged."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import httpx
import pytest

from qrap_core.netpolicy import NetworkPolicy
from qrap_core.webhook import delivery
from tests.reliability.harness import Receiver

PUBLIC = "93.184.216.34"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


class TestExcerpt:
    def test_a_private_answer_is_not_kept(self, receiver: Receiver) -> None:
        result = delivery.post(
            receiver.url("/internal"),
            b"{}",
            {},
            policy=delivery.webhook_policy(allow_private=True),
            timeout=5,
        )

        assert result.status_code == 200
        assert result.succeeded
        assert result.duration_ms >= 0
        assert result.excerpt is None
        assert len(receiver.calls("/internal")) == 1  # it was delivered

    def test_a_private_error_keeps_status_and_no_body(self, receiver: Receiver) -> None:
        receiver.script["/down"] = [503]

        result = delivery.post(
            receiver.url("/down"),
            b"{}",
            {},
            policy=delivery.webhook_policy(allow_private=True),
            timeout=5,
        )

        assert result.status_code == 503
        assert result.error == "HTTP 503"
        assert result.excerpt is None

    def test_a_public_answer_is_kept(self) -> None:
        # No traffic leaves the machine: the public address is a stub answer and the transport
        # answers in process.
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, text="thanks")

        def resolver(_host: str, _port: int) -> Sequence[str]:
            return [PUBLIC]

        result = delivery.post(
            "https://hooks.example/in",
            b"{}",
            {},
            policy=NetworkPolicy(resolver=resolver),
            timeout=5,
            transport=httpx.MockTransport(answer),
        )

        assert seen[0].url.host == PUBLIC
        assert result.status_code == 200
        assert result.excerpt == "thanks"
