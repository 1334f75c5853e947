"""Signing in as the tests do it: through both pages (password, then code), or straight to a passed second factor."""

import time
from urllib.parse import quote

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from chorus import reauth
from tests.factories import PASSWORD
from twofactor.devices import default_device, email_device


def second_factor_device(user):
    """The device a test session passed without the pages: an application for staff (the admin asks for one), else
    the e-mail code every account has."""
    if user.is_staff:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        return device or TOTPDevice.objects.create(user=user, name="Téléphone", confirmed=True)
    return email_device(user)


def signed_in_session(user, *, fresh: bool = True) -> str:
    """The key of a session as `login()` and the second step leave it, without their signals (no sign-in row, no
    mail): for tests about what the pages do, not about signing in. `fresh`: the password was just typed."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[DEVICE_ID_SESSION_KEY] = second_factor_device(user).persistent_id  # both steps passed
    if fresh:
        session[reauth.SESSION_KEY] = int(time.time())
    session.create()
    return session.session_key


def current_code(device) -> str:
    """What the user reads: the code last mailed, or what the application shows now (next step if this one's used)."""
    device.refresh_from_db()
    if isinstance(device, EmailDevice):
        return device.token or ""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = max(totp.time, (device.last_t + 1) * device.step + device.t0)
    return f"{totp.token():0{device.digits}d}"


def sign_in_with_password(client: Client, email: str, password: str = PASSWORD, next_url: str = ""):
    """« Se connecter », then the second factor's code: the last response (where sign-in leads, or its refusal)."""
    address = reverse("accounts:login") + (f"?next={quote(next_url)}" if next_url else "")
    response = client.post(address, {"username": email, "password": password})
    if response.status_code != 302 or not response.url.startswith(reverse("twofactor:verify")):
        return response
    device = default_device(User.objects.get_by_natural_key(email))
    return client.post(response.url, {"code": current_code(device)})
