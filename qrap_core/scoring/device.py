"""Whether this process can score on the device it was told to (``QRAP_WORKER_DEVICE``).

A worker of the GPU pool consumes ``scoring.gpu``, the chunks sent there because a GPU was
promised; one that cannot reach a CUDA device must not start and quietly score them on the
CPU. The model itself (``scoring.model``) still falls back to the CPU with a warning, for the
embedded CLI and tests; the worker refuses instead (``qrap_worker.app``).
"""

from __future__ import annotations

GPU_QUEUE = "scoring.gpu"
CPU_QUEUE = "scoring.cpu"


def cuda_problem() -> str | None:
    """Why XGBoost cannot score on a CUDA device here; None when it can."""
    import numpy as np  # XGBoost, only where a worker asks: importing this module is cheap
    import xgboost as xgb

    if not xgb.build_info().get("USE_CUDA"):
        return "this XGBoost was built without CUDA (the CPU image's xgboost-cpu wheel)"
    data = xgb.DMatrix(np.zeros((4, 1), dtype=np.float32), label=np.array([0.0, 1.0, 0.0, 1.0]))
    try:
        xgb.train({"device": "cuda", "tree_method": "hist"}, data, num_boost_round=1)
    except xgb.core.XGBoostError as exc:
        return f"XGBoost found no usable CUDA device ({str(exc).splitlines()[0]})"
    return None


def device_refusal(device: str) -> str | None:
    """The message a worker started for ``device`` stops with, or None when it may start."""
    if device != "cuda":
        return None
    problem = cuda_problem()
    if problem is None:
        return None
    return (
        f"QRAP_WORKER_DEVICE=cuda, but {problem}. A worker of the GPU pool consumes "
        f"{GPU_QUEUE} and must not score those chunks on the CPU: run it on a machine with a "
        f"CUDA device and the GPU image, or set QRAP_WORKER_DEVICE=cpu (it then consumes "
        f"{CPU_QUEUE})."
    )


def pool_queues(device: str, consumed: set[str]) -> tuple[set[str], set[str]]:
    """(queues to add, queues to drop) for a worker of ``device`` that was told to consume
    ``consumed``: a GPU worker always takes ``scoring.gpu``; a CPU worker never does, and one
    that runs assessments also takes the chunks of ``scoring.cpu``."""
    if device == "cuda":
        return ({GPU_QUEUE} - consumed, set())
    add = {CPU_QUEUE} - consumed if "assessments" in consumed else set()
    return (add, {GPU_QUEUE} & consumed)
