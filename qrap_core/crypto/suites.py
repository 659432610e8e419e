"""TLS cipher suites as catalog components: key exchange, authentication, cipher, MAC.

A cipher suite is not one algorithm: the parser reads an IANA name
("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") or an OpenSSL one ("ECDHE-RSA-AES128-GCM-SHA256")
into its parts, and ``suite_components`` maps each part onto a catalog entry, the way a
CycloneDX CBOM lists a suite's ``algorithms``. A name whose bulk cipher we cannot read gives
``cipher == "?"`` and no components: never a guess.

The parsed suite also says what is wrong with it (``weaknesses``, ``cipher_flaw``): probes,
rules and the planner read that here rather than keeping lists of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from qrap_core.crypto.names import AlgorithmInfo, parse_algorithm


@dataclass(frozen=True, slots=True)
class CipherFlaw:
    """What is wrong with a suite's bulk cipher."""

    label: str  # as probes list it among a suite's weaknesses
    broken: bool  # no confidentiality at all; otherwise weak (keystream biases, 64-bit blocks)
    reason: str


# Keyed by the parser's cipher token, which is also the catalog family of these ciphers.
CIPHER_FLAWS: dict[str, CipherFlaw] = {
    "NULL": CipherFlaw("null-cipher", True, "no encryption (NULL cipher)"),
    "DES": CipherFlaw("des", True, "single DES (56-bit key)"),
    "RC4": CipherFlaw("rc4", False, "RC4 keystream biases (prohibited by RFC 7465)"),
    "3DES": CipherFlaw("3des", False, "3DES 64-bit block (Sweet32)"),
    "IDEA": CipherFlaw("64-bit-block", False, "IDEA 64-bit block (Sweet32)"),
    "RC2": CipherFlaw("64-bit-block", False, "RC2"),
}
# Authenticated ephemeral key exchanges (anonymous (EC)DH is ephemeral too, but unsigned).
_EPHEMERAL = frozenset({"ECDHE", "DHE", "ECDHEPSK", "DHEPSK"})
_AEAD_MODES = frozenset({"GCM", "CCM", "POLY1305"})
# Bulk-cipher bits as OpenSSL reports them: 3DES gives 112 bits of strength, NULL none.
_EFFECTIVE_BITS = {"NULL": 0, "3DES": 112}


@dataclass(frozen=True, slots=True)
class SuiteProfile:
    """What a cipher suite name says: key exchange, bulk cipher, mode and MAC."""

    name: str
    tls13: bool
    key_exchange: str | None  # ECDHE, DHE, RSA, ECDH, DH, PSK, SRP; None in TLS 1.3
    cipher: str  # AES, CHACHA20, CAMELLIA, ARIA, SEED, SM4, 3DES, DES, RC4, RC2, IDEA, NULL, ?
    mode: str | None  # GCM, CCM, POLY1305, CBC, STREAM
    mac: str | None  # SHA1, SHA256, SHA384, MD5, AEAD
    export: bool
    anonymous: bool
    authentication: str | None = None  # RSA, ECDSA, DSS, PSK; None for anonymous and TLS 1.3
    cipher_bits: int | None = None  # key size of the bulk cipher when the name says it

    @property
    def ephemeral(self) -> bool:
        """A signed ephemeral (EC)DHE key exchange, PSK-authenticated ones included."""
        return self.key_exchange in _EPHEMERAL

    @property
    def forward_secrecy(self) -> bool | None:
        if self.tls13:
            return True
        if self.key_exchange is None:
            return None
        return self.ephemeral or (self.anonymous and self.key_exchange in ("DH", "ECDH"))

    @property
    def aead(self) -> bool:
        return self.tls13 or self.mode in _AEAD_MODES

    @property
    def cipher_flaw(self) -> CipherFlaw | None:
        return CIPHER_FLAWS.get(self.cipher)

    @property
    def weak(self) -> bool:
        """A flawed cipher, EXPORT grade or no authentication: the suite should go."""
        return self.cipher_flaw is not None or self.export or self.anonymous

    @property
    def weaknesses(self) -> tuple[str, ...]:
        """What probes report, most serious first: "null-cipher", "export", "anonymous",
        the cipher's flaw ("rc4", "3des", "des", "64-bit-block"), "cbc-sha1", "md5-mac"."""
        flaw = self.cipher_flaw
        found = ["null-cipher"] if self.cipher == "NULL" else []
        found += ["export"] if self.export else []
        found += ["anonymous"] if self.anonymous else []
        found += [flaw.label] if flaw is not None and self.cipher != "NULL" else []
        found += ["cbc-sha1"] if self.mode == "CBC" and self.mac == "SHA1" else []
        found += ["md5-mac"] if self.mac == "MD5" else []
        return tuple(found)

    @property
    def effective_bits(self) -> int | None:
        """The bulk cipher's key bits as OpenSSL counts them (EXPORT 40, 3DES 112, NULL 0)."""
        if self.export:
            return 40
        return _EFFECTIVE_BITS.get(self.cipher, self.cipher_bits)


_OPENSSL_KEX = {
    "ECDHE": "ECDHE",
    "EECDH": "ECDHE",
    "DHE": "DHE",
    "EDH": "DHE",
    "ECDH": "ECDH",
    "DH": "DH",
    "PSK": "PSK",
    "RSAPSK": "RSAPSK",
    "DHEPSK": "DHEPSK",
    "ECDHEPSK": "ECDHEPSK",
    "SRP": "SRP",
    "ADH": "DH",
    "AECDH": "ECDH",
}
_AEAD_TOKENS = {"GCM": "GCM", "CCM": "CCM", "CCM8": "CCM", "POLY1305": "POLY1305"}
_MACS = {"SHA": "SHA1", "SHA1": "SHA1", "SHA256": "SHA256", "SHA384": "SHA384", "MD5": "MD5"}


def parse_cipher_suite(name: str) -> SuiteProfile:
    """Read an IANA ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") or OpenSSL name."""
    upper = name.strip().upper()
    if upper.startswith(("TLS_", "SSL_")):
        return _parse_iana(name, upper[4:])
    return _parse_openssl(name, upper)


def _parse_iana(name: str, body: str) -> SuiteProfile:
    if "_WITH_" not in body:  # TLS 1.3: TLS_AES_128_GCM_SHA256
        tokens = body.split("_")
        cipher, mode = _cipher_and_mode(tokens)
        bits = _cipher_bits(cipher, tokens, False)
        return SuiteProfile(name, True, None, cipher, mode, "AEAD", False, False, None, bits)
    kex_part, rest = body.split("_WITH_", 1)
    kex_tokens = kex_part.split("_")
    tokens = rest.split("_")
    export = any(t.startswith("EXPORT") for t in kex_tokens) or "DES40" in tokens
    anonymous = "ANON" in kex_tokens
    kex = kex_tokens[0]
    if kex in ("ECDHE", "DHE", "RSA") and len(kex_tokens) > 1 and kex_tokens[1] == "PSK":
        kex = f"{kex}PSK"
    elif kex == "PSK" and kex_tokens[1:] == ["DHE"]:
        kex = "DHEPSK"  # RFC 6655 spells DHE_PSK "PSK_DHE" in its CCM_8 suites
    auth = _iana_authentication(kex_tokens, anonymous)
    cipher, mode = _cipher_and_mode(tokens)
    return SuiteProfile(
        name,
        False,
        kex,
        cipher,
        mode,
        _mac(tokens, mode),
        export,
        anonymous,
        auth,
        _cipher_bits(cipher, tokens, export),
    )


def _parse_openssl(name: str, upper: str) -> SuiteProfile:
    tokens = upper.split("-")
    export = False
    anonymous = False
    if tokens and tokens[0] in ("EXP", "EXP1024", "EXPORT"):
        export = True
        tokens = tokens[1:]
    kex = "RSA"  # OpenSSL leaves static RSA key transport unnamed ("AES128-SHA")
    auth: str | None = "RSA"
    if tokens and tokens[0] in _OPENSSL_KEX:
        anonymous = tokens[0] in ("ADH", "AECDH")
        kex = _OPENSSL_KEX[tokens[0]]
        tokens = tokens[1:]
        # ECDHE and DHE sign with RSA unless the name says otherwise ("DHE-AES128-SHA" is not
        # a valid spelling, but "EDH-RSA-DES-CBC3-SHA" and "ECDHE-ECDSA-..." are).
        auth = None if anonymous else "RSA"
        # The authentication algorithm follows the key exchange ("ECDHE-RSA-...").
        if tokens and tokens[0] in ("RSA", "ECDSA", "DSS", "PSK") and len(tokens) > 1:
            if tokens[0] == "PSK":
                kex = f"{kex}PSK"
            auth = tokens[0]
            tokens = tokens[1:]
        if kex in ("PSK", "SRP"):
            auth = None
    elif tokens and tokens[0] == "PSK":
        kex, tokens, auth = "PSK", tokens[1:], None
    cipher, mode = _cipher_and_mode(tokens)
    if cipher in ("AES", "CAMELLIA", "ARIA", "SEED", "IDEA", "3DES", "DES") and mode is None:
        mode = "CBC"  # OpenSSL names omit CBC: "AES128-SHA" is AES-128-CBC
    return SuiteProfile(
        name,
        False,
        kex,
        cipher,
        mode,
        _mac(tokens, mode),
        export,
        anonymous,
        auth,
        _cipher_bits(cipher, tokens, export),
    )


def _cipher_and_mode(tokens: list[str]) -> tuple[str, str | None]:
    cipher = "?"
    mode: str | None = None
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if cipher == "?":
            cipher = _cipher_word(token, following)
        if token in _AEAD_TOKENS:
            mode = _AEAD_TOKENS[token]
        elif token in ("CBC", "CBC3") and mode is None:
            mode = "CBC"
    if cipher == "RC4":
        mode = "STREAM"
    return cipher, mode


def _cipher_word(word: str, following: str) -> str:
    if word == "3DES" or (word == "DES" and following in ("CBC3", "EDE")):
        return "3DES"
    if word in ("DES", "DES40"):
        return "DES"
    for prefix in ("AES", "CAMELLIA", "ARIA", "CHACHA20", "RC4", "RC2", "IDEA", "SEED", "SM4"):
        if word.startswith(prefix):
            return prefix
    if word == "NULL":
        return "NULL"
    return "?"


def _iana_authentication(kex_tokens: list[str], anonymous: bool) -> str | None:
    """The signature algorithm of an IANA key exchange ("ECDHE_ECDSA" -> ECDSA)."""
    if anonymous:
        return None
    kex = kex_tokens[0]
    if kex == "RSA":
        return "RSA"  # static RSA: the certificate's key transports the premaster secret
    if kex in ("PSK", "SRP") or (len(kex_tokens) > 1 and kex_tokens[1] == "PSK"):
        return None
    for token in kex_tokens[1:]:
        if token in ("RSA", "ECDSA", "DSS"):
            return token
    return None


_FIXED_BITS = {"3DES": 168, "DES": 56, "CHACHA20": 256, "SEED": 128, "IDEA": 128, "SM4": 128}


def _cipher_bits(cipher: str, tokens: list[str], export: bool) -> int | None:
    """The bulk cipher's key size: "AES_128" / "AES128" / "RC4_128"; EXPORT means 40 bits."""
    if export:
        return 40
    if cipher in _FIXED_BITS:
        return _FIXED_BITS[cipher]
    for index, token in enumerate(tokens):
        digits = token.removeprefix(cipher) if token.startswith(cipher) else ""
        if digits.isdigit():
            return int(digits)
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token == cipher and following.isdigit():
            return int(following)
    return None


def _mac(tokens: list[str], mode: str | None) -> str | None:
    if mode in ("GCM", "CCM", "POLY1305"):
        return "AEAD"
    return _MACS.get(tokens[-1]) if tokens else None


@dataclass(frozen=True, slots=True)
class SuiteComponents:
    """The catalog entries a suite is made of (None where the suite has no such part)."""

    suite: SuiteProfile
    key_exchange: AlgorithmInfo | None
    authentication: AlgorithmInfo | None
    cipher: AlgorithmInfo | None
    mac: AlgorithmInfo | None

    def all(self) -> list[AlgorithmInfo]:
        """The known components in suite order."""
        parts = (self.key_exchange, self.authentication, self.cipher, self.mac)
        return [part for part in parts if part is not None]


# Static (EC)DH key exchange is still (EC)DH; PSK and SRP use no public-key key exchange.
_KEX_ENTRY = {
    "ECDHE": "ECDH",
    "ECDH": "ECDH",
    "DHE": "DH",
    "DH": "DH",
    "RSA": "RSA-OAEP",  # static RSA key transport: harvestable like any key exchange
    "DHEPSK": "DH",
    "ECDHEPSK": "ECDH",
    "RSAPSK": "RSA-OAEP",
}
_AUTH_ENTRY = {"RSA": "rsa-pss", "ECDSA": "ECDSA", "DSS": "DSA"}
_CIPHER_NAMES = {
    "AES": "AES",
    "CAMELLIA": "Camellia",
    "ARIA": "ARIA",
    "SEED": "SEED",
    "SM4": "SM4",
    "3DES": "3DES",
    "DES": "DES",
    "RC4": "RC4",
    "RC2": "RC2",
    "IDEA": "IDEA",
}
_MAC_ENTRY = {
    "SHA1": "HMAC-SHA1",
    "SHA256": "HMAC-SHA256",
    "SHA384": "HMAC-SHA384",
    "MD5": "HMAC-MD5",
}


def suite_components(name: str) -> SuiteComponents | None:
    """The catalog entries of a cipher suite, or None for a name we cannot read."""
    profile = parse_cipher_suite(name)
    if profile.cipher == "?":
        return None
    kex_name = _KEX_ENTRY.get(profile.key_exchange or "")
    auth_name = _AUTH_ENTRY.get(profile.authentication or "")
    mac_name = _MAC_ENTRY.get(profile.mac or "")
    return SuiteComponents(
        suite=profile,
        key_exchange=_known(kex_name),
        authentication=_known(auth_name),
        cipher=_cipher_entry(profile),
        mac=_known(mac_name),
    )


def _cipher_entry(profile: SuiteProfile) -> AlgorithmInfo | None:
    if profile.cipher == "CHACHA20":
        return parse_algorithm("ChaCha20-Poly1305")
    family = _CIPHER_NAMES.get(profile.cipher)
    if family is None:
        return None  # NULL encrypts nothing: no cipher component
    if family == "AES" and profile.cipher_bits in (128, 192, 256) and profile.mode:
        info = parse_algorithm(f"AES-{profile.cipher_bits}-{profile.mode}")
        if info.known:
            return info
    return _known(family, profile.cipher_bits if profile.cipher_bits != 40 else None)


def _known(name: str | None, key_size: int | None = None) -> AlgorithmInfo | None:
    if name is None:
        return None
    info = parse_algorithm(name, key_size)
    return info if info.known else None


def is_cipher_suite(name: str) -> bool:
    """True when ``name`` reads as a TLS cipher suite with a recognisable bulk cipher."""
    upper = name.strip().upper()
    looks_like = upper.startswith(("TLS_", "SSL_")) or "-" in upper
    return looks_like and parse_cipher_suite(name).cipher != "?"
