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
from functools import lru_cache

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
    # CycloneDX 1.6 primitive (signature, key-agree, kem, pke, combiner, ae, block-cipher,
    # stream-cipher, hash, xof, mac, unknown): what the algorithm does, whatever it is used for.
    primitive: str = "unknown"
    # NIST PQC security category 0-5: 0 for what Shor's algorithm breaks or what is already
    # classically broken; None when the catalog cannot say (unknown names, bare families).
    quantum_level: int | None = None
    # The parameter set a name fixes beyond the key size ("768", "SHA2-128s", "P-256").
    parameter_set: str | None = None

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
    primitive: str | None = None,
    level: int | None = None,
    parameter_set: str | None = None,
) -> AlgorithmInfo:
    if level is None and quantum_vulnerable:
        level = 0  # Shor's algorithm: no quantum security whatever the classical size
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
        primitive=primitive or _DEFAULT_PRIMITIVE[usage],
        quantum_level=level,
        parameter_set=parameter_set,
    )


_DEFAULT_PRIMITIVE = {
    Usage.SIGNATURE: "signature",
    Usage.KEY_ESTABLISHMENT: "key-agree",
    Usage.ENCRYPTION: "block-cipher",
    Usage.HASH: "hash",
    Usage.PROTOCOL: "other",
    Usage.UNKNOWN: "unknown",
}


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
    tls_codepoints: tuple[str, ...] = ()
    jose: str | None = None  # the JWA signature name (RFC 7518): ES256 is ECDSA on P-256
    # A bare size ("ECDSA" + 384) means this curve: only the NIST prime curves, which is what
    # every toolkit defaults to; a size never selects a Brainpool, Koblitz or binary curve.
    default_for_size: bool = False


_CURVES = (
    # NIST prime curves (FIPS 186-5 / SP 800-186), their SEC 2 and ANSI X9.62 names.
    _Curve(
        "P-192", "P192", 192, ("secp192r1", "prime192v1", "NIST P-192"),
        "1.2.840.10045.3.1.1", "nistp192", ("0x0013",), default_for_size=True,
    ),
    _Curve(
        "P-224", "P224", 224, ("secp224r1", "NIST P-224"), "1.3.132.0.33", "nistp224",
        ("0x0015",), default_for_size=True,
    ),
    _Curve(
        "P-256", "P256", 256, ("secp256r1", "prime256v1", "NIST P-256"),
        "1.2.840.10045.3.1.7", "nistp256", ("0x0017",), "ES256", default_for_size=True,
    ),
    _Curve(
        "P-384", "P384", 384, ("secp384r1", "NIST P-384"), "1.3.132.0.34", "nistp384",
        ("0x0018",), "ES384", default_for_size=True,
    ),
    _Curve(
        "P-521", "P521", 521, ("secp521r1", "NIST P-521"), "1.3.132.0.35", "nistp521",
        ("0x0019",), "ES512", default_for_size=True,
    ),
    # Other SEC 2 prime curves: Koblitz (k1) and the 160-bit ones TLS once listed.
    _Curve("secp160r1", "secp160r1", 160, (), "1.3.132.0.8", None, ("0x0010",)),
    _Curve("secp160k1", "secp160k1", 160, (), "1.3.132.0.9", None, ("0x000f",)),
    _Curve("secp192k1", "secp192k1", 192, (), "1.3.132.0.31", None, ("0x0012",)),
    _Curve("secp224k1", "secp224k1", 224, (), "1.3.132.0.32", None, ("0x0014",)),
    _Curve("secp256k1", "secp256k1", 256, (), "1.3.132.0.10", None, ("0x0016",), "ES256K"),
    # NIST binary curves (FIPS 186-4; removed from FIPS 186-5) under their SEC 2 names.
    _Curve("K-163", "K163", 163, ("sect163k1",), "1.3.132.0.1", None, ("0x0001",)),
    _Curve("B-163", "B163", 163, ("sect163r2",), "1.3.132.0.15", None, ("0x0003",)),
    _Curve("K-233", "K233", 233, ("sect233k1",), "1.3.132.0.26", None, ("0x0006",)),
    _Curve("B-233", "B233", 233, ("sect233r1",), "1.3.132.0.27", None, ("0x0007",)),
    _Curve("K-283", "K283", 283, ("sect283k1",), "1.3.132.0.16", None, ("0x0009",)),
    _Curve("B-283", "B283", 283, ("sect283r1",), "1.3.132.0.17", None, ("0x000a",)),
    _Curve("K-409", "K409", 409, ("sect409k1",), "1.3.132.0.36", None, ("0x000b",)),
    _Curve("B-409", "B409", 409, ("sect409r1",), "1.3.132.0.37", None, ("0x000c",)),
    _Curve("K-571", "K571", 571, ("sect571k1",), "1.3.132.0.38", None, ("0x000d",)),
    _Curve("B-571", "B571", 571, ("sect571r1",), "1.3.132.0.39", None, ("0x000e",)),
    # Brainpool (RFC 5639); TLS 1.3 gave the r1 curves new codepoints (RFC 8734).
    _Curve("brainpoolP160r1", "brainpoolP160r1", 160, (), "1.3.36.3.3.2.8.1.1.1"),
    _Curve("brainpoolP192r1", "brainpoolP192r1", 192, (), "1.3.36.3.3.2.8.1.1.3"),
    _Curve("brainpoolP224r1", "brainpoolP224r1", 224, (), "1.3.36.3.3.2.8.1.1.5"),
    _Curve(
        "brainpoolP256r1", "brainpoolP256r1", 256, ("brainpoolP256r1tls13",),
        "1.3.36.3.3.2.8.1.1.7", None, ("0x001a", "0x001f"),
    ),
    _Curve("brainpoolP320r1", "brainpoolP320r1", 320, (), "1.3.36.3.3.2.8.1.1.9"),
    _Curve(
        "brainpoolP384r1", "brainpoolP384r1", 384, ("brainpoolP384r1tls13",),
        "1.3.36.3.3.2.8.1.1.11", None, ("0x001b", "0x0020"),
    ),
    _Curve(
        "brainpoolP512r1", "brainpoolP512r1", 512, ("brainpoolP512r1tls13",),
        "1.3.36.3.3.2.8.1.1.13", None, ("0x001c", "0x0021"),
    ),
)  # fmt: skip


def _register_curves() -> None:
    ecdsa_sizes: dict[int, str] = {}
    ecdh_sizes: dict[int, str] = {}
    bare_sizes: dict[int, str] = {}
    for curve in _CURVES:
        names = (curve.canonical, curve.suffix, *curve.aliases)
        ssh_names = (curve.ssh,) if curve.ssh else ()
        ecdsa, ecdh = f"ECDSA-{curve.suffix}", f"ECDH-{curve.suffix}"
        jose = (curve.jose,) if curve.jose else ()
        # A bare curve says nothing about its use: the caller's usage decides.
        for canonical, family, usage, primitive, aliases in (
            (
                curve.canonical,
                "EC",
                Usage.UNKNOWN,
                "unknown",
                # "EC P-256" / "ecp256" (a JWK's kty and crv, an IKE group) name the curve.
                (*names[1:], f"ec{curve.suffix}", *ssh_names, curve.oid),
            ),
            (
                ecdsa,
                "EC",
                Usage.SIGNATURE,
                "signature",
                (
                    *(f"ecdsa{n}" for n in names),
                    *(
                        f"{prefix}{n}"
                        for prefix in ("ecdsa-sha2-", "sk-ecdsa-sha2-")
                        for n in ssh_names
                    ),
                    *(f"ecdsa-sha2-{n}-cert-v01" for n in ssh_names),
                    *jose,
                ),
            ),
            (
                ecdh,
                "ECDH",
                Usage.KEY_ESTABLISHMENT,
                "key-agree",
                (
                    *(f"{prefix}{n}" for prefix in ("ecdh", "ecdhe") for n in names),
                    *(f"ecdh-sha2-{n}" for n in ssh_names),
                    *curve.tls_codepoints,
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
                    primitive=primitive,
                    parameter_set=curve.canonical,
                ),
                *aliases,
            )
        if curve.default_for_size:
            ecdsa_sizes[curve.size] = ecdsa
            ecdh_sizes[curve.size] = ecdh
            bare_sizes[curve.size] = curve.canonical
    _SIZED["ECDSA"] = ecdsa_sizes
    _SIZED["ECDH"] = ecdh_sizes
    _SIZED["EC"] = bare_sizes


def _register_public_key() -> None:
    _register_elliptic()
    _register_edwards()
    _register_montgomery()
    _register_broken_hash_signatures()


def _register_elliptic() -> None:
    sig, kex = Usage.SIGNATURE, Usage.KEY_ESTABLISHMENT
    _register(
        _entry("ECDSA", "EC", sig, quantum_vulnerable=True),
        # X.509 signature algorithms name the hash, not the curve: the key's size completes them.
        *(f"ecdsa-with-SHA{size}" for size in (224, 256, 384, 512)),
        *(f"1.2.840.10045.4.3.{arc}" for arc in (1, 2, 3, 4)),
        *(f"2.16.840.1.101.3.4.3.{arc}" for arc in (9, 10, 11, 12)),  # id-ecdsa-with-sha3-*
        "ECDSA-SHA256",
        "ECDSA-SHA384",
        "ECDSA-SHA512",
    )
    # SHA-1 signatures: a scheme of its own so that the broken hash is not lost.
    _register(
        _entry("ecdsa-with-SHA1", "EC", sig, quantum_vulnerable=True, deprecated=True),
        "1.2.840.10045.4.1",
        "ECDSA-SHA1",
    )
    _register(
        _entry("ECDH", "ECDH", kex, quantum_vulnerable=True),
        "ECDHE",
        "EECDH",
        "ECDH-ES",  # JWA (RFC 7518) ephemeral-static ECDH; the curve comes from the key
        "1.3.132.1.12",  # id-ecDH
    )
    _register(
        _entry("EC", "EC", Usage.UNKNOWN, quantum_vulnerable=True),
        "ECC",
        "id-ecPublicKey",
        "1.2.840.10045.2.1",
    )


def _register_edwards() -> None:
    sig = Usage.SIGNATURE
    _register(_entry("EdDSA", "EdDSA", sig, quantum_vulnerable=True))
    _SIZED["EdDSA"] = {255: "Ed25519", 256: "Ed25519", 448: "Ed448", 456: "Ed448"}
    _register(
        _entry(
            "Ed25519", "EdDSA", sig, key_size=256, bits=128, quantum_vulnerable=True,
            parameter_set="edwards25519",
        ),
        "ssh-ed25519",
        "ssh-ed25519-cert-v01",
        "sk-ssh-ed25519",  # FIDO security-key variant: same algorithm, key in hardware
        "sk-ssh-ed25519-cert-v01",
        "id-Ed25519",
        "1.3.101.112",
    )  # fmt: skip
    _register(
        _entry(
            "Ed448", "EdDSA", sig, key_size=448, bits=224, quantum_vulnerable=True,
            parameter_set="edwards448",
        ),
        "ssh-ed448",
        "id-Ed448",
        "1.3.101.113",
    )  # fmt: skip


def _register_montgomery() -> None:
    kex = Usage.KEY_ESTABLISHMENT
    _register(
        _entry(
            "X25519", "ECDH", kex, key_size=256, bits=128, quantum_vulnerable=True,
            parameter_set="curve25519",
        ),
        "curve25519",
        "curve25519-sha256",
        "ecdh-x25519",
        "id-X25519",
        "1.3.101.110",
        "0x001d",
    )  # fmt: skip
    _register(
        _entry(
            "X448", "ECDH", kex, key_size=448, bits=224, quantum_vulnerable=True,
            parameter_set="curve448",
        ),
        "curve448",
        "curve448-sha512",
        "ecdh-x448",
        "id-X448",
        "1.3.101.111",
        "0x001e",
    )  # fmt: skip


def _register_broken_hash_signatures() -> None:
    sig = Usage.SIGNATURE
    # RSA signature schemes with a broken hash keep that hash in their name (the key size
    # still comes from the key); the sound ones are plain RSA signatures (see _NAMED_FF).
    for name, oid in (
        ("sha1WithRSAEncryption", "1.2.840.113549.1.1.5"),
        ("md5WithRSAEncryption", "1.2.840.113549.1.1.4"),
    ):
        _register(_entry(name, "RSA", sig, quantum_vulnerable=True, deprecated=True), oid)
    _register(
        _entry("dsaWithSHA1", "DSA", sig, quantum_vulnerable=True, deprecated=True),
        "dsa-with-sha1",
        "1.2.840.10040.4.3",
    )


# --- post-quantum and hybrid ------------------------------------------------------------------

_LEVEL_BITS = {1: 128, 2: 128, 3: 192, 5: 256}


def _register_pqc() -> None:
    _register_fips_203_204()
    _register_slh_dsa()
    _register_stateful_hash_signatures()
    _register_other_pqc()


def _register_fips_203_204() -> None:
    kem = Usage.KEY_ESTABLISHMENT
    sig = Usage.SIGNATURE
    # A family named without its parameter set counts at its weakest set (never better).
    _register(_entry("ML-KEM", "ML-KEM", kem, pqc=True, primitive="kem", level=1))
    kem_sets = ((512, 1, 1, "0x0200"), (768, 3, 2, "0x0201"), (1024, 5, 3, "0x0202"))
    for param, level, oid_arc, codepoint in kem_sets:
        _register(
            _entry(
                f"ML-KEM-{param}", "ML-KEM", kem, bits=_LEVEL_BITS[level], pqc=True,
                primitive="kem", level=level, parameter_set=str(param),
            ),
            f"id-alg-ml-kem-{param}",
            f"2.16.840.1.101.3.4.4.{oid_arc}",
            codepoint,
        )  # fmt: skip
    _register(_entry("ML-DSA", "ML-DSA", sig, pqc=True, level=2))
    # FIPS 204: ML-DSA-44 is category 2, -65 category 3, -87 category 5.
    for param, level, oid_arc in ((44, 2, 17), (65, 3, 18), (87, 5, 19)):
        _register(
            _entry(
                f"ML-DSA-{param}", "ML-DSA", sig, bits=_LEVEL_BITS[level], pqc=True,
                level=level, parameter_set=str(param),
            ),
            f"id-ml-dsa-{param}",
            f"2.16.840.1.101.3.4.3.{oid_arc}",
        )  # fmt: skip


def _register_slh_dsa() -> None:
    sig = Usage.SIGNATURE
    _register(_entry("SLH-DSA", "SLH-DSA", sig, pqc=True, level=1), "SPHINCS+")
    oid_arc = 20  # FIPS 205 OIDs run SHA2-128s, -128f, ... SHAKE-256f from arc 20
    for hash_name in ("SHA2", "SHAKE"):
        for level, strength in ((1, 128), (3, 192), (5, 256)):
            for variant in ("s", "f"):
                parameter_set = f"{hash_name}-{strength}{variant}"
                _register(
                    _entry(
                        f"SLH-DSA-{parameter_set}", "SLH-DSA", sig, bits=_LEVEL_BITS[level],
                        pqc=True, level=level, parameter_set=parameter_set,
                    ),
                    f"id-slh-dsa-{hash_name}-{strength}{variant}",
                    f"2.16.840.1.101.3.4.3.{oid_arc}",
                )  # fmt: skip
                oid_arc += 1


def _register_stateful_hash_signatures() -> None:
    sig = Usage.SIGNATURE
    # Stateful hash-based signatures (SP 800-208): CNSA 2.0's choice for firmware signing.
    # 192-bit hash outputs (M24, _192) are counted at category 3, 256-bit ones at category 5.
    _register(
        _entry("LMS", "LMS", sig, pqc=True, level=3),
        "HSS",
        "HSS-LMS",
        "1.2.840.113549.1.9.16.3.17",
    )
    for hash_name in ("SHA256", "SHAKE"):
        for width, level in ((24, 3), (32, 5)):
            for height in (5, 10, 15, 20, 25):
                parameter_set = f"{hash_name}-M{width}-H{height}"
                _register(
                    _entry(
                        f"LMS-{parameter_set}", "LMS", sig, bits=_LEVEL_BITS[level], pqc=True,
                        level=level, parameter_set=parameter_set,
                    ),
                    f"LMS_{hash_name}_M{width}_H{height}",
                )  # fmt: skip
    _register(_entry("XMSS", "XMSS", sig, pqc=True, level=3))
    _register(_entry("XMSS^MT", "XMSS", sig, pqc=True, level=3), "XMSSMT")
    for hash_name in ("SHA2", "SHAKE256"):
        for size, level in ((192, 3), (256, 5)):
            for height in (10, 16, 20):
                parameter_set = f"{hash_name}_{height}_{size}"
                _register(
                    _entry(
                        f"XMSS-{parameter_set}", "XMSS", sig, bits=_LEVEL_BITS[level],
                        pqc=True, level=level, parameter_set=parameter_set,
                    )
                )  # fmt: skip


def _register_other_pqc() -> None:
    kem = Usage.KEY_ESTABLISHMENT
    sig = Usage.SIGNATURE
    # FN-DSA (Falcon) is still a draft standard (FIPS 206 ipd): known, post-quantum.
    for param, level in ((512, 1), (1024, 5)):
        _register(
            _entry(
                f"FN-DSA-{param}", "FN-DSA", sig, bits=_LEVEL_BITS[level], pqc=True,
                level=level, parameter_set=str(param),
            ),
            f"Falcon-{param}",
        )  # fmt: skip
    # Round-3 submissions that FIPS 203/204 replaced: still post-quantum, but obsolete.
    for param, level in ((512, 1), (768, 3), (1024, 5)):
        _register(
            _entry(
                f"Kyber{param}", "Kyber", kem, bits=_LEVEL_BITS[level], pqc=True, deprecated=True,
                primitive="kem", level=level, parameter_set=str(param),
            ),
            f"Kyber-{param}",
        )  # fmt: skip
    for param, level in ((2, 2), (3, 3), (5, 5)):
        _register(
            _entry(
                f"Dilithium{param}", "Dilithium", sig, bits=_LEVEL_BITS[level], pqc=True,
                deprecated=True, level=level, parameter_set=str(param),
            ),
        )  # fmt: skip


def _register_hybrids() -> None:
    kem = Usage.KEY_ESTABLISHMENT

    def hybrid(
        canonical: str, bits: int, level: int, *aliases: str, deprecated: bool = False
    ) -> None:
        # classical_bits of a hybrid: the stronger component, since breaking it needs both;
        # its quantum level is the post-quantum component's.
        _register(
            _entry(
                canonical, "hybrid", kem, bits=bits, hybrid=True, deprecated=deprecated,
                primitive="combiner", level=level,
            ),
            *aliases,
        )  # fmt: skip

    # TLS named groups (IANA TLS Supported Groups), by name and codepoint.
    hybrid("X25519MLKEM768", 192, 3, "X25519+ML-KEM-768", "MLKEM768X25519", "0x11ec")
    hybrid("SecP256r1MLKEM768", 192, 3, "P256MLKEM768", "P-256+ML-KEM-768", "0x11eb")
    hybrid("SecP384r1MLKEM1024", 256, 5, "P384MLKEM1024", "P-384+ML-KEM-1024", "0x11ed")
    hybrid("curveSM2MLKEM768", 192, 3, "0x11ee")
    hybrid("X25519Kyber768Draft00", 192, 3, "X25519Kyber768", "0x6399", deprecated=True)
    # SSH key exchange names.
    hybrid("mlkem768x25519-sha256", 192, 3)
    hybrid("mlkem768nistp256-sha256", 192, 3)
    hybrid("mlkem1024nistp384-sha384", 256, 5)
    # sntrup761's own strength is not in SP 800-57 and NIST never categorised it: count the
    # X25519 part only, and the lowest category.
    hybrid("sntrup761x25519-sha512", 128, 1, "sntrup761x25519-sha512@openssh.com")


# --- symmetric ciphers and hashes ------------------------------------------------------------

_AES_OIDS = {
    (128, "ECB"): "2.16.840.1.101.3.4.1.1",
    (128, "CBC"): "2.16.840.1.101.3.4.1.2",
    (128, "KW"): "2.16.840.1.101.3.4.1.5",
    (128, "GCM"): "2.16.840.1.101.3.4.1.6",
    (128, "CCM"): "2.16.840.1.101.3.4.1.7",
    (192, "ECB"): "2.16.840.1.101.3.4.1.21",
    (192, "CBC"): "2.16.840.1.101.3.4.1.22",
    (192, "KW"): "2.16.840.1.101.3.4.1.25",
    (192, "GCM"): "2.16.840.1.101.3.4.1.26",
    (192, "CCM"): "2.16.840.1.101.3.4.1.27",
    (256, "ECB"): "2.16.840.1.101.3.4.1.41",
    (256, "CBC"): "2.16.840.1.101.3.4.1.42",
    (256, "KW"): "2.16.840.1.101.3.4.1.45",
    (256, "GCM"): "2.16.840.1.101.3.4.1.46",
    (256, "CCM"): "2.16.840.1.101.3.4.1.47",
}
_AES_MODES = ("GCM", "CBC", "CTR", "CCM", "ECB", "CFB", "OFB", "GCM-SIV", "KW", "OCB")
_AEAD_MODES = frozenset({"GCM", "CCM", "GCM-SIV", "OCB"})
# Grover's search halves a key's exponent at best, and NIST defines its categories 1, 3 and 5
# by AES-128, -192 and -256 key search: AES (and ciphers of its key sizes) keep their level.
_CIPHER_LEVEL = {128: 1, 192: 3, 256: 5}


def _register_symmetric() -> None:
    _register_aes()
    _register_other_ciphers()
    _register_deprecated_ciphers()


def _register_aes() -> None:
    enc = Usage.ENCRYPTION
    _register(_entry("AES", "AES", enc, level=1), "Rijndael")
    _SIZED["AES"] = {128: "AES-128", 192: "AES-192", 256: "AES-256"}
    for size in (128, 192, 256):
        level = _CIPHER_LEVEL[size]
        _register(_entry(f"AES-{size}", "AES", enc, key_size=size, bits=size, level=level))
        for mode in _AES_MODES:
            oid = _AES_OIDS.get((size, mode))
            _register(
                _entry(
                    f"AES-{size}-{mode}", "AES", enc, key_size=size, bits=size, level=level,
                    primitive="ae" if mode in _AEAD_MODES else "block-cipher", parameter_set=mode,
                ),
                f"id-aes{size}-{mode}",
                # SSH cipher names ("aes128-ctr", "aes256-gcm@openssh.com") normalise onto
                # these already; OpenSSL's wrap name is "id-aes128-wrap".
                *((f"id-aes{size}-wrap", f"aes{size}-wrap") if mode == "KW" else ()),
                *((oid,) if oid else ()),
            )  # fmt: skip


def _register_other_ciphers() -> None:
    enc = Usage.ENCRYPTION
    # Other 128-bit block ciphers of TLS suites and national standards: sound, same levels.
    for family, sizes, extra in (
        ("Camellia", (128, 192, 256), ()),
        ("ARIA", (128, 192, 256), ()),
    ):
        _register(_entry(family, family, enc, level=1), *extra)
        _SIZED[family] = {size: f"{family}-{size}" for size in sizes}
        for size in sizes:
            _register(
                _entry(
                    f"{family}-{size}", family, enc, key_size=size, bits=size,
                    level=_CIPHER_LEVEL[size],
                ),
                f"{family}{size}-CBC",
                f"{family}-{size}-CBC",
                f"{family}-{size}-GCM",
            )  # fmt: skip
    _register(_entry("SEED", "SEED", enc, key_size=128, bits=128, level=1), "SEED-CBC")
    _register(_entry("SM4", "SM4", enc, key_size=128, bits=128, level=1), "SM4-CBC", "SM4-GCM")
    _register(
        _entry(
            "ChaCha20-Poly1305", "ChaCha20", enc, key_size=256, bits=256, level=5, primitive="ae"
        ),
        "ChaChaPoly",
        "CHACHA20-POLY1305-SHA256",
    )
    _register(
        _entry(
            "ChaCha20", "ChaCha20", enc, key_size=256, bits=256, level=5, primitive="stream-cipher"
        )
    )


def _register_deprecated_ciphers() -> None:
    enc = Usage.ENCRYPTION
    # Deprecated ciphers get level 0: they fail classically long before a quantum computer.
    # SP 800-131A Rev. 2: three-key TDEA gives 112 bits and is disallowed for encryption after 2023.
    _register(
        _entry("3DES", "3DES", enc, key_size=168, bits=112, deprecated=True, level=0),
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
        _entry("DES", "DES", enc, key_size=56, bits=56, deprecated=True, level=0),
        "DES-CBC",
        "DES56",
        "1.3.14.3.2.7",
    )
    # RC4's keystream biases break it whatever the key length: no meaningful strength.
    _register(
        _entry("RC4", "RC4", enc, deprecated=True, level=0, primitive="stream-cipher"),
        "ARCFOUR",
        "ARC4",
        "arcfour128",
        "arcfour256",
    )
    _register(_entry("RC2", "RC2", enc, deprecated=True, level=0), "RC2-CBC", "1.2.840.113549.3.2")
    # 64-bit blocks: Sweet32 collisions after about 2^32 blocks, whatever the key.
    for name, aliases in (
        ("IDEA", ("IDEA-CBC",)),
        ("Blowfish", ("BF-CBC", "blowfish-cbc", "BF")),
        ("CAST5", ("CAST-128", "cast128-cbc", "CAST5-CBC")),
    ):
        _register(_entry(name, name, enc, key_size=128, deprecated=True, level=0), *aliases)


def _register_hashes() -> None:
    digest = Usage.HASH
    # Strength is collision resistance. SHA-1: best collision attack about 2^61 (Leurent and
    # Peyrin, 2020); MD5: collisions in seconds (about 2^18). NIST categories 2 and 4 are
    # defined by SHA-256 and SHA-384 collision search.
    _register(_entry("MD5", "MD5", digest, bits=18, deprecated=True, level=0), "1.2.840.113549.2.5")
    _register(_entry("MD4", "MD4", digest, deprecated=True, level=0), "1.2.840.113549.2.4")
    _register(
        _entry("SHA-1", "SHA-1", digest, bits=61, deprecated=True, level=0),
        "SHA1",
        "1.3.14.3.2.26",
    )
    for size, arc, level in ((224, 4, 1), (256, 1, 2), (384, 2, 4), (512, 3, 5)):
        _register(
            _entry(f"SHA-{size}", "SHA-2", digest, bits=size // 2, level=level),
            f"SHA2-{size}",  # OpenSSL 3's name
            f"2.16.840.1.101.3.4.2.{arc}",
        )
    _register(_entry("SHA-512/224", "SHA-2", digest, bits=112, level=1), "2.16.840.1.101.3.4.2.5")
    _register(_entry("SHA-512/256", "SHA-2", digest, bits=128, level=2), "2.16.840.1.101.3.4.2.6")
    for size, arc, level in ((224, 7, 1), (256, 8, 2), (384, 9, 4), (512, 10, 5)):
        _register(
            _entry(f"SHA3-{size}", "SHA-3", digest, bits=size // 2, level=level),
            f"2.16.840.1.101.3.4.2.{arc}",
        )
    _register(
        _entry("SHAKE128", "SHA-3", digest, bits=128, level=2, primitive="xof"),
        "2.16.840.1.101.3.4.2.11",
    )
    _register(
        _entry("SHAKE256", "SHA-3", digest, bits=256, level=5, primitive="xof"),
        "2.16.840.1.101.3.4.2.12",
    )
    _register(_entry("BLAKE2b-512", "BLAKE2", digest, bits=256, level=5), "BLAKE2b512")
    _register(_entry("BLAKE2s-256", "BLAKE2", digest, bits=128, level=2), "BLAKE2s256")


def _register_macs() -> None:
    # MACs protect integrity: they share the HASH usage (nothing to migrate for quantum) and
    # keep their strength from the key, which Grover only halves. HMAC-SHA1 stays approved
    # for MACs (SP 800-107); HMAC-MD5 is not approved for anything.
    mac = Usage.HASH
    hmacs = (
        ("MD5", 0, True, ("hmac-md5", "hmacWithMD5", "1.3.6.1.5.5.8.1.1")),
        ("SHA1", 1, False, ("hmac-sha1", "hmacWithSHA1", "1.2.840.113549.2.7")),
        ("SHA224", 3, False, ("hmacWithSHA224", "1.2.840.113549.2.8")),
        ("SHA256", 5, False, ("hmac-sha2-256", "hmacWithSHA256", "HS256", "1.2.840.113549.2.9")),
        ("SHA384", 5, False, ("hmac-sha2-384", "hmacWithSHA384", "HS384", "1.2.840.113549.2.10")),
        ("SHA512", 5, False, ("hmac-sha2-512", "hmacWithSHA512", "HS512", "1.2.840.113549.2.11")),
        ("SHA3-256", 5, False, ("hmac-sha3-256", "2.16.840.1.101.3.4.2.14")),
        ("SHA3-512", 5, False, ("hmac-sha3-512", "2.16.840.1.101.3.4.2.16")),
    )  # fmt: skip
    for hash_name, level, deprecated, aliases in hmacs:
        # SSH's encrypt-then-MAC variants ("hmac-sha2-256-etm@openssh.com") are the same MAC.
        etm = tuple(f"{alias}-etm" for alias in aliases if alias.startswith("hmac-"))
        _register(
            _entry(
                f"HMAC-{hash_name}", "HMAC", mac, deprecated=deprecated, level=level,
                primitive="mac", parameter_set=hash_name,
            ),
            *aliases,
            *etm,
        )  # fmt: skip
    for tag in (64, 128):
        _register(
            _entry(
                f"UMAC-{tag}", "UMAC", mac, level=1, primitive="mac", parameter_set=str(tag)
            ),
            f"umac-{tag}-etm",
        )  # fmt: skip
    # "HMACSHA2" (a generator's name for HMAC over an unnamed SHA-2): counted at the weakest
    # SHA-2 it may be, SHA-224.
    _register(
        _entry("HMAC-SHA2", "HMAC", mac, level=3, primitive="mac", parameter_set="SHA2"),
        "HmacSHA2",
    )
    _register(_entry("AES-CMAC", "CMAC", mac, level=1, primitive="mac"), "CMAC", "AES-128-CMAC")
    _register(_entry("Poly1305", "Poly1305", mac, level=1, primitive="mac"))


def _register_kdfs() -> None:
    # Key derivation (SP 800-132 PBKDF2, RFC 5869 HKDF) has nothing for Shor's algorithm to
    # break; like the HMAC it is built on, it shares the HASH usage and that HMAC's level.
    kdf = Usage.HASH
    _register(
        _entry("PBKDF2", "PBKDF2", kdf, level=1, primitive="kdf"),
        "1.2.840.113549.1.5.12",  # id-PBKDF2
    )
    for hash_name, level in (
        ("SHA1", 1),
        ("SHA224", 3),
        ("SHA256", 5),
        ("SHA384", 5),
        ("SHA512", 5),
    ):
        _register(
            _entry(
                f"PBKDF2-HMAC-{hash_name}", "PBKDF2", kdf, level=level, primitive="kdf",
                parameter_set=f"HMAC-{hash_name}",
            ),
            f"PBKDF2WithHmac{hash_name}",  # Java's SecretKeyFactory names
            f"pbkdf2-{hash_name}",
        )  # fmt: skip
    _register(_entry("HKDF", "HKDF", kdf, level=1, primitive="kdf"))
    for hash_name in ("SHA256", "SHA384", "SHA512"):
        _register(
            _entry(
                f"HKDF-{hash_name}", "HKDF", kdf, level=5, primitive="kdf",
                parameter_set=f"HMAC-{hash_name}",
            ),
            f"HKDFWithHmac{hash_name}",
        )  # fmt: skip


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
    # Signature schemes with a sound hash are RSA signatures: the key decides the strength
    # (X.509 names and OIDs, JWA names, SSH certificate key types).
    rsa_signatures = (
        *(f"sha{size}WithRSAEncryption" for size in (224, 256, 384, 512)),
        *(f"1.2.840.113549.1.1.{arc}" for arc in (11, 12, 13, 14)),
        *(f"{prefix}{size}" for prefix in ("RS", "PS") for size in (256, 384, 512)),
        *(f"rsa-sha{size}" for size in (256, 384, 512)),
        "ssh-rsa-cert-v01",
        "rsa-sha2-256-cert-v01",
        "rsa-sha2-512-cert-v01",
        "RSASSA-PKCS1-v1_5",
    )
    for name in rsa_signatures:
        named[name] = _Named("RSA", None, sig)
    rsa_key_transport = (
        "rsaes-oaep",
        "rsa-oaep",
        "rsa-oaep-256",
        "rsa-kem",
        "RSA1_5",
        "RSAES-PKCS1-v1_5",
        "1.2.840.113549.1.1.7",
    )
    for name in rsa_key_transport:
        named[name] = _Named("RSA", None, kex)
    for name in (
        "dsa-with-sha224",
        "dsa-with-sha256",
        # id-dsa-with-sha224 .. sha512, then id-dsa-with-sha3-224 .. sha3-512
        *(f"2.16.840.1.101.3.4.3.{arc}" for arc in range(1, 9)),
    ):
        named[name] = _Named("DSA", None, sig)
    for arc in range(13, 17):  # id-rsassa-pkcs1-v1_5-with-sha3-224 .. sha3-512
        named[f"2.16.840.1.101.3.4.3.{arc}"] = _Named("RSA", None, sig)
    return {normalise(name): value for name, value in named.items()}


_register_curves()
_register_public_key()
_register_pqc()
_register_hybrids()
_register_symmetric()
_register_hashes()
_register_macs()
_register_kdfs()
_NAMED_FF = _named_finite_field()

_PREFIX_SIZE = re.compile(r"^(?P<prefix>[a-z]+)(?P<size>\d{3,5})(?:bits?)?$")
_SIZE_PREFIX = re.compile(r"^(?P<size>\d{3,5})(?:bits?)?(?P<prefix>[a-z]+)$")


# Parsing is pure and entries are immutable: scoring a million assets parses a few hundred
# distinct spellings, so remember them.
@lru_cache(maxsize=16384)
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
    if found is None:
        found = _hash_and_sign(key, key_size)
    if found is None and "/" in raw:
        found = _transformation(raw, key_size)
    if found is None:
        found = _without_padding(raw, key_size)
    return found if found is not None else _unknown(raw, key_size)


# --- how generators spell what the catalog holds ----------------------------------------------
# Java (JCA) names ("SHA512withRSA", "RSA/ECB/PKCS1Padding", "PBKDF2WithHmacSHA1"), Go's x509
# names ("SHA256-RSA", "ECDSA-SHA384"), Windows' ("sha256RSA") and cbomkit's
# ("des-56-cbc-pkcs5", "AES128-CBC-PKCS5") name entries the catalog already has.

_DIGESTS = {
    "md2": "MD2",
    "md4": "MD4",
    "md5": "MD5",
    "sha1": "SHA-1",
    **{f"sha{size}": f"SHA-{size}" for size in (224, 256, 384, 512)},
    **{f"sha2{size}": f"SHA-{size}" for size in (224, 256, 384, 512)},
    **{f"sha3{size}": f"SHA3-{size}" for size in (224, 256, 384, 512)},
}
_SIGNERS = {
    "rsa": "RSA",
    "rsaencryption": "RSA",
    "rsapss": "RSA-PSS",
    "rsassapss": "RSA-PSS",
    "rsaandmgf1": "RSA-PSS",  # Java's SHA256withRSAandMGF1 is PSS
    "ecdsa": "ECDSA",
    "dsa": "DSA",
}


def _alternatives(words: dict[str, str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))  # longest first: sha3256 before sha3


_HASH_THEN_SIGNER = re.compile(
    rf"^(?P<digest>{_alternatives(_DIGESTS)})(?:with)?(?P<signer>{_alternatives(_SIGNERS)})$"
)
_SIGNER_THEN_HASH = re.compile(
    rf"^(?P<signer>{_alternatives(_SIGNERS)})(?:with)?(?P<digest>{_alternatives(_DIGESTS)})$"
)
_JWA_SIGNATURE = re.compile(r"^(?:rs|ps|es)(?P<bits>256|384|512)$")
# X.509 signature algorithm OIDs and the digest each one fixes.
_SIGNATURE_OID_DIGESTS = {
    "1.2.840.113549.1.1.4": "MD5",
    "1.2.840.113549.1.1.5": "SHA-1",
    "1.2.840.113549.1.1.11": "SHA-256",
    "1.2.840.113549.1.1.12": "SHA-384",
    "1.2.840.113549.1.1.13": "SHA-512",
    "1.2.840.113549.1.1.14": "SHA-224",
    "1.2.840.10045.4.1": "SHA-1",
    "1.2.840.10040.4.3": "SHA-1",
    **{f"1.2.840.10045.4.3.{arc}": f"SHA-{size}" for arc, size in ((1, 224), (2, 256),
                                                                    (3, 384), (4, 512))},
    **{
        f"2.16.840.1.101.3.4.3.{first + offset}": digest
        for first in (1, 5, 9, 13)  # DSA-SHA2, DSA-SHA3, ECDSA-SHA3, RSA-SHA3
        for offset, digest in enumerate(
            ("SHA-224", "SHA-256", "SHA-384", "SHA-512")
            if first == 1
            else ("SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512")
        )
    },
}  # fmt: skip


def signature_scheme(text: str) -> tuple[str, str] | None:
    """(digest, signer) of a hash-and-sign name: "sha1WithRSAEncryption" -> ("SHA-1", "RSA").

    Signers are "RSA", "RSA-PSS", "ECDSA" and "DSA"; None for any other name.
    """
    key = normalise(text)
    match = _HASH_THEN_SIGNER.match(key) or _SIGNER_THEN_HASH.match(key)
    if match is None:
        return None
    return _DIGESTS[match["digest"]], _SIGNERS[match["signer"]]


def signed_digest(text: str) -> str | None:
    """The digest a hash-and-sign scheme's name or OID fixes, else None.

    "SHA512withRSA", "sha512WithRSAEncryption" and "1.2.840.113549.1.1.13" give "SHA-512";
    "ECDSA-SHA384" gives "SHA-384". A number written beside such a name (a CBOM's
    ``parameterSetIdentifier``) is that digest's size: never the key's, never the curve's.
    """
    key = normalise(text)
    if key in _SIGNATURE_OID_DIGESTS:
        return _SIGNATURE_OID_DIGESTS[key]
    scheme = signature_scheme(text)
    if scheme is not None:
        return scheme[0]
    jwa = _JWA_SIGNATURE.match(key)
    return f"SHA-{jwa['bits']}" if jwa is not None else None


def _hash_and_sign(key: str, key_size: int | None) -> AlgorithmInfo | None:
    """ "SHA256withECDSA", "SHA1-RSA", "sha384RSA" as the catalog's OpenSSL spelling of them."""
    match = _HASH_THEN_SIGNER.match(key) or _SIGNER_THEN_HASH.match(key)
    if match is None:
        return None
    digest, signer = _DIGESTS[match["digest"]], _SIGNERS[match["signer"]]
    if digest in ("MD2", "MD4") or (digest == "MD5" and signer != "RSA"):
        return None  # no catalog entry: unknown rather than a sound-looking scheme
    # The broken hashes keep schemes of their own; sound ones leave the key to decide.
    if signer in ("RSA", "RSA-PSS"):
        spelling = {"MD5": "md5WithRSAEncryption", "SHA-1": "sha1WithRSAEncryption"}.get(
            digest, "rsassa-pss" if signer == "RSA-PSS" else "RSASSA-PKCS1-v1_5"
        )
    elif signer == "ECDSA":
        spelling = "ecdsa-with-SHA1" if digest == "SHA-1" else "ECDSA"
    else:
        spelling = "dsaWithSHA1" if digest == "SHA-1" else "dsa-with-sha256"
    return _lookup(normalise(spelling), key_size)


def _transformation(raw: str, key_size: int | None) -> AlgorithmInfo | None:
    """A JCA Cipher transformation, "algorithm/mode/padding" ("RSA/ECB/PKCS1Padding")."""
    parts = [part.strip() for part in raw.split("/")]
    if len(parts) not in (2, 3) or not all(parts):
        return None
    base = parse_algorithm(parts[0], key_size)
    if not base.known:
        return None
    if base.family == "RSA":
        # An RSA Cipher encrypts with the public key (JCA's "ECB" means nothing there):
        # key transport or data encryption, whatever the padding.
        return _finite_field("RSA", base.key_size, Usage.KEY_ESTABLISHMENT)
    if base.family == "AES" and base.key_size and base.parameter_set is None:
        with_mode = _lookup(normalise(f"AES-{base.key_size}-{parts[1]}"), None)
        return with_mode if with_mode is not None else base
    return base


# Paddings say nothing about the algorithm; cbomkit appends them ("aes-128-cbc-pkcs5").
_PADDINGS = frozenset(
    {
        "nopadding", "pkcs1", "pkcs1padding", "pkcs1v15", "pkcs5", "pkcs5padding", "pkcs7",
        "pkcs7padding", "iso10126padding", "oaep", "oaeppadding", "raw",
    }
)  # fmt: skip
_MODE_WORDS = frozenset({"ecb", "cbc", "ctr", "gcm", "ccm", "cfb", "cfb8", "ofb", "pcbc", "cts"})
_WORD_SPLIT = re.compile(r"[\s_\-()+,]+")


def _without_padding(raw: str, key_size: int | None) -> AlgorithmInfo | None:
    """ "des-56-cbc-pkcs5" and "desede-168-cbc-pkcs5": drop the padding, then the key size
    when the entry found without it has exactly that size (a size never completes a name here).
    """
    words = [word for word in _WORD_SPLIT.split(raw.strip().lower()) if word]
    core = [word for word in words if word not in _PADDINGS]
    if not core:
        return None
    if len(core) < len(words):
        found = _lookup("".join(core), key_size)
        if found is not None:
            return found
    sizes = [word for word in core if word.isdigit()]
    if len(sizes) != 1:
        return None
    rest = [word for word in core if word != sizes[0]]
    for candidate in (rest, [word for word in rest if word not in _MODE_WORDS]):
        found = _lookup("".join(candidate), None) if candidate else None
        if found is not None and found.key_size == int(sizes[0]):
            return found
    return None


def catalog() -> dict[str, AlgorithmInfo]:
    """Every fixed catalog entry by canonical name (parametric RSA/DSA/DH sizes excluded)."""
    return dict(_CATALOG)


# The sizes of the parametric families people meet: RSA from the factoring records (512, 768)
# to SP 800-57's 256-bit modulus; DSA's FIPS 186 sizes; DH's MODP groups (RFC 2409, 3526).
STANDARD_SIZES: dict[str, tuple[int, ...]] = {
    "RSA": (512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 7680, 8192, 15360),
    "DSA": (512, 1024, 2048, 3072),
    "DH": (768, 1024, 1536, 2048, 3072, 4096, 6144, 8192),
}


def entries() -> dict[str, AlgorithmInfo]:
    """The catalog as a list: fixed entries plus the standard sizes of RSA, DSA and DH."""
    out = dict(_CATALOG)
    for family, sizes in STANDARD_SIZES.items():
        for size in sizes:
            info = _finite_field(family, size, None)
            out[info.canonical] = info
    return out


# CycloneDX cryptoProperties.algorithmProperties.primitive -> the usage it implies.
_PRIMITIVE_USAGE = {
    "signature": Usage.SIGNATURE,
    "key-agree": Usage.KEY_ESTABLISHMENT,
    "kem": Usage.KEY_ESTABLISHMENT,
    "pke": Usage.KEY_ESTABLISHMENT,
    "combiner": Usage.KEY_ESTABLISHMENT,
    "ae": Usage.ENCRYPTION,
    "block-cipher": Usage.ENCRYPTION,
    "stream-cipher": Usage.ENCRYPTION,
    "hash": Usage.HASH,
    "xof": Usage.HASH,
    "mac": Usage.HASH,
}
_CURVE_FAMILY_BY_USAGE = {Usage.SIGNATURE: "ECDSA", Usage.KEY_ESTABLISHMENT: "ECDH"}
_EDWARDS = {
    ("curve25519", Usage.SIGNATURE): "Ed25519",
    ("curve25519", Usage.KEY_ESTABLISHMENT): "X25519",
    ("curve448", Usage.SIGNATURE): "Ed448",
    ("curve448", Usage.KEY_ESTABLISHMENT): "X448",
    ("edwards25519", Usage.SIGNATURE): "Ed25519",
    ("edwards448", Usage.SIGNATURE): "Ed448",
}


def parse_cbom_algorithm(
    name: str | None,
    *,
    parameter_set: str | None = None,
    curve: str | None = None,
    primitive: str | None = None,
    mode: str | None = None,
    oid: str | None = None,
    key_size: int | None = None,
    family: str | None = None,
) -> AlgorithmInfo:
    """A CycloneDX algorithm component (``name`` plus ``algorithmProperties``) as an entry.

    ``parameterSetIdentifier`` completes the name ("ML-KEM" + "768", "RSA" + "2048", "SLH-DSA"
    + "SHA2-128s"), except beside a hash-and-sign name or OID ("SHA512withRSA" + "512"), where
    it is the digest's size (see ``signed_digest``). ``curve`` picks the curve (its ECDSA or ECDH
    entry by ``primitive``), ``mode`` the AES mode; ``oid`` and then ``family`` (CycloneDX 1.7
    ``algorithmFamily``) are used when the name says nothing we know. A ``primitive`` sets the
    usage only where the catalog leaves it open (RSA, a bare curve): "pke" never turns ECDSA
    into a key exchange. Whatever is missing stays missing, and an unknown name stays unknown.
    """
    usage = _PRIMITIVE_USAGE.get((primitive or "").strip().lower())
    text = (name or "").strip()
    if signed_digest(text) is not None or (oid and signed_digest(oid) is not None):
        parameter_set = None
    info = parse_algorithm(text, key_size) if text else _unknown(text, key_size)
    if not info.known and oid:
        info = parse_algorithm(oid, key_size)
    if not info.known and family:
        info = parse_algorithm(_FAMILY_SPELLINGS.get(family.strip(), family), key_size)
    if curve:
        # The catalog's usage first: a declared primitive only chooses where it is open.
        wanted = info.usage if info.known and info.usage is not Usage.UNKNOWN else usage
        by_curve = _by_curve(curve, wanted or info.usage)
        if by_curve is not None and (not info.known or info.family in ("EC", "ECDH", "EdDSA")):
            info = by_curve
    if parameter_set and info.known:
        info = _with_parameter_set(info, parameter_set.strip())
    elif parameter_set and not info.known and text:
        joined = parse_algorithm(f"{text}-{parameter_set.strip()}")
        if joined.known:
            info = joined
    aes_without_mode = info.family == "AES" and info.key_size and info.parameter_set is None
    if mode and info.known and aes_without_mode:
        with_mode = parse_algorithm(f"AES-{info.key_size}-{mode.strip()}")
        info = with_mode if with_mode.known else info
    if usage is not None and info.known and info.usage is Usage.UNKNOWN:
        info = _with_usage(info, usage)
    return info


# CycloneDX 1.7 algorithmFamily values the catalog spells otherwise.
_FAMILY_SPELLINGS = {
    "RSASSA-PKCS1": "RSASSA-PKCS1-v1_5",
    "RSAES-PKCS1": "RSAES-PKCS1-v1_5",
    "CAMELLIA": "Camellia",
}


def primitive_usage(primitive: str | None) -> Usage | None:
    """The usage a CycloneDX ``primitive`` implies (None for kdf, drbg, other, unknown)."""
    return _PRIMITIVE_USAGE.get((primitive or "").strip().lower())


def _by_curve(curve: str, usage: Usage) -> AlgorithmInfo | None:
    key = normalise(curve)
    edwards = _EDWARDS.get((key, usage))
    if edwards is not None:
        return _CATALOG[edwards]
    bare = parse_algorithm(curve)
    if not bare.known or bare.family != "EC" or bare.parameter_set is None:
        return None
    family = _CURVE_FAMILY_BY_USAGE.get(usage)
    if family is None:
        return bare
    suffix = next(c.suffix for c in _CURVES if c.canonical == bare.parameter_set)
    return _CATALOG[f"{family}-{suffix}"]


def _with_parameter_set(info: AlgorithmInfo, parameter_set: str) -> AlgorithmInfo:
    if info.parameter_set is not None or info.key_size is not None:
        return info  # the name was precise already
    if parameter_set.isdigit() and info.family in _FF_DEFAULT_USAGE:
        sized = _finite_field(info.family, int(parameter_set), info.usage)
        return sized if _plausible_modulus(int(parameter_set)) else info
    joined = parse_algorithm(f"{info.canonical}-{parameter_set}")
    if joined.known:
        return joined
    if parameter_set.isdigit():
        return _with_size(info, int(parameter_set))
    return info


def _with_usage(info: AlgorithmInfo, usage: Usage) -> AlgorithmInfo:
    if info.family in ("EC",) and info.parameter_set is not None:
        by_curve = _by_curve(info.parameter_set, usage)
        if by_curve is not None:
            return by_curve
    if info.family in _FF_DEFAULT_USAGE and info.canonical.startswith(info.family):
        return _finite_field(info.family, info.key_size, usage)
    return replace(info, usage=usage)


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
    if entry.family in _FF_DEFAULT_USAGE and _plausible_modulus(key_size):
        # A named scheme over a finite field ("sha1WithRSAEncryption" + 2048): the modulus
        # gives the strength, the name keeps what else it says (the broken hash).
        return replace(entry, key_size=key_size, classical_bits=finite_field_bits(key_size))
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
    usage = usage or _FF_DEFAULT_USAGE[family]
    return AlgorithmInfo(
        canonical=f"{family}-{size}" if size else family,
        family=family,
        key_size=size,
        usage=usage,
        quantum_vulnerable=True,
        pqc=False,
        hybrid=False,
        classical_bits=finite_field_bits(size) if size else None,
        known=True,
        primitive=_FF_PRIMITIVE[family] if usage is not Usage.SIGNATURE else "signature",
        quantum_level=0,
    )


# RSA whose usage nobody declared is the public-key encryption primitive CBOMs call "pke".
_FF_PRIMITIVE = {"RSA": "pke", "DSA": "signature", "DH": "key-agree"}


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
