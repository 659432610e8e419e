"""Algorithm names as people write them, mapped onto one canonical catalog entry.

The catalog is data. Fixed entries (curves, EdDSA, PQC, hybrids, symmetric ciphers, hashes)
are registered under their canonical name with their aliases; RSA, DSA and finite-field DH
are parametric, their canonical name carrying the key size ("RSA-2048"). Lookups normalise
case and separators, so "ML-KEM-768", "ml_kem_768" and "MLKEM768" meet on one key. A name
that is not in the catalog comes back ``known=False``: we never guess.

Growing the catalog means adding rows below; registering an alias that already points at
another entry fails at import, so two spellings can never silently disagree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import date

from qrap_core.enums import Usage

# NIST IR 8547 (ipd): quantum-vulnerable public-key algorithms at 112 bits are deprecated
# after 2030; all of them are disallowed after 2035.
IR8547_DEPRECATED_AFTER = date(2030, 12, 31)
IR8547_DISALLOWED_AFTER = date(2035, 12, 31)


@dataclass(frozen=True, slots=True)
class AlgorithmInfo:
    """What QRAP knows about one algorithm name.

    ``pqc`` means purely post-quantum (ML-KEM, ML-DSA, ...); ``hybrid`` means a classical and a
    post-quantum component combined (X25519MLKEM768). ``classical_bits`` is the SP 800-57
    classical security strength. ``deprecated`` marks designs to move away from regardless of
    quantum risk (DES, RC4, MD5, SHA-1, pre-standard Kyber drafts).
    """

    canonical: str
    family: str | None
    key_size: int | None
    usage: Usage
    quantum_vulnerable: bool
    pqc: bool
    hybrid: bool
    classical_bits: int | None
    known: bool
    deprecated: bool = False

    @property
    def post_quantum(self) -> bool:
        """True when the algorithm resists a CRQC (pure PQC or a PQ hybrid)."""
        return self.pqc or self.hybrid


_SEPARATORS = re.compile(r"[\s_\-/()+,]")
# Vendor namespaces on SSH algorithm names add nothing to what the algorithm is.
_VENDOR_SUFFIXES = ("@openssh.com", "@libssh.org")


def normalise(text: str) -> str:
    """The lookup key of a spelling: lower case without separators."""
    return _SEPARATORS.sub("", text.strip().lower())


_CATALOG: dict[str, AlgorithmInfo] = {}
_ALIASES: dict[str, str] = {}
# Family-level entries that a key size makes precise: "ECDSA" + 256 -> "ECDSA-P256".
_SIZED: dict[str, dict[int, str]] = {}


def _register(info: AlgorithmInfo, *aliases: str) -> None:
    """Add an entry and its spellings; refuse (changing nothing) any spelling already taken."""
    if info.canonical in _CATALOG:
        raise ValueError(f"duplicate catalog entry {info.canonical!r}")
    keys = {normalise(spelling): spelling for spelling in (info.canonical, *aliases)}
    for key, spelling in keys.items():
        owner = _ALIASES.get(key)
        if owner is not None:
            raise ValueError(f"alias {spelling!r} of {info.canonical!r} already names {owner!r}")
    _CATALOG[info.canonical] = info
    _ALIASES.update(dict.fromkeys(keys, info.canonical))


def _entry(
    canonical: str,
    family: str,
    usage: Usage,
    *,
    key_size: int | None = None,
    bits: int | None = None,
    quantum_vulnerable: bool = False,
    pqc: bool = False,
    hybrid: bool = False,
    deprecated: bool = False,
) -> AlgorithmInfo:
    return AlgorithmInfo(
        canonical=canonical,
        family=family,
        key_size=key_size,
        usage=usage,
        quantum_vulnerable=quantum_vulnerable,
        pqc=pqc,
        hybrid=hybrid,
        classical_bits=bits,
        known=True,
        deprecated=deprecated,
    )


# --- classical security strength (SP 800-57 Part 1 Rev. 5, Table 2) -------------------------

_FINITE_FIELD_BITS = ((15360, 256), (7680, 192), (3072, 128), (2048, 112), (1024, 80))
_EC_BITS = ((512, 256), (384, 192), (256, 128), (224, 112), (160, 80))


def finite_field_bits(modulus_bits: int) -> int:
    """Classical strength of RSA, DSA or DH with this modulus size."""
    for threshold, bits in _FINITE_FIELD_BITS:
        if modulus_bits >= threshold:
            return bits
    # Below SP 800-57's table: the number field sieve estimate of the FIPS 140 implementation
    # guidance, rather than a made-up step.
    n_ln2 = modulus_bits * math.log(2)
    work = 1.923 * math.cbrt(n_ln2 * math.log(n_ln2) ** 2) - 4.69
    return max(0, math.floor(work / math.log(2)))


def ec_bits(field_bits: int) -> int:
    """Classical strength of an elliptic curve over a field of this size."""
    for threshold, bits in _EC_BITS:
        if field_bits >= threshold:
            return bits
    return field_bits // 2  # Pollard rho, for curves too small for the table


# --- elliptic curves: one row gives the bare curve, its ECDSA and its ECDH entries ----------


@dataclass(frozen=True, slots=True)
class _Curve:
    canonical: str
    suffix: str
    size: int
    aliases: tuple[str, ...]
    oid: str
    ssh: str | None = None
    tls_codepoint: str | None = None


_CURVES = (
    _Curve("P-192", "P192", 192, ("secp192r1", "prime192v1"), "1.2.840.10045.3.1.1", "nistp192"),
    _Curve("P-224", "P224", 224, ("secp224r1",), "1.3.132.0.33", "nistp224", "0x0015"),
    _Curve(
        "P-256",
        "P256",
        256,
        ("secp256r1", "prime256v1"),
        "1.2.840.10045.3.1.7",
        "nistp256",
        "0x0017",
    ),
    _Curve("P-384", "P384", 384, ("secp384r1",), "1.3.132.0.34", "nistp384", "0x0018"),
    _Curve("P-521", "P521", 521, ("secp521r1",), "1.3.132.0.35", "nistp521", "0x0019"),
    _Curve("secp256k1", "secp256k1", 256, (), "1.3.132.0.10"),
    _Curve("brainpoolP256r1", "brainpoolP256r1", 256, (), "1.3.36.3.3.2.8.1.1.7", None, "0x001a"),
    _Curve("brainpoolP384r1", "brainpoolP384r1", 384, (), "1.3.36.3.3.2.8.1.1.11", None, "0x001b"),
    _Curve("brainpoolP512r1", "brainpoolP512r1", 512, (), "1.3.36.3.3.2.8.1.1.13", None, "0x001c"),
)


def _register_curves() -> None:
    ecdsa_sizes: dict[int, str] = {}
    ecdh_sizes: dict[int, str] = {}
    bare_sizes: dict[int, str] = {}
    for curve in _CURVES:
        names = (curve.canonical, curve.suffix, *curve.aliases)
        ssh_names = (curve.ssh,) if curve.ssh else ()
        codepoints = (curve.tls_codepoint,) if curve.tls_codepoint else ()
        ecdsa, ecdh = f"ECDSA-{curve.suffix}", f"ECDH-{curve.suffix}"
        # A bare curve says nothing about its use: the caller's usage decides.
        for canonical, family, usage, aliases in (
            (curve.canonical, "EC", Usage.UNKNOWN, (*names[1:], *ssh_names, curve.oid)),
            (
                ecdsa,
                "EC",
                Usage.SIGNATURE,
                (*(f"ecdsa{n}" for n in names), *(f"ecdsa-sha2-{n}" for n in ssh_names)),
            ),
            (
                ecdh,
                "ECDH",
                Usage.KEY_ESTABLISHMENT,
                (
                    *(f"{prefix}{n}" for prefix in ("ecdh", "ecdhe") for n in names),
                    *(f"ecdh-sha2-{n}" for n in ssh_names),
                    *codepoints,
                ),
            ),
        ):
            _register(
                _entry(
                    canonical,
                    family,
                    usage,
                    key_size=curve.size,
                    bits=ec_bits(curve.size),
                    quantum_vulnerable=True,
                ),
                *aliases,
            )
        # The first curve of a size is the one a bare size means (NIST before Brainpool).
        ecdsa_sizes.setdefault(curve.size, ecdsa)
        ecdh_sizes.setdefault(curve.size, ecdh)
        bare_sizes.setdefault(curve.size, curve.canonical)
    _SIZED["ECDSA"] = ecdsa_sizes
    _SIZED["ECDH"] = ecdh_sizes
    _SIZED["EC"] = bare_sizes


def _register_public_key() -> None:
    sig, kex = Usage.SIGNATURE, Usage.KEY_ESTABLISHMENT
    _register(_entry("ECDSA", "EC", sig, quantum_vulnerable=True))
    _register(_entry("ECDH", "ECDH", kex, quantum_vulnerable=True), "ECDHE", "EECDH")
    _register(
        _entry("EC", "EC", Usage.UNKNOWN, quantum_vulnerable=True),
        "ECC",
        "id-ecPublicKey",
        "1.2.840.10045.2.1",
    )
    _register(_entry("EdDSA", "EdDSA", sig, quantum_vulnerable=True))
    _SIZED["EdDSA"] = {255: "Ed25519", 256: "Ed25519", 448: "Ed448", 456: "Ed448"}
    _register(
        _entry("Ed25519", "EdDSA", sig, key_size=256, bits=128, quantum_vulnerable=True),
        "ssh-ed25519",
        "id-Ed25519",
        "1.3.101.112",
    )
    _register(
        _entry("Ed448", "EdDSA", sig, key_size=448, bits=224, quantum_vulnerable=True),
        "ssh-ed448",
        "id-Ed448",
        "1.3.101.113",
    )
    _register(
        _entry("X25519", "ECDH", kex, key_size=256, bits=128, quantum_vulnerable=True),
        "curve25519",
        "curve25519-sha256",
        "ecdh-x25519",
        "id-X25519",
        "1.3.101.110",
        "0x001d",
    )
    _register(
        _entry("X448", "ECDH", kex, key_size=448, bits=224, quantum_vulnerable=True),
        "curve448",
        "curve448-sha512",
        "ecdh-x448",
        "id-X448",
        "1.3.101.111",
        "0x001e",
    )


# --- post-quantum and hybrid ------------------------------------------------------------------

_LEVEL_BITS = {1: 128, 3: 192, 5: 256}


def _register_pqc() -> None:
    kem = Usage.KEY_ESTABLISHMENT
    sig = Usage.SIGNATURE
    _register(_entry("ML-KEM", "ML-KEM", kem, pqc=True))
    kem_sets = ((512, 1, 1, "0x0200"), (768, 3, 2, "0x0201"), (1024, 5, 3, "0x0202"))
    for param, level, oid_arc, codepoint in kem_sets:
        _register(
            _entry(f"ML-KEM-{param}", "ML-KEM", kem, bits=_LEVEL_BITS[level], pqc=True),
            f"id-alg-ml-kem-{param}",
            f"2.16.840.1.101.3.4.4.{oid_arc}",
            codepoint,
        )
    _register(_entry("ML-DSA", "ML-DSA", sig, pqc=True))
    for param, level, oid_arc in ((44, 1, 17), (65, 3, 18), (87, 5, 19)):
        _register(
            _entry(f"ML-DSA-{param}", "ML-DSA", sig, bits=_LEVEL_BITS[level], pqc=True),
            f"id-ml-dsa-{param}",
            f"2.16.840.1.101.3.4.3.{oid_arc}",
        )
    _register(_entry("SLH-DSA", "SLH-DSA", sig, pqc=True), "SPHINCS+")
    oid_arc = 20  # FIPS 205 OIDs run SHA2-128s, -128f, ... SHAKE-256f from arc 20
    for hash_name in ("SHA2", "SHAKE"):
        for level, strength in ((1, 128), (3, 192), (5, 256)):
            for variant in ("s", "f"):
                name = f"SLH-DSA-{hash_name}-{strength}{variant}"
                _register(
                    _entry(name, "SLH-DSA", sig, bits=_LEVEL_BITS[level], pqc=True),
                    f"id-slh-dsa-{hash_name}-{strength}{variant}",
                    f"2.16.840.1.101.3.4.3.{oid_arc}",
                )
                oid_arc += 1
    # Stateful hash-based signatures (SP 800-208): CNSA 2.0's choice for firmware signing.
    _register(_entry("LMS", "LMS", sig, pqc=True), "HSS", "HSS-LMS", "1.2.840.113549.1.9.16.3.17")
    _register(_entry("XMSS", "XMSS", sig, pqc=True))
    _register(_entry("XMSS^MT", "XMSS", sig, pqc=True), "XMSSMT")
    # FN-DSA (Falcon) is still a draft standard (FIPS 206 ipd): known, post-quantum.
    for param, level in ((512, 1), (1024, 5)):
        _register(
            _entry(f"FN-DSA-{param}", "FN-DSA", sig, bits=_LEVEL_BITS[level], pqc=True),
            f"Falcon-{param}",
        )
    # Round-3 submissions that FIPS 203/204 replaced: still post-quantum, but obsolete.
    for param, level in ((512, 1), (768, 3), (1024, 5)):
        _register(
            _entry(
                f"Kyber{param}", "Kyber", kem, bits=_LEVEL_BITS[level], pqc=True, deprecated=True
            ),
            f"Kyber-{param}",
        )
    for param, level in ((2, 1), (3, 3), (5, 5)):
        _register(
            _entry(
                f"Dilithium{param}",
                "Dilithium",
                sig,
                bits=_LEVEL_BITS[level],
                pqc=True,
                deprecated=True,
            ),
        )


def _register_hybrids() -> None:
    kem = Usage.KEY_ESTABLISHMENT

    def hybrid(canonical: str, bits: int, *aliases: str, deprecated: bool = False) -> None:
        # classical_bits of a hybrid: the stronger component, since breaking it needs both.
        _register(
            _entry(canonical, "hybrid", kem, bits=bits, hybrid=True, deprecated=deprecated),
            *aliases,
        )

    # TLS named groups (IANA TLS Supported Groups), by name and codepoint.
    hybrid("X25519MLKEM768", 192, "X25519+ML-KEM-768", "MLKEM768X25519", "0x11ec")
    hybrid("SecP256r1MLKEM768", 192, "P256MLKEM768", "P-256+ML-KEM-768", "0x11eb")
    hybrid("SecP384r1MLKEM1024", 256, "P384MLKEM1024", "P-384+ML-KEM-1024", "0x11ed")
    hybrid("curveSM2MLKEM768", 192, "0x11ee")
    hybrid("X25519Kyber768Draft00", 192, "X25519Kyber768", "0x6399", deprecated=True)
    # SSH key exchange names.
    hybrid("mlkem768x25519-sha256", 192)
    hybrid("mlkem768nistp256-sha256", 192)
    hybrid("mlkem1024nistp384-sha384", 256)
    # sntrup761's own strength is not in SP 800-57: count the X25519 part only.
    hybrid("sntrup761x25519-sha512", 128, "sntrup761x25519-sha512@openssh.com")


# --- symmetric ciphers and hashes ------------------------------------------------------------

_AES_OIDS = {
    (128, "CBC"): "2.16.840.1.101.3.4.1.2",
    (128, "GCM"): "2.16.840.1.101.3.4.1.6",
    (192, "CBC"): "2.16.840.1.101.3.4.1.22",
    (192, "GCM"): "2.16.840.1.101.3.4.1.26",
    (256, "CBC"): "2.16.840.1.101.3.4.1.42",
    (256, "GCM"): "2.16.840.1.101.3.4.1.46",
}
_AES_MODES = ("GCM", "CBC", "CTR", "CCM", "ECB", "CFB", "OFB", "GCM-SIV", "KW", "OCB")


def _register_symmetric() -> None:
    enc = Usage.ENCRYPTION
    _register(_entry("AES", "AES", enc), "Rijndael")
    _SIZED["AES"] = {128: "AES-128", 192: "AES-192", 256: "AES-256"}
    for size in (128, 192, 256):
        _register(_entry(f"AES-{size}", "AES", enc, key_size=size, bits=size))
        for mode in _AES_MODES:
            oid = _AES_OIDS.get((size, mode))
            _register(
                _entry(f"AES-{size}-{mode}", "AES", enc, key_size=size, bits=size),
                f"id-aes{size}-{mode}",
                *((oid,) if oid else ()),
            )
    _register(_entry("ChaCha20-Poly1305", "ChaCha20", enc, key_size=256, bits=256), "ChaChaPoly")
    _register(_entry("ChaCha20", "ChaCha20", enc, key_size=256, bits=256))
    # SP 800-131A Rev. 2: three-key TDEA gives 112 bits and is disallowed for encryption after 2023.
    _register(
        _entry("3DES", "3DES", enc, key_size=168, bits=112, deprecated=True),
        "DES-EDE3",
        "DES-EDE3-CBC",
        "3DES-CBC",
        "3DES-EDE-CBC",
        "DESede",
        "TDEA",
        "3TDEA",
        "TDES",
        "Triple-DES",
        "1.2.840.113549.3.7",
    )
    _register(
        _entry("DES", "DES", enc, key_size=56, bits=56, deprecated=True),
        "DES-CBC",
        "DES56",
        "1.3.14.3.2.7",
    )
    # RC4's keystream biases break it whatever the key length: no meaningful strength.
    _register(
        _entry("RC4", "RC4", enc, deprecated=True), "ARCFOUR", "ARC4", "arcfour128", "arcfour256"
    )
    _register(_entry("RC2", "RC2", enc, deprecated=True), "RC2-CBC", "1.2.840.113549.3.2")


def _register_hashes() -> None:
    digest = Usage.HASH
    # Strength is collision resistance. SHA-1: best collision attack about 2^61 (Leurent and
    # Peyrin, 2020); MD5: collisions in seconds (about 2^18).
    _register(_entry("MD5", "MD5", digest, bits=18, deprecated=True), "1.2.840.113549.2.5")
    _register(_entry("MD4", "MD4", digest, deprecated=True), "1.2.840.113549.2.4")
    _register(_entry("SHA-1", "SHA-1", digest, bits=61, deprecated=True), "SHA1", "1.3.14.3.2.26")
    for size, arc in ((224, 4), (256, 1), (384, 2), (512, 3)):
        _register(
            _entry(f"SHA-{size}", "SHA-2", digest, bits=size // 2),
            f"2.16.840.1.101.3.4.2.{arc}",
        )
    _register(_entry("SHA-512/256", "SHA-2", digest, bits=128), "2.16.840.1.101.3.4.2.6")
    for size, arc in ((224, 7), (256, 8), (384, 9), (512, 10)):
        _register(
            _entry(f"SHA3-{size}", "SHA-3", digest, bits=size // 2),
            f"2.16.840.1.101.3.4.2.{arc}",
        )
    _register(_entry("SHAKE128", "SHA-3", digest, bits=128), "2.16.840.1.101.3.4.2.11")
    _register(_entry("SHAKE256", "SHA-3", digest, bits=256), "2.16.840.1.101.3.4.2.12")


# --- parametric finite-field families: RSA, DSA, DH -----------------------------------------

_FF_DEFAULT_USAGE = {"RSA": Usage.UNKNOWN, "DSA": Usage.SIGNATURE, "DH": Usage.KEY_ESTABLISHMENT}
_FF_PREFIXES = {
    "rsa": "RSA",
    "rsaencryption": "RSA",
    "dsa": "DSA",
    "dh": "DH",
    "dhe": "DH",
    "ffdh": "DH",
    "diffiehellman": "DH",
    "modp": "DH",
}
# Other family-level names that a size makes precise (see _SIZED).
_SIZED_PREFIXES = {
    "ecdsa": "ECDSA",
    "ecdh": "ECDH",
    "ecdhe": "ECDH",
    "ec": "EC",
    "eddsa": "EdDSA",
    "aes": "AES",
}
_FF_MIN, _FF_MAX = 256, 65536


@dataclass(frozen=True, slots=True)
class _Named:
    family: str
    size: int | None
    usage: Usage | None = None


def _named_finite_field() -> dict[str, _Named]:
    sig = Usage.SIGNATURE
    kex = Usage.KEY_ESTABLISHMENT
    named: dict[str, _Named] = {}
    # RFC 7919 TLS groups and their codepoints.
    ffdhe = (
        (2048, "0x0100"),
        (3072, "0x0101"),
        (4096, "0x0102"),
        (6144, "0x0103"),
        (8192, "0x0104"),
    )
    for size, codepoint in ffdhe:
        named[f"ffdhe{size}"] = named[codepoint] = _Named("DH", size)
    # SSH groups: group1 is Oakley group 2 (1024 bits), group14..18 are RFC 3526 MODP groups.
    ssh_groups = (
        (1, 1024, ("sha1",)),
        (14, 2048, ("sha1", "sha256")),
        (15, 3072, ("sha512",)),
        (16, 4096, ("sha512",)),
        (17, 6144, ("sha512",)),
        (18, 8192, ("sha512",)),
    )
    for group, size, hashes in ssh_groups:
        for hash_name in hashes:
            named[f"diffie-hellman-group{group}-{hash_name}"] = _Named("DH", size)
    for hash_name in ("sha1", "sha256"):
        named[f"diffie-hellman-group-exchange-{hash_name}"] = _Named("DH", None)
    named["dhpublicnumber"] = named["1.2.840.10046.2.1"] = _Named("DH", None)
    named["ssh-dss"] = _Named("DSA", 1024)  # the SSH DSA host key format is fixed at 1024 bits
    named["1.2.840.10040.4.1"] = _Named("DSA", None)
    named["1.2.840.113549.1.1.1"] = _Named("RSA", None)
    for name in ("ssh-rsa", "rsa-sha2-256", "rsa-sha2-512", "rsassa-pss", "rsa-pss"):
        named[name] = _Named("RSA", None, sig)
    named["1.2.840.113549.1.1.10"] = _Named("RSA", None, sig)
    for name in ("rsaes-oaep", "rsa-oaep", "rsa-kem", "1.2.840.113549.1.1.7"):
        named[name] = _Named("RSA", None, kex)
    return {normalise(name): value for name, value in named.items()}


_register_curves()
_register_public_key()
_register_pqc()
_register_hybrids()
_register_symmetric()
_register_hashes()
_NAMED_FF = _named_finite_field()

_PREFIX_SIZE = re.compile(r"^(?P<prefix>[a-z]+)(?P<size>\d{3,5})(?:bits?)?$")
_SIZE_PREFIX = re.compile(r"^(?P<size>\d{3,5})(?:bits?)?(?P<prefix>[a-z]+)$")


def parse_algorithm(text: str, key_size: int | None = None) -> AlgorithmInfo:
    """Map a spelling ("RSA 2048", "prime256v1", "MLKEM768", an OID) onto the catalog.

    ``key_size`` (bits) completes names that carry none ("RSA" + 2048 -> "RSA-2048",
    "ECDSA" + 384 -> "ECDSA-P384"); a size written in the name wins over it. Unknown names
    return ``known=False`` with ``canonical`` set to the stripped input.
    """
    raw = text.strip()
    key = normalise(raw)
    if not key:
        return _unknown(raw, key_size)
    found = _lookup(key, key_size)
    if found is None:
        for suffix in _VENDOR_SUFFIXES:
            if key.endswith(suffix):
                found = _lookup(key.removesuffix(suffix), key_size)
                break
    return found if found is not None else _unknown(raw, key_size)


def catalog() -> dict[str, AlgorithmInfo]:
    """Every fixed catalog entry by canonical name (parametric RSA/DSA/DH sizes excluded)."""
    return dict(_CATALOG)


def ir8547_deadline(info: AlgorithmInfo) -> date | None:
    """Last day NIST IR 8547 (ipd) allows this algorithm; None when it is not quantum-vulnerable.

    128-bit and stronger algorithms may be used until the end of 2035; 112-bit ones are
    deprecated after 2030. An unknown strength gets the earlier, conservative date.
    """
    if not info.quantum_vulnerable:
        return None
    if info.classical_bits is not None and info.classical_bits >= 128:
        return IR8547_DISALLOWED_AFTER
    return IR8547_DEPRECATED_AFTER


def _lookup(key: str, key_size: int | None) -> AlgorithmInfo | None:
    canonical = _ALIASES.get(key)
    if canonical is not None:
        return _with_size(_CATALOG[canonical], key_size)
    named = _NAMED_FF.get(key)
    if named is not None:
        if named.size is not None:
            return _finite_field(named.family, named.size, named.usage)
        return _finite_field_given(named.family, key_size, named.usage)
    if key in _FF_PREFIXES:
        return _finite_field_given(_FF_PREFIXES[key], key_size, None)
    match = _PREFIX_SIZE.match(key) or _SIZE_PREFIX.match(key)
    if match is None:
        return None
    prefix, size = match["prefix"], int(match["size"])
    if prefix in _FF_PREFIXES:
        # A size outside any real modulus ("RSA-12") does not name RSA: unknown.
        return _finite_field(_FF_PREFIXES[prefix], size, None) if _plausible_modulus(size) else None
    if prefix in _SIZED_PREFIXES:
        # "ECDSA-384" names a curve only when the size is one we list: never guess a curve.
        precise = _SIZED[_SIZED_PREFIXES[prefix]].get(size)
        return _CATALOG[precise] if precise is not None else None
    return None


def _with_size(entry: AlgorithmInfo, key_size: int | None) -> AlgorithmInfo:
    if key_size is None or entry.key_size is not None:
        return entry
    precise = _SIZED.get(entry.canonical, {}).get(key_size)
    if precise is not None:
        return _CATALOG[precise]
    if entry.family in ("EC", "ECDH"):
        # A curve we do not list: its strength still follows from its size (SP 800-57).
        return replace(entry, key_size=key_size, classical_bits=ec_bits(key_size))
    return replace(entry, key_size=key_size)


def _finite_field_given(family: str, key_size: int | None, usage: Usage | None) -> AlgorithmInfo:
    """The family was named without a size: the caller's size completes it when plausible."""
    if key_size is not None and _plausible_modulus(key_size):
        return _finite_field(family, key_size, usage)
    return replace(_finite_field(family, None, usage), key_size=key_size)


def _plausible_modulus(size: int) -> bool:
    return _FF_MIN <= size <= _FF_MAX


def _finite_field(family: str, size: int | None, usage: Usage | None) -> AlgorithmInfo:
    return AlgorithmInfo(
        canonical=f"{family}-{size}" if size else family,
        family=family,
        key_size=size,
        usage=usage or _FF_DEFAULT_USAGE[family],
        quantum_vulnerable=True,
        pqc=False,
        hybrid=False,
        classical_bits=finite_field_bits(size) if size else None,
        known=True,
    )


def _unknown(raw: str, key_size: int | None) -> AlgorithmInfo:
    return AlgorithmInfo(
        canonical=raw,
        family=None,
        key_size=key_size,
        usage=Usage.UNKNOWN,
        quantum_vulnerable=False,
        pqc=False,
        hybrid=False,
        classical_bits=None,
        known=False,
    )
