"""Validate an upload's rows in helper processes while the database stores them.

Validating a row through the identity module (Verhoeff, HMAC, phonenumbers) is pure
Python and most of an upload's time, and one Python process uses one core at most. So
when the calling process has a single thread (a Celery pool process; the test runner)
PARSERS forked helpers validate the chunks side by side, chunk n by helper n mod
PARSERS, each reading the file itself, and the results come back through pipes in the
file's order. The caller keeps its database connection and its transaction: helpers
never touch the database, speak the caller's language (inherited), and leave with
os._exit. A helper whose caller died (a killed worker) dies at its next write, on the
closed pipe; a caller that stops for any reason (done, an error, a time limit) kills
and reaps its helpers.

Forking a process with several threads is not safe (a lock held by another thread
stays locked in the child), so there (the embedded default runs uploads on a thread of
the web process) the chunks are validated in line, one after the other.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

# Two processes validating on a 2-core box, PostgreSQL's work between them.
PARSERS = 2


class HelperDied(RuntimeError):
    pass


class _Failed:
    """An exception raised in a helper, carried to the caller to be raised there."""

    def __init__(self, exc: BaseException):
        try:
            pickle.dumps(exc)
            self.exc = exc
        except Exception:  # noqa: BLE001 - an exception that does not travel: its text does
            self.exc = RuntimeError(f"{type(exc).__name__}: {exc}")


@contextlib.contextmanager
def parsed(chunks: Callable[[], Iterator[Any]], parse: Callable[[Any], Any]) -> Iterator[Iterator[Any]]:
    """`parse(chunk)` for every chunk of `chunks()` (a fresh reading of the file each
    call), in order."""
    if threading.active_count() > 1 or not hasattr(os, "fork"):
        yield (parse(chunk) for chunk in chunks())
        return
    helpers: list[_Helper] = []
    try:
        for index in range(PARSERS):
            helpers.append(_Helper.fork(chunks, parse, index, [h.out for h in helpers]))
        yield _in_order(helpers)
    finally:
        for helper in helpers:
            helper.stop()


def _in_order(helpers: list[_Helper]) -> Iterator[Any]:
    for n in itertools.count():
        helper = helpers[n % len(helpers)]
        try:
            item = pickle.load(helper.out)
        except (EOFError, pickle.UnpicklingError):
            raise HelperDied(f"The process validating rows (pid {helper.pid}) ended unexpectedly.") from None
        if item is None:
            return
        if isinstance(item, _Failed):
            raise item.exc
        yield item


class _Helper:
    def __init__(self, pid: int, out: IO[bytes]):
        self.pid, self.out = pid, out

    @classmethod
    def fork(cls, chunks, parse, index: int, others: list[IO[bytes]]) -> _Helper:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the helper; never returns
            os.close(read_end)
            _work(chunks, parse, index, write_end, others)
        os.close(write_end)
        return cls(pid, os.fdopen(read_end, "rb"))

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        self.out.close()


def _work(chunks, parse, index: int, write_end: int, others: list[IO[bytes]]) -> None:
    status = 1
    try:
        for other in others:  # the caller's ends of earlier helpers' pipes: only the caller reads them
            os.close(other.fileno())
        # The caller's handlers (Celery's time limits, shutdown) are not the helper's.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_DFL)
        with os.fdopen(write_end, "wb", buffering=1 << 20) as out:
            try:
                for n, chunk in enumerate(chunks()):
                    if n % PARSERS == index:
                        pickle.dump(parse(chunk), out, protocol=pickle.HIGHEST_PROTOCOL)
                        out.flush()
                pickle.dump(None, out)
            except Exception as exc:  # noqa: BLE001 - raised again by the caller
                pickle.dump(_Failed(exc), out)
        status = 0
    finally:
        os._exit(status)  # no atexit, no finalizers: the caller's connections stay untouched
