from __future__ import annotations

import pytest

from qrap_core.dashboard.classify import pq_class


class TestPqClass:
    @pytest.mark.parametrize(
        ("algorithm", "key_size", "kind", "expected"),
        [
            ("RSA", 2048, "certificate", "quantum-vulnerable"),
            ("X25519MLKEM768", None, "key_exchange", "hybrid"),
            ("ML-KEM-768", None, "key_exchange", "post-quantum"),
            ("AES-256-GCM", None, "cipher", "quantum-resistant"),
            ("TLS_RSA_WITH_AES_128_CBC_SHA", None, "cipher_suite", "quantum-vulnerable"),
            ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None, "cipher_suite", "quantum-vulnerable"),
            ("TLS_AES_256_GCM_SHA384", None, "cipher_suite", "quantum-resistant"),
            ("TLSv1.2", None, "protocol", "protocol"),
            ("frobnicate-9", None, "key_exchange", "unknown"),
            (None, None, "certificate", "unknown"),
        ],
    )
    def test_classes(
        self, algorithm: str | None, key_size: int | None, kind: str, expected: str
    ) -> None:
        assert pq_class(algorithm, key_size, kind) == expected
