import zoneinfo
from argparse import ArgumentTypeError
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path


def cli_date(value: str) -> datetime:
    """A date or date-time argument, read as UTC when it has no offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(
            f"{value!r} is not a date such as 2026-10-01 or 2026-10-01T08:00."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- Time zones the dashboard offers ----------------------------------------------------------
# zoneinfo lists every name the tz database knows, backward-compatible aliases included
# (Asia/Calcutta, US/Eastern, Etc/GMT+5); browsers' Intl lists keep ICU's old names. The picker
# offers zone.tab's names (one per country and region, current spellings) and UTC; an alias given
# in a URL is read as the name it points to.


def _tz_file(name: str) -> str:
    """The text of a tz database file (zone.tab, tzdata.zi) from the system or tzdata; '' if
    neither has it."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / name
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    try:
        return (resources.files("tzdata") / "zoneinfo" / name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return ""


@cache
def picker_zones() -> tuple[str, ...]:
    """Current canonical zone names, sorted: zone.tab's, and UTC."""
    available = zoneinfo.available_timezones()
    listed = {
        line.split("\t")[2]
        for line in _tz_file("zone.tab").splitlines()
        if line and not line.startswith("#") and line.count("\t") >= 2
    }
    if not listed:  # no zone.tab anywhere: drop the obvious aliases by their prefixes
        listed = {
            name
            for name in available
            if "/" in name and not name.startswith(("Etc/", "US/", "SystemV/", "posix/", "right/"))
        }
    return tuple(sorted((listed & available) | {"UTC"}))


@cache
def zone_aliases() -> dict[str, str]:
    """Old or alternative name -> the picker's name for it (Asia/Calcutta -> Asia/Kolkata)."""
    offered = set(picker_zones())
    links = {}
    for line in _tz_file("tzdata.zi").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    aliases = {}
    for alias in links:
        target = alias
        for _ in range(5):  # links may chain
            target = links.get(target, target)
        if target == "Etc/UTC":
            target = "UTC"
        if alias not in offered and target in offered:
            aliases[alias] = target
    aliases.setdefault("Etc/UTC", "UTC")
    return aliases


def canonical_zone(name: str) -> str:
    return zone_aliases().get(name, name)


def utc_offset(zone: str, moment: datetime) -> str:
    """'UTC+05:30' for Asia/Kolkata: the zone's offset at that moment."""
    offset = moment.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset() or timedelta()
    sign = "-" if offset < timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_choices(now: datetime) -> list[dict[str, str]]:
    """The picker's zones with their offset now, for the dashboard's searchable list."""
    return [{"name": name, "offset": utc_offset(name, now)} for name in picker_zones()]
