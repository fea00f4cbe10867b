"""Why a click was counted as a machine's: one reason per flagged click, '' for a person.

Kept apart from ``analytics.bots`` (the rules) so the models and the parsers can name a reason
without importing the rules' data.
"""

from django.db import models


class BotReason(models.TextChoices):
    HUMAN = "", "Human"
    SENDER_FLAG = "sender_flag", "Flagged by the sender"
    USER_AGENT = "user_agent", "Crawler user agent"
    SCANNER_BURST = "scanner_burst", "Scanner burst"
    TOO_FAST_AFTER_SEND = "too_fast_after_send", "Too fast after sending"
    DATACENTER_IP = "datacenter_ip", "Datacenter IP"
    SCANNER_REFERER = "scanner_referer", "Security scanner referer"
