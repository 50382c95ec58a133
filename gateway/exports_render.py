"""The CPU half of an export: render a spooled list of issues in a separate process.

ReportLab is not thread-safe and a 1,000-issue export is minutes of CPU, so it never runs on
the event loop nor in threads (STYLE rule 10): ``RenderPool`` hands a ``RenderTask`` (paths and
plain values only, cheap to pickle) to a ``ProcessPoolExecutor`` child, which streams the issues
from the spool file one by one, so neither process holds the whole export in memory.

The child talks back through two small files next to the staging file:

- ``<staging>.progress``: the number of issues rendered so far (replaced atomically, at most
  every ``PROGRESS_EVERY_S``); the job polls it and writes progress to the row;
- ``<staging>.cancel``: created by the job when the export was cancelled or its lease lost;
  the child checks it after every issue and stops with ``RenderCancelled``.

The child also stops when its parent process is gone (a SIGKILLed worker): an orphan would
otherwise burn a core on an export that a new run is already redoing.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from gateway.reports.model import ReportData, ReportIssue, ReportOptions
from gateway.reports.render import RenderStats, render_merged_pdf_to, render_zip_to

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.2


class RenderCancelled(Exception):
    """The export was cancelled (or its run superseded) while rendering."""


class SpoolWriter:
    """Appends ``ReportIssue`` records to a spool file, one pickle each (read back lazily)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] = path.open("wb")
        self.count = 0

    def write(self, issue: ReportIssue) -> None:
        pickle.dump(issue, self._handle, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def close(self) -> None:
        self._handle.close()


def read_spool(path: Path) -> Iterator[ReportIssue]:
    """The spooled issues in order, one in memory at a time (the file is our own output)."""
    with path.open("rb") as handle:
        while True:
            try:
                issue = pickle.load(handle)  # noqa: S301 (written by SpoolWriter of this run)
            except EOFError:
                return
            if not isinstance(issue, ReportIssue):
                raise TypeError("the spool holds something other than ReportIssue records")
            yield issue


@dataclass(frozen=True, slots=True)
class RenderTask:
    """Everything the child needs, as plain values."""

    layout: str  # MERGED | ZIP
    spool: Path
    target: Path
    title: str
    requested_by: str
    generated_at: datetime
    options: dict[str, Any]
    skipped: tuple[str, ...] = ()
    parent_pid: int = field(default_factory=os.getpid)

    @property
    def progress_path(self) -> Path:
        return self.target.with_name(self.target.name + ".progress")

    @property
    def cancel_path(self) -> Path:
        return self.target.with_name(self.target.name + ".cancel")


def read_progress(task: RenderTask) -> int:
    """Issues rendered so far according to the child (0 before its first report)."""
    try:
        return int(task.progress_path.read_text(encoding="ascii") or 0)
    except (FileNotFoundError, ValueError):
        return 0


def render_task(task: RenderTask) -> RenderStats:
    """Run in the pool's child process: spool -> PDF (MERGED) or ZIP at ``task.target``.

    On any failure (cancellation included) the partial target is removed before raising.
    """
    last_write = 0.0

    def on_progress(done: int) -> None:
        nonlocal last_write
        if task.cancel_path.exists():
            raise RenderCancelled("export cancelled")
        if os.getppid() != task.parent_pid:
            raise RenderCancelled("the worker that started this render is gone")
        now = time.monotonic()
        if now - last_write >= PROGRESS_EVERY_S:
            _write_progress(task, done)
            last_write = now

    options = ReportOptions.create(**task.options)
    issues = read_spool(task.spool)
    try:
        if task.layout == "ZIP":
            stats = render_zip_to(task.target, issues, options, on_progress=on_progress)
        else:
            report = ReportData(
                title=task.title,
                generated_at=task.generated_at,
                requested_by=task.requested_by,
                issues=issues,
                options=options,
                skipped=task.skipped,
            )
            stats = render_merged_pdf_to(task.target, report, on_progress=on_progress)
    except BaseException:
        task.target.unlink(missing_ok=True)
        raise
    finally:
        task.progress_path.unlink(missing_ok=True)
    return stats


def _write_progress(task: RenderTask, done: int) -> None:
    scratch = task.progress_path.with_name(task.progress_path.name + ".tmp")
    scratch.write_text(str(done), encoding="ascii")
    os.replace(scratch, task.progress_path)


class RenderPool:
    """A lazily started process pool for renders; rebuilt when a child dies (OOM, crash).

    Children are *spawned*, not forked: forking a process that runs an event loop, a Redis
    client and a database pool copies their locks and sockets into the child.
    """

    def __init__(self, processes: int) -> None:
        self.processes = max(1, processes)
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    async def run(self, task: RenderTask) -> RenderStats:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), render_task, task)
        except BrokenProcessPool:
            log.warning("the render pool broke (a child died); starting a new one")
            self.shutdown()
            raise

    def shutdown(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


__all__ = [
    "RenderCancelled",
    "RenderPool",
    "RenderTask",
    "SpoolWriter",
    "read_progress",
    "read_spool",
    "render_task",
]
