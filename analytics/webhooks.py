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

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from analytics import acceptance, ratelimit
from analytics.acceptance import Accepted, EndpointsUnknown
from analytics.models import WebhookEndpoint
from analytics.senders import SENDERS, PayloadError, check_shape
from analytics.spool import SpoolUnavailable

logger = logging.getLogger(__name__)

_SECRET_HEADER_WORDS = ("authorization", "signature", "secret", "token", "api-key", "apikey")
_DROPPED_HEADERS = {"cookie"}


@csrf_exempt
def receive_webhook(request: HttpRequest, sender: str, token: str) -> HttpResponse:
    if request.method not in ("POST", "HEAD"):
        response = _error(405, f"Use POST to deliver webhooks, not {request.method}.")
        response["Allow"] = "POST, HEAD"
        return response
    try:
        return _receive(request, sender, token)
    except (SpoolUnavailable, EndpointsUnknown) as exc:
        # PostgreSQL is away and so is the disk (or nothing is known of the endpoints yet).
        logger.error("Cannot accept a %s webhook: %s", sender, exc)
        response = _error(503, "The receiver cannot store deliveries right now; please retry.")
        response["Retry-After"] = "30"
        return response


def _receive(request: HttpRequest, sender: str, token: str) -> HttpResponse:
    endpoint = acceptance.find_endpoint(sender, token) if sender in SENDERS else None
    if endpoint is None:
        return _error(404, f"No {sender} webhook endpoint has this URL.")
    if not endpoint.is_active:
        return _error(404, f"The webhook endpoint {endpoint.name!r} is disabled.")
    if request.method == "HEAD":
        return HttpResponse(status=200)

    limit = settings.WEBHOOK_MAX_BODY_BYTES
    if (
        not request.META.get("CONTENT_LENGTH")
        and "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    ):
        # WSGI hands Django no body without a length: say so rather than "missing signature".
        return _error(411, "Send the body with a Content-Length header, not chunked.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "The Content-Length header is not a number.")
    if declared > limit:
        return _error(413, f"The body is larger than the {limit} byte limit.")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(413, f"The body is larger than the {limit} byte limit.")

    # Unauthenticated bodies are answered before anything is stored.
    auth_error = _authenticate(endpoint, request, body)
    if auth_error:
        return _error(401, auth_error)
    # Off by default; charged after authentication, so whoever merely knows the URL cannot
    # spend the real sender's allowance with unsigned requests.
    wait = ratelimit.retry_after(endpoint.pk)
    if wait:
        response = _error(429, f"Too many deliveries to this endpoint; retry in {wait} s.")
        response["Retry-After"] = str(wait)
        return response

    headers = _stored_headers(request)
    remote_addr = request.META.get("REMOTE_ADDR") or None
    try:
        check_shape(endpoint.sender, body)
    except PayloadError as exc:
        # Kept, as failed, so the admin can repair and reprocess it; the sender hears why.
        accepted = acceptance.accept(endpoint, body, headers, remote_addr, error=str(exc))
        kept = _accepted_body(accepted)
        return _error(400, str(exc), delivery=kept["delivery"], kept_as=kept["status"])
    return JsonResponse(_accepted_body(acceptance.accept(endpoint, body, headers, remote_addr)))


def _accepted_body(accepted: Accepted) -> dict[str, object]:
    body: dict[str, object] = {"delivery": accepted.delivery_id, "status": accepted.status}
    if accepted.spool_id:
        body["spool_id"] = str(accepted.spool_id)
    return body


def _authenticate(endpoint: WebhookEndpoint, request: HttpRequest, body: bytes) -> str:
    """An error message, or "" when the request proves it knows the endpoint's secret."""
    spec = SENDERS[endpoint.sender]
    return spec.authenticate(request.headers, body, endpoint.valid_secrets())


def _stored_headers(request: HttpRequest) -> dict[str, str]:
    stored = {}
    signature_headers = {
        header.lower() for spec in SENDERS.values() if (header := spec.signature_header())
    }
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered in _DROPPED_HEADERS:
            continue
        if lowered in signature_headers or any(word in lowered for word in _SECRET_HEADER_WORDS):
            scheme = value.split(" ", 1)[0] if lowered == "authorization" and " " in value else ""
            value = f"{scheme} [masked]".strip()
        stored[name] = value.replace("\x00", "")
    return stored


def _error(status: int, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)
