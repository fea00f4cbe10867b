from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.models import WebhookEndpoint
from analytics.senders import SENDERS, secrets_summary, time_zones_summary


class Command(BaseCommand):
    help = "Create a webhook endpoint for a sender and print the URL path to give it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sender", choices=list(SENDERS))
        parser.add_argument("--name", help="A label, e.g. the workspace (default: the sender).")
        parser.add_argument("--token", help="The URL token (default: a random 256-bit one).")
        parser.add_argument(
            "--secret",
            default="",
            help=f"The signing secret or API key. {secrets_summary()}",
        )
        parser.add_argument(
            "--timezone",
            help=f"Zone of naive timestamps (default: {time_zones_summary()}).",
        )

    def handle(self, *args: object, **options: object) -> None:
        sender = options["sender"]
        endpoint = WebhookEndpoint(
            sender=sender,
            name=options["name"] or SENDERS[sender].label,
            secret=options["secret"],
            time_zone=options["timezone"] or "",
        )
        if options["token"]:
            endpoint.token = options["token"]
        try:
            endpoint.full_clean()
        except ValidationError as exc:
            messages = [
                f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()
            ]
            raise CommandError("; ".join(messages)) from None
        endpoint.save()
        self.stdout.write(endpoint.get_absolute_url())
