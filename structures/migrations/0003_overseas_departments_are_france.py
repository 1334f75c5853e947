"""An address in an overseas département is a French address: the country list no longer offers them apart.

Structures saved with Guadeloupe, Guyane, Martinique, La Réunion or Mayotte as their
country now say France; their postal code (97x) already says where they are. The
historical rows keep what was true when they were written.
"""

from django.db import migrations

OVERSEAS_DEPARTMENTS = ["GP", "GF", "MQ", "RE", "YT"]


def to_france(apps, schema_editor):
    apps.get_model("structures", "Structure").objects.filter(country__in=OVERSEAS_DEPARTMENTS).update(country="FR")


class Migration(migrations.Migration):
    dependencies = [("structures", "0002_structure_details_and_bank_accounts")]

    operations = [migrations.RunPython(to_france, migrations.RunPython.noop)]
