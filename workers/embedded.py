"""The embedded runner: job functions run as asyncio tasks inside the gateway process.

The composition root (``gateway/app.py``) builds the ``WorkerContext`` from its own state (same
engine, same in-process broker; ``owned=False``) and gets a ``JobQueue`` back.
"""

from __future__ import annotations

from gateway.jobs import InProcessJobQueue
from workers.context import CTX_KEY, WorkerContext
from workers.registry import JOBS


def build_job_queue(worker: WorkerContext) -> InProcessJobQueue:
    """An in-process ``JobQueue`` running the registered jobs with ``worker`` as context."""
    return InProcessJobQueue({spec.name: spec for spec in JOBS}, {CTX_KEY: worker})


__all__ = ["build_job_queue"]
