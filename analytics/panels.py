"""The dashboard's breakdown panels, the breakdowns only the clicks table can answer, and what the
values that name no value (Direct, Unknown, No campaign) mean.

A panel shows one list at a time; related breakdowns share a panel as tabs (Sources: referer,
UTM source, UTM medium). The UTM, link and destination URL breakdowns are not dimensions: no
rollup holds them and the filters do not take them, so they are counted from the clicks table,
in one query, and their rows do not filter the dashboard.
"""

from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Count, Q

from analytics.filters import DIMENSIONS, ClickFilter
from analytics.models import Link
from analytics.rollup_reads import CountRow


@dataclass(frozen=True)
class ClickBreakdown:
    key: str
    label: str
    column: str


CLICK_BREAKDOWNS = {
    b.key: b
    for b in (
        ClickBreakdown("utm_source", "UTM source", "utm_source"),
        ClickBreakdown("utm_medium", "UTM medium", "utm_medium"),
        ClickBreakdown("link", "Link", "link_id"),
        ClickBreakdown("url", "Destination URL", "url"),
    )
}

# Every breakdown the stats API, the "See all" pages and the report take: key -> label.
BREAKDOWNS = {key: d.label for key, d in DIMENSIONS.items()} | {
    key: b.label for key, b in CLICK_BREAKDOWNS.items()
}


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    tabs: tuple[str, ...]


# In display order; the first tab is the one shown until the viewer picks another.
PANELS = (
    Panel("sources", "Sources", ("referer", "utm_source", "utm_medium")),
    Panel("campaigns", "Campaigns", ("campaign", "link", "url")),
    Panel("locations", "Locations", ("country", "city")),
    Panel("devices", "Devices", ("device", "browser", "os")),
    Panel("sender", "Senders", ("sender",)),
    Panel("bot_reason", "Bots and scanners", ("bot_reason",)),
)

_UNKNOWN = "Unknown: the sender did not say the {noun}, or what it sent could not be read."
_NOUNS = {
    "referer": "referer",
    "utm_source": "utm_source of the link",
    "utm_medium": "utm_medium of the link",
    "url": "URL the link leads to",
    "country": "country",
    "city": "city",
    "device": "device",
    "browser": "browser",
    "os": "operating system",
}
# value -> explanation, for the values of a breakdown that are not a name.
_NOTES = {
    "referer": {
        "(direct)": "Direct: no referer was sent: the link was typed or bookmarked, or opened "
        "from an app or an e-mail client.",
    },
    "campaign": {"": "No campaign: clicks on links not tied to a campaign."},
    "link": {
        "": "No link: clicks that came with no short link (e-mails, posts and newsletters "
        "link to their pages directly)."
    },
}


def notes(key: str) -> dict[str, str]:
    """What the breakdown's non-name values ('' and "(direct)") mean, by value."""
    found = dict(_NOTES.get(key, {}))
    if key in _NOUNS:
        found.setdefault("", _UNKNOWN.format(noun=_NOUNS[key]))
    return found


def dashboard_panels(
    shown: Collection[str] = BREAKDOWNS, filtering: bool = True
) -> list[dict[str, object]]:
    """The panels as the dashboard's template and JavaScript read them, with the tabs of
    ``shown`` only (a panel left with none is left out); ``filtering=False`` for a dashboard
    whose rows filter nothing (a shared link's)."""
    found = []
    for panel in PANELS:
        tabs = [
            {
                "key": key,
                "label": BREAKDOWNS[key],
                # Rows of a dimension filter the dashboard; the others have no filter.
                "filters": filtering and key in DIMENSIONS,
                "notes": notes(key),
            }
            for key in panel.tabs
            if key in shown
        ]
        if tabs:
            found.append({"key": panel.key, "title": panel.title, "tabs": tabs})
    return found


def click_counts(f: ClickFilter, key: str) -> list[CountRow]:
    """Clicks and unique clicks per value of a click breakdown, in one query on the clicks."""
    column = CLICK_BREAKDOWNS[key].column
    rows = (
        f.clicks()
        .values(column)
        .annotate(clicks=Count("id"), uniques=Count("id", filter=Q(is_unique=True)))
        .values_list(column, "clicks", "uniques")
        .order_by()
    )
    return [
        CountRow(value=value, clicks=clicks, uniques=uniques) for value, clicks, uniques in rows
    ]


def click_labels(key: str, values: list[object]) -> dict[object, str]:
    if key == "link":
        found = Link.objects.filter(id__in=[v for v in values if v]).values_list(
            "id", "short_link", "domain", "key", "external_id"
        )
        names = {
            pk: short or (f"{domain}/{slug}" if domain else external)
            for pk, short, domain, slug, external in found
        }
        return {value: names.get(value, "No link") if value else "No link" for value in values}
    return {value: value or "Unknown" for value in values}
