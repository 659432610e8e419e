"""`qrap list` / `qrap show`, and how commands behave at a terminal's edges: help text, the
reason for exit 3, a reader that closes the pipe, errors on one line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cabundle import bundle as ca_bundle
from tests.cli.test_assess import CERTS, EXAMPLES, ROOT, qrap

pytestmark = pytest.mark.timeout(180)

COMMANDS = ["assess", "list", "show", "demo", "serve", "worker", "token", "hndl", "plan",
            "db upgrade", "model train", "model info"]  # fmt: skip


def test_list_and_show_past_assessments(tmp_path: Path) -> None:
    empty = qrap("list", tmp_path=tmp_path)
    assert empty.returncode == 1
    assert "qrap assess` creates it" in empty.stderr

    first = qrap("assess", "--inventory", str(EXAMPLES / "inventory.json"), "--name", "inv",
                 "--format", "json", tmp_path=tmp_path)  # fmt: skip
    assert first.returncode == 0, first.stderr
    second = qrap("assess", "--cert", str(CERTS / "rsa1024.pem"), "--name", "weak cert",
                  tmp_path=tmp_path)  # fmt: skip
    assert second.returncode == 0, second.stderr

    listed = qrap("list", tmp_path=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert [row[3:5] for row in rows] == [["weak", "cert"], ["inv", "COMPLETED"]]
    inventory_id = rows[1][0]

    shown = qrap("show", inventory_id, "--format", "json", tmp_path=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == json.loads(first.stdout)

    limited = qrap("list", "--limit", "1", tmp_path=tmp_path)
    assert len(limited.stdout.splitlines()) == 2
    assert "1 of 2" in limited.stderr


def test_show_names_what_it_cannot_find(tmp_path: Path) -> None:
    qrap("assess", "--cert", str(CERTS / "rsa2048.pem"), tmp_path=tmp_path)
    missing = qrap("show", "zzzz", tmp_path=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr == "error: no assessment 'zzzz' in this database (see qrap list)\n"


def test_fail_on_says_why_it_exits_3(tmp_path: Path) -> None:
    result = qrap("assess", "--cert", str(CERTS / "rsa1024.pem"), "--fail-on", "high",
                  "--format", "json", tmp_path=tmp_path)  # fmt: skip
    assert result.returncode == 3
    reason = result.stderr.strip().splitlines()[-1]
    expected = r"--fail-on HIGH: \d+ findings? (is|are) at HIGH or worse \(worst: .+\); exit 3"
    assert re.fullmatch(expected, reason), reason
    assert json.loads(result.stdout)["findings"]  # the report is still printed


@pytest.mark.parametrize("output_format", ["table", "csv"])
def test_a_closed_pipe_is_not_an_error(tmp_path: Path, output_format: str) -> None:
    """``qrap assess ... | head -1`` on a report much larger than the pipe's buffer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRAP_", "QUANTUN_"))}
    env["XDG_DATA_HOME"] = str(tmp_path)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca_bundle(150).pem)
    command = [sys.executable, "-m", "qrap_cli.main", "assess", "--cert", str(bundle),
               "--format", output_format]  # fmt: skip
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:  # fmt: skip
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.readline()
        process.stdout.close()  # the reader leaves, as head does
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=120) == 0, stderr
    assert stderr == ""


def test_errors_are_one_line_with_no_blank_line_before(tmp_path: Path) -> None:
    result = qrap("assess", "127.0.0.1:1", tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: the run ended FAILED"), repr(result.stderr)
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_no_type_placeholders(tmp_path: Path, command: str) -> None:
    result = qrap(*command.split(), "--help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    placeholders = re.findall(r"<[a-z_\[\]. ]+>", result.stdout)
    assert placeholders == [], f"qrap {command} --help shows {placeholders}"


def test_errors_print_what_they_quote_literally(tmp_path: Path) -> None:
    qrap("assess", "--cert", str(CERTS / "rsa2048.pem"), tmp_path=tmp_path)
    missing = qrap("show", "[bold]nope[/bold]", tmp_path=tmp_path)
    assert missing.stderr.startswith("error: no assessment '[bold]nope[/bold]'"), missing.stderr
