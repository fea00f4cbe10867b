from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "For local development (DEBUG only): create a superuser 'demo' with password 'demo' when "
        "the database has no user yet, so `make run` opens onto a dashboard you can sign in to."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            self.stderr.write(
                "create_demo_user does nothing unless DEBUG=true; use createsuperuser."
            )
            return
        user_model = get_user_model()
        if user_model.objects.exists():
            return
        user_model.objects.create_superuser(options["username"], "", options["password"])
        self.stdout.write(
            f"Created the superuser {options['username']!r} with password "
            f"{options['password']!r} for local use."
        )
