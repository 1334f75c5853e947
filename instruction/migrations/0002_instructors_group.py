"""The « Instructeurs » group: the tax office's staff who instruct and pay refund requests.

They work in the portal's own pages (/instruction/), which lock, record and mail each decision; the group
holds no admin permission, so they change nothing there. Superusers put an instructor in the group and name
their départements (`Instructor`). Reversing it deletes the group.
"""

from django.db import migrations

GROUP = "Instructeurs"


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).get_or_create(name=GROUP)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("instruction", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
