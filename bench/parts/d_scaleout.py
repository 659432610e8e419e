"""d_scaleout: b_cbom's assessment with two worker nodes against one."""

from __future__ import annotations

from typing import Any

from bench.parts.b_cbom import components, measure
from bench.parts.context import Context


def run(ctx: Context) -> dict[str, Any]:
    earlier = ctx.results.get("b_cbom", {})
    if "seconds" in earlier and earlier.get("components") == components():
        one, source = earlier, "b_cbom of this run"
    else:
        one, source = measure(ctx, nodes=1, tag="d1"), "measured here"
    two = measure(ctx, nodes=2, tag="d2")
    return {
        "seconds_1": one["seconds"],
        "seconds_2": two["seconds"],
        "ratio": one["seconds"] / two["seconds"],
        "seconds_1_from": source,
        "peak_worker_rss_mb_2": two["peak_worker_rss_mb"],
        "components": two["components"],
    }
