"""Run a generator in a background thread, a bounded number of items ahead of its consumer.

Ingest reads and normalises the next chunk of a file in Python while DuckDB (which releases
the GIL) writes the current one: the two halves overlap instead of taking turns."""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetched(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Yield the items of ``items``, produced in a background thread.

    At most ``1 + depth`` items are alive at once: the one the consumer holds and ``depth``
    made (or being made) ahead of it, so memory stays bounded by the size of the items.
    An exception raised by the producer is raised here, in the consumer, at the point where
    its item would have come. When the consumer stops early (an exception, ``close()``), the
    producer is told to stop and is joined before this generator returns."""
    slots: queue.Queue = queue.Queue()
    permits = threading.Semaphore(1 + max(1, depth))
    stop = threading.Event()

    def acquire() -> bool:
        while not stop.is_set():
            if permits.acquire(timeout=0.1):
                return True
        return False

    def produce() -> None:
        try:
            for item in _after_permit(items, acquire):
                if stop.is_set():
                    return
                slots.put(item)
            slots.put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            slots.put(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="tracecode-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
            del item
            permits.release()
    finally:
        stop.set()
        worker.join()


def _after_permit(items: Iterable[T], acquire) -> Iterator[T]:
    """Iterate ``items``, taking a permit before making each one; stop when refused."""
    iterator = iter(items)
    while acquire():
        try:
            yield next(iterator)
        except StopIteration:
            return
