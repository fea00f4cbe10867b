import logging

from django.conf import settings

from clicktrack.logging import RedactWebhookTokens


def _formatted(message: str, *args: object) -> str:
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, message, args, None)
    RedactWebhookTokens().filter(record)
    return record.getMessage()


def test_webhook_tokens_are_redacted_from_log_lines():
    assert _formatted("Not Found: %s", "/webhooks/woodpecker/s3cr3tT0ken-abc_123/") == (
        "Not Found: /webhooks/woodpecker/[token]/"
    )
    assert _formatted('"POST /webhooks/dub/s3cr3tT0ken HTTP/1.1" 401 58') == (
        '"POST /webhooks/dub/[token] HTTP/1.1" 401 58'
    )


def test_shared_link_tokens_are_redacted_from_log_lines():
    assert _formatted("Forbidden: %s", "/s/Abc-123_xyz/api/summary/") == (
        "Forbidden: /s/[token]/api/summary/"
    )
    assert _formatted('"GET /s/Abc-123_xyz/?range=7d HTTP/1.1" 410 58') == (
        '"GET /s/[token]/?range=7d HTTP/1.1" 410 58'
    )


def test_other_log_lines_are_left_alone():
    assert _formatted("Not Found: %s", "/dashboard/") == "Not Found: /dashboard/"


def test_request_and_server_logs_go_through_the_redacting_handler():
    loggers = settings.LOGGING["loggers"]
    handler = settings.LOGGING["handlers"]["console"]

    assert "redact_tokens" in handler["filters"]
    assert loggers["django"]["handlers"] == ["console"]
    assert loggers["django.server"]["handlers"] == ["console"]
