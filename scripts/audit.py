"""`make audit`: pip-audit over the installed environment, with the project's ignore list.

Exit 0 when nothing known is vulnerable, 1 on a vulnerability not in ``pip-audit-ignore.txt``,
2 on an ignore entry without a reason. When the advisory service cannot be reached (no network,
or a mirror that answers nothing), it says so and exits 0: CI without the Internet cannot audit,
and that is reported, not failed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / "pip-audit-ignore.txt"
_UNREACHABLE = re.compile(
    r"ConnectionError|Max retries exceeded|NameResolutionError|Temporary failure in name"
    r"|timed out|Connection refused|HTTPError|ServiceError",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Outcome:
    code: int
    message: str


def read_ignores(text: str) -> dict[str, str]:
    """``ID reason`` per line (``#`` comments); raises ValueError for an entry with no reason."""
    ignores: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        advisory, _, reason = line.partition(" ")
        if not reason.strip():
            raise ValueError(f"{IGNORE_FILE.name}:{number}: {advisory} needs a reason")
        ignores[advisory] = reason.strip()
    return ignores


def judge(returncode: int, stdout: str, stderr: str) -> Outcome:
    """Decide from pip-audit's JSON report (or its failure) what CI should do."""
    try:
        report: dict[str, Any] = json.loads(stdout)
    except json.JSONDecodeError:
        if _UNREACHABLE.search(stderr):
            return Outcome(0, f"audit skipped: the advisory service cannot be reached\n{stderr}")
        return Outcome(1, f"pip-audit failed (exit {returncode}):\n{stderr}")
    dependencies: list[dict[str, Any]] = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    if dependencies and not audited:
        reason = dependencies[0]["skip_reason"]
        return Outcome(
            0,
            f"audit skipped: the advisory service answered for none of {len(dependencies)}"
            f" packages (first: {dependencies[0]['name']}: {reason})",
        )
    found = [
        f"{d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions']) or '-'})"
        for d in audited
        for v in d.get("vulns", [])
    ]
    if found:
        return Outcome(1, "known vulnerabilities:\n  " + "\n  ".join(found))
    skipped = len(dependencies) - len(audited)
    return Outcome(0, f"no known vulnerabilities in {len(audited)} packages ({skipped} skipped)")


def main() -> int:
    try:
        ignores = read_ignores(IGNORE_FILE.read_text() if IGNORE_FILE.exists() else "")
    except ValueError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    command = [
        sys.executable, "-m", "pip_audit", "--local", "--skip-editable", "--format", "json",
        "--progress-spinner", "off",
    ]  # fmt: skip
    for advisory in ignores:
        command += ["--ignore-vuln", advisory]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    outcome = judge(result.returncode, result.stdout, result.stderr)
    (sys.stderr if outcome.code else sys.stdout).write(outcome.message + "\n")
    for advisory, reason in ignores.items():
        sys.stdout.write(f"ignored {advisory}: {reason}\n")
    return outcome.code


if __name__ == "__main__":
    sys.exit(main())
