"""Fill the rollup sets added for country and device filtered together (analytics.rollups.SETS).

The new sets are counted from the clicks already stored; clicks still pending are left to the
rollup worker, which adds them to every set. Stop ``run_worker`` before migrating and start the
new one after (README, "Deployment"): an old worker would add pending clicks to the old sets only.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from analytics import rollups

ADDED = [
    ("country", "device"),
    ("campaign", "country", "device"),
    ("country", "device", "referer"),
    ("country", "city", "device"),
]


def _fill(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Today's code counts the clicks: these sets are defined by it, not by a past schema. A set
    # a later change drops is skipped (its rows would be dropped with it).
    if apps.get_model("analytics", "Click").objects.exists():
        rollups.rebuild(sets=[dims for dims in ADDED if dims in rollups.SETS])


def _empty(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Rollup = apps.get_model("analytics", "Rollup")
    Rollup.objects.filter(dims__in=[rollups.dims_key(dims) for dims in ADDED]).delete()


class Migration(migrations.Migration):
    dependencies = [("analytics", "0012_click_keys_checked_by_django")]

    operations = [migrations.RunPython(_fill, _empty)]
