"""The second factor's mails (templates in templates/emails/)."""

from django.conf import settings

from chorus import mail


def sign_in_code(device, *, ip: str, at) -> None:
    """The code, with where and when it was asked, to the login address."""
    user = device.user
    minutes = settings.OTP_EMAIL_TOKEN_VALIDITY // 60
    mail.send("sign_in_code", user.email, {"user": user, "code": device.token, "ip": ip, "at": at, "minutes": minutes})
