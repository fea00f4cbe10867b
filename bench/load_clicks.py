"""Fill a scratch database with N realistic clicks, fast: `python bench/load_clicks.py URL N`.

Rows are generated inside PostgreSQL (INSERT ... SELECT from generate_series), not in Python:
on 2 cores a Python generator feeding COPY is bound by Python (~150k rows/s), while the server
alone picks values from weighted slot arrays several times faster. The skews follow
clicktrack.demo.data: country and city weights, the user-agent mix, referers per sender, sender
shares, ~4% bots, ~6% QR, ~70% unique, office hours on weekdays over the last 365 days, plus a
synthetic long tail of cities and referers so GROUP BY cardinality looks like production.

While loading, the click table's secondary indexes are dropped and rebuilt afterwards from their
own definitions, and FK triggers are skipped (session_replication_role): both are what a bulk
load into PostgreSQL normally does, and neither changes the schema the app then sees.
"""

import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from clicktrack.demo.data import CITIES_BY_COUNTRY, COUNTRIES, REFERERS, USER_AGENTS

SENDER_SHARES = {"dub": 40, "heyoo": 30, "woodpecker": 15, "opptima": 15}
CAMPAIGNS_PER_SENDER = {"dub": 12, "heyoo": 18, "woodpecker": 15, "opptima": 15}  # 60
LINKS = 40  # all Dub's; 30 carry a utm_campaign (one of Dub's 12 campaigns), 10 none
SLOTS = 20_000  # weighted arrays: a 0.01% value still gets 2 slots
CHUNK = 1_000_000  # rows per INSERT: progress output, and bounded per-statement memory
HOURS = 365 * 24
BLOCK = 200  # campaign slots per sender: room for every campaign's Zipf share


def _slots(weights: list[float], size: int = SLOTS) -> list[int]:
    """1-based indexes repeated in proportion to their weight: arr[1 + floor(random() * len)]
    is then a weighted pick at O(1) for an int4 array (no per-row search)."""
    total = sum(weights)
    out: list[int] = []
    for index, weight in enumerate(weights, start=1):
        out += [index] * max(1, round(weight / total * size)) if weight > 0 else []
    return out


def _zipf(n: int, s: float = 1.1) -> list[float]:
    return [1 / (k**s) for k in range(1, n + 1)]


def _places() -> tuple[list[tuple], list[float]]:
    """(country, city, region, continent, lat, lon) with global weights; countries without a
    listed city still appear, with an empty city, so the country long tail is kept."""
    rows: list[tuple] = []
    weights: list[float] = []
    for code, country in COUNTRIES.items():
        cities = CITIES_BY_COUNTRY.get(code, [])
        share = country.weight + country.latam_weight * 0.15  # Opptima's LatAm audience
        total = sum(c.weight for c in cities)
        for city in cities:
            rows.append((code, city.name, city.region_name, country.continent, city.latitude,
                         city.longitude))  # fmt: skip
            weights.append(share * city.weight / total * 0.92)
        # Unknown / unlisted city within the country: 8%.
        rows.append((code, "", "", country.continent, None, None))
        weights.append(share * (0.08 if cities else 1.0))
    return rows, weights


def _hour_weights() -> list[float]:
    """Weight of each hour of the last 365 days (index 0 = the hour before now), UTC office
    hours on weekdays, flatter weekends, and growth over the year (newer hours busier)."""
    from clicktrack.demo import DAY_FACTOR, WEEKDAY_HOURS, WEEKEND_HOURS

    def per_hour(cumulative: list[float]) -> list[float]:
        return [b - a for a, b in zip([0.0, *cumulative[:-1]], cumulative, strict=True)]

    weekday, weekend = per_hour(WEEKDAY_HOURS), per_hour(WEEKEND_HOURS)
    now = datetime.now(UTC)
    weights = []
    for back in range(HOURS):
        moment = datetime.fromtimestamp(now.timestamp() - back * 3600, UTC)
        curve = weekend if moment.weekday() >= 5 else weekday
        growth = 1 + (HOURS - back) / HOURS
        weights.append(DAY_FACTOR[moment.weekday()] * curve[moment.hour] * growth)
    return weights


def create_campaigns(conn: psycopg.Connection) -> tuple[dict[str, list[int]], list[tuple]]:
    """~60 campaigns across the four senders and 40 Dub links; returns campaign ids per sender
    and (link id, campaign id or None, url, utm source, medium, campaign) per link."""
    campaigns: dict[str, list[int]] = {}
    now = datetime.now(UTC)
    for sender, count in CAMPAIGNS_PER_SENDER.items():
        campaigns[sender] = []
        for n in range(1, count + 1):
            row = conn.execute(
                "INSERT INTO analytics_campaign (sender, external_id, name, destination_url,"
                " status, utm_source, utm_medium, utm_campaign, details, first_seen_at,"
                " updated_at) VALUES (%s, %s, %s, %s, '', '', '', %s, '{}', %s, %s)"
                " RETURNING id",
                (sender, f"bench-{sender}-{n}", f"Bench {sender} campaign {n}",
                 f"https://lumora.io/{sender}/{n}", f"{sender}_{n}", now, now),
            ).fetchone()  # fmt: skip
            campaigns[sender].append(row[0])
    links = []
    sources = (("linkedin", "social"), ("newsletter", "email"), ("facebook", "paid_social"))
    for n in range(1, LINKS + 1):
        campaign = campaigns["dub"][n % 12] if n <= 30 else None
        source, medium = sources[n % 3] if campaign else ("", "")
        utm = f"dub_{n % 12 + 1}" if campaign else ""
        url = f"https://lumora.io/l/{n}"
        row = conn.execute(
            "INSERT INTO analytics_link (sender, external_id, short_link, destination_url, domain,"
            " key, utm_source, utm_medium, utm_campaign, first_seen_at, updated_at)"
            " VALUES ('dub', %s, %s, %s, 'lmr.to', %s, %s, %s, %s, %s, %s) RETURNING id",
            (f"link_bench{n}", f"https://lmr.to/b{n}", url, f"b{n}", source, medium, utm, now, now),
        ).fetchone()
        links.append((row[0], campaign, url, source, medium, utm))
    return campaigns, links


# One statement per chunk. $-free: psycopg passes the arrays as parameters. OFFSET 0 keeps the
# inner query from being flattened, so each random() is drawn once per row.
_INSERT = """
INSERT INTO analytics_click (sender, click_key, external_id, endpoint_id, occurred_at,
    occurred_at_raw, received_at, campaign_id, link_id, url, country, region, city, continent,
    latitude, longitude, device, browser, os, referer, referer_url, is_qr, is_bot, bot_reason,
    is_unique, ip, visitor, utm_source, utm_medium, utm_campaign)
SELECT s.sender, 'bench-' || s.i, substr(md5(s.i::text), 1, 24), s.endpoint_id, s.at,
    CASE WHEN s.sender = 'opptima' THEN to_char(s.at, 'YYYY-MM-DD HH24:MI:SS') ELSE '' END,
    s.at + interval '2 seconds', s.campaign_id, s.link_id, s.url,
    (%(p_country)s::text[])[s.place],
    CASE WHEN s.tail THEN 'Region ' || (s.town %% 50) ELSE (%(p_region)s::text[])[s.place] END,
    CASE WHEN s.tail THEN 'Town ' || s.town ELSE (%(p_city)s::text[])[s.place] END,
    (%(p_continent)s::text[])[s.place],
    (%(p_lat)s::float8[])[s.place], (%(p_lon)s::float8[])[s.place],
    CASE WHEN s.bot THEN '' ELSE (%(u_device)s::text[])[s.ua] END,
    CASE WHEN s.bot THEN 'Bot' ELSE (%(u_browser)s::text[])[s.ua] END,
    CASE WHEN s.bot THEN '' ELSE (%(u_os)s::text[])[s.ua] END,
    CASE WHEN s.ref_tail THEN 'blog' || s.ref_n || '.example.com' ELSE (%(r_host)s::text[])[s.ref]
    END,
    CASE WHEN s.ref_tail THEN 'https://blog' || s.ref_n || '.example.com/post'
         ELSE (%(r_url)s::text[])[s.ref] END,
    -- Generated bots are crawler user agents ("Bot"): every bot click names its reason.
    s.qr AND NOT s.bot, s.bot, CASE WHEN s.bot THEN 'user_agent' ELSE '' END, s.uniq AND NOT s.bot,
    ('10.0.0.0'::inet + (s.visitor_n::bigint * 7919 %% 16000000)),
    md5('v' || s.visitor_n), s.utm_source, s.utm_medium, s.utm_campaign
FROM (
    SELECT g.i, x.sender, x.endpoint_id,
        now() - make_interval(hours => (%(hours)s::int[])[1 + floor(random() * %(n_hours)s)::int])
            - make_interval(secs => random() * 3600) AS at,
        CASE WHEN x.sender = 'dub' THEN (%(link_campaign)s::int[])[x.link]
            ELSE (%(campaigns)s::int[])[
                x.sender_no * %(block)s + 1 + floor(random() * x.n_campaigns)::int]
            END AS campaign_id,
        CASE WHEN x.sender = 'dub' THEN (%(link_id)s::int[])[x.link] END AS link_id,
        CASE WHEN x.sender = 'dub' THEN (%(link_url)s::text[])[x.link]
            ELSE 'https://lumora.io/' || x.sender END AS url,
        CASE WHEN x.sender = 'dub' THEN (%(link_source)s::text[])[x.link] ELSE '' END
            AS utm_source,
        CASE WHEN x.sender = 'dub' THEN (%(link_medium)s::text[])[x.link] ELSE '' END
            AS utm_medium,
        CASE WHEN x.sender = 'dub' THEN (%(link_utm)s::text[])[x.link] ELSE '' END
            AS utm_campaign,
        (%(places)s::int[])[1 + floor(random() * %(n_places)s)::int] AS place,
        random() < 0.03 AS tail, floor(exp(random() * ln(3000)))::int AS town,
        (%(uas)s::int[])[1 + floor(random() * %(n_uas)s)::int] AS ua,
        CASE WHEN x.sender = 'heyoo'
                THEN (%(refs_heyoo)s::int[])[1 + floor(random() * %(n_rh)s)::int]
             WHEN x.sender = 'dub'
                THEN (%(refs_dub)s::int[])[1 + floor(random() * %(n_rd)s)::int]
             ELSE 1 + (random() < 0.2)::int * 14 END AS ref,
        random() < 0.05 AND x.sender IN ('dub', 'heyoo') AS ref_tail,
        floor(exp(random() * ln(2000)))::int AS ref_n,
        random() < (CASE WHEN x.sender = 'dub' THEN 0.10 ELSE 0.0 END) AS bot,
        random() < 0.065 AS qr, random() < 0.70 AS uniq,
        floor(random() * greatest(%(n)s / 3, 1))::int AS visitor_n
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g(i)
    CROSS JOIN LATERAL (
        SELECT sn.sender, sn.sender_no, sn.endpoint_id, sn.n_campaigns,
            (%(links)s::int[])[1 + floor(random() * %(n_links)s)::int] AS link
        FROM (SELECT (%(senders)s::int[])[1 + floor(random() * 100)::int + (g.i * 0)] AS k) AS r
        JOIN (SELECT * FROM unnest(%(s_name)s::text[], %(s_endpoint)s::int[], %(s_count)s::int[])
              WITH ORDINALITY AS t(sender, endpoint_id, n_campaigns, sender_no)) AS sn
          ON sn.sender_no = r.k
    ) AS x
    OFFSET 0
) AS s
"""


def _params(
    n: int, endpoints: dict[str, int], campaigns: dict[str, list[int]], links: list[tuple]
) -> dict[str, object]:
    rng = random.Random(7)
    places, place_weights = _places()
    senders = list(SENDER_SHARES)
    # Campaign ids per sender in blocks of BLOCK slots, skewed: each sender's campaign list is
    # repeated by Zipf weight inside its block so a few campaigns dominate.
    campaign_blocks: list[int] = []
    counts = []
    for sender in senders:
        ids = campaigns[sender]
        block = [ids[i - 1] for i in _slots(_zipf(len(ids), 0.9), BLOCK)][:BLOCK]
        block += [ids[0]] * (BLOCK - len(block))
        rng.shuffle(block)
        campaign_blocks += block
        counts.append(BLOCK)
    link_weights = _zipf(len(links), 0.8)
    referer_hosts = [host for host, *_ in REFERERS]
    referer_urls = [url.replace("{token}", "abc123").replace("{number}", "4242")
                    for _, url, *_ in REFERERS]  # fmt: skip
    # Woodpecker and Opptima are e-mails: referer index 1 "(direct)" or 15 "mail.google.com".
    assert referer_hosts[0] == "(direct)" and referer_hosts[14] == "mail.google.com"
    hours = _slots(_hour_weights(), 200_000)
    p = {
        "n": n,
        "hours": [h - 1 for h in hours], "n_hours": len(hours),
        "places": _slots(place_weights), "n_places": 0,
        "p_country": [r[0] for r in places], "p_city": [r[1] for r in places],
        "p_region": [r[2] for r in places], "p_continent": [r[3] for r in places],
        "p_lat": [r[4] for r in places], "p_lon": [r[5] for r in places],
        "uas": _slots([w for *_, w, _ in USER_AGENTS]), "n_uas": 0,
        "u_device": [d.lower() for d, *_ in USER_AGENTS],
        "u_os": [o for _, o, *_ in USER_AGENTS], "u_browser": [b for _, _, b, *_ in USER_AGENTS],
        "refs_dub": _slots([r[2] for r in REFERERS]), "n_rd": 0,
        "refs_heyoo": _slots([r[3] for r in REFERERS]), "n_rh": 0,
        "r_host": referer_hosts, "r_url": referer_urls,
        "senders": _slots(list(SENDER_SHARES.values()), 100)[:100],
        "s_name": senders, "s_endpoint": [endpoints[s] for s in senders], "s_count": counts,
        "campaigns": campaign_blocks,
        "links": _slots(link_weights), "n_links": 0,
        "link_id": [lk[0] for lk in links], "link_campaign": [lk[1] for lk in links],
        "link_url": [lk[2] for lk in links], "link_source": [lk[3] for lk in links],
        "link_medium": [lk[4] for lk in links], "link_utm": [lk[5] for lk in links],
    }  # fmt: skip
    for count, array in (("n_places", "places"), ("n_uas", "uas"), ("n_rd", "refs_dub"),
                         ("n_rh", "refs_heyoo"), ("n_links", "links")):  # fmt: skip
        p[count] = len(p[array])
    # Campaign index math is sender_no * BLOCK with a 1-based sender_no: pad one block.
    p["campaigns"] = [0] * BLOCK + campaign_blocks
    p["block"] = BLOCK
    p["senders"] += [p["senders"][-1]] * (101 - len(p["senders"]))
    return p


def load(conn: psycopg.Connection, n: int, endpoints: dict[str, int]) -> dict[str, float]:
    """Insert n clicks (plus campaigns and links); returns timings and rows per second."""
    started = time.monotonic()
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET session_replication_role = replica")  # skip FK triggers during the load
    campaigns, links = create_campaigns(conn)
    params = _params(n, endpoints, campaigns, links)
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'analytics_click'"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    insert_started = time.monotonic()
    for first in range(1, n + 1, CHUNK):
        last = min(n, first + CHUNK - 1)
        conn.execute(_INSERT, params | {"first": first, "last": last})
        rate = last / (time.monotonic() - insert_started)
        print(f"  loaded {last:,} clicks ({rate:,.0f} rows/s)", flush=True)
    insert_seconds = time.monotonic() - insert_started
    index_started = time.monotonic()
    # Intake appends clicks in arrival order, so a day's clicks share pages; generated rows come
    # in random order. CLUSTER puts them in time order, as production tables are.
    for name, definition in indexes:
        if name == "click_time_range":
            conn.execute(definition)
    conn.execute('CLUSTER analytics_click USING "click_time_range"')
    cluster_seconds = time.monotonic() - index_started
    for name, definition in indexes:
        if name != "click_time_range":
            conn.execute(definition)
    index_seconds = time.monotonic() - index_started - cluster_seconds
    conn.execute("SET session_replication_role = origin")
    analyze_started = time.monotonic()
    conn.execute("VACUUM ANALYZE")
    total = time.monotonic() - started
    return {
        "rows": n,
        "insert_seconds": round(insert_seconds, 1),
        "cluster_seconds": round(cluster_seconds, 1),
        "index_seconds": round(index_seconds, 1),
        "vacuum_analyze_seconds": round(time.monotonic() - analyze_started, 1),
        "total_seconds": round(total, 1),
        "rows_per_second": round(n / total) if total else 0,
        "insert_rows_per_second": round(n / insert_seconds) if insert_seconds else 0,
        "campaigns": sum(len(v) for v in campaigns.values()),
        "links": len(links),
    }


def endpoint_ids(conn: psycopg.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT sender, min(id) FROM analytics_webhookendpoint GROUP BY sender")
    return dict(rows.fetchall())


if __name__ == "__main__":
    # Usage: load_clicks.py <conninfo of a migrated scratch database with endpoints> <N>
    with psycopg.connect(sys.argv[1], autocommit=True) as connection:
        print(load(connection, int(sys.argv[2]), endpoint_ids(connection)))
