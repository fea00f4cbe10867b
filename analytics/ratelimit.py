"""A per-endpoint token bucket, so one flooding sender cannot starve the others.

The buckets live in each worker process: no shared store to fail or to contend on, at the cost
of the limit applying per worker (a gunicorn with 4 workers admits up to 4x the rate).
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings


@dataclass
class _Bucket:
    tokens: float
    updated: float


_buckets: dict[int, _Bucket] = {}
_lock = threading.Lock()


def retry_after(endpoint_id: int) -> int:
    """0 when a delivery to this endpoint may proceed now, else the seconds to wait."""
    rate = settings.WEBHOOK_RATE_LIMIT
    if not rate:
        return 0
    burst = max(settings.WEBHOOK_RATE_BURST, 1)
    now = time.monotonic()
    with _lock:
        bucket = _buckets.setdefault(endpoint_id, _Bucket(tokens=burst, updated=now))
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0
        return max(1, round((1 - bucket.tokens) / rate + 0.5))


def reset() -> None:
    """Forget every bucket (tests, and settings changes)."""
    with _lock:
        _buckets.clear()
