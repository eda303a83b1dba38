"""Run work off the request: on Celery when a broker is configured, else on a thread.

The embedded default (no Redis) has no broker, but an upload must still return at once
and show live progress. There the task runs on a small thread pool inside the web
process. Either way the task is queued only after the transaction that created its
row commits, so a worker never looks for a row that is not there yet.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from celery import Task
from django.conf import settings
from django.db import close_old_connections, transaction

log = logging.getLogger(__name__)
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="covax-bg")
    return _executor


def _run_in_thread(task: Task, args: tuple) -> None:
    close_old_connections()
    try:
        task.apply(args=args, throw=False)
    except Exception:  # the task records its own failure; never kill the pool
        log.exception("background task %s failed", task.name)
    finally:
        close_old_connections()


def enqueue(task: Task, *args) -> None:
    """Queue `task(*args)` once the current transaction commits."""

    def send() -> None:
        if settings.COVAX_BACKGROUND == "celery":
            try:
                task.delay(*args)
            except Exception:
                # Broker down: the row stays `queued`; `covax_requeue` (run by the
                # worker at start-up) picks it up when the workers are back.
                log.warning("broker unavailable, %s(%s) left queued", task.name, args)
        elif settings.COVAX_BACKGROUND == "eager":  # tests: run right after commit, in-line
            task.apply(args=args, throw=True)
        else:
            _pool().submit(_run_in_thread, task, args)

    transaction.on_commit(send)
