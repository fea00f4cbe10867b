"""Log hygiene: a webhook URL's token is a credential (Woodpecker has no other), and so is a
shared dashboard's (/s/<token>/), so neither reaches a log line, whether Django's request log
or the development server's access log."""

import logging
import re

_TOKEN_IN_PATH = re.compile(r"(/webhooks/[^/\s]+/|/s/)[^/\s?\"']+")


class RedactWebhookTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_IN_PATH.sub(r"\1[token]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
