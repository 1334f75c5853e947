"""What the audit trail hears by itself: sign-ins, sign-outs, failed sign-ins and lockouts.

Everything else is recorded by the step that does it (`record()` in each
app's workflows), in the step's transaction: decisions, account steps, and
every change to a structure, a membership or bank details.
"""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.log import record
from audit.models import Action


@receiver(user_logged_in)
def signed_in(sender, request, user, **kwargs):
    record(Action.SIGN_IN, actor=user)


@receiver(user_logged_out)
def signed_out(sender, request, user, **kwargs):
    if user is not None:
        record(Action.SIGN_OUT, actor=user)


@receiver(user_login_failed)
def sign_in_failed(sender, credentials, request=None, second_factor=False, **kwargs):
    """A wrong password, or a wrong second-factor code (sent with `second_factor=True`, so that the lockout
    counts it too). Django has already masked the password in `credentials`; only the typed address is kept."""
    action = Action.SECOND_FACTOR_FAILED if second_factor else Action.SIGN_IN_FAILED
    record(action, actor_label=str(credentials.get("username", "")))


@receiver(user_locked_out)
def locked_out(sender, request, username, ip_address, **kwargs):
    record(Action.LOCKED_OUT, actor_label=str(username or ""))
