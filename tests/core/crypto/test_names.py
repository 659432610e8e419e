"""The catalog: every spelling people write lands on one canonical entry, unknowns stay unknown."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from qrap_core.crypto import (
    STANDARD_SIZES,
    AlgorithmInfo,
    catalog,
    ec_bits,
    entries,
    finite_field_bits,
    ir8547_deadline,
    parse_algorithm,
    parse_cbom_algorithm,
)
from qrap_core.crypto import names as names_module
from qrap_core.enums import Usage

KEX = Usage.KEY_ESTABLISHMENT
SIG = Usage.SIGNATURE
ENC = Usage.ENCRYPTION
HASH = Usage.HASH
UNK = Usage.UNKNOWN

# text, key_size argument, canonical, family, usage, classical bits
SPELLINGS: list[tuple[str, int | None, str, str, Usage, int | None]] = [
    # RSA
    ("RSA-2048", None, "RSA-2048", "RSA", UNK, 112),
    ("RSA 2048", None, "RSA-2048", "RSA", UNK, 112),
    ("rsa_2048", None, "RSA-2048", "RSA", UNK, 112),
    ("RSA2048", None, "RSA-2048", "RSA", UNK, 112),
    ("2048-bit RSA", None, "RSA-2048", "RSA", UNK, 112),
    ("rsaEncryption", None, "RSA", "RSA", UNK, None),
    ("rsaEncryption 2048", None, "RSA-2048", "RSA", UNK, 112),
    ("RSA", 3072, "RSA-3072", "RSA", UNK, 128),
    ("RSA", 4096, "RSA-4096", "RSA", UNK, 128),
    ("RSA-1024", None, "RSA-1024", "RSA", UNK, 80),
    ("RSA-7680", None, "RSA-7680", "RSA", UNK, 192),
    ("RSA-15360", None, "RSA-15360", "RSA", UNK, 256),
    ("1.2.840.113549.1.1.1", 2048, "RSA-2048", "RSA", UNK, 112),
    ("ssh-rsa", 3072, "RSA-3072", "RSA", SIG, 128),
    ("rsa-sha2-512", None, "RSA", "RSA", SIG, None),
    ("RSASSA-PSS", 2048, "RSA-2048", "RSA", SIG, 112),
    ("RSA-OAEP", 2048, "RSA-2048", "RSA", KEX, 112),
    # ECDSA and curves
    ("ECDSA-P256", None, "ECDSA-P256", "EC", SIG, 128),
    ("ECDSA P-256", None, "ECDSA-P256", "EC", SIG, 128),
    ("ecdsa_p256", None, "ECDSA-P256", "EC", SIG, 128),
    ("ECDSA-secp256r1", None, "ECDSA-P256", "EC", SIG, 128),
    ("ecdsa-sha2-nistp256", None, "ECDSA-P256", "EC", SIG, 128),
    ("ecdsa-sha2-nistp384", None, "ECDSA-P384", "EC", SIG, 192),
    ("ECDSA", 256, "ECDSA-P256", "EC", SIG, 128),
    ("ECDSA", 384, "ECDSA-P384", "EC", SIG, 192),
    ("ECDSA", 521, "ECDSA-P521", "EC", SIG, 256),
    ("ECDSA-384", None, "ECDSA-P384", "EC", SIG, 192),
    ("prime256v1", None, "P-256", "EC", UNK, 128),
    ("secp256r1", None, "P-256", "EC", UNK, 128),
    ("P-256", None, "P-256", "EC", UNK, 128),
    ("secp384r1", None, "P-384", "EC", UNK, 192),
    ("P-384", None, "P-384", "EC", UNK, 192),
    ("secp521r1", None, "P-521", "EC", UNK, 256),
    ("secp224r1", None, "P-224", "EC", UNK, 112),
    ("prime192v1", None, "P-192", "EC", UNK, 80),
    ("1.2.840.10045.3.1.7", None, "P-256", "EC", UNK, 128),
    ("brainpoolP384r1", None, "brainpoolP384r1", "EC", UNK, 192),
    ("secp256k1", None, "secp256k1", "EC", UNK, 128),
    ("EC", 384, "P-384", "EC", UNK, 192),
    # EdDSA
    ("Ed25519", None, "Ed25519", "EdDSA", SIG, 128),
    ("ED25519", None, "Ed25519", "EdDSA", SIG, 128),
    ("ssh-ed25519", None, "Ed25519", "EdDSA", SIG, 128),
    ("1.3.101.112", None, "Ed25519", "EdDSA", SIG, 128),
    ("Ed448", None, "Ed448", "EdDSA", SIG, 224),
    ("EdDSA", 448, "Ed448", "EdDSA", SIG, 224),
    # ECDH, X25519, DH
    ("X25519", None, "X25519", "ECDH", KEX, 128),
    ("x25519", None, "X25519", "ECDH", KEX, 128),
    ("curve25519-sha256", None, "X25519", "ECDH", KEX, 128),
    ("curve25519-sha256@libssh.org", None, "X25519", "ECDH", KEX, 128),
    ("0x001D", None, "X25519", "ECDH", KEX, 128),
    ("X448", None, "X448", "ECDH", KEX, 224),
    ("ECDH-P256", None, "ECDH-P256", "ECDH", KEX, 128),
    ("ECDHE secp384r1", None, "ECDH-P384", "ECDH", KEX, 192),
    ("ecdh-sha2-nistp521", None, "ECDH-P521", "ECDH", KEX, 256),
    ("DH-2048", None, "DH-2048", "DH", KEX, 112),
    ("DHE 1024", None, "DH-1024", "DH", KEX, 80),
    ("ffdhe2048", None, "DH-2048", "DH", KEX, 112),
    ("ffdhe4096", None, "DH-4096", "DH", KEX, 128),
    ("0x0101", None, "DH-3072", "DH", KEX, 128),
    ("diffie-hellman-group14-sha256", None, "DH-2048", "DH", KEX, 112),
    ("diffie-hellman-group1-sha1", None, "DH-1024", "DH", KEX, 80),
    ("diffie-hellman-group16-sha512", None, "DH-4096", "DH", KEX, 128),
    ("modp2048", None, "DH-2048", "DH", KEX, 112),
    # DSA
    ("DSA-1024", None, "DSA-1024", "DSA", SIG, 80),
    ("DSA", 2048, "DSA-2048", "DSA", SIG, 112),
    ("ssh-dss", None, "DSA-1024", "DSA", SIG, 80),
    # ML-KEM, ML-DSA, SLH-DSA and the stateful hash-based schemes
    ("ML-KEM-512", None, "ML-KEM-512", "ML-KEM", KEX, 128),
    ("ML-KEM-768", None, "ML-KEM-768", "ML-KEM", KEX, 192),
    ("ML-KEM-1024", None, "ML-KEM-1024", "ML-KEM", KEX, 256),
    ("MLKEM768", None, "ML-KEM-768", "ML-KEM", KEX, 192),
    ("ml_kem_1024", None, "ML-KEM-1024", "ML-KEM", KEX, 256),
    ("2.16.840.1.101.3.4.4.2", None, "ML-KEM-768", "ML-KEM", KEX, 192),
    ("ML-DSA-44", None, "ML-DSA-44", "ML-DSA", SIG, 128),
    ("ML-DSA-65", None, "ML-DSA-65", "ML-DSA", SIG, 192),
    ("ML-DSA-87", None, "ML-DSA-87", "ML-DSA", SIG, 256),
    ("mldsa65", None, "ML-DSA-65", "ML-DSA", SIG, 192),
    ("SLH-DSA-SHA2-128s", None, "SLH-DSA-SHA2-128s", "SLH-DSA", SIG, 128),
    ("slh-dsa-shake-256f", None, "SLH-DSA-SHAKE-256f", "SLH-DSA", SIG, 256),
    ("2.16.840.1.101.3.4.3.20", None, "SLH-DSA-SHA2-128s", "SLH-DSA", SIG, 128),
    ("LMS", None, "LMS", "LMS", SIG, None),
    ("XMSS", None, "XMSS", "XMSS", SIG, None),
    # Hybrids
    ("X25519MLKEM768", None, "X25519MLKEM768", "hybrid", KEX, 192),
    ("x25519_mlkem768", None, "X25519MLKEM768", "hybrid", KEX, 192),
    ("0x11EC", None, "X25519MLKEM768", "hybrid", KEX, 192),
    ("SecP256r1MLKEM768", None, "SecP256r1MLKEM768", "hybrid", KEX, 192),
    ("SecP384r1MLKEM1024", None, "SecP384r1MLKEM1024", "hybrid", KEX, 256),
    ("X25519Kyber768Draft00", None, "X25519Kyber768Draft00", "hybrid", KEX, 192),
    ("mlkem768x25519-sha256", None, "mlkem768x25519-sha256", "hybrid", KEX, 192),
    (
        "sntrup761x25519-sha512@openssh.com",
        None,
        "sntrup761x25519-sha512",
        "hybrid",
        KEX,
        128,
    ),
    # Symmetric ciphers
    ("AES-128", None, "AES-128", "AES", ENC, 128),
    ("AES-192", None, "AES-192", "AES", ENC, 192),
    ("AES-256", None, "AES-256", "AES", ENC, 256),
    ("AES128", None, "AES-128", "AES", ENC, 128),
    ("AES-128-GCM", None, "AES-128-GCM", "AES", ENC, 128),
    ("aes_256_gcm", None, "AES-256-GCM", "AES", ENC, 256),
    ("AES-256-CBC", None, "AES-256-CBC", "AES", ENC, 256),
    ("aes128-ctr", None, "AES-128-CTR", "AES", ENC, 128),
    ("aes256-gcm@openssh.com", None, "AES-256-GCM", "AES", ENC, 256),
    ("2.16.840.1.101.3.4.1.46", None, "AES-256-GCM", "AES", ENC, 256),
    ("AES", 192, "AES-192", "AES", ENC, 192),
    ("ChaCha20-Poly1305", None, "ChaCha20-Poly1305", "ChaCha20", ENC, 256),
    ("chacha20-poly1305@openssh.com", None, "ChaCha20-Poly1305", "ChaCha20", ENC, 256),
    ("3DES", None, "3DES", "3DES", ENC, 112),
    ("DES-EDE3", None, "3DES", "3DES", ENC, 112),
    ("des-ede3-cbc", None, "3DES", "3DES", ENC, 112),
    ("TripleDES", None, "3DES", "3DES", ENC, 112),
    ("DES", None, "DES", "DES", ENC, 56),
    ("RC4", None, "RC4", "RC4", ENC, None),
    ("arcfour", None, "RC4", "RC4", ENC, None),
    # Hashes
    ("SHA-1", None, "SHA-1", "SHA-1", HASH, 61),
    ("SHA1", None, "SHA-1", "SHA-1", HASH, 61),
    ("sha1", None, "SHA-1", "SHA-1", HASH, 61),
    ("MD5", None, "MD5", "MD5", HASH, 18),
    ("SHA-256", None, "SHA-256", "SHA-2", HASH, 128),
    ("SHA256", None, "SHA-256", "SHA-2", HASH, 128),
    ("SHA-384", None, "SHA-384", "SHA-2", HASH, 192),
    ("SHA-512", None, "SHA-512", "SHA-2", HASH, 256),
    ("SHA3-256", None, "SHA3-256", "SHA-3", HASH, 128),
    ("sha3_512", None, "SHA3-512", "SHA-3", HASH, 256),
    # SEC 2, Koblitz, binary and Brainpool curves, with their TLS codepoints and OIDs
    ("secp160r1", None, "secp160r1", "EC", UNK, 80),
    ("0x0016", None, "ECDH-secp256k1", "ECDH", KEX, 128),
    ("ES256K", None, "ECDSA-secp256k1", "EC", SIG, 128),
    ("secp224k1", None, "secp224k1", "EC", UNK, 112),
    ("sect163k1", None, "K-163", "EC", UNK, 80),
    ("sect163r2", None, "B-163", "EC", UNK, 80),
    ("sect233k1", None, "K-233", "EC", UNK, 112),
    ("sect283k1", None, "K-283", "EC", UNK, 128),
    ("1.3.132.0.37", None, "B-409", "EC", UNK, 192),
    ("ECDSA sect571r1", None, "ECDSA-B571", "EC", SIG, 256),
    ("0x0009", None, "ECDH-K283", "ECDH", KEX, 128),
    ("brainpoolP256r1tls13", None, "brainpoolP256r1", "EC", UNK, 128),
    ("0x001f", None, "ECDH-brainpoolP256r1", "ECDH", KEX, 128),
    ("brainpoolP320r1", None, "brainpoolP320r1", "EC", UNK, 128),
    ("ECDSA-brainpoolP512r1", None, "ECDSA-brainpoolP512r1", "EC", SIG, 256),
    ("NIST P-384", None, "P-384", "EC", UNK, 192),
    ("ecp256", None, "P-256", "EC", UNK, 128),
    ("EC P-521", None, "P-521", "EC", UNK, 256),
    ("0x0013", None, "ECDH-P192", "ECDH", KEX, 80),
    # X.509 and JOSE signature names, SSH certificate and security-key types
    ("ES256", None, "ECDSA-P256", "EC", SIG, 128),
    ("ES384", None, "ECDSA-P384", "EC", SIG, 192),
    ("ES512", None, "ECDSA-P521", "EC", SIG, 256),
    ("ecdsa-with-SHA256", 256, "ECDSA-P256", "EC", SIG, 128),
    ("1.2.840.10045.4.3.3", 384, "ECDSA-P384", "EC", SIG, 192),
    ("ecdsa-with-SHA1", 256, "ecdsa-with-SHA1", "EC", SIG, 128),
    ("sk-ecdsa-sha2-nistp256@openssh.com", None, "ECDSA-P256", "EC", SIG, 128),
    ("ecdsa-sha2-nistp384-cert-v01@openssh.com", None, "ECDSA-P384", "EC", SIG, 192),
    ("sk-ssh-ed25519@openssh.com", None, "Ed25519", "EdDSA", SIG, 128),
    ("ssh-ed25519-cert-v01@openssh.com", None, "Ed25519", "EdDSA", SIG, 128),
    ("sha256WithRSAEncryption", 2048, "RSA-2048", "RSA", SIG, 112),
    ("1.2.840.113549.1.1.11", 4096, "RSA-4096", "RSA", SIG, 128),
    ("sha384WithRSAEncryption", 3072, "RSA-3072", "RSA", SIG, 128),
    ("sha1WithRSAEncryption", 2048, "sha1WithRSAEncryption", "RSA", SIG, 112),
    ("md5WithRSAEncryption", None, "md5WithRSAEncryption", "RSA", SIG, None),
    ("RS256", 2048, "RSA-2048", "RSA", SIG, 112),
    ("PS384", 3072, "RSA-3072", "RSA", SIG, 128),
    ("rsa-sha2-256-cert-v01@openssh.com", 3072, "RSA-3072", "RSA", SIG, 128),
    ("RSA-OAEP-256", 2048, "RSA-2048", "RSA", KEX, 112),
    ("RSA1_5", 2048, "RSA-2048", "RSA", KEX, 112),
    ("RSAES-PKCS1-v1_5", 4096, "RSA-4096", "RSA", KEX, 128),
    ("RSA-512", None, "RSA-512", "RSA", UNK, 57),  # the NFS estimate below SP 800-57
    ("RSA-8192", None, "RSA-8192", "RSA", UNK, 192),
    ("ECDH-ES", None, "ECDH", "ECDH", KEX, None),
    ("1.3.132.1.12", None, "ECDH", "ECDH", KEX, None),
    ("dsa-with-sha256", 2048, "DSA-2048", "DSA", SIG, 112),
    ("dsaWithSHA1", 1024, "dsaWithSHA1", "DSA", SIG, 80),
    ("DSA-3072", None, "DSA-3072", "DSA", SIG, 128),
    # Finite-field groups in TLS, SSH and IKE
    ("ffdhe8192", None, "DH-8192", "DH", KEX, 192),
    ("0x0104", None, "DH-8192", "DH", KEX, 192),
    ("diffie-hellman-group18-sha512", None, "DH-8192", "DH", KEX, 192),
    ("diffie-hellman-group14-sha1", None, "DH-2048", "DH", KEX, 112),
    ("diffie-hellman-group-exchange-sha256", 3072, "DH-3072", "DH", KEX, 128),
    ("MODP_1536", None, "DH-1536", "DH", KEX, 80),
    ("curve448-sha512", None, "X448", "ECDH", KEX, 224),
    ("0x001E", None, "X448", "ECDH", KEX, 224),
    # Post-quantum: codepoints, OIDs, draft names, parameter sets
    ("0x0200", None, "ML-KEM-512", "ML-KEM", KEX, 128),
    ("MLKEM1024", None, "ML-KEM-1024", "ML-KEM", KEX, 256),
    ("id-alg-ml-kem-512", None, "ML-KEM-512", "ML-KEM", KEX, 128),
    ("id-ml-dsa-87", None, "ML-DSA-87", "ML-DSA", SIG, 256),
    ("2.16.840.1.101.3.4.3.17", None, "ML-DSA-44", "ML-DSA", SIG, 128),
    ("SLH-DSA-SHA2-192f", None, "SLH-DSA-SHA2-192f", "SLH-DSA", SIG, 192),
    ("SPHINCS+", None, "SLH-DSA", "SLH-DSA", SIG, None),
    ("LMS_SHA256_M32_H10", None, "LMS-SHA256-M32-H10", "LMS", SIG, 256),
    ("LMS-SHAKE-M24-H20", None, "LMS-SHAKE-M24-H20", "LMS", SIG, 192),
    ("HSS-LMS", None, "LMS", "LMS", SIG, None),
    ("XMSS-SHA2_10_256", None, "XMSS-SHA2_10_256", "XMSS", SIG, 256),
    ("XMSSMT", None, "XMSS^MT", "XMSS", SIG, None),
    ("Falcon-512", None, "FN-DSA-512", "FN-DSA", SIG, 128),
    ("Kyber-1024", None, "Kyber1024", "Kyber", KEX, 256),
    ("Dilithium5", None, "Dilithium5", "Dilithium", SIG, 256),
    ("0x11EB", None, "SecP256r1MLKEM768", "hybrid", KEX, 192),
    ("0x11ED", None, "SecP384r1MLKEM1024", "hybrid", KEX, 256),
    ("curveSM2MLKEM768", None, "curveSM2MLKEM768", "hybrid", KEX, 192),
    ("0x6399", None, "X25519Kyber768Draft00", "hybrid", KEX, 192),
    ("mlkem1024nistp384-sha384", None, "mlkem1024nistp384-sha384", "hybrid", KEX, 256),
    ("sntrup761x25519-sha512", None, "sntrup761x25519-sha512", "hybrid", KEX, 128),
    # Symmetric: SSH and OpenSSL cipher names, modes, other block ciphers
    ("aes192-ctr", None, "AES-192-CTR", "AES", ENC, 192),
    ("aes128-gcm@openssh.com", None, "AES-128-GCM", "AES", ENC, 128),
    ("id-aes256-wrap", None, "AES-256-KW", "AES", ENC, 256),
    ("2.16.840.1.101.3.4.1.2", None, "AES-128-CBC", "AES", ENC, 128),
    ("AES-256-GCM-SIV", None, "AES-256-GCM-SIV", "AES", ENC, 256),
    ("ChaCha20", None, "ChaCha20", "ChaCha20", ENC, 256),
    ("camellia256-cbc", None, "Camellia-256", "Camellia", ENC, 256),
    ("ARIA-128-GCM", None, "ARIA-128", "ARIA", ENC, 128),
    ("SEED-CBC", None, "SEED", "SEED", ENC, 128),
    ("SM4-GCM", None, "SM4", "SM4", ENC, 128),
    ("3des-cbc", None, "3DES", "3DES", ENC, 112),
    ("blowfish-cbc", None, "Blowfish", "Blowfish", ENC, None),
    ("cast128-cbc", None, "CAST5", "CAST5", ENC, None),
    ("IDEA-CBC", None, "IDEA", "IDEA", ENC, None),
    ("arcfour256", None, "RC4", "RC4", ENC, None),
    ("RC2-CBC", None, "RC2", "RC2", ENC, None),
    # Hashes and MACs: OpenSSL, SSH, JOSE and OIDs
    ("SHA-512/256", None, "SHA-512/256", "SHA-2", HASH, 128),
    ("2.16.840.1.101.3.4.2.1", None, "SHA-256", "SHA-2", HASH, 128),
    ("SHAKE256", None, "SHAKE256", "SHA-3", HASH, 256),
    ("BLAKE2b512", None, "BLAKE2b-512", "BLAKE2", HASH, 256),
    ("1.2.840.113549.2.5", None, "MD5", "MD5", HASH, 18),
    ("hmac-sha2-256", None, "HMAC-SHA256", "HMAC", HASH, None),
    ("hmac-sha2-512-etm@openssh.com", None, "HMAC-SHA512", "HMAC", HASH, None),
    ("hmac-sha1", None, "HMAC-SHA1", "HMAC", HASH, None),
    ("hmac-md5", None, "HMAC-MD5", "HMAC", HASH, None),
    ("HS384", None, "HMAC-SHA384", "HMAC", HASH, None),
    ("hmacWithSHA256", None, "HMAC-SHA256", "HMAC", HASH, None),
    ("umac-128-etm@openssh.com", None, "UMAC-128", "UMAC", HASH, None),
    ("AES-CMAC", None, "AES-CMAC", "CMAC", HASH, None),
    # What CBOM generators write: Java (JCA) names, Go's x509 names, Windows', OpenSSL 3's
    # and cbomkit's cipher spellings. A hash-and-sign name never fixes a key size or a curve.
    ("des-56-cbc-pkcs5", None, "DES", "DES", ENC, 56),
    ("desede-168-cbc-pkcs5", None, "3DES", "3DES", ENC, 112),
    ("DESede/CBC/PKCS5Padding", None, "3DES", "3DES", ENC, 112),
    ("AES128-CBC-PKCS5", None, "AES-128-CBC", "AES", ENC, 128),
    ("aes-256-gcm-nopadding", None, "AES-256-GCM", "AES", ENC, 256),
    ("AES_256/GCM/NoPadding", None, "AES-256-GCM", "AES", ENC, 256),
    ("AES/GCM/NoPadding", 128, "AES-128-GCM", "AES", ENC, 128),
    ("pbkdf2withhmacsha1", None, "PBKDF2-HMAC-SHA1", "PBKDF2", HASH, None),
    ("PBKDF2WithHmacSHA256", None, "PBKDF2-HMAC-SHA256", "PBKDF2", HASH, None),
    ("HKDF-SHA256", None, "HKDF-SHA256", "HKDF", HASH, None),
    ("HMACSHA2", None, "HMAC-SHA2", "HMAC", HASH, None),
    ("HmacSHA256", None, "HMAC-SHA256", "HMAC", HASH, None),
    ("SHA2-256", None, "SHA-256", "SHA-2", HASH, 128),
    ("SHA256withECDSA", None, "ECDSA", "EC", SIG, None),
    ("SHA384withECDSA", 384, "ECDSA-P384", "EC", SIG, 192),
    ("ECDSA-SHA384", None, "ECDSA", "EC", SIG, None),
    ("SHA512withRSA", None, "RSA", "RSA", SIG, None),
    ("SHA512withRSA", 3072, "RSA-3072", "RSA", SIG, 128),
    ("SHA256-RSA", None, "RSA", "RSA", SIG, None),
    ("SHA256-RSAPSS", None, "RSA", "RSA", SIG, None),
    ("SHA256withRSA/PSS", None, "RSA", "RSA", SIG, None),
    ("SHA3-256withRSA", None, "RSA", "RSA", SIG, None),
    ("sha256RSA", None, "RSA", "RSA", SIG, None),
    ("SHA1-RSA", None, "sha1WithRSAEncryption", "RSA", SIG, None),
    ("MD5-RSA", None, "md5WithRSAEncryption", "RSA", SIG, None),
    ("SHA1withDSA", None, "dsaWithSHA1", "DSA", SIG, None),
    ("SHA256withDSA", None, "DSA", "DSA", SIG, None),
    ("RSA/ECB/PKCS1Padding", None, "RSA", "RSA", KEX, None),
    ("RSA/ECB/OAEPWithSHA-256AndMGF1Padding", 2048, "RSA-2048", "RSA", KEX, 112),
]

QUANTUM_VULNERABLE_FAMILIES = {"RSA", "EC", "ECDH", "EdDSA", "DH", "DSA"}
PQC_FAMILIES = {"ML-KEM", "ML-DSA", "SLH-DSA", "LMS", "XMSS", "FN-DSA", "Kyber", "Dilithium"}


class TestParseAlgorithm:
    def test_the_table_covers_at_least_150_spellings(self) -> None:
        assert len({row[:2] for row in SPELLINGS}) >= 150

    @pytest.mark.parametrize(
        ("text", "key_size", "canonical", "family", "usage", "bits"),
        SPELLINGS,
        ids=[f"{row[0]}+{row[1]}" if row[1] else row[0] for row in SPELLINGS],
    )
    def test_spelling(
        self,
        text: str,
        key_size: int | None,
        canonical: str,
        family: str,
        usage: Usage,
        bits: int | None,
    ) -> None:
        info = parse_algorithm(text, key_size)
        assert info.known
        assert info.canonical == canonical
        assert info.family == family
        assert info.usage is usage
        assert info.classical_bits == bits
        assert info.quantum_vulnerable is (family in QUANTUM_VULNERABLE_FAMILIES)
        assert info.pqc is (family in PQC_FAMILIES)
        assert info.hybrid is (family == "hybrid")

    @pytest.mark.parametrize(
        "text",
        [
            "GOST R 34.10-2012",
            "  Frobnicate-9000  ",
            "SHA",
            "RSA-12",
            "ECDSA-300",
            "AES-100",
            # A size that contradicts the entry, a hash without an entry, an unknown cipher.
            "des-64-cbc-pkcs5",
            "aes-512-cbc-pkcs5",
            "MD2withRSA",
            "Frobnicate/CBC/PKCS5Padding",
        ],
    )
    def test_unknown_names_are_not_guessed(self, text: str) -> None:
        info = parse_algorithm(text, 2048)
        assert info == AlgorithmInfo(
            canonical=text.strip(),
            family=None,
            key_size=2048,
            usage=Usage.UNKNOWN,
            quantum_vulnerable=False,
            pqc=False,
            hybrid=False,
            classical_bits=None,
            known=False,
        )

    def test_empty_name_is_unknown(self) -> None:
        assert not parse_algorithm("   ").known

    def test_size_in_the_name_wins_over_the_argument(self) -> None:
        assert parse_algorithm("RSA-2048", 4096).canonical == "RSA-2048"
        assert parse_algorithm("ECDSA-P384", 256).key_size == 384

    def test_family_without_size_keeps_the_callers_size(self) -> None:
        info = parse_algorithm("ECDSA", 300)
        assert (info.canonical, info.key_size, info.classical_bits) == ("ECDSA", 300, 128)

    def test_implausible_rsa_size_argument_keeps_the_family(self) -> None:
        info = parse_algorithm("RSA", 100)
        assert (info.canonical, info.key_size, info.classical_bits) == ("RSA", 100, None)
        assert info.quantum_vulnerable

    def test_pre_standard_drafts_are_deprecated_but_post_quantum(self) -> None:
        for name in ("X25519Kyber768Draft00", "Kyber768", "Dilithium3"):
            info = parse_algorithm(name)
            assert info.deprecated
            assert info.post_quantum
            assert not info.quantum_vulnerable

    @pytest.mark.parametrize("name", ["DES", "3DES", "RC4", "MD5", "SHA-1"])
    def test_classically_broken_algorithms_are_deprecated(self, name: str) -> None:
        assert parse_algorithm(name).deprecated

    @pytest.mark.parametrize("name", ["AES-128", "SHA-256", "ChaCha20-Poly1305", "ML-KEM-768"])
    def test_sound_algorithms_are_not_deprecated(self, name: str) -> None:
        assert not parse_algorithm(name).deprecated


class TestCatalog:
    def test_has_more_than_eighty_entries(self) -> None:
        assert len(catalog()) > 80

    def test_every_canonical_name_parses_to_itself(self) -> None:
        for canonical, info in catalog().items():
            assert parse_algorithm(canonical) == info, canonical

    def test_refuses_an_alias_that_names_another_entry(self) -> None:
        before = catalog()
        clash = parse_algorithm("AES-128")
        with pytest.raises(ValueError, match="already names"):
            names_module._register(  # exercising the import-time guard directly
                AlgorithmInfo(
                    "AES-128-NEW", "AES", 128, Usage.ENCRYPTION, False, False, False, 128, True
                ),
                "secp256r1",
            )
        assert catalog() == before
        assert parse_algorithm("AES-128") == clash


class TestClassicalBits:
    @pytest.mark.parametrize(
        ("size", "bits"),
        [(1024, 80), (2048, 112), (3072, 128), (4096, 128), (7680, 192), (15360, 256)],
    )
    def test_finite_field_follows_sp_800_57(self, size: int, bits: int) -> None:
        assert finite_field_bits(size) == bits

    def test_finite_field_below_the_table_uses_the_nfs_estimate(self) -> None:
        assert finite_field_bits(512) < finite_field_bits(768) < 80

    @pytest.mark.parametrize(
        ("size", "bits"), [(160, 80), (224, 112), (256, 128), (384, 192), (521, 256), (112, 56)]
    )
    def test_elliptic_curves_follow_sp_800_57(self, size: int, bits: int) -> None:
        assert ec_bits(size) == bits


class TestIr8547Deadline:
    @pytest.mark.parametrize(
        ("name", "deadline"),
        [
            ("RSA-2048", date(2030, 12, 31)),
            ("DH-2048", date(2030, 12, 31)),
            ("P-224", date(2030, 12, 31)),
            ("RSA", date(2030, 12, 31)),  # unknown strength: the conservative date
            ("RSA-3072", date(2035, 12, 31)),
            ("ECDSA-P256", date(2035, 12, 31)),
            ("X25519", date(2035, 12, 31)),
            ("Ed25519", date(2035, 12, 31)),
            ("ML-KEM-768", None),
            ("X25519MLKEM768", None),
            ("AES-128", None),
        ],
    )
    def test_deadline(self, name: str, deadline: date | None) -> None:
        assert ir8547_deadline(parse_algorithm(name)) == deadline


PRIMITIVES = {
    "kdf",
    "signature",
    "key-agree",
    "kem",
    "pke",
    "combiner",
    "ae",
    "block-cipher",
    "stream-cipher",
    "hash",
    "xof",
    "mac",
    "unknown",
}


class TestEntries:
    def test_covers_every_family_the_issue_lists(self) -> None:
        names = set(entries())
        for size in (512, 1024, 2048, 3072, 4096, 7680, 15360):
            assert f"RSA-{size}" in names
        expected = {
            "DSA-2048", "DH-2048", "DH-8192", "ECDSA-P256", "ECDH-P384", "ECDSA-secp256k1",
            "ECDSA-brainpoolP384r1", "ECDH-K283", "Ed25519", "Ed448", "X25519", "X448",
            "AES-128-GCM", "AES-192-CBC", "AES-256-CTR", "3DES", "DES", "RC4",
            "ChaCha20-Poly1305", "MD5", "SHA-1", "SHA-256", "SHA3-256", "HMAC-SHA256",
            "ML-KEM-512", "ML-KEM-768", "ML-KEM-1024", "ML-DSA-44", "ML-DSA-65", "ML-DSA-87",
            "SLH-DSA-SHA2-128s", "SLH-DSA-SHAKE-256f", "LMS-SHA256-M32-H10", "XMSS-SHA2_10_256",
            "X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "mlkem768x25519-sha256",
            "sntrup761x25519-sha512",
        }  # fmt: skip
        assert expected <= names
        assert len(names) >= 80

    def test_standard_sizes_are_listed_with_their_strength(self) -> None:
        listed = entries()
        for family, sizes in STANDARD_SIZES.items():
            for size in sizes:
                info = listed[f"{family}-{size}"]
                assert info.classical_bits == finite_field_bits(size)
                assert info.quantum_level == 0

    @pytest.mark.parametrize("info", list(entries().values()), ids=lambda i: i.canonical)
    def test_every_entry_has_every_field(self, info: AlgorithmInfo) -> None:
        assert info.known
        assert info.family
        assert info.primitive in PRIMITIVES
        assert info.quantum_level is not None
        assert 0 <= info.quantum_level <= 5
        # Shor-breakable means level 0; post-quantum means at least category 1.
        if info.quantum_vulnerable:
            assert info.quantum_level == 0
        if info.post_quantum:
            assert info.quantum_level >= 1
        assert parse_algorithm(info.canonical) == info

    @pytest.mark.parametrize(
        ("name", "level", "primitive"),
        [
            ("RSA-15360", 0, "pke"),
            ("ECDSA-P521", 0, "signature"),
            ("X25519", 0, "key-agree"),
            ("AES-128", 1, "block-cipher"),
            ("AES-192-GCM", 3, "ae"),
            ("AES-256", 5, "block-cipher"),
            ("ChaCha20-Poly1305", 5, "ae"),
            ("SHA-256", 2, "hash"),
            ("SHA-384", 4, "hash"),
            ("SHAKE128", 2, "xof"),
            ("HMAC-SHA256", 5, "mac"),
            ("ML-KEM-512", 1, "kem"),
            ("ML-KEM-768", 3, "kem"),
            ("ML-KEM-1024", 5, "kem"),
            ("ML-DSA-44", 2, "signature"),
            ("ML-DSA-65", 3, "signature"),
            ("ML-DSA-87", 5, "signature"),
            ("SLH-DSA-SHA2-192s", 3, "signature"),
            ("X25519MLKEM768", 3, "combiner"),
            ("SecP384r1MLKEM1024", 5, "combiner"),
            ("3DES", 0, "block-cipher"),
            ("MD5", 0, "hash"),
        ],
    )
    def test_quantum_level_and_primitive(self, name: str, level: int, primitive: str) -> None:
        info = parse_algorithm(name)
        assert (info.quantum_level, info.primitive) == (level, primitive)

    def test_unknown_has_no_level(self) -> None:
        assert parse_algorithm("Frobnicate-9000").quantum_level is None

    def test_a_size_never_picks_a_non_nist_curve(self) -> None:
        assert not parse_algorithm("ECDSA-320").known
        assert not parse_algorithm("ECDSA-163").known
        assert parse_algorithm("ECDSA", 512).canonical == "ECDSA"


class TestParseCbomAlgorithm:
    @pytest.mark.parametrize(
        ("name", "properties", "canonical", "usage"),
        [
            ("ML-KEM", {"parameter_set": "768"}, "ML-KEM-768", KEX),
            ("ML-DSA", {"parameter_set": "65", "primitive": "signature"}, "ML-DSA-65", SIG),
            ("SLH-DSA", {"parameter_set": "SHA2-128s"}, "SLH-DSA-SHA2-128s", SIG),
            ("RSA", {"parameter_set": "2048", "primitive": "signature"}, "RSA-2048", SIG),
            ("RSA", {"parameter_set": "3072", "primitive": "pke"}, "RSA-3072", KEX),
            ("RSA-2048", {"primitive": "pke"}, "RSA-2048", KEX),
            ("ECDSA", {"curve": "secp384r1"}, "ECDSA-P384", SIG),
            ("EC", {"curve": "P-256", "primitive": "key-agree"}, "ECDH-P256", KEX),
            ("EC", {"curve": "brainpoolP256r1", "primitive": "signature"},
             "ECDSA-brainpoolP256r1", SIG),
            ("EdDSA", {"curve": "Curve25519", "primitive": "signature"}, "Ed25519", SIG),
            ("", {"curve": "curve25519", "primitive": "key-agree"}, "X25519", KEX),
            ("AES", {"parameter_set": "256", "mode": "gcm"}, "AES-256-GCM", ENC),
            ("AES-128", {"mode": "CBC"}, "AES-128-CBC", ENC),
            ("SHA-384", {"primitive": "hash"}, "SHA-384", HASH),
            ("something-proprietary", {"oid": "1.3.101.112"}, "Ed25519", SIG),
            # A parameter set beside a hash-and-sign name or OID is the digest's size.
            ("SHA512withRSA", {"parameter_set": "512", "primitive": "signature"}, "RSA", SIG),
            ("", {"oid": "1.2.840.113549.1.1.13", "parameter_set": "512"}, "RSA", SIG),
            ("SHA1-RSA", {"parameter_set": "160"}, "sha1WithRSAEncryption", SIG),
            ("ECDSA-SHA384", {"parameter_set": "384"}, "ECDSA", SIG),
            # The catalog's usage wins over a primitive that contradicts it.
            ("ECDSA", {"curve": "P-256", "primitive": "pke"}, "ECDSA-P256", SIG),
            ("Ed25519", {"primitive": "kem"}, "Ed25519", SIG),
            # CycloneDX 1.7 algorithmFamily when the name says nothing.
            ("", {"family": "ML-KEM", "parameter_set": "768"}, "ML-KEM-768", KEX),
            ("", {"family": "RSASSA-PKCS1"}, "RSA", SIG),
            ("", {"family": "RSAES-OAEP", "parameter_set": "3072"}, "RSA-3072", KEX),
        ],
    )  # fmt: skip
    def test_properties_complete_the_name(
        self, name: str, properties: dict[str, Any], canonical: str, usage: Usage
    ) -> None:
        info = parse_cbom_algorithm(name, **properties)
        assert (info.canonical, info.usage) == (canonical, usage)

    @pytest.mark.parametrize(
        ("name", "properties"),
        [
            ("GOST R 34.10-2012", {"parameter_set": "256"}),
            ("ECDSA", {"curve": "frobnicurve"}),
            ("", {}),
            ("Vendor-KEM", {"primitive": "kem", "parameter_set": "768"}),
        ],
    )
    def test_never_guesses(self, name: str, properties: dict[str, Any]) -> None:
        info = parse_cbom_algorithm(name, **properties)
        if name == "ECDSA":
            assert info.canonical == "ECDSA"  # the family stays, no curve is made up
        else:
            assert not info.known


class TestSignedDigest:
    @pytest.mark.parametrize(
        ("text", "digest"),
        [
            ("SHA512withRSA", "SHA-512"),
            ("sha512WithRSAEncryption", "SHA-512"),
            ("1.2.840.113549.1.1.13", "SHA-512"),
            ("SHA256-RSA", "SHA-256"),
            ("SHA1-RSA", "SHA-1"),
            ("1.2.840.113549.1.1.5", "SHA-1"),
            ("ECDSA-SHA384", "SHA-384"),
            ("ecdsa-with-SHA384", "SHA-384"),
            ("1.2.840.10045.4.3.3", "SHA-384"),
            ("SHA256withECDSA", "SHA-256"),
            ("rsa-sha2-256", "SHA-256"),
            ("RS512", "SHA-512"),
            ("SHA3-256withRSA", "SHA3-256"),
            ("2.16.840.1.101.3.4.3.14", "SHA3-256"),
        ],
    )
    def test_hash_and_sign_names_fix_their_digest(self, text: str, digest: str) -> None:
        assert names_module.signed_digest(text) == digest

    @pytest.mark.parametrize(
        "text", ["RSA", "RSA-2048", "ECDSA", "ECDSA-P384", "Ed25519", "ML-DSA-65", "SHA-512", ""]
    )
    def test_other_names_fix_none(self, text: str) -> None:
        assert names_module.signed_digest(text) is None


class TestSignatureScheme:
    @pytest.mark.parametrize(
        ("text", "scheme"),
        [
            ("sha1WithRSAEncryption", ("SHA-1", "RSA")),
            ("SHA1withRSA", ("SHA-1", "RSA")),
            ("RSA-SHA1", ("SHA-1", "RSA")),
            ("md5WithRSAEncryption", ("MD5", "RSA")),
            ("md4WithRSAEncryption", ("MD4", "RSA")),
            ("md2WithRSAEncryption", ("MD2", "RSA")),
            ("ecdsa-with-SHA1", ("SHA-1", "ECDSA")),
            ("SHA384withECDSA", ("SHA-384", "ECDSA")),
            ("dsaWithSHA1", ("SHA-1", "DSA")),
            ("SHA256withRSAandMGF1", ("SHA-256", "RSA-PSS")),
        ],
    )
    def test_digest_and_signer(self, text: str, scheme: tuple[str, str]) -> None:
        assert names_module.signature_scheme(text) == scheme

    @pytest.mark.parametrize("text", ["RSA", "ECDSA-P256", "1.2.840.113549.1.1.5", "RS256", ""])
    def test_other_names(self, text: str) -> None:
        assert names_module.signature_scheme(text) is None

    def test_md4_schemes_stay_unknown(self) -> None:
        # No catalog entry signs with MD4: an unknown, never a sound-looking RSA scheme.
        assert not parse_algorithm("md4WithRSAEncryption").known
