"""The embedded runner: job functions run as asyncio tasks inside the gateway process.

The composition root (``gateway/app.py``) builds the ``WorkerContext`` from its own state (same
engine, same in-process broker; ``owned=False``) and gets a ``JobQueue`` back.
"""

from __future__ import annotations

from gateway.jobs import InProcessJobQueue
from workers.context import CTX_KEY, WorkerContext
from workers.registry import JOBS


class EmbeddedJobQueue(InProcessJobQueue):
    """The in-process queue; closing it also stops the export render pool it started."""

    def __init__(self, worker: WorkerContext) -> None:
        super().__init__({spec.name: spec for spec in JOBS}, {CTX_KEY: worker})
        self._worker = worker
        worker.jobs = self

    async def aclose(self, grace: float = 5.0) -> None:
        await super().aclose(grace)
        if self._worker.exports is not None:
            await self._worker.exports.aclose()


def build_job_queue(worker: WorkerContext) -> InProcessJobQueue:
    """An in-process ``JobQueue`` running the registered jobs with ``worker`` as context."""
    return EmbeddedJobQueue(worker)


__all__ = ["EmbeddedJobQueue", "build_job_queue"]
