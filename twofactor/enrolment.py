"""« Mon profil » → « Double authentification »: the steps a user takes on their own devices.

Adding an application (`add_totp`, then `confirm_totp` with its first code), the recovery codes
(`issue_recovery_codes`), `rename`, `make_default` and `remove`. Each step is one transaction,
with its audit row and a mail to the login address: a device added or removed by whoever stole a
session is what the account's owner must hear of at once, with the time and the IP address.

The user's `SecondFactor` row is locked first in every step, so that two requests of one account
change its devices one after the other: two removals at once cannot both believe that another
strong device remains, and leave recovery codes standing for a device that is gone.
"""

import math
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from audit.log import record
from audit.models import Action
from chorus.throttling import client_ip
from twofactor import emails
from twofactor.devices import (
    describe,
    devices_of,
    email_device,
    has_strong_device,
    is_strong,
    recovery_device,
    settings_of,
)
from twofactor.models import RecoveryCode, RecoveryCodeDevice, SecondFactor, recovery_code_digest

APPLICATION_NAME = "Application"
# An application scanned but never confirmed is forgotten after this long.
PENDING_LIFETIME = timedelta(hours=1)
RECOVERY_CODE_COUNT = 10
# 32 signs, none read as another (no 0 and O, no 1 and I): 10 of them are 50 random bits.
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RECOVERY_CODE_LENGTH = 10
# The devices a user names and removes; the e-mail code stays, and the recovery codes go with the last strong one.
OWN_DEVICES = (TOTPDevice, WebAuthnCredential)


class WrongCode(Exception):
    """The application's first code is not the one it shows now: the application stays unconfirmed.

    `wait`: the code came during django-otp's wait after a wrong one (1, 2, 4… seconds), so it was not
    checked; the seconds left.
    """

    def __init__(self, wait: int = 0):
        super().__init__(wait)
        self.wait = wait


class NoStrongDevice(Exception):
    """Recovery codes stand in for an application or a key: without one, none are issued."""


def is_own(device) -> bool:
    """A device the user may rename and remove: an application or a security key."""
    return isinstance(device, OWN_DEVICES)


def _lock(user) -> SecondFactor:
    settings_of(user)
    return SecondFactor.objects.select_for_update().get(user=user)


def add_totp(user) -> TOTPDevice:
    """The application being added: the key shown in the last hour if any, else a new one.

    Keys scanned but never confirmed are dropped after `PENDING_LIFETIME`; until its first code
    is right, a key opens nothing (django-otp ignores unconfirmed devices).
    """
    with transaction.atomic():
        _lock(user)
        pending = TOTPDevice.objects.filter(user=user, confirmed=False)
        pending.filter(created_at__lt=timezone.now() - PENDING_LIFETIME).delete()
        device = pending.order_by("-created_at", "-pk").first()
        return device or TOTPDevice.objects.create(user=user, name=APPLICATION_NAME, confirmed=False)


def confirm_totp(request, device: TOTPDevice, *, name: str, code: str) -> list[str]:
    """The first code of the application: right, it is confirmed, named, audited and mailed.

    Returns the recovery codes issued with it, if the user had none (empty otherwise). Raises
    `WrongCode` when the code is wrong; the device then counts the failure (django-otp's
    throttling doubles the wait after each one, which bounds guessing) and stays unconfirmed.
    """
    user = request.user
    with transaction.atomic():
        _lock(user)
        device = TOTPDevice.objects.select_for_update().filter(pk=device.pk, user=user, confirmed=False).first()
        wait = _seconds_to_wait(device) if device is not None else 0
        passed = device is not None and not wait and device.verify_token(code)
        if passed:
            device.name = name
            device.confirmed = True
            device.save(update_fields=["name", "confirmed"])
            codes = device_added(request, device)
    if not passed:
        raise WrongCode(wait)
    return codes


def _seconds_to_wait(device) -> int:
    allowed, why = device.verify_is_allowed()
    if allowed or "locked_until" not in why:
        return 0
    return max(1, math.ceil((why["locked_until"] - timezone.now()).total_seconds()))


def device_added(request, device) -> list[str]:
    """Within the step that confirmed `device` (an application or a key): its audit row, the recovery codes
    if the user had none, and the mail to the login address. Returns the codes issued (empty: none)."""
    user = request.user
    record(Action.DEVICE_ADDED, actor=user, device=describe(device))
    codes = [] if recovery_device(user) is not None else _replace_recovery_codes(user)
    emails.device_added(user, describe(device), ip=client_ip(request), recovery_codes=bool(codes))
    return codes


def new_recovery_code() -> str:
    """« K7QZ2-M9TXW »: 10 signs of `RECOVERY_ALPHABET`, in two groups of five to read and type."""
    code = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return f"{code[:5]}-{code[5:]}"


def _replace_recovery_codes(user) -> list[str]:
    """Ten new codes in the user's one recovery device, the older ones void; only their digests are kept."""
    device = recovery_device(user)
    if device is None:
        device = RecoveryCodeDevice.objects.create(user=user, name="Codes de secours", confirmed=True)
    device.codes.all().delete()
    codes = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add(new_recovery_code())
    codes = sorted(codes)
    RecoveryCode.objects.bulk_create(RecoveryCode(device=device, digest=recovery_code_digest(c)) for c in codes)
    record(Action.RECOVERY_CODES_ISSUED, actor=user, count=len(codes))
    return codes


def issue_recovery_codes(request) -> list[str]:
    """« Générer de nouveaux codes de secours »: ten new ones, the older ones void; raises `NoStrongDevice`."""
    user = request.user
    with transaction.atomic():
        _lock(user)
        if not has_strong_device(user):
            raise NoStrongDevice
        codes = _replace_recovery_codes(user)
        emails.device_changed(request.user, ip=client_ip(request), change="recovery_codes", device="Codes de secours")
    return codes


def rename(request, device, name: str) -> bool:
    """Names an application or a key; False (nothing done, nothing mailed) when the name is the same."""
    user = request.user
    with transaction.atomic():
        _lock(user)
        previous = describe(device)
        if device.name == name:
            return False
        device.name = name
        device.save(update_fields=["name"])
        record(Action.DEVICE_CHANGED, actor=user, device=describe(device), previous=previous, change="renamed")
        emails.device_changed(
            request.user, ip=client_ip(request), change="renamed", device=describe(device), previous=previous
        )
    return True


def make_default(request, device) -> None:
    """« Utiliser par défaut »: the device asked first at the next sign-in."""
    user = request.user
    with transaction.atomic():
        second_factor = _lock(user)
        second_factor.default_device = device.persistent_id
        second_factor.save(update_fields=["default_device"])
        record(Action.DEVICE_CHANGED, actor=user, device=describe(device), change="made_default")
        emails.device_changed(request.user, ip=client_ip(request), change="made_default", device=describe(device))


def remove(request, device) -> bool:
    """Removes an application or a key; with the last of them, the recovery codes too (returns whether).

    The caller asked for a recent re-authentication. If this session had passed the second step with
    a device that goes, it now holds on the strongest that remains (the user proved it moments ago
    at the re-authentication), so that removing one's own device does not sign one out.
    """
    if not is_own(device):
        raise ValueError("only an application or a key is removed")
    user = request.user
    with transaction.atomic():
        second_factor = _lock(user)
        label = describe(device)
        removed_ids = {device.persistent_id}
        device.delete()
        recovery = recovery_device(user)
        codes_removed = recovery is not None and not has_strong_device(user)
        if codes_removed:
            removed_ids.add(recovery.persistent_id)
            recovery.delete()
        if second_factor.default_device in removed_ids:
            second_factor.default_device = ""
            second_factor.save(update_fields=["default_device"])
        record(Action.DEVICE_REMOVED, actor=user, device=label, recovery_codes_removed=codes_removed)
        emails.device_changed(
            request.user, ip=client_ip(request), change="removed", device=label, recovery_codes_removed=codes_removed
        )
    if request.session.get(DEVICE_ID_SESSION_KEY) in removed_ids:
        remaining = devices_of(user)
        otp_login(request, next((d for d in remaining if is_strong(d)), None) or email_device(user))
    return codes_removed
