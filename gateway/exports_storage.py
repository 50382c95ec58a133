"""Where finished exports live: the ``ExportStorage`` seam and its local-directory backend.

A run renders into a *staging* file on local disk (ReportLab and the ZIP writer need a real
file), then ``publish`` moves it to its final name in one step: a local rename (atomic on one
file system), or an upload for an object store. Readers never see a half-written export, and a
rerun of the same export replaces the file under the same name, so an export has at most one
output file whatever happened to earlier runs.

Layout of ``LocalExportStorage`` (default root ``<JGW_VAR_DIR>/exports``)::

    <root>/<export id>.pdf | .zip          published files, one per export
    <root>/.staging/<export id>.<run>...   staging, spool and progress files of runs

An object-store backend keeps ``staging_path`` local and implements ``publish`` as an upload
(then unlinks the staging file), ``open_stream`` as a download and ``delete``/``names`` as the
store's calls.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio

CHUNK_BYTES = 256 * 1024
STAGING_DIR = ".staging"


class ExportStorage(Protocol):
    """Storage of export files by name (``<export id>.pdf``); names never contain a slash."""

    def staging_path(self, export_id: str, run: str) -> Path:
        """A local path for run ``run`` of ``export_id`` to render into (parent exists)."""

    def discard_staging(self, export_id: str) -> int:
        """Delete every staging file of ``export_id``; returns how many there were."""

    async def publish(self, staging: Path, name: str) -> int:
        """Make ``staging`` the file ``name`` in one step (replacing it); returns its size."""

    async def size(self, name: str) -> int | None:
        """The size of ``name`` in bytes, None when it does not exist."""

    def open_stream(self, name: str) -> AsyncIterator[bytes]:
        """The bytes of ``name`` in chunks (``FileNotFoundError`` when missing)."""

    async def delete(self, name: str) -> bool:
        """Delete ``name``; False when it was not there."""

    async def names(self) -> list[str]:
        """Every published name (the retention job compares them with the table)."""

    def purge_staging(self, older_than_s: float) -> int:
        """Delete staging files untouched for ``older_than_s`` seconds (dead runs)."""


def _safe_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"not a storage name: {name!r}")
    return name


class LocalExportStorage:
    """Export files in a local directory (shared by gateway and workers on one host/volume)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / STAGING_DIR

    def __repr__(self) -> str:
        return f"LocalExportStorage({str(self.root)!r})"

    def staging_path(self, export_id: str, run: str) -> Path:
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging / f"{_safe_name(export_id)}.{_safe_name(run)}.part"

    def discard_staging(self, export_id: str) -> int:
        count = 0
        if self.staging.is_dir():
            for path in self.staging.glob(f"{_safe_name(export_id)}.*"):
                path.unlink(missing_ok=True)
                count += 1
        return count

    async def publish(self, staging: Path, name: str) -> int:
        target = self.root / _safe_name(name)
        # fsync before the rename: after a crash the name points at complete bytes or at the
        # previous file, never at a truncated one.
        await anyio.to_thread.run_sync(_fsync, staging)
        os.replace(staging, target)
        return target.stat().st_size

    async def size(self, name: str) -> int | None:
        try:
            return (self.root / _safe_name(name)).stat().st_size
        except FileNotFoundError:
            return None

    async def open_stream(self, name: str) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self.root / _safe_name(name), "rb") as handle:
            while chunk := await handle.read(CHUNK_BYTES):
                yield chunk

    async def delete(self, name: str) -> bool:
        try:
            (self.root / _safe_name(name)).unlink()
        except FileNotFoundError:
            return False
        return True

    async def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_file())

    def purge_staging(self, older_than_s: float) -> int:
        if not self.staging.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        count = 0
        for path in self.staging.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    count += 1
            except FileNotFoundError:
                continue
        return count


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


__all__ = ["ExportStorage", "LocalExportStorage"]
