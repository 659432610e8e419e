"""Summaries of py-spy's raw (collapsed) stacks: where the sampled time went."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

# Frames that only carry the call down to the work (event loops, thread pools, Celery's
# trace wrapper); they would top every inclusive list and say nothing.
PLUMBING = ("<module>", "_bootstrap", "run (threading.py", "worker (concurrent", "_run_once")


def _frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rpartition(" ")
    return [f for f in stack.split(";") if f and not f.startswith("process ")], int(count)


def summarize(raw: Path, top: int = 25) -> str:
    """Self time per function and inclusive time per QRAP or library function, in % of samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            if not any(p in frame for p in PLUMBING):
                inclusive[frame] += count
    if not total:
        return f"{raw.name}: no samples\n"
    lines = [f"{raw.name}: {total} samples (50 Hz, every process of the tree)", "", "self time:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "inclusive time (qrap_* and what it calls by name):"]
    ours = [(f, n) for f, n in inclusive.most_common() if "qrap_" in f or "bench/" in f]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in ours[:top]]
    lines += ["", "inclusive time (everything):"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines) + "\n"
