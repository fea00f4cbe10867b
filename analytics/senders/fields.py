"""Reading fields out of decoded JSON with errors that name the path, e.g. ``data.click.id``."""

import hashlib
import json
import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from analytics.senders.base import PayloadError

# Clicks outside this window are a sender bug or a forged payload, not marketing data.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST_AHEAD = timedelta(days=2)


def _reject_constant(name: str) -> None:
    raise PayloadError(f"The body is not valid JSON: {name} is not a JSON value.")


def load_json(body: bytes) -> object:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise PayloadError("The body is not UTF-8 encoded JSON.") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"The body is not valid JSON: {exc.msg} at position {exc.pos}."
        ) from None
    except ValueError as exc:  # e.g. an integer literal longer than Python's digit limit
        raise PayloadError(f"The body is not acceptable JSON: {exc}.") from None
    except RecursionError:
        raise PayloadError("The body is nested too deeply to be a webhook payload.") from None


def obj(parent: object, key: str, path: str) -> dict:
    value = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(value, dict):
        raise PayloadError(f"{_join(path, key)} must be an object, got {_kind(value)}.")
    return value


def optional_obj(parent: dict, key: str) -> dict:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def required_text(parent: dict, key: str, path: str) -> str:
    """A string or number that identifies something (ids arrive as either)."""
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{_join(path, key)} must be a string, got {_kind(value)}.")
    text = clean(str(value))
    if not text:
        raise PayloadError(f"{_join(path, key)} must not be empty.")
    return text


def text(parent: dict, key: str, max_length: int | None = None) -> str:
    """A descriptive string: numbers are stringified, anything else is treated as unknown."""
    value = parent.get(key)
    if type(value) is str:  # the common case, first: parsers call this for most fields
        result = clean(value)
    elif isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    else:
        result = clean(str(value))
    return result[:max_length] if max_length else result


def clean(value: str) -> str:
    # PostgreSQL text cannot hold NUL; lone surrogates cannot be encoded as UTF-8.
    if "\x00" in value:
        value = value.replace("\x00", "")
    if value.isascii():  # no surrogates possible: skip the round trip
        return value.strip()
    return value.strip().encode("utf-8", "replace").decode("utf-8")


def scalar(value: object) -> str | int | float | bool | None:
    """A JSON scalar safe to store in JSONB; nested structures are not kept."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # 1e400 parses as infinity, which JSONB cannot hold
    return value if isinstance(value, int | float | bool) or value is None else None


def flag(parent: dict, key: str) -> bool:
    value = parent.get(key)
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return value is True or (isinstance(value, int) and value == 1)


def coordinate(parent: dict, key: str, limit: float) -> float | None:
    value = parent.get(key)
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(number) or not -limit <= number <= limit:
        return None
    return number


def timestamp(parent: dict, key: str, path: str, zone: ZoneInfo) -> tuple[datetime, str]:
    """An ISO 8601 time (offsets like +0100 included); naive times are read in ``zone``."""
    value = parent.get(key)
    where = _join(path, key)
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(f"{where} must be an ISO 8601 timestamp string, got {_kind(value)}.")
    raw = clean(value)[:64]
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise PayloadError(f"{where} is not an ISO 8601 timestamp: {raw!r}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise PayloadError(f"{where} is out of range: {raw!r}.") from None
    if not _EARLIEST <= moment <= datetime.now(UTC) + _LATEST_AHEAD:
        raise PayloadError(f"{where} is outside the accepted range (2000 to now): {raw!r}.")
    return moment, raw


def optional_timestamp(parent: dict, key: str, path: str, zone: ZoneInfo) -> datetime | None:
    """Like ``timestamp``, for a time the click does not depend on: None when missing or bad."""
    if parent.get(key) in (None, ""):
        return None
    try:
        return timestamp(parent, key, path, zone)[0]
    except PayloadError:
        return None


def derived_key(*parts: object) -> str:
    """A click key for senders that give no click id: a hash of the fields that identify it."""
    joined = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(joined.encode("utf-8", "replace")).hexdigest()[:32]


def click_key(external_id: str) -> str:
    # Sender ids fit the column as they are; an unusually long one is hashed to keep keys small.
    return external_id if len(external_id) <= 40 else derived_key("id", external_id)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )
