"""The lakehouse run lease: one pipeline run at a time writes a lakehouse.

A run takes the lease before its first step and gives it back after its last. The lease is a
small JSON file, ``<root>/_medallion/lease.json``, naming its holder (run, pipeline, host,
process, start time) and the time of its last heartbeat:

* taking it is atomic: the file is written under a private name, then hard-linked to its
  name, which fails when it exists (two runs started together: one gets it);
* a thread of the holder renews the heartbeat every ``ttl / 4`` seconds;
* it expires when its holder dies: at once when the holder ran on this host and its process
  is gone (a killed driver), otherwise once its heartbeat is older than ``ttl``. The next run
  takes an expired lease over, and reports the run that held it (the run log then marks that
  run ``abandoned``).

A second run therefore fails at once with "run X of pipeline P holds the lakehouse since T",
or waits for the lease when asked to (``wait``).

The lease needs a file system with atomic links (any local or network POSIX file system). On
an object store (``s3a://``, ``abfss://``, ``gs://``) medallion takes no lease: file ingestion
and streaming micro-batches stay exactly-once through idempotent Delta commits, but two
overlapping runs may both recompute the same steps.

Example:
    >>> lease = RunLease.take(lakehouse, Holder.of("r1", "shop"))
    >>> RunLease.holder_of(lakehouse).run_id
    'r1'
    >>> lease.release()
    >>> RunLease.holder_of(lakehouse) is None
    True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import attrs

from medallion.errors import LakehouseBusyError
from medallion.lakehouse import resolve_root

__all__ = ["Holder", "RunLease", "lease_path"]

#: How long a holder on another host may go without a heartbeat before its lease expires.
DEFAULT_TTL = 60.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def lease_path(root: str | os.PathLike[str]) -> Path | None:
    """The lease file of a lakehouse, or ``None`` when it is not on a local file system.

    Args:
        root: The lakehouse root.

    Returns:
        The path of ``<root>/_medallion/lease.json``, or ``None`` for an object store.

    Example:
        >>> str(lease_path("/data/lake"))
        '/data/lake/_medallion/lease.json'
        >>> lease_path("s3a://bucket/lake") is None
        True
    """
    text = resolve_root(root)
    if text.startswith("file:"):
        text = text[len("file:") :]
        text = "/" + text.lstrip("/")
    elif "://" in text:
        return None
    return Path(text, "_medallion", "lease.json")


@attrs.frozen
class Holder:
    """Who holds a lakehouse's lease.

    Attributes:
        run_id: The run.
        pipeline: Its pipeline.
        host: The host its driver runs on.
        pid: The driver's process id.
        started_at: When it took the lease (UTC).
        heartbeat_at: Its last heartbeat (UTC).

    Example:
        >>> holder = Holder.of("r1", "shop")
        >>> holder.alive(ttl=60)
        True
    """

    run_id: str
    pipeline: str
    host: str
    pid: int
    started_at: dt.datetime
    heartbeat_at: dt.datetime

    @classmethod
    def of(cls, run_id: str, pipeline: str) -> Holder:
        """This process as the holder of a run.

        Args:
            run_id: The run.
            pipeline: Its pipeline.

        Returns:
            The holder, its heartbeat now.

        Example:
            >>> Holder.of("r1", "shop").pid == os.getpid()
            True
        """
        now = _now()
        return cls(run_id, pipeline, socket.gethostname(), os.getpid(), now, now)

    def alive(self, ttl: float) -> bool:
        """Whether the holder still runs: its process exists (on this host) and beats.

        Args:
            ttl: Seconds without a heartbeat after which a holder counts as dead.

        Returns:
            Whether its lease still holds.

        Example:
            >>> long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
            >>> Holder("r0", "shop", "elsewhere", 1, long_ago, long_ago).alive(ttl=60)
            False
        """
        if self.host == socket.gethostname() and not _process_exists(self.pid):
            return False
        return (_now() - self.heartbeat_at).total_seconds() < ttl

    def describe(self) -> str:
        """The holder in a sentence's terms.

        Returns:
            ``run X of pipeline P (host H, process N) since T``.

        Example:
            >>> at = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)
            >>> Holder("r1", "shop", "etl-1", 42, at, at).describe()
            "run r1 of pipeline 'shop' (host etl-1, process 42) since 2026-11-30 08:00:00 UTC"
        """
        return (
            f"run {self.run_id} of pipeline {self.pipeline!r} (host {self.host}, process "
            f"{self.pid}) since {self.started_at:%Y-%m-%d %H:%M:%S} UTC"
        )

    def _json(self) -> str:
        values: dict[str, Any] = attrs.asdict(self)
        for key in ("started_at", "heartbeat_at"):
            values[key] = values[key].isoformat()
        return json.dumps(values)

    @classmethod
    def _parse(cls, text: str) -> Holder:
        values = json.loads(text)
        for key in ("started_at", "heartbeat_at"):
            values[key] = dt.datetime.fromisoformat(values[key])
        return cls(**values)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


class RunLease:
    """A lakehouse's lease, held by this process for one run (see the module's notes).

    Take it with :meth:`take`; give it back with :meth:`release` (or use it as a context
    manager). While held, a daemon thread renews its heartbeat.

    Attributes:
        holder: This run as the holder.
        taken_over: The dead run whose expired lease this one replaced, if any.

    Example:
        >>> with RunLease.take(lakehouse, Holder.of("r1", "shop")) as lease:
        ...     lease.taken_over is None
        True
    """

    def __init__(
        self, path: Path | None, holder: Holder, ttl: float, taken_over: Holder | None
    ) -> None:
        self._path = path
        self.holder = holder
        self.taken_over = taken_over
        self._ttl = ttl
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        if path is not None:
            self._beat = threading.Thread(
                target=self._heartbeat, name=f"medallion-lease-{holder.run_id}", daemon=True
            )
            self._beat.start()

    @classmethod
    def take(
        cls,
        root: str | os.PathLike[str],
        holder: Holder,
        *,
        wait: float = 0.0,
        ttl: float = DEFAULT_TTL,
        poll: float = 0.5,
    ) -> RunLease:
        """Take a lakehouse's lease for a run.

        Args:
            root: The lakehouse root.
            holder: The run taking it (:meth:`Holder.of`).
            wait: Seconds to wait for a live holder to finish; 0 fails at once.
            ttl: Seconds without a heartbeat after which a holder on another host is dead.
            poll: Seconds between attempts while waiting.

        Returns:
            The lease, held.

        Raises:
            LakehouseBusyError: Another live run holds it (after ``wait`` seconds).

        Example:
            >>> first = RunLease.take(lakehouse, Holder.of("r1", "shop"))
            >>> try:
            ...     RunLease.take(lakehouse, Holder.of("r2", "shop"))
            ... except LakehouseBusyError as exc:
            ...     print(exc.holder.run_id)
            r1
            >>> first.release()
        """
        path = lease_path(root)
        if path is None:
            return cls(None, holder, ttl, None)
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait
        taken_over: Holder | None = None
        while True:
            if _create(path, holder._json()):
                return cls(path, holder, ttl, taken_over)
            current = _read(path)
            if current is None:
                continue  # released (or being replaced) between our attempt and the read
            if not current.alive(ttl):
                if _remove_if_same(path, current):
                    taken_over = current
                continue
            if time.monotonic() >= deadline:
                raise LakehouseBusyError(
                    f"{current.describe()} holds the lakehouse at {resolve_root(root)}; "
                    + ("it is still running" if wait else "wait for it to end, or pass a wait")
                    + f" (lease: {path})",
                    current,
                )
            time.sleep(poll)

    @staticmethod
    def holder_of(root: str | os.PathLike[str]) -> Holder | None:
        """Who holds a lakehouse's lease now (alive or not), if anyone.

        Args:
            root: The lakehouse root.

        Returns:
            The holder, or ``None``.

        Example:
            >>> RunLease.holder_of(lakehouse) is None
            True
        """
        path = lease_path(root)
        return None if path is None else _read(path)

    def release(self) -> None:
        """Give the lease back (if this run still holds it).

        Example:
            >>> lease = RunLease.take(lakehouse, Holder.of("r1", "shop"))
            >>> lease.release()
            >>> RunLease.take(lakehouse, Holder.of("r2", "shop")).holder.run_id
            'r2'
        """
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        if self._path is not None:
            current = _read(self._path)
            if current is not None and current.run_id == self.holder.run_id:
                _remove_if_same(self._path, current)

    def __enter__(self) -> RunLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _heartbeat(self) -> None:
        assert self._path is not None
        while not self._stop.wait(self._ttl / 4):
            current = _read(self._path)
            if current is None or current.run_id != self.holder.run_id:
                return  # taken over: no longer ours to renew
            renewed = attrs.evolve(current, heartbeat_at=_now())
            temporary = self._path.with_name(f".lease-{uuid.uuid4().hex}")
            temporary.write_text(renewed._json())
            os.replace(temporary, self._path)


def _create(path: Path, text: str) -> bool:
    """Create ``path`` with ``text`` atomically: complete when visible; False if it exists."""
    temporary = path.with_name(f".lease-{uuid.uuid4().hex}")
    temporary.write_text(text)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    return True


def _read(path: Path) -> Holder | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return Holder._parse(text)
    except (ValueError, TypeError, KeyError):
        # Unreadable (written by hand?): expired long ago, so it can be taken over.
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        return Holder("unknown", "unknown", "", 0, epoch, epoch)


def _remove_if_same(path: Path, seen: Holder) -> bool:
    """Remove the lease file if it still names ``seen``.

    It is moved aside first, so that of two runs taking the same dead lease over only one
    removes it, and never a fresh lease.
    """
    aside = path.with_name(f".stale-{uuid.uuid4().hex}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    moved = _read(aside)
    if moved is not None and moved.run_id == seen.run_id and moved.pid == seen.pid:
        aside.unlink()
        return True
    # A new holder's lease was moved: put it back (unless yet another run took it meanwhile).
    with contextlib.suppress(FileExistsError):
        os.link(aside, path)
    aside.unlink()
    return False
