"""« Confirmez votre identité »: a recent password and second factor, kept in the session.

Bank details, a structure's information (what refund requests carry) and the
main-manager role are what a fraudster with a stolen session would change, so
those steps ask for the password and the second factor again unless they were
typed in the last few minutes (`REAUTHENTICATION_MAX_AGE`). Signing in with both
and activating count as typing them; a browser trusted for the second factor does
not (the page is accounts.views.confirm_password).
Like chorus/mail.py, this module imports no app of ours and serves them all.
"""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

SESSION_KEY = "password_confirmed_at"


def mark(request) -> None:
    request.session[SESSION_KEY] = int(time.time())


def is_recent(request) -> bool:
    confirmed_at = request.session.get(SESSION_KEY)
    return isinstance(confirmed_at, int) and time.time() - confirmed_at < settings.REAUTHENTICATION_MAX_AGE


def ask(request, next_url: str | None = None):
    """Send the user to confirm their identity, then back to `next_url` (this page by default)."""
    if request.method == "POST":
        messages.warning(
            request,
            "Pour votre sécurité, confirmez votre identité, puis recommencez : rien n'a été enregistré.",
        )
    query = urlencode({"next": next_url or request.get_full_path()})
    return redirect(f"{reverse(settings.REAUTHENTICATION_URL)}?{query}")
