"""The « Support » group (accounts/migrations/0003) reads refund requests, their lines and events, and the
reference data: a caller asks where their request stands. It changes none of them (the admin allows no
change of a request to anyone) and edits no rate: superusers, or staff given those permissions, do.

Adds the permissions to the group when it exists, whatever it holds already; running it again changes
nothing. Reversing it takes them away.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Support"
PERMISSIONS = [
    "view_refundrequest",
    "view_refundline",
    "view_refundevent",
    "view_product",
    "view_rate",
    "view_campaign",
]


def _permissions(apps, using):
    # On a new database, Django creates permissions after the last migration: create these now.
    app_config = apps.get_app_config("refunds")
    models_module, app_config.models_module = getattr(app_config, "models_module", None), True
    create_permissions(app_config, verbosity=0, using=using, apps=apps)
    app_config.models_module = models_module  # as it was: the tests call this with the live registry too
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.using(using).filter(content_type__app_label="refunds", codename__in=PERMISSIONS)


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
        ("refunds", "0002_reference_data"),
        ("accounts", "0003_support_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
