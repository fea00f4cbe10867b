from argparse import ArgumentTypeError
from datetime import UTC, datetime


def cli_date(value: str) -> datetime:
    """A date or date-time argument, read as UTC when it has no offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(
            f"{value!r} is not a date such as 2026-10-01 or 2026-10-01T08:00."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
