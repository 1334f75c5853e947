"""Which account a sign-in attempt targets, for django-axes' per-account lockout.

Per-IP limits (sign-up, resend-activation, reset) are `chorus.throttling`'s.
"""

from django.conf import settings

from accounts.models import User


def login_identity(request, credentials=None) -> str:
    """The account that a sign-in attempt targets, as stored: « Boss@X.fr » locks boss@x.fr."""
    if credentials and "username" in credentials:
        username = credentials["username"]
    else:
        username = getattr(request, "POST", {}).get(settings.AXES_USERNAME_FORM_FIELD, "")
    # Cut to what django-axes stores (255): an oversized sign-in is counted, not a database error.
    return User.objects.normalize_email(username)[:254]
