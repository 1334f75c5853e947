"""« Faire confiance à cet appareil pendant 30 jours »: a signed cookie that skips the second factor at sign-in.

The cookie holds nothing secret, but it is signed (`django.core.signing`, with its own salt), so it
cannot be forged nor moved from one account to another. It carries what voids it:

- the user's pk: another account's cookie, in a shared browser, opens nothing;
- `SecondFactor.trust_generation`: « Oublier tous les appareils » and a support reset raise it;
- a digest of the password hash, as Django's PasswordResetTokenGenerator does: a changed or reset
  password voids every trusted browser;
- the device that passed when the box was ticked: the session is verified by it again, so a removed
  device voids the cookie, and a browser trusted after the e-mail code still does not open the admin.

The cookie only skips the code at sign-in: the password is always asked, and the re-authentication
before sensitive steps (`chorus.reauth`) asks for the second factor whatever the cookie.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from twofactor.devices import find, settings_of

COOKIE_NAME = "appareil_de_confiance"
SALT = "twofactor.trusted-browser"
MAX_AGE = timedelta(days=30)


def _password_digest(user) -> str:
    """Changes whenever the password does (its hash carries a new salt), and reveals nothing of it."""
    return salted_hmac(f"{SALT}.password", user.password, algorithm="sha256").hexdigest()[:32]


def make(user, device) -> str:
    """The cookie's value for `user`, who has just passed `device`."""
    value = {
        "user": user.pk,
        "generation": settings_of(user).trust_generation,
        "password": _password_digest(user),
        "device": device.persistent_id,
    }
    return signing.dumps(value, salt=SALT, compress=True)


def trusted_device(user, value: str | None):
    """The device a valid cookie of `user`'s names, if it is still theirs and confirmed; else None.

    None for no cookie, a forged or expired one, another account's, one from before a password change,
    « Oublier tous les appareils » or a support reset, or one naming a device since removed.
    """
    if not value:
        return None
    try:
        content = signing.loads(value, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        return None
    if not isinstance(content, dict) or content.get("user") != user.pk:
        return None
    if content.get("generation") != settings_of(user).trust_generation:
        return None
    if not constant_time_compare(str(content.get("password", "")), _password_digest(user)):
        return None
    device = find(user, str(content.get("device", "")))
    return device if device is not None and device.confirmed else None


def remember(request, response, user, device) -> None:
    """Sets the cookie on `response`: 30 days, unreadable by scripts, sent on top-level links only."""
    response.set_cookie(
        COOKIE_NAME,
        make(user, device),
        max_age=int(MAX_AGE.total_seconds()),
        path="/",
        secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def forget(response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", samesite="Lax")
