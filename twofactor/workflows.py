"""The second step of every sign-in: a code is sent or typed, checked, and counted in the lockout."""

from axes.handlers.proxy import AxesProxyHandler
from axes.utils import reset as forget_failed_sign_ins
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from audit.log import record
from audit.models import Action
from chorus.throttling import client_ip
from twofactor import emails
from twofactor.devices import describe, email_device
from twofactor.models import RecoveryCodeDevice, SecondFactor


class Locked(Exception):
    """The account is locked: wrong passwords and wrong codes count together (`AXES_FAILURE_LIMIT`)."""


class TooSoon(Exception):
    """The device waits after a wrong code (django-otp doubles the wait each time): nothing was checked."""


def send_code(request, device: EmailDevice) -> bool:
    """Mails a new code to the login address, voiding the older one.

    False, and nothing sent, within a minute of a code that can still be used (OTP_EMAIL_COOLDOWN_DURATION):
    the mailbox is not flooded. Once that code is used or expired, a sign-in on another browser gets its own.
    """
    if has_usable_code(device) and not device.generate_is_allowed()[0]:
        return False
    with transaction.atomic(savepoint=False):  # within sign-in's transaction, if any: no savepoint to write
        device.cooldown_set(commit=False)
        device.generate_token(valid_secs=settings.OTP_EMAIL_TOKEN_VALIDITY, commit=True)
        emails.sign_in_code(device, ip=client_ip(request), at=timezone.now())
    return True


def has_usable_code(device: EmailDevice) -> bool:
    return bool(device.token) and device.valid_until is not None and device.valid_until > timezone.now()


def _credentials(user) -> dict:
    return {settings.AXES_USERNAME_FORM_FIELD: user.email}


def is_locked(request) -> bool:
    return AxesProxyHandler.is_locked(request, _credentials(request.user))


def verify(request, device, token: str) -> bool:
    """Checks `token` against one of the signed-in user's devices; right, the session is verified.

    A wrong code is a failed sign-in for django-axes (`second_factor=True` tells the audit trail
    which step failed): five wrong passwords or codes lock the account, whatever the mix. Raises
    `Locked` when the account is locked, before or because of this code; nothing is checked then; `TooSoon`
    while the device makes the user wait after a wrong code (not counted: nothing was tried).
    """
    if is_locked(request):
        raise Locked
    if not device.verify_is_allowed()[0]:
        raise TooSoon
    # The device's saves (django-otp saves it up to three times) and what passing writes: one commit.
    with transaction.atomic():
        if device.verify_token(token.strip()):
            passed(request, device)
            return True
    failed(request)  # outside: a failure is counted even when it locks the account (`Locked`)
    return False


def passed(request, device, **details) -> None:
    """The second factor passed (a code, a key, a trusted browser): the session is verified by `device` under a new
    key, the account's failures are cleared (both steps passed) and the audit trail says so."""
    otp_login(request, device)
    request.session.cycle_key()
    forget_failed_sign_ins(username=request.user.email)
    record(Action.SECOND_FACTOR_PASSED, actor=request.user, device=describe(device), **details)


def failed(request) -> None:
    """A wrong code or a refused key: a failed sign-in of the account for django-axes (`second_factor=True` for the
    audit trail). Raises `Locked` if it locked the account."""
    user_login_failed.send(__name__, credentials=_credentials(request.user), request=request, second_factor=True)
    if getattr(request, "axes_locked_out", False) or is_locked(request):
        raise Locked


def verified_by_mailed_link(request, user) -> None:
    """Activation: the link was mailed to the login address, as the code would have been; the session is verified
    by the account's e-mail code device, created here."""
    otp_login(request, email_device(user))


def trusted_sign_in(request, device) -> None:
    """A sign-in from a browser the user trusted (`twofactor.trust`): the session is verified by the device recorded
    in its cookie, as if its code had been typed, and audited as such. The re-authentication window is not opened:
    the steps it guards ask for the second factor all the same."""
    passed(request, device, trusted=True)


def confirm_identity(request, device, token: str) -> bool:
    """« Confirmez votre identité »: the code of one of the user's devices, checked and counted as at sign-in
    (`verify`, which raises `Locked`). The session keeps the device it signed in with: confirming with the e-mail
    code must not take the admin away from staff who signed in with their application."""
    signed_in_with = getattr(request.user, "otp_device", None)
    passed = verify(request, device, token)
    if passed and signed_in_with is not None and signed_in_with.persistent_id != device.persistent_id:
        otp_login(request, signed_in_with)
    return passed


def _raise_trust_generation(user) -> None:
    SecondFactor.objects.get_or_create(user=user)
    SecondFactor.objects.filter(user=user).update(trust_generation=F("trust_generation") + 1)


def forget_trusted_devices(user) -> None:
    """« Oublier tous les appareils »: every browser the user trusted asks for the second factor again."""
    with transaction.atomic():
        _raise_trust_generation(user)
        record(Action.TRUSTED_DEVICES_FORGOTTEN, actor=user)


def reset(user, *, by) -> None:
    """Support's « Réinitialiser la double authentification », for a user who lost their application or key.

    Their applications, keys and recovery codes are deleted, the e-mail code is asked again (the default), and
    every trusted browser forgotten; the login address is told, in case the request did not come from its owner.
    A session verified by a deleted device is no longer verified: it is asked for the e-mail code.
    """
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        WebAuthnCredential.objects.filter(user=user).delete()
        RecoveryCodeDevice.objects.filter(user=user).delete()  # and their codes
        email_device(user)
        SecondFactor.objects.update_or_create(user=user, defaults={"default_device": ""})
        _raise_trust_generation(user)
        record(Action.SECOND_FACTOR_RESET, actor=by, target=user.email)
        emails.second_factor_reset(user)
