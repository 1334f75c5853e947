"""Who is asking, and how often: per-IP limits for the steps that send mail.

Sign-up, resend-activation and reset are counted in fixed one-hour windows in
the shared cache (Redis in production), so the limit holds across worker
processes. Failed sign-ins are django-axes' job; it identifies visitors with
the same two functions below.
"""

import ipaddress

from django.conf import settings
from django.core.cache import cache

from accounts.models import User

WINDOW_SECONDS = 60 * 60


def client_ip(request) -> str:
    """The visitor's address.

    Behind TRUSTED_PROXY_COUNT proxies (a load balancer: 1), REMOTE_ADDR is
    the last proxy's: the visitor is the address that the outermost trusted
    proxy appended to X-Forwarded-For. Addresses further left are whatever
    the client claimed and are never trusted.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= count:
            try:
                return str(ipaddress.ip_address(forwarded[-count]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR", "")


def login_identity(request, credentials=None) -> str:
    """The account that a sign-in attempt targets, as stored: « Boss@X.fr » locks boss@x.fr."""
    if credentials and "username" in credentials:
        username = credentials["username"]
    else:
        username = getattr(request, "POST", {}).get(settings.AXES_USERNAME_FORM_FIELD, "")
    return User.objects.normalize_email(username)


def allow(request, scope: str) -> bool:
    """Counts one attempt; False once the IP went past the scope's hourly rate."""
    key = f"throttle:{scope}:{client_ip(request)}"
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        attempts = 1
    return attempts <= settings.THROTTLE_RATES[scope]
