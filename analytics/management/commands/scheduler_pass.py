"""One pass of the scheduler now: queue and send due reports, check alerts, send their e-mails.

`manage.py procrastinate worker` runs this every minute; this command is for deployments that
prefer cron, and for checking a configuration by hand. Safe beside running workers.
"""

from django.core.management.base import BaseCommand

from analytics import scheduling


class Command(BaseCommand):
    help = "Send the reports and alert e-mails due now (the scheduler's minute pass, once)."

    def handle(self, *args: object, **options: object) -> None:
        scheduling.run()
