"""What the audit trail hears by itself: sign-ins, and every saved change of a structure, role or bank account.

Changes arrive through django-simple-history's records, so a change made on
the site, in the admin or from the shell is logged alike. Decisions and
account steps are recorded by their workflows.
"""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from simple_history.signals import post_create_historical_record

from audit.log import record
from audit.models import Action
from structures.models import BankAccount, Membership, Structure

CHANGE_ACTIONS = {
    Structure: {"+": Action.STRUCTURE_CREATED, "~": Action.STRUCTURE_CHANGED, "-": Action.STRUCTURE_DELETED},
    Membership: {"+": Action.ROLE_GRANTED, "~": Action.ROLE_CHANGED, "-": Action.ROLE_ENDED},
    BankAccount: {"+": Action.BANK_CREATED, "~": Action.BANK_CHANGED, "-": Action.BANK_DELETED},
}


@receiver(user_logged_in)
def signed_in(sender, request, user, **kwargs):
    record(Action.SIGN_IN, actor=user)


@receiver(user_logged_out)
def signed_out(sender, request, user, **kwargs):
    if user is not None:
        record(Action.SIGN_OUT, actor=user)


@receiver(user_login_failed)
def sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in `credentials`; only the typed address is kept.
    record(Action.SIGN_IN_FAILED, actor_label=str(credentials.get("username", "")))


@receiver(user_locked_out)
def locked_out(sender, request, username, ip_address, **kwargs):
    record(Action.LOCKED_OUT, actor_label=str(username or ""))


@receiver(post_create_historical_record)
def changed(sender, instance, history_instance, **kwargs):
    actions = CHANGE_ACTIONS.get(type(instance))
    if actions is None:
        return
    kind = history_instance.history_type
    details = {}
    if kind == "~" and (previous := history_instance.prev_record) is not None:
        # Field names only: values (an IBAN) stay in the model's own history.
        details["champs"] = sorted(change.field for change in history_instance.diff_against(previous).changes)
        if not details["champs"]:
            return  # saved without a change
    structure = instance if isinstance(instance, Structure) else instance.structure
    if isinstance(instance, Membership):
        target = f"{instance.user.email} : {instance.get_role_display()}"
    elif isinstance(instance, BankAccount):
        target = f"« {instance.label} » ({instance.masked_iban})"
    else:
        target = structure.name_and_siret
    record(actions[kind], actor=history_instance.history_user, structure=structure, target=target, **details)
