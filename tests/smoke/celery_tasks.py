"""Tasks for the Celery smoke test (tests/smoke/celery_smoke.py).

The broker and result backend URL comes from CELERY_URL, so the same module serves the worker
process and the test driver.
"""
import os

from celery import Celery

URL = os.environ.get("CELERY_URL", "redis://127.0.0.1:6379/0")
app = Celery("celery_tasks", broker=URL, backend=URL)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    result_expires=600,
)


@app.task
def add(x, y):
    return x + y


@app.task
def total(values):
    return sum(values)


@app.task
def fail(message):
    raise ValueError(message)


@app.task(bind=True, max_retries=3, default_retry_delay=0)
def flaky(self, key):
    """Fails twice, then succeeds: counts attempts in the data store itself."""
    import redis

    r = redis.Redis.from_url(URL)
    attempts = r.incr(key)
    if attempts < 3:
        raise self.retry(exc=RuntimeError("not yet"))
    return attempts
