"""Long work that can be watched and stopped: adaptation's steps, ``auto``'s probings.

The loops call :func:`tick` between units of work. What a tick does is set by whoever
runs the work, for the thread it runs in (:func:`watched`): the command line shows
progress on standard error; the server stops a request whose client has gone or whose
time is up (:class:`Cancelled` is raised at the next tick, so the worker is free again).
Outside :func:`watched`, a tick costs a thread-local lookup and does nothing.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from .errors import ContextEncoderError

__all__ = ["Cancelled", "Progress", "tick", "watched"]


class Cancelled(ContextEncoderError, RuntimeError):
    """The work was stopped from outside (its time limit, or nobody waits for it any more).
    ``reason``: why; ``progress``: how far it had got (``"adapting ...: 30 of 1000 done"``)."""

    def __init__(self, reason: str, progress: str = "") -> None:
        super().__init__(f"stopped ({reason}){', ' + progress if progress else ''}")
        self.reason, self.progress = reason, progress


_local = threading.local()


@contextlib.contextmanager
def watched(*, stop: Callable[[], str | None] | None = None,
            progress: Callable[[str, int, int], None] | None = None) -> Iterator[None]:
    """While inside, each :func:`tick` in this thread asks ``stop()`` for a reason to stop
    (raising :class:`Cancelled` with it) and reports ``progress(what, done, total)``."""
    previous = getattr(_local, "hooks", None)
    _local.hooks = (stop, progress)
    try:
        yield
    finally:
        _local.hooks = previous


def tick(what: str, done: int, total: int) -> None:
    """``done`` of ``total`` units of ``what`` are done (see :func:`watched`)."""
    hooks = getattr(_local, "hooks", None)
    if hooks is None:
        return
    stop, progress = hooks
    if stop is not None:
        reason = stop()
        if reason:
            raise Cancelled(reason, f"{what}: {done} of {total} done")
    if progress is not None:
        progress(what, done, total)


class Progress:
    """A ``progress`` for :func:`watched` that writes ``"adapting ...: 120/1000"`` to
    ``stream`` (standard error) once work has run ``after`` seconds, then at most every
    ``every`` seconds: on one rewritten line on a terminal, a line each otherwise."""

    def __init__(self, stream: TextIO | None = None, after: float = 2.0, every: float = 1.0
                 ) -> None:
        self.stream = stream or sys.stderr
        self.after, self.every = after, every
        self._start: dict[str, float] = {}
        self._shown: dict[str, float] = {}  # what -> when last written

    def __call__(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        start = self._start.setdefault(what, now)
        finished = done >= total
        shown = self._shown.get(what)
        if finished:
            self._start.pop(what, None)
            self._shown.pop(what, None)
        if shown is None and now - start < self.after:
            return
        if not finished and shown is not None and now - shown < self.every:
            return
        if not finished:
            self._shown[what] = now
        tty = self.stream.isatty()
        head = "\r" if tty else ""
        end = "\n" if finished or not tty else ""
        self.stream.write(f"{head}{what}: {done}/{total}{end}")
        self.stream.flush()
