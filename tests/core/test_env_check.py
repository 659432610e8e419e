"""Start-up warnings (qrap_core/env_check.py): a mistyped variable is named with the setting it
was probably meant to be, and disabled authentication is announced at every start."""

from __future__ import annotations

import pytest

from qrap_api.app import create_app
from qrap_core import env_check
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import RecordingDispatcher


class TestUnknownVariables:
    @pytest.mark.parametrize(
        ("name", "closest"),
        [
            ("QUANTUM_JWT_SECRET", "QUANTUN_JWT_SECRET"),  # the typo of the first-hour report
            ("QUANTUN_API_KEY", "QUANTUN_API_KEYS"),
            ("QRAP_DB_HOTS", "QRAP_DB_HOST"),
            ("QRAPP_LOG_LEVEL", "QRAP_LOG_LEVEL"),
            ("qrap_scan_allow_network", "QRAP_SCAN_ALLOW_NETWORKS"),
            ("QRAP_WHATEVER", None),  # ours by its prefix, like no setting
        ],
    )
    def test_names_the_variable_and_its_closest_setting(
        self, name: str, closest: str | None
    ) -> None:
        found = env_check.unknown_variables([name, "PATH", "HOME", "QRAP_DB_HOST"])
        assert found == [env_check.UnknownVariable(name, closest)]
        message = found[0].message()
        assert message.startswith(f"{name} is set but is not a QRAP setting")
        hint = f"did you mean {closest}?" if closest else "did you mean"
        assert (hint in message) is (closest is not None)

    def test_every_setting_and_known_variable_passes(self) -> None:
        names = env_check.setting_names() | env_check.OTHER_KNOWN
        assert {"QRAP_DB_HOST", "QUANTUN_JWT_SECRET", "PROMETHEUS_MULTIPROC_DIR"} <= names
        assert env_check.unknown_variables(names) == []

    @pytest.mark.parametrize("name", ["PATH", "PYTHONPATH", "QT_SCALE_FACTOR", "LANG", "QUIET"])
    def test_leaves_other_programs_variables_alone(self, name: str) -> None:
        assert env_check.unknown_variables([name]) == []


class TestStartupWarnings:
    def test_auth_disabled_is_announced(self) -> None:
        warnings = env_check.startup_warnings(Settings(auth_disabled=True), environ={})
        assert len(warnings) == 1
        assert "authentication is DISABLED" in warnings[0]
        assert "QRAP_AUTH_DISABLED" in warnings[0]

    def test_nothing_to_say_with_auth_and_known_names(self) -> None:
        quiet = Settings(QUANTUN_JWT_SECRET="s" * 40)
        assert env_check.startup_warnings(quiet, environ={"QRAP_DB_HOST": "db"}) == []

    def test_api_start_logs_both(
        self,
        settings: Settings,
        database: Database,
        monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("QUANTUM_JWT_SECRET", "typed-with-an-m")
        unauthenticated = settings.model_copy(update={"auth_disabled": True})
        create_app(unauthenticated, database=database, dispatcher=RecordingDispatcher())
        output = "".join(capfd.readouterr())
        assert "QUANTUM_JWT_SECRET is set but is not a QRAP setting" in output
        assert "did you mean QUANTUN_JWT_SECRET?" in output
        assert "authentication is DISABLED" in output
        assert "typed-with-an-m" not in output  # the name only, never the value
