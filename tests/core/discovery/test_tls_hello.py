"""Raw ClientHellos and server answers, byte by byte."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from qrap_core.discovery import tls_hello
from qrap_core.discovery.tls_suites import CIPHER_SUITES, LEGACY_SUITES, TLS13_SUITES


def record(content: int, body: bytes) -> bytes:
    return struct.pack("!BHH", content, 0x0303, len(body)) + body


def server_hello(*, random: bytes, suite: int, extensions: bytes = b"") -> bytes:
    body = struct.pack("!H", 0x0303) + random + b"\x20" + bytes(32) + struct.pack("!H", suite)
    body += b"\x00" + struct.pack("!H", len(extensions)) + extensions
    return record(22, b"\x02" + len(body).to_bytes(3, "big") + body)


def parse(data: bytes, *, want_certificate: bool = False) -> tls_hello.ServerReply | None:
    return tls_hello._Parser(want_certificate).feed(data)


class TestClientHello:
    def test_tls13_hello_offers_one_group_and_no_share(self) -> None:
        hello = tls_hello.client_hello(
            "TLSv1.3", TLS13_SUITES, sni="example.com", groups=[0x11EC], key_shares=[]
        )

        assert hello[0] == 22
        assert struct.unpack("!H", hello[3:5])[0] == len(hello) - 5
        assert b"example.com" in hello
        assert struct.pack("!HHH", 10, 4, 2) + b"\x11\xec" in hello  # supported_groups
        assert struct.pack("!HHH", 51, 2, 0) in hello  # key_share: empty list
        assert struct.pack("!HHB", 43, 3, 2) + b"\x03\x04" in hello  # supported_versions

    def test_sslv3_hello_has_no_extensions(self) -> None:
        hello = tls_hello.client_hello("SSLv3", LEGACY_SUITES, sni="example.com")

        assert hello[1:3] == b"\x03\x00"
        assert b"example.com" not in hello


class TestReplies:
    def test_hello_retry_request_names_the_group(self) -> None:
        extensions = struct.pack("!HHH", 43, 2, 0x0304) + struct.pack("!HHH", 51, 2, 0x11EC)

        reply = parse(
            server_hello(random=tls_hello.HRR_RANDOM, suite=0x1301, extensions=extensions)
        )

        assert reply is not None
        assert (reply.kind, reply.version, reply.group, reply.cipher_suite) == (
            "hello_retry",
            "TLSv1.3",
            0x11EC,
            0x1301,
        )

    def test_alert(self) -> None:
        reply = parse(record(21, b"\x02\x28"))

        assert reply is not None
        assert (reply.kind, reply.alert, reply.error) == ("alert", 40, "alert handshake_failure")
        assert 40 in tls_hello.REFUSALS

    def test_openssl_internal_error_refuses_the_version(self) -> None:
        # What OpenSSL 3.0's s_server sent to our TLS 1.0 hello at its default security level.
        reply = parse(bytes.fromhex("15030100020250"))

        assert reply is not None
        assert (reply.kind, reply.alert, reply.error) == ("alert", 80, "alert internal_error")
        assert tls_hello.refuses_version(reply)

    def test_protocol_version_refuses_the_version(self) -> None:
        reply = parse(bytes.fromhex("15030100020246"))  # s_server -no_tls1, TLS 1.0 hello

        assert reply is not None
        assert tls_hello.refuses_version(reply)

    def test_decode_error_proves_nothing(self) -> None:
        reply = parse(record(21, b"\x02\x32"))

        assert reply is not None
        assert not tls_hello.refuses_version(reply)

    def test_warning_alert_before_the_hello_is_skipped(self) -> None:
        warning = record(21, b"\x01\x70")  # unrecognized_name, level warning
        hello = server_hello(random=bytes(32), suite=0xC02F)

        reply = parse(warning + hello)

        assert reply is not None
        assert (reply.kind, reply.version, reply.cipher_suite) == (
            "server_hello",
            "TLSv1.2",
            0xC02F,
        )
        assert not tls_hello.refuses_version(reply)

    def test_split_records_wait_for_more(self) -> None:
        data = server_hello(random=bytes(32), suite=0x002F)
        parser = tls_hello._Parser(False)

        assert parser.feed(data[:7]) is None
        reply = parser.feed(data[7:])

        assert reply is not None
        assert (reply.kind, reply.version, reply.cipher_suite) == ("server_hello", "TLSv1.2", 0x2F)

    def test_not_tls(self) -> None:
        reply = parse(b"HTTP/1.0 400 Bad Request\r\n\r\n")

        assert reply is not None
        assert reply.kind == "not_tls"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_suite_names_agree_with_openssl() -> None:
    listing = subprocess.run(
        ["openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    checked = 0
    for line in listing.splitlines():
        fields = line.split()
        high, low = fields[0].split(",")
        code = int(high, 16) << 8 | int(low, 16)
        if fields[2] != "-":
            assert CIPHER_SUITES.get(code) == fields[2], hex(code)
            checked += 1
    assert checked > 100
