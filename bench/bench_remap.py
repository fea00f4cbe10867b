"""Re-mapping campaigns on the loaded clicks: a marketer unifies the busiest sender campaigns.

Each run creates a canonical campaign with a rule claiming the busiest sender campaign of every
sender, saved as the campaigns page saves it (``campaigns.save``: the rule, then ``remap()`` of
every sender campaign), then times the first dashboard summary and campaign breakdown through
the API, and checks the answers moved: the total is unchanged and the new campaign counts the
sum of its members. Deleting the campaign (timed too) gives the members back campaigns of their
own, checked the same way. Three runs, medians reported.

Clicks and rollups keep the sender campaign, so a re-mapping rewrites campaign rows only; its
time follows the number of campaigns, never the number of clicks.
"""

import json
import re
import statistics
import time
import urllib.parse
import urllib.request
from collections.abc import Callable

import psycopg
from reliability_infra import manage

RUNS = 3
NAME = "Bench unified campaign"

# Run by `manage.py shell -c` (Django set up, the database the server uses); prints one JSON line.
_UNIFY = """
import json, time
from analytics import campaigns
from analytics.models import CampaignRule, CanonicalCampaign
started = time.perf_counter()
canonical = CanonicalCampaign.objects.create(name={name!r})
rule = CampaignRule(canonical=canonical, field="name", match="regex", pattern={pattern!r})
result = campaigns.save(rule)
elapsed = time.perf_counter() - started
started = time.perf_counter()
campaigns.remap()
again = time.perf_counter() - started
print(json.dumps({{"ms": elapsed * 1000, "noop_ms": again * 1000, "id": canonical.pk,
                  "moved": len(result.moved), "campaigns": result.campaigns}}))
"""
_UNDO = """
import json, time
from analytics import campaigns
from analytics.models import CanonicalCampaign
started = time.perf_counter()
result = campaigns.delete(CanonicalCampaign.objects.get(pk={pk}))
print(json.dumps({{"ms": (time.perf_counter() - started) * 1000, "moved": len(result.moved)}}))
"""


def _shell(env: dict[str, str], script: str) -> dict:
    """Run a script in a Django process; its last line of output, as JSON."""
    return json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])


def _busiest(conn: psycopg.Connection) -> list[tuple[int, str, str, int]]:
    """(id, name, sender, clicks) of the most clicked sender campaign of each sender."""
    return conn.execute(
        "SELECT DISTINCT ON (c.sender) c.id, c.name, c.sender, count(*)"
        " FROM analytics_click k JOIN analytics_campaign c ON c.id = k.campaign_id"
        " GROUP BY c.id ORDER BY c.sender, count(*) DESC"
    ).fetchall()


def _get(base: str, token: str, path: str, **params: str) -> tuple[float, dict]:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.load(response)
    return time.perf_counter() - started, body


def _dashboard(base: str, token: str) -> tuple[float, float, int, dict[str, int]]:
    """The dashboard's first two calls (default range): their seconds, the summary's clicks and
    the campaign breakdown's clicks per canonical id."""
    summary_s, summary = _get(base, token, "/api/stats/summary/")
    breakdown_s, breakdown = _get(base, token, "/api/stats/breakdown/campaign/", limit="1000")
    rows = {row["value"]: row["clicks"] for row in breakdown["rows"]}
    if breakdown["other"] or breakdown["total"]["clicks"] != summary["current"]["clicks"]:
        raise RuntimeError(f"breakdown {breakdown['total']} disagrees with the summary {summary}")
    return summary_s, breakdown_s, summary["current"]["clicks"], rows


def _canonical_ids(conn: psycopg.Connection, ids: list[int]) -> list[str]:
    found = conn.execute(
        "SELECT canonical_id FROM analytics_campaign WHERE id = ANY(%s)", [ids]
    ).fetchall()
    return [str(pk) for (pk,) in found]


def run_remap(
    base_url: str, token: str, env: dict[str, str], connect: Callable[[], psycopg.Connection]
) -> dict[str, object]:
    with connect() as conn:
        members = _busiest(conn)
        campaign_count = conn.execute("SELECT count(*) FROM analytics_campaign").fetchone()[0]
    ids = [pk for pk, *_ in members]
    pattern = "^(" + "|".join(re.escape(name) for _, name, _, _ in members) + ")$"
    runs = []
    for _ in range(RUNS):
        _, _, total, before = _dashboard(base_url, token)  # warm, and the answers to compare
        with connect() as conn:
            expected = sum(before.get(pk, 0) for pk in _canonical_ids(conn, ids))
        unified = _shell(env, _UNIFY.format(name=NAME, pattern=pattern))
        summary_s, breakdown_s, total_after, after = _dashboard(base_url, token)
        if total_after != total or after.get(str(unified["id"])) != expected:
            raise RuntimeError(f"counts did not move: {total} -> {total_after}, {expected} -> "
                               f"{after.get(str(unified['id']))}")  # fmt: skip
        if unified["moved"] != len(ids):
            raise RuntimeError(f"{unified['moved']} campaigns moved, not {len(ids)}")
        undone = _shell(env, _UNDO.format(pk=unified["id"]))
        _, _, total_back, back = _dashboard(base_url, token)
        with connect() as conn:
            restored = sum(back.get(pk, 0) for pk in _canonical_ids(conn, ids))
        if total_back != total or restored != expected or str(unified["id"]) in back:
            raise RuntimeError("deleting the campaign did not give the counts back")
        runs.append({
            "remap_ms": round(unified["ms"], 1), "remap_noop_ms": round(unified["noop_ms"], 1),
            "summary_ms": round(summary_s * 1000, 1), "breakdown_ms": round(breakdown_s * 1000, 1),
            "undo_ms": round(undone["ms"], 1), "unified_clicks": expected, "total_clicks": total,
        })  # fmt: skip
        print(f"  remap {runs[-1]['remap_ms']} ms, summary {runs[-1]['summary_ms']} ms, "
              f"breakdown {runs[-1]['breakdown_ms']} ms, undo {runs[-1]['undo_ms']} ms",
              flush=True)  # fmt: skip
    return {
        "campaigns": campaign_count,
        "members": [f"{sender}: {name}" for _, name, sender, _ in members],
        "clicks_remapped": sum(clicks for *_, clicks in members),
        "runs": runs,
        "median": {
            key: round(statistics.median(run[key] for run in runs), 1)
            for key in ("remap_ms", "remap_noop_ms", "summary_ms", "breakdown_ms", "undo_ms")
        },
        "checks": "total unchanged; the unified campaign counts the sum of its members; "
        "deleting it gives every member its clicks back",
    }


def summary_lines(remap: dict | None) -> list[str]:
    if remap is None:
        return ["remap: skipped"]
    m = remap["median"]
    return [
        f"\nremap ({remap['campaigns']} campaigns; {len(remap['members'])} unified holding "
        f"{remap['clicks_remapped']:,} clicks), medians of {len(remap['runs'])}: remap "
        f"{m['remap_ms']} ms (nothing to move: {m['remap_noop_ms']} ms), first summary "
        f"{m['summary_ms']} ms, campaign breakdown {m['breakdown_ms']} ms, undo {m['undo_ms']} ms"
    ]
