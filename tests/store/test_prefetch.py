import threading

import pytest

from tracecode.store.prefetch import prefetched


def test_items_come_in_order():
    assert list(prefetched(iter(range(100)), depth=2)) == list(range(100))


def test_producer_error_is_raised_in_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("bad line 3")

    got = []
    with pytest.raises(ValueError, match="bad line 3"):
        for item in prefetched(items()):
            got.append(item)
    assert got == [1, 2]


def test_consumer_stopping_early_stops_and_closes_the_producer():
    produced = []
    closed = threading.Event()

    def items():
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    stream = prefetched(items(), depth=1)
    assert next(stream) == 0
    stream.close()  # joins the producer
    assert closed.is_set()
    assert len(produced) <= 3  # at most the queued item and the one in hand, not the whole file


def test_consumer_error_does_not_hang():
    def items():
        yield from range(10)

    with pytest.raises(RuntimeError):
        for item in prefetched(items()):
            if item == 1:
                raise RuntimeError("database error")
    assert not [t for t in threading.enumerate() if t.name == "tracecode-prefetch"]


def test_at_most_depth_plus_one_items_alive():
    made = []
    consumed = []

    def items():
        for i in range(20):
            made.append(i)
            yield i

    for item in prefetched(items(), depth=1):
        import time

        time.sleep(0.01)  # let the producer run ahead as far as it may
        assert len(made) - len(consumed) <= 2
        consumed.append(item)
    assert consumed == list(range(20))
