"""Typed assessment targets and their string forms."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from qrap_core.discovery.cbom_reader import check_document
from qrap_core.errors import InvalidTarget
from qrap_core.netpolicy import is_host, never_probed
from qrap_core.validation import Text

_DEFAULT_PORTS = {"https": 443, "tls": 443, "ssh": 22}


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _probe_host(value: str) -> str:
    """The checks a host given as a string target gets (``parse_target_string``)."""
    if not is_host(value):
        raise ValueError(f"{value!r} is neither a host name nor an IP address")
    reason = never_probed(value)
    if reason is not None:
        raise ValueError(f"{value} ({reason}) is never probed")
    return value


class TlsTarget(_Target):
    type: Literal["tls"] = "tls"
    host: Text = Field(min_length=1, max_length=253)
    port: int = Field(default=443, ge=1, le=65535)
    sni: Text | None = Field(default=None, max_length=253)

    _host = field_validator("host")(_probe_host)

    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class SshTarget(_Target):
    type: Literal["ssh"] = "ssh"
    host: Text = Field(min_length=1, max_length=253)
    port: int = Field(default=22, ge=1, le=65535)

    _host = field_validator("host")(_probe_host)

    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class CbomTarget(_Target):
    """A CycloneDX 1.6 CBOM: inline (``document``) or uploaded earlier (``artifact_id``)."""

    type: Literal["cbom"] = "cbom"
    name: Text | None = Field(default=None, max_length=255)
    document: dict[str, Any] | None = None
    artifact_id: uuid.UUID | None = None

    def label(self) -> str:
        return self.name or "cbom"

    @model_validator(mode="after")
    def _one_source(self) -> CbomTarget:
        if (self.document is None) == (self.artifact_id is None):
            raise ValueError("give exactly one of 'document' and 'artifact_id'")
        if self.document is not None:
            # Checked here so that a bad inline document is refused at submission (400).
            check_document(self.document)
        return self


class CertificateTarget(_Target):
    """One certificate, a chain or a CA bundle, as PEM text or base64 DER.

    At most 1,000 certificates and 4 MiB (``qrap_core.discovery.certificate``, which checks
    them when the assessment is created and names the field).
    """

    type: Literal["certificate"] = "certificate"
    name: Text | None = Field(default=None, max_length=255)
    pem: Text | None = None
    der_base64: Text | None = None

    def label(self) -> str:
        return self.name or "certificate"


class InventoryItem(_Target):
    asset: Text = Field(min_length=1, max_length=255)
    algorithm: Text = Field(min_length=1, max_length=255)
    usage: Text | None = Field(default=None, max_length=64)
    key_size: int | None = Field(default=None, ge=1, le=65536)
    protocol: Text | None = Field(default=None, max_length=32)  # crypto_assets.protocol
    urgency: Text | None = Field(default=None, max_length=16)
    notes: Text | None = Field(default=None, max_length=2000)


class InventoryTarget(_Target):
    type: Literal["inventory"] = "inventory"
    name: Text | None = Field(default=None, max_length=255)
    assets: list[InventoryItem] = Field(min_length=1, max_length=10_000)

    def label(self) -> str:
        return self.name or "inventory"


Target = Annotated[
    TlsTarget | SshTarget | CertificateTarget | InventoryTarget | CbomTarget,
    Field(discriminator="type"),
]
TARGET_ADAPTER: TypeAdapter[Target] = TypeAdapter(Target)
TARGET_LIST_ADAPTER: TypeAdapter[list[Target]] = TypeAdapter(list[Target])


def parse_target_string(raw: str) -> TlsTarget | SshTarget:
    """Turn ``host[:port]``, ``[v6]:port``, ``https://host``, ``tls://host:port`` or
    ``ssh://host[:port]`` into a target.

    Raises InvalidTarget for anything else (including schemes we do not probe).
    """
    text = raw.strip()
    if not text:
        raise InvalidTarget("target is empty")
    if "://" in text:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise InvalidTarget(
                f"unsupported target scheme {scheme!r} in {raw!r}: use https://, tls:// or ssh://"
            )
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError as exc:
            raise InvalidTarget(f"invalid port in {raw!r}") from exc
        host = parts.hostname or ""
        if parts.username or parts.password:
            raise InvalidTarget(f"credentials are not allowed in target {raw!r}")
        if scheme == "ssh":
            if not is_host(host):
                raise InvalidTarget(f"{raw!r} does not name a host")
            _refuse_never_probed(host, raw)
            return SshTarget(host=host, port=port)
    else:
        host, port = _split_host_port(text, raw)
    if not is_host(host):
        raise InvalidTarget(f"{raw!r} is neither a host name, an IP address nor a URL")
    if not 1 <= port <= 65535:
        raise InvalidTarget(f"port out of range in {raw!r}")
    _refuse_never_probed(host, raw)
    return TlsTarget(host=host, port=port)


def _refuse_never_probed(host: str, raw: str) -> None:
    reason = never_probed(host)
    if reason is not None:
        raise InvalidTarget(f"{raw!r} ({reason}) is never probed")


def _split_host_port(text: str, raw: str) -> tuple[str, int]:
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise InvalidTarget(f"unterminated IPv6 literal in {raw!r}")
        if not rest:
            return host, 443
        if not rest.startswith(":"):
            raise InvalidTarget(f"{raw!r} is not host:port")
        return host, _port(rest[1:], raw)
    if text.count(":") > 1:  # a bare IPv6 address
        return text, 443
    host, sep, port_text = text.partition(":")
    return host, (_port(port_text, raw) if sep else 443)


def _port(text: str, raw: str) -> int:
    if not text.isdigit():
        raise InvalidTarget(f"invalid port in {raw!r}")
    return int(text)
