"""Real processes for the fault tests: a private redis-server, Celery workers and beat, uvicorn,
a private PostgreSQL cluster, delayed TLS targets, a webhook receiver, and the ledger that the
end-of-suite summary prints.

Everything listens on 127.0.0.1 only. The machine's own PostgreSQL and Redis are never stopped:
faults that restart a service use the private ones started here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from sqlalchemy import func, select

from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import Assessment, AssessmentRun, RunExecution
from qrap_core.assessment.schemas import AssessmentCreate
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask
from qrap_core.discovery.targets import CertificateTarget
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.settings import Settings
from qrap_worker.app import configure

ROOT = Path(__file__).resolve().parents[2]
CERTS = ROOT / "qrap_core" / "examples" / "certs"
# The newest PostgreSQL server binaries installed (Debian keeps one folder per major version).
PG_BIN = max(
    Path("/usr/lib/postgresql").glob("*/bin"),
    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    default=Path("/usr/lib/postgresql/15/bin"),
)
ACTOR = Actor(subject="fault-tests")
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, poll: float = 0.2) -> float:
    """Poll ``check`` until true; return the seconds it took, or fail naming ``what``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc; no psutil needed)."""
    found: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    with contextlib.suppress(OSError):
        for task in task_dir.iterdir():
            with contextlib.suppress(OSError):
                found += [int(p) for p in (task / "children").read_text().split()]
    return found


# -- the summary ------------------------------------------------------------------------------


@dataclass
class LedgerRow:
    test: str
    fault: str
    injected: int = 0
    submitted: int = 0
    completed: int = 0
    duplicated: int = 0
    lost: int = 0
    note: str = ""


@dataclass
class Ledger:
    rows: list[LedgerRow] = field(default_factory=list)

    def row(self, test: str, fault: str) -> LedgerRow:
        entry = LedgerRow(test, fault)
        self.rows.append(entry)
        return entry


LEDGER = Ledger()


# -- Redis ------------------------------------------------------------------------------------


class RedisServer:
    """A private redis-server with AOF fsync on every write, as docs/reliability.md sets it up."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always",
                "--maxmemory-policy", "noeviction", "--save", "", "--protected-mode", "yes",
            ],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(self.ping, 20, "redis-server to answer PING")

    def ping(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db))

    def shutdown(self) -> None:
        """``SHUTDOWN`` as an operator would (AOF is already fsynced on every write)."""
        with contextlib.suppress(redis.RedisError):
            self.client().shutdown(nosave=False)
        if self.process is not None:
            self.process.wait(timeout=20)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


# -- Celery -----------------------------------------------------------------------------------


def reliability_env(database_url: str, redis_url: str, **overrides: str) -> dict[str, str]:
    """Settings for every process of a fault test: docs/reliability.md's test overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRAP_", "QUANTUN_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "QRAP_DATABASE_URL": database_url,
            "QRAP_REDIS_URL": redis_url,
            "QRAP_SCAN_ALLOW_NETWORKS": "127.0.0.0/8",
            "QRAP_PROBE_TIMEOUT": "9",
            "QRAP_LOG_LEVEL": "info",
            "QRAP_RUN_LEASE_SECONDS": "20",
            "QRAP_RUN_HEARTBEAT_SECONDS": "5",
            "QRAP_SWEEP_INTERVAL_SECONDS": "5",
            "QRAP_RUN_REQUEUE_AFTER_SECONDS": "15",
            "QRAP_CELERY_VISIBILITY_TIMEOUT": "30",
            "QRAP_CELERY_TASK_TIME_LIMIT": "12",
            "QRAP_CELERY_TASK_SOFT_TIME_LIMIT": "10",
            "QRAP_WEBHOOK_TIMEOUT_SECONDS": "2",
            "QRAP_WEBHOOK_DISPATCH_INTERVAL_SECONDS": "0.5",
            "QRAP_WEBHOOK_SCHEDULE_SCALE": str(1 / 2000),
            "QRAP_WEBHOOK_ALLOW_PRIVATE": "true",
            "QRAP_SCHEDULE_INTERVAL_SECONDS": "5",
            "QRAP_IDEMPOTENCY_TTL_SECONDS": "2",
            "QRAP_AUTH_DISABLED": "true",
            "QRAP_RATE_LIMIT": "1000000",
            "QRAP_WORKER_METRICS_PORT": "0",  # parallel sessions would all want 9808
        }
    )
    env.update(overrides)
    return env


class Process:
    """A child process in its own session (so a kill reaches its whole group), logging to a
    file that ``wait_log`` can watch."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.argv = argv
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        # Whether the last stop() had to KILL because TERM did not end the process in time.
        self.killed_at_stop = False

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(errors="replace")[self._offset :]

    def wait_log(self, needle: str, timeout: float) -> None:
        def seen() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.argv[:4]} exited:\n{self.text()[-3000:]}")
            return needle in self.text()

        wait_until(seen, timeout, f"{needle!r} in {self.log.name}")

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, sig)

    def kill_group(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
            self.process = None

    def stop(self, timeout: float = 40) -> float:
        """TERM (warm shutdown), then KILL the group after ``timeout``; return seconds taken."""
        if self.process is None:
            return 0.0
        started = time.monotonic()
        self.signal(signal.SIGTERM)
        self.killed_at_stop = False
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            self.killed_at_stop = True
            return timeout
        taken = time.monotonic() - started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # stray children, if any
        self.process = None
        return taken

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def celery_worker(
    env: dict[str, str],
    log: Path,
    *,
    app: str = "qrap_worker.app",
    queues: str = "assessments,maintenance,webhooks",
    concurrency: int = 2,
) -> Process:
    return Process(
        [
            sys.executable, "-m", "celery", "-A", app, "worker", "-Q", queues,
            "-c", str(concurrency), "--prefetch-multiplier", "1", "-l", "INFO",
            "-n", f"fault-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle",
        ],
        env, log,
    )  # fmt: skip


def celery_beat(env: dict[str, str], folder: Path) -> Process:
    return Process(
        [
            sys.executable, "-m", "celery", "-A", "qrap_worker.app", "beat", "-l", "INFO",
            "-s", str(folder / f"beat-{uuid.uuid4().hex[:8]}"),
        ],
        env, folder / "beat.log",
    )  # fmt: skip


def uvicorn(
    env: dict[str, str],
    log: Path,
    port: int,
    *,
    app: str = "qrap_api.app:create_app",
    graceful: int = 10,
) -> Process:
    return Process(
        [
            sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--timeout-graceful-shutdown", str(graceful),
            "--log-level", "info",
        ],
        env, log,
    )  # fmt: skip


def start_api(process: Process) -> Process:
    process.start()
    process.wait_log("Application startup complete", 60)
    return process


def start_worker(process: Process) -> Process:
    process.start()
    process.wait_log(" ready.", 60)
    return process


def pool_children(worker: Process) -> list[int]:
    return children_of(worker.pid)


def celery_client(broker_url: str) -> Celery:
    app = Celery("fault-client")
    configure(app, Settings(redis_url=broker_url, auth_disabled=True))
    return app


def dispatcher(app: Celery, copies: int = 1) -> Callable[[DeferredTask], None]:
    def send(task: DeferredTask) -> None:
        for _ in range(copies):
            app.send_task(task.name, kwargs=task.kwargs, queue=task.queue)

    return send


# -- jobs -------------------------------------------------------------------------------------


RSA1024 = (CERTS / "rsa1024.pem").read_text()


def make_org(db: Database, name: str | None = None) -> uuid.UUID:
    with db.unit_of_work() as uow:
        org = organization_service.create(
            uow, ACTOR, OrganizationCreate(name=name or f"faults-{uuid.uuid4()}")
        )
        return org.id


def submit(
    db: Database,
    org_id: uuid.UUID,
    send: Callable[[DeferredTask], None],
    *,
    tls_ports: list[int] | None = None,
    webhook_url: str | None = None,
    name: str = "fault job",
) -> tuple[uuid.UUID, uuid.UUID]:
    """Create one assessment with run=True (one certificate target for findings, plus the TLS
    targets given); return (assessment id, run id). The task is sent after the commit."""
    sent: list[DeferredTask] = []
    with db.unit_of_work(sent.append) as uow:
        assessment = assessment_service.create(
            uow,
            ACTOR,
            AssessmentCreate(
                name=name,
                organization_id=org_id,
                target_assets=[f"tls://127.0.0.1:{p}" for p in tls_ports or []],
                targets=[CertificateTarget(pem=RSA1024)],
                run=True,
                webhook_url=webhook_url,
            ),
        )
        assessment_id = assessment.id
    for task in sent:
        send(task)
    return assessment_id, uuid.UUID(sent[0].kwargs["run_id"])


@dataclass(frozen=True)
class RunState:
    status: str
    attempts: int
    executions: int
    findings: int
    distinct_findings: int
    assets: int
    expected_findings: int | None


def run_states(db: Database, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, RunState]:
    out: dict[uuid.UUID, RunState] = {}
    with db.unit_of_work() as uow:
        for run_id in run_ids:
            run = uow.session.get_one(AssessmentRun, run_id)

            def count(*cols: Any, model: Any, rid: uuid.UUID = run_id) -> int:
                return int(uow.session.scalar(select(*cols).where(model.run_id == rid)) or 0)

            out[run_id] = RunState(
                status=run.status,
                attempts=run.attempts,
                executions=count(func.count(), model=RunExecution),
                findings=count(func.count(Finding.id), model=Finding),
                distinct_findings=count(
                    func.count(func.distinct(Finding.fingerprint)), model=Finding
                ),
                assets=count(func.count(CryptoAssetRecord.id), model=CryptoAssetRecord),
                expected_findings=(run.summary or {}).get("total_findings"),
            )
    return out


def wait_terminal(db: Database, run_ids: list[uuid.UUID], timeout: float) -> float:
    def done() -> bool:
        return all(s.status in TERMINAL for s in run_states(db, run_ids).values())

    try:
        return wait_until(done, timeout, f"{len(run_ids)} runs to end", poll=0.5)
    except AssertionError:
        states = run_states(db, run_ids)
        stuck = {str(k): v.status for k, v in states.items() if v.status not in TERMINAL}
        raise AssertionError(f"runs not ended after {timeout:.0f} s: {stuck}") from None


def tally(row: LedgerRow, db: Database, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, RunState]:
    """Fill the ledger row from the database; duplicated = a run whose findings or assets were
    written more than once (or disagree with its own summary)."""
    states = run_states(db, run_ids)
    row.submitted += len(run_ids)
    row.completed += sum(1 for s in states.values() if s.status == "COMPLETED")
    row.lost += sum(1 for s in states.values() if s.status not in TERMINAL)
    row.duplicated += sum(
        1
        for s in states.values()
        if s.findings != s.distinct_findings
        or (s.status == "COMPLETED" and s.expected_findings != s.findings)
    )
    return states


def running_count(db: Database, run_ids: list[uuid.UUID]) -> int:
    with db.unit_of_work() as uow:
        return int(
            uow.session.scalar(
                select(func.count())
                .select_from(AssessmentRun)
                .where(AssessmentRun.id.in_(run_ids), AssessmentRun.status == "IN_PROGRESS")
            )
            or 0
        )


def assessment_of(db: Database, run_id: uuid.UUID) -> Assessment:
    with db.unit_of_work() as uow:
        run = uow.session.get_one(AssessmentRun, run_id)
        return uow.session.get_one(Assessment, run.assessment_id)


# -- TLS targets with a delay -------------------------------------------------------------------


class DelayedTls:
    """TLS listeners on 127.0.0.1, one per job: the first connection to each waits ``delay``
    seconds before the handshake, so a job's probe takes about that long; later connections
    (the rest of the probe, or a rerun) are served at once."""

    def __init__(self) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(CERTS / "tls-server.pem", CERTS / "tls-server.key")
        self._stop = threading.Event()
        self._listeners: list[socket.socket] = []

    def port(self, delay: float) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(32)
        listener.settimeout(0.2)
        self._listeners.append(listener)
        threading.Thread(target=self._accept, args=(listener, delay), daemon=True).start()
        return int(listener.getsockname()[1])

    def _accept(self, listener: socket.socket, delay: float) -> None:
        first = True
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            wait = delay if first else 0.0
            first = False
            threading.Thread(target=self._serve, args=(conn, wait), daemon=True).start()

    def _serve(self, conn: socket.socket, wait: float) -> None:
        if wait:
            self._stop.wait(wait)
        conn.settimeout(5)
        with (
            contextlib.suppress(OSError),
            conn,
            self.context.wrap_socket(conn, server_side=True) as tls,
        ):
            tls.unwrap()

    def close(self) -> None:
        self._stop.set()
        for listener in self._listeners:
            listener.close()


# -- webhook receiver -------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    """A scripted loopback webhook receiver. ``script[path]`` lists the status of each call in
    turn (the last one repeats); a status of -N means: hang N seconds, then answer 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: dict[str, list[int]] = {}
        self._calls: dict[str, int] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the stdlib's name
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, dict(self.headers.items()), body, time.time())
                    )
                    plan = receiver.script.get(self.path, [200])
                    index = receiver._calls.get(self.path, 0)
                    receiver._calls[self.path] = index + 1
                    status = plan[min(index, len(plan) - 1)]
                if status < 0:
                    time.sleep(-status)
                    status = 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.send_header("content-length", "2")
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(b"ok")

            def do_GET(self) -> None:  # a followed redirect would land here
                with receiver._lock:
                    receiver.received.append(Received("GET " + self.path, {}, b"", time.time()))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def calls(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- PostgreSQL -------------------------------------------------------------------------------


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on its own port, run as the postgres OS user."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()

    def _as_postgres(self, *argv: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return list(argv)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(
            self._as_postgres(
                str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                "--auth=trust", "-E", "UTF8", "--no-sync",
            ),
            check=True, capture_output=True,
        )  # fmt: skip
        self.pg_ctl("start", *self._server_args())

    def _server_args(self) -> list[str]:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        return ["-w", "-t", "60", "-l", str(self.folder / "pg.log"), "-o", options]

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args),
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip

    def restart(self) -> None:
        self.pg_ctl("restart", "-m", "fast", *self._server_args())

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.pg_ctl("stop", "-m", "immediate", "-w", "-t", "30")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{db}"


def write_fault(path: Path, **values: Any) -> None:
    """The fault file read by the faulty worker and API modules in this folder."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(values, default=str))
    tmp.replace(path)
