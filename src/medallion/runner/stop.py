"""Stopping a run gracefully on SIGINT (Ctrl-C) or SIGTERM.

While a run is under way, the first of these signals asks it to stop: the Spark jobs of the
current step are cancelled (so it ends at once, and a Delta commit is all or nothing: either
the step committed before the signal, or nothing of it is in its table), the steps after it
are not started, and the run is logged ``cancelled``. A second signal stops the process the
usual way (``KeyboardInterrupt``, or Python's default for SIGTERM).

Handlers can only be installed from the main thread; elsewhere (a run started in a worker
thread) signals keep their usual behaviour.

Example:
    >>> with StopSignals(spark) as stop:
    ...     stop.requested is None
    True
"""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from medallion.runner.jobs import local_properties

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["StopSignals"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_INTERRUPT = "spark.job.interruptOnCancel"


class StopSignals:
    """Turns SIGINT and SIGTERM into a request to stop, for the duration of a ``with`` block.

    Attributes:
        requested: The number of the first signal received, or ``None``.

    Example:
        >>> with StopSignals(spark) as stop:
        ...     signal.getsignal(signal.SIGTERM) == stop._handle
        True
    """

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}
        self._properties = contextlib.ExitStack()

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for number in _SIGNALS:
                self._previous[number] = signal.getsignal(number)
                signal.signal(number, self._handle)
            # Cancelling a job then also interrupts its running tasks (a task blocked in a
            # call, or in a long record, would otherwise run on after the run has stopped).
            # (Through Spark Connect the server interrupts its operations itself.)
            self._properties.enter_context(local_properties(self._spark, {_INTERRUPT: "true"}))
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._properties.close()
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.requested is not None:  # the second signal: stop now, the usual way
            self.__exit__()
            if number == signal.SIGINT:
                raise KeyboardInterrupt
            signal.raise_signal(number)
            return
        self.requested = number
        # Not from the handler itself: it may run in the middle of a Py4J call.
        threading.Thread(target=self._cancel, name="medallion-cancel", daemon=True).start()

    def _cancel(self) -> None:
        """Cancel the session's running Spark jobs (classic or Spark Connect)."""
        try:
            self._spark.sparkContext.cancelAllJobs()
        except Exception:  # Spark Connect has no SparkContext
            interrupt = getattr(self._spark, "interruptAll", None)
            if interrupt is not None:
                interrupt()
