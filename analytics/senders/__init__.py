"""The senders: one module each, declaring its ``SPEC``; ``SENDERS`` is the registry.

A sender module parses request bytes into plain data (``parse(body, zone) -> list[Event]``, no
database, no request) and raises ``PayloadError`` with a message naming the offending field when
the body does not fit the sender's documented shape. Fields that identify a click (its id, its
time) are strict; descriptive fields (city, browser, coordinates…) are tolerant: a wrong type or
an impossible value becomes "unknown" rather than costing the marketer the click.

Everything else (the webhook view, the worker, the models' choices, the admin, the demo, the
tests) reads ``SENDERS``; adding a sender is adding its module to ``_BUILT_IN``.
"""

from importlib import import_module

from analytics.senders.base import (
    CampaignData,
    ClickData,
    ContactData,
    Device,
    Event,
    LinkData,
    Parser,
    PayloadError,
)
from analytics.senders.spec import SenderSpec

__all__ = [
    "SENDERS",
    "CampaignData",
    "ClickData",
    "ContactData",
    "Device",
    "Event",
    "LinkData",
    "Parser",
    "PayloadError",
    "SenderSpec",
    "check_shape",
    "parser_for",
    "secrets_summary",
    "sender_choices",
    "time_zones_summary",
]

# The built-in senders, by module name, in the order admin lists and demo data show them.
_BUILT_IN = ("dub", "heyoo", "woodpecker", "opptima")

SENDERS: dict[str, SenderSpec] = {
    spec.key: spec
    for spec in (import_module(f"analytics.senders.{name}").SPEC for name in _BUILT_IN)
}


def sender_choices() -> list[tuple[str, str]]:
    """The models' sender choices; a callable, so adding a sender needs no migration."""
    return [(key, spec.label) for key, spec in SENDERS.items()]


def secrets_summary() -> str:
    """What each sender's secret is, for help texts: "Dub: signing secret. … Woodpecker: none."."""
    return " ".join(
        f"{spec.label}: {spec.auth.secret_name or 'none'}." for spec in SENDERS.values()
    )


def time_zones_summary() -> str:
    """Each sender's default time zone, for help texts: "Dub UTC, …, Opptima America/Bogota"."""
    return ", ".join(f"{spec.label} {spec.default_time_zone}" for spec in SENDERS.values())


def parser_for(sender: str) -> Parser:
    return SENDERS[sender].parse


def check_shape(sender: str, body: bytes) -> None:
    """Raise ``PayloadError`` unless the body is JSON of the sender's top-level shape."""
    SENDERS[sender].check_shape(body)
