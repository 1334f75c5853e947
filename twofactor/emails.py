"""The second factor's mails (templates in templates/emails/)."""

from django.conf import settings
from django.utils import timezone

from chorus import mail


def sign_in_code(device, *, ip: str, at) -> None:
    """The code, with where and when it was asked, to the login address."""
    user = device.user
    minutes = settings.OTP_EMAIL_TOKEN_VALIDITY // 60
    mail.send("sign_in_code", user.email, {"user": user, "code": device.token, "ip": ip, "at": at, "minutes": minutes})


# What each `device_changed` mail says in its subject.
CHANGES = {
    "renamed": "Un moyen de double authentification a été renommé",
    "made_default": "Votre moyen de double authentification par défaut a changé",
    "removed": "Un moyen de double authentification a été supprimé",
    "recovery_codes": "De nouveaux codes de secours ont été générés",
}


def device_added(user, device: str, *, ip: str, recovery_codes: bool) -> None:
    """An application or a key added: when, from where, and what to do if it was not the user."""
    context = {"user": user, "device": device, "recovery_codes": recovery_codes, "at": timezone.localtime(), "ip": ip}
    mail.send("device_added", user.email, context)


def device_changed(user, *, ip: str, change: str, **context) -> None:
    """A device renamed, made the default or removed, or new recovery codes: to the login address."""
    context = {**context, "user": user, "change": change, "subject": CHANGES[change], "at": timezone.localtime()}
    mail.send("device_changed", user.email, {**context, "ip": ip})


def second_factor_reset(user) -> None:
    """Support put the account back to the e-mail code (« Réinitialiser la double authentification »)."""
    mail.send("second_factor_reset", user.email, {"user": user, "at": timezone.now()})
