"""The range, time zone and bots controls and the filter chips of the campaigns and "See all"
pages: what templates/analytics/_page_filters.html shows. The pages are plain GET forms, so each
control reloads the page with every other parameter kept."""

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings

from analytics import stats, timeutil
from analytics.filters import DIMENSIONS, PRESETS, SENDER_CAMPAIGN, ClickFilter
from analytics.models import Campaign

# The parameters the controls themselves set; the others ride along as hidden fields.
_CONTROLLED = {"range", "from", "to", "tz", "bots"}


def context(f: ClickFilter) -> dict[str, object]:
    state = f.state()
    # The custom range fields start from the period on screen, as on the dashboard.
    first = f.start.astimezone(f.tz).date()
    last = (f.end - timedelta(microseconds=1)).astimezone(f.tz).date()
    params = f.params()
    return {
        "state": state
        | {"from": state["from"] or first.isoformat(), "to": state["to"] or last.isoformat()},
        "presets": [{"key": key, "label": label} for key, label in PRESETS.items()],
        "zones": zone_groups(f.tz.key),
        "kept": [(key, value) for key, value in params if key not in _CONTROLLED],
        "chips": chips(f, params),
        "clear": urlencode([(key, value) for key, value in params if key in _CONTROLLED]),
    }


def zone_groups(selected: str) -> list[tuple[str, list[str]]]:
    """(group label, zones) for the time zone select: the usual few first, then every zone."""
    suggested = list(dict.fromkeys([selected, settings.DASHBOARD_TIME_ZONE, "UTC"]))
    return [("Suggested", suggested), ("All time zones", list(timeutil.picker_zones()))]


def chips(f: ClickFilter, params: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The active filters as chips: their words, how each joins the one before ("or" between
    values of one dimension, "and" between excluded ones) and the query without it."""
    labels = stats.filter_labels(f)
    found = []
    for key, dimension in DIMENSIONS.items():
        for op, values in (("is", f.include.get(key, ())), ("not", f.exclude.get(key, ()))):
            name = key if op == "is" else f"{key}!"
            for index, value in enumerate(values):
                found.append(
                    _chip(dimension.label, op, labels[key][value], name, value, index, params)
                )
    names = dict(
        Campaign.objects.filter(id__in=[int(v) for v in f.sender_campaigns]).values_list(
            "id", "name"
        )
    )
    for index, value in enumerate(f.sender_campaigns):
        label = names.get(int(value)) or f"Campaign {value}"
        found.append(_chip("Sender campaign", "is", label, SENDER_CAMPAIGN, value, index, params))
    return found


def _chip(
    dimension: str,
    op: str,
    label: str,
    name: str,
    value: str,
    index: int,
    params: list[tuple[str, str]],
) -> dict[str, str]:
    return {
        "dimension": dimension,
        "op": op,
        "label": label,
        "text": f"{dimension} {'is not' if op == 'not' else 'is'} {label}",
        # country=US&country=DE is "US or DE"; country!=US&country!=DE is "neither".
        "join": "" if index == 0 else ("or" if op == "is" else "and"),
        "remove": urlencode([param for param in params if param != (name, value)]),
    }
