"""Settings: the database URL forms operators write, and configuration errors that name the
variable."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from qrap_core.db import Database
from qrap_core.errors import ConfigurationError
from qrap_core.settings import Settings, load_settings


def _plain(pg_url: str, scheme: str) -> str:
    """The session's database URL as an operator writes it: another scheme, no driver."""
    return scheme + "://" + pg_url.split("://", 1)[1]


class TestDatabaseUrl:
    @pytest.mark.parametrize("scheme", ["postgresql", "postgres", "POSTGRESQL"])
    def test_forms_without_a_driver_connect_with_the_shipped_driver(
        self, pg_url: str, scheme: str
    ) -> None:
        settings = Settings(database_url=_plain(pg_url, scheme))
        assert settings.sqlalchemy_url.startswith("postgresql+psycopg2://")
        database = Database(settings.sqlalchemy_url)
        try:
            with database.engine.connect() as conn:
                assert (
                    conn.execute(text("select current_database()")).scalar()
                    == (pg_url.rsplit("/", 1)[1])
                )
        finally:
            database.dispose()

    def test_the_environment_variable_is_read_and_normalized(
        self, pg_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QRAP_DATABASE_URL", _plain(pg_url, "postgres"))
        assert load_settings().sqlalchemy_url == pg_url

    def test_an_explicit_psycopg2_url_and_sqlite_are_kept(self) -> None:
        url = "postgresql+psycopg2://u@db:5432/qrap?sslmode=require"
        assert Settings(database_url=url).sqlalchemy_url == url
        assert Settings(database_url="sqlite:////tmp/q.db").sqlalchemy_url == "sqlite:////tmp/q.db"

    @pytest.mark.parametrize(
        "url", ["mysql://root@localhost/qrap", "postgresql+psycopg://u@h/db", "not a url"]
    )
    def test_an_unusable_url_fails_at_start_naming_the_variable(
        self, url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QRAP_DATABASE_URL", url)
        with pytest.raises(ConfigurationError, match="QRAP_DATABASE_URL"):
            load_settings()
