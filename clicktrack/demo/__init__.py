"""Demo data: webhook bodies from all four senders, as they would have arrived over the last days.

Pure and deterministic: everything is drawn from one ``random.Random(seed)`` and the given ``now``;
nothing touches the database. ``manage.py seed_demo`` feeds the bodies through the real intake, so
the demo goes through the same parsing, deduplication and uniqueness rules as production traffic.
The benchmarks use the same bodies, time formats and daily rhythm.

- ``world``: who clicks, on which campaign, from where and when; the events around clicks.
- ``payloads``: how each sender writes an event (body builders, JSON and time formats).
- ``data``: the static tables: countries and cities, user agents, referers, campaigns.
"""

from clicktrack.demo.payloads import escaped_json, js_json, js_time, opptima_time, woodpecker_time
from clicktrack.demo.world import (
    DAY_FACTOR,
    WEEKDAY_HOURS,
    WEEKEND_HOURS,
    demo_deliveries,
)

__all__ = [
    "DAY_FACTOR",
    "WEEKDAY_HOURS",
    "WEEKEND_HOURS",
    "demo_deliveries",
    "escaped_json",
    "js_json",
    "js_time",
    "opptima_time",
    "woodpecker_time",
]
