"""Which devices a user has, which one is asked first, and which ones open the admin."""

from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from twofactor.models import RecoveryCodeDevice, SecondFactor

EMAIL_DEVICE_NAME = "Code par courriel"
# What staff must use for the admin (PRODUCT §8): something they hold, not a code sent to a mailbox.
# A recovery code stands in for the application or key it came with.
STRONG_DEVICES = (TOTPDevice, WebAuthnCredential, RecoveryCodeDevice)


def email_device(user) -> EmailDevice:
    """The code by e-mail, to the login address: every account has it, created when first needed."""
    device = EmailDevice.objects.filter(user=user).order_by("pk").first()
    if device is None:
        return EmailDevice.objects.create(user=user, name=EMAIL_DEVICE_NAME, confirmed=True)
    device.user = user  # the code's mail reads it: not again from the database
    return device


def settings_of(user) -> SecondFactor:
    return SecondFactor.objects.get_or_create(user=user)[0]


def devices_of(user) -> list:
    """The confirmed devices a user may choose from at sign-in, the e-mail code first; recovery codes aside."""
    email_device(user)
    devices = [d for d in devices_for_user(user, confirmed=True) if not isinstance(d, RecoveryCodeDevice)]
    return sorted(devices, key=lambda d: (not isinstance(d, EmailDevice), d.persistent_id))


def alternatives(user, device) -> list:
    """« Utiliser un autre moyen »: the user's other devices, recovery codes last."""
    others = [d for d in devices_of(user) if d.persistent_id != device.persistent_id]
    recovery = recovery_device(user)
    if recovery is not None and recovery.persistent_id != device.persistent_id:
        others.append(recovery)
    return others


def recovery_device(user) -> RecoveryCodeDevice | None:
    return RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()


def default_device(user):
    """The device asked first: the one the user chose, else their strongest, else the e-mail code.

    It runs at each sign-in, so one query, written out (the ORM would take longer to build it than the database to
    answer), reads the e-mail code's device (every account has one) with the user's choice and first key and
    application beside it; a second reads the device chosen or the strongest, if any.
    """
    email = next(iter(EmailDevice.objects.raw(EMAIL_DEVICE_AND_CHOICES, [user.pk])), None)
    if email is None:
        email_device(user)  # created when first needed
        return default_device(user)
    email.user = user  # the code's mail reads it: not again from the database
    if email.chosen_device:
        device = Device.from_persistent_id(email.chosen_device)
        if device is not None and device.user_id == user.pk and device.confirmed and not _is_recovery(device):
            return device
    for model, pk in ((WebAuthnCredential, email.first_key), (TOTPDevice, email.first_application)):
        if pk is not None and (device := model.objects.filter(pk=pk).first()) is not None:
            return device
    return email


EMAIL_DEVICE_AND_CHOICES = (
    "SELECT device.*,"
    " (SELECT default_device FROM twofactor_secondfactor WHERE user_id = device.user_id) AS chosen_device,"
    " (SELECT MIN(id) FROM django_otp_webauthn_webauthncredential WHERE user_id = device.user_id AND confirmed)"
    " AS first_key,"
    " (SELECT MIN(id) FROM otp_totp_totpdevice WHERE user_id = device.user_id AND confirmed) AS first_application"
    " FROM otp_email_emaildevice device WHERE device.user_id = %s ORDER BY device.id LIMIT 1"
)


def strongest_device(user):
    """A key, else an application: what the admin asks for; None for a user who has only the e-mail code."""
    for model in (WebAuthnCredential, TOTPDevice):
        if device := model.objects.filter(user=user, confirmed=True).order_by("pk").first():
            return device
    return None


def _is_recovery(device) -> bool:
    return isinstance(device, RecoveryCodeDevice)


def find(user, persistent_id: str):
    """One of the user's devices by its persistent id, recovery codes included; None for anyone else's."""
    for device in devices_for_user(user, confirmed=True):
        if device.persistent_id == persistent_id:
            return device
    return None


def is_strong(device) -> bool:
    return isinstance(device, STRONG_DEVICES)


def has_strong_device(user) -> bool:
    return any(is_strong(d) for d in devices_for_user(user, confirmed=True) if not isinstance(d, RecoveryCodeDevice))


def describe(device) -> str:
    """« Application d'authentification « Téléphone » »: the kind and the user's name for it."""
    kinds = {
        EmailDevice: "Code par courriel",
        TOTPDevice: "Application d'authentification",
        WebAuthnCredential: "Clé de sécurité",
        RecoveryCodeDevice: "Code de secours",
    }
    kind = next((label for cls, label in kinds.items() if isinstance(device, cls)), "Appareil")
    if isinstance(device, RecoveryCodeDevice):
        return "Codes de secours"
    name = (device.name or "").strip()
    return f"{kind} « {name} »" if name and name != kind else kind


def opens_admin(user) -> bool:
    """The admin asks for the session's device to be an application, a key or a recovery code."""
    return user.is_verified() and is_strong(user.otp_device)
