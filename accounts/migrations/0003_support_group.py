"""The « Support » group: staff who answer the phone, in the admin.

They find and read everything a caller asks about, resend an activation link, lift a
sign-in lockout, decide attachment requests and appoint a main manager (each a change
permission on its model). They add and delete nothing, and only read bank details; the
admin keeps rights, passwords and staff accounts to superusers (accounts/admin.py).
Running it again gives the group exactly these permissions; reversing it deletes the group.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Support"
PERMISSIONS = {
    "accounts": ["view_user", "change_user"],
    "structures": ["view_structure", "view_membership", "change_membership", "view_bankaccount"],
    "approvals": ["view_approvalrequest", "change_approvalrequest"],
    "audit": ["view_auditevent"],
    "post_office": ["view_email", "view_log"],
    "axes": ["view_accessattempt", "view_accessfailurelog", "view_accesslog"],
}


def create_group(apps, schema_editor):
    using = schema_editor.connection.alias
    # On a new database, Django creates permissions after the last migration: create these now.
    for label in PERMISSIONS:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = [(label, codename) for label, codenames in PERMISSIONS.items() for codename in codenames]
    permissions = [
        Permission.objects.using(using).get(content_type__app_label=label, codename=codename)
        for label, codename in wanted
    ]
    group, _ = Group.objects.using(using).get_or_create(name=GROUP)
    group.permissions.set(permissions)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_session_generation"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("structures", "0002_structure_details_and_bank_accounts"),
        ("approvals", "0002_decisions"),
        ("audit", "0004_lockout_lifted"),
        ("post_office", "0014_alter_email_recipient_delivery_status_and_more"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
