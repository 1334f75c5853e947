"""The second step of every sign-in: a code is sent or typed, checked, and counted in the lockout."""

from axes.handlers.proxy import AxesProxyHandler
from axes.utils import reset as forget_failed_sign_ins
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_email.models import EmailDevice

from audit.log import record
from audit.models import Action
from chorus.throttling import client_ip
from twofactor import emails
from twofactor.devices import describe, email_device


class Locked(Exception):
    """The account is locked: wrong passwords and wrong codes count together (`AXES_FAILURE_LIMIT`)."""


def send_code(request, device: EmailDevice) -> bool:
    """Mails a new code to the login address, voiding the older one; False while the cooldown runs."""
    allowed, _ = device.generate_is_allowed()
    if not allowed:
        return False
    with transaction.atomic():
        device.cooldown_set(commit=False)
        device.generate_token(valid_secs=settings.OTP_EMAIL_TOKEN_VALIDITY, commit=True)
        emails.sign_in_code(device, ip=client_ip(request), at=timezone.now())
    return True


def _credentials(user) -> dict:
    return {settings.AXES_USERNAME_FORM_FIELD: user.email}


def is_locked(request) -> bool:
    return AxesProxyHandler.is_locked(request, _credentials(request.user))


def verify(request, device, token: str) -> bool:
    """Checks `token` against one of the signed-in user's devices; right, the session is verified.

    A wrong code is a failed sign-in for django-axes (`second_factor=True` tells the audit trail
    which step failed): five wrong passwords or codes lock the account, whatever the mix. Raises
    `Locked` when the account is locked, before or because of this code; nothing is checked then.
    """
    user = request.user
    if is_locked(request):
        raise Locked
    if device.verify_token(token.strip()):
        otp_login(request, device)
        request.session.cycle_key()
        forget_failed_sign_ins(username=user.email)  # the account's own success, both steps passed
        record(Action.SECOND_FACTOR_PASSED, actor=user, device=describe(device))
        return True
    user_login_failed.send(__name__, credentials=_credentials(user), request=request, second_factor=True)
    if getattr(request, "axes_locked_out", False) or is_locked(request):
        raise Locked
    return False


def verified_by_mailed_link(request, user) -> None:
    """Activation: the link was mailed to the login address, as the code would have been; the session is verified
    by the account's e-mail code device, created here."""
    otp_login(request, email_device(user))
