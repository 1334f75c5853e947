"""The « Support » group (accounts/migrations/0003) reads the imports of the SIRENE directory and their reports:
a farmer asks why their SIRET was refused or their structure marked absent. Nobody changes them in the admin.

Adds the permission to the group when it exists; running it again changes nothing. Reversing it takes it away.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Support"
PERMISSIONS = ["view_stock"]


def _permissions(apps, using):
    # On a new database, Django creates permissions after the last migration: create these now.
    app_config = apps.get_app_config("sirene")
    models_module, app_config.models_module = getattr(app_config, "models_module", None), True
    create_permissions(app_config, verbosity=0, using=using, apps=apps)
    app_config.models_module = models_module
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.using(using).filter(content_type__app_label="sirene", codename__in=PERMISSIONS)


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(using).filter(name=GROUP).first()
    if group is not None:
        group.permissions.add(*_permissions(apps, using))


def revoke(apps, schema_editor):
    using = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(using).filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps, using))


class Migration(migrations.Migration):
    dependencies = [
        ("sirene", "0001_initial"),
        ("accounts", "0003_support_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
