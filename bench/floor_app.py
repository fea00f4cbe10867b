"""The floor of a Python webhook receiver: a WSGI app doing the least any such receiver does.

bench_intake serves it with the same server, workers and threads as the app, and posts it the
same requests as the app's single-click rounds, so that the app's rate can be read against two
baselines measured in the same run: pgbench (PostgreSQL alone, a C client) and this (Python's
own cost of a request: the WSGI server, reading the body, parsing it, one INSERT through
psycopg, a JSON answer).

Per request it finds the endpoint from the token in the URL, reads the body, parses it as JSON
(the shape check's cost), and stores it with the statement ``analytics.acceptance`` sends for
one delivery, on a connection of its own per thread (client-side binding and autocommit, as
Django's backend uses), then answers ``{"delivery": id, "status": "received"}``. It skips what
the app must also do: signatures and bearer keys, headers masked before they are stored, the
spool fallback, the rate guard, the error answers. So it is a lower bound on what any Python
receiver of these deliveries costs, never a rival design: nothing here is used by the app.

Django is set up once at import (for the statement's text and the endpoints), never per request.
"""

import json
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import django
import psycopg

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clicktrack.settings")
django.setup()

from django.conf import settings  # noqa: E402

from analytics.acceptance import _INSERT_ONE  # noqa: E402
from analytics.models import WebhookEndpoint  # noqa: E402

_ENDPOINTS = {e.token: e.pk for e in WebhookEndpoint.objects.all()}
_PREFIX = settings.WEBHOOK_PATH_PREFIX
_DATABASE = settings.DATABASES["default"]
_local = threading.local()


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        options = {k: v for k, v in _DATABASE.get("OPTIONS", {}).items() if k == "host"}
        conn = psycopg.connect(
            dbname=_DATABASE["NAME"],
            user=_DATABASE["USER"],
            host=options.get("host") or _DATABASE["HOST"] or None,
            port=_DATABASE["PORT"] or None,
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
        )
        _local.conn = conn
    return conn


def application(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
    parts = environ.get("PATH_INFO", "")[len(_PREFIX) :].split("/")
    endpoint_id = _ENDPOINTS.get(parts[1]) if len(parts) > 1 else None
    if environ["REQUEST_METHOD"] != "POST" or endpoint_id is None:
        status = "200 OK" if environ["REQUEST_METHOD"] == "HEAD" else "404 Not Found"
        start_response(status, [("Content-Length", "0")])
        return []
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    json.loads(body)
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    values = [
        None,
        endpoint_id,
        datetime.now(UTC),
        environ.get("REMOTE_ADDR") or None,
        json.dumps(headers),
        body,
        "received",
        "",
    ]
    with _connection().cursor() as cursor:
        cursor.execute(_INSERT_ONE, values)
        (delivery,) = cursor.fetchone()
    answer = json.dumps({"delivery": delivery, "status": "received"}).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
    )
    return [answer]
