from unittest import mock

from core import queue


class _Task:
    name = "test.task"

    def __init__(self, fail=False):
        self.calls, self.fail = [], fail

    def apply_async(self, kwargs=None, countdown=None):
        if self.fail:
            raise ConnectionError("broker down")
        self.calls.append((kwargs, countdown))


def test_task_enqueue_sends_kwargs_and_countdown():
    task = _Task()
    assert queue.task_enqueue(task, kwargs={"a": 1}, countdown=5) is True
    assert task.calls == [({"a": 1}, 5)]


def test_task_enqueue_swallows_broker_errors_then_skips_the_broker_for_a_while():
    assert queue.task_enqueue(_Task(fail=True), kwargs={}) is False
    healthy = _Task()
    assert queue.task_enqueue(healthy, kwargs={}) is False and healthy.calls == []
    assert queue.broker.is_open
    with mock.patch("core.breaker.time.monotonic", return_value=queue.broker.open_until + 0.1):
        assert queue.task_enqueue(healthy, kwargs={}) is True
    assert healthy.calls == [({}, None)]
