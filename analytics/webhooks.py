"""``POST /webhooks/<sender>/<token>/``: authenticate, make the raw delivery durable, answer.

Accepting is all this view does; the processing worker (``manage.py run_worker``) turns accepted
deliveries into clicks in batches. Senders disable receivers that fail (Dub after 20 failed
attempts), so an authenticated delivery is answered 200 whether PostgreSQL is up (stored there)
or down (stored in the local spool, moved over when it is back), and whatever the rate.

The answers are part of the interface: 200 for every accepted delivery, with its id and status
(duplicates and non-click events included: what became of it shows on the delivery later); 400
for a body that is not JSON of the sender's top-level shape (kept, as failed); 401 for a bad
signature, 404 for an unknown endpoint, 411 for a chunked body, 413 for an oversized body; 429
only past the optional WEBHOOK_RATE_LIMIT; 503 only when neither PostgreSQL nor the spool can
take the delivery. Never a redirect, and never 410: Woodpecker unsubscribes on it.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from analytics import acceptance, ratelimit
from analytics.acceptance import Accepted, EndpointsUnknown
from analytics.senders import SENDERS, PayloadError, check_shape
from analytics.spool import SpoolUnavailable

logger = logging.getLogger(__name__)

_SECRET_HEADER_WORDS = ("authorization", "signature", "secret", "token", "api-key", "apikey")
_DROPPED_HEADERS = {"cookie"}


@dataclass(frozen=True)
class Answer:
    """What a delivery is answered: a status, a JSON body (None: no body) and extra headers."""

    status: int
    body: dict[str, object] | None
    headers: dict[str, str] = field(default_factory=dict)


@csrf_exempt
def receive_webhook(request: HttpRequest, sender: str, token: str) -> HttpResponse:
    """The view behind the URL (the test client, ``runserver``). Deployed servers call
    ``receive`` through ``clicktrack.wsgi`` without Django's request cycle."""
    answer = receive(
        request.method or "", sender, token, request.headers, request.read, request.META
    )
    response = (
        HttpResponse(status=answer.status)
        if answer.body is None
        else JsonResponse(answer.body, status=answer.status)
    )
    for name, value in answer.headers.items():
        response[name] = value
    return response


def receive(
    method: str,
    sender: str,
    token: str,
    headers: Mapping[str, str],
    read: Callable[[int], bytes],
    meta: Mapping[str, object],
) -> Answer:
    """Answer one request to a webhook URL. ``headers`` look up case-insensitively, ``read(n)``
    reads the body, ``meta`` is the WSGI environ (the sender's address)."""
    if method not in ("POST", "HEAD"):
        return _error(405, f"Use POST to deliver webhooks, not {method}.", Allow="POST, HEAD")
    try:
        return _receive(method, sender, token, headers, read, meta)
    except (SpoolUnavailable, EndpointsUnknown) as exc:
        # PostgreSQL is away and so is the disk (or nothing is known of the endpoints yet).
        logger.error("Cannot accept a %s webhook: %s", sender, exc)
        message = "The receiver cannot store deliveries right now; please retry."
        return _error(503, message, **{"Retry-After": "30"})


def _receive(
    method: str,
    sender: str,
    token: str,
    headers: Mapping[str, str],
    read: Callable[[int], bytes],
    meta: Mapping[str, object],
) -> Answer:
    endpoint = acceptance.find_endpoint(sender, token) if sender in SENDERS else None
    if endpoint is None:
        return _error(404, f"No {sender} webhook endpoint has this URL.")
    if not endpoint.is_active:
        return _error(404, f"The webhook endpoint {endpoint.name!r} is disabled.")
    if method == "HEAD":
        return Answer(200, None)

    limit = settings.WEBHOOK_MAX_BODY_BYTES
    length = headers.get("Content-Length")
    if not length and "chunked" in headers.get("Transfer-Encoding", "").lower():
        # WSGI hands the app no body without a length: say so rather than "missing signature".
        return _error(411, "Send the body with a Content-Length header, not chunked.")
    try:
        declared = int(length or 0)
    except ValueError:
        return _error(400, "The Content-Length header is not a number.")
    if declared < 0:
        return _error(400, "The Content-Length header is negative.")
    if declared > limit:
        return _error(413, f"The body is larger than the {limit} byte limit.")
    body = read(declared) if declared else b""

    # Unauthenticated bodies are answered before anything is stored.
    auth_error = SENDERS[endpoint.sender].authenticate(headers, body, endpoint.valid_secrets())
    if auth_error:
        return _error(401, auth_error)
    # Off by default; charged after authentication, so whoever merely knows the URL cannot
    # spend the real sender's allowance with unsigned requests.
    wait = ratelimit.retry_after(endpoint.pk)
    if wait:
        message = f"Too many deliveries to this endpoint; retry in {wait} s."
        return _error(429, message, **{"Retry-After": str(wait)})

    stored = _stored_headers(headers)
    remote_addr = str(meta.get("REMOTE_ADDR") or "") or None
    try:
        check_shape(endpoint.sender, body)
    except PayloadError as exc:
        # Kept, as failed, so the admin can repair and reprocess it; the sender hears why.
        accepted = acceptance.accept(endpoint, body, stored, remote_addr, error=str(exc))
        kept = _accepted_body(accepted)
        body = {"error": str(exc), "delivery": kept["delivery"], "kept_as": kept["status"]}
        return Answer(400, body)
    return Answer(200, _accepted_body(acceptance.accept(endpoint, body, stored, remote_addr)))


def _accepted_body(accepted: Accepted) -> dict[str, object]:
    body: dict[str, object] = {"delivery": accepted.delivery_id, "status": accepted.status}
    if accepted.spool_id:
        body["spool_id"] = str(accepted.spool_id)
    return body


def _stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    stored = {}
    signature_headers = {
        header.lower() for spec in SENDERS.values() if (header := spec.signature_header())
    }
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in _DROPPED_HEADERS:
            continue
        if lowered in signature_headers or any(word in lowered for word in _SECRET_HEADER_WORDS):
            scheme = value.split(" ", 1)[0] if lowered == "authorization" and " " in value else ""
            value = f"{scheme} [masked]".strip()
        stored[name] = value.replace("\x00", "")
    return stored


def _error(status: int, message: str, **headers: str) -> Answer:
    return Answer(status, {"error": message}, headers)
