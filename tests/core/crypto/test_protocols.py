"""SSL/TLS versions: every spelling is one version, with one order and one standing."""

from __future__ import annotations

import pytest

from qrap_core.crypto import protocols
from qrap_core.crypto.protocols import (
    DEPRECATED,
    VERSIONS,
    WIRE_CODES,
    from_wire,
    is_deprecated,
    is_ssl,
    normalise_protocol,
    rank,
)


class TestNormaliseProtocol:
    @pytest.mark.parametrize(
        ("text", "version"),
        [
            ("TLSv1.2", "TLSv1.2"),
            ("TLS 1.2", "TLSv1.2"),
            ("tls1_2", "TLSv1.2"),
            ("TLS-1.2", "TLSv1.2"),
            (" tlsv1.3 ", "TLSv1.3"),
            ("TLSv1", "TLSv1.0"),
            ("TLS1.0", "TLSv1.0"),
            ("tls1_1", "TLSv1.1"),
            ("SSLv3", "SSLv3"),
            ("SSL 3.0", "SSLv3"),
            ("SSLv3.0", "SSLv3"),
            ("sslv2", "SSLv2"),
        ],
    )
    def test_spellings(self, text: str, version: str) -> None:
        assert normalise_protocol(text) == version

    @pytest.mark.parametrize("text", ["SSH-2.0", "DTLSv1.2", "HTTPS", "TLS", "1.2", "", "AES"])
    def test_not_a_version(self, text: str) -> None:
        assert normalise_protocol(text) is None


class TestWireCodes:
    @pytest.mark.parametrize(
        ("code", "version"),
        [(0x0300, "SSLv3"), (0x0301, "TLSv1.0"), (0x0302, "TLSv1.1"), (0x0303, "TLSv1.2"),
         (0x0304, "TLSv1.3")],
    )  # fmt: skip
    def test_both_ways(self, code: int, version: str) -> None:
        assert from_wire(code) == version
        assert WIRE_CODES[version] == code

    def test_unknown_code(self) -> None:
        assert from_wire(0x7F1C) is None

    def test_ssl2_has_no_hello_code(self) -> None:
        # The raw probes write SSLv3-style records only.
        assert protocols.SSL2 not in WIRE_CODES


class TestOrderAndStanding:
    def test_versions_run_oldest_first(self) -> None:
        assert VERSIONS == ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
        assert tuple(WIRE_CODES) == VERSIONS[1:]

    @pytest.mark.parametrize(
        ("older", "newer"), [("SSLv2", "SSLv3"), ("SSL 3.0", "TLSv1"), ("tls1_1", "TLS 1.2")]
    )
    def test_rank(self, older: str, newer: str) -> None:
        older_rank, newer_rank = rank(older), rank(newer)
        assert older_rank is not None
        assert newer_rank is not None
        assert older_rank < newer_rank

    def test_rank_of_something_else(self) -> None:
        assert rank("SSH-2.0") is None
        assert rank("TLSv2.0") is None

    @pytest.mark.parametrize("text", ["SSLv2", "SSL 3.0", "TLSv1", "TLS 1.0", "tls1_1"])
    def test_deprecated(self, text: str) -> None:
        assert is_deprecated(text)

    @pytest.mark.parametrize("text", ["TLSv1.2", "TLS 1.3", "SSH-2.0", "TLSv2.0", "unknown"])
    def test_not_deprecated(self, text: str) -> None:
        assert not is_deprecated(text)

    def test_deprecated_set(self) -> None:
        assert frozenset({"SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"}) == DEPRECATED

    @pytest.mark.parametrize(("text", "ssl"), [("SSLv3", True), ("ssl2", True), ("TLSv1", False)])
    def test_is_ssl(self, text: str, ssl: bool) -> None:
        assert is_ssl(text) is ssl
