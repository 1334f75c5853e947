"""Per-IP limits for the steps that send mail: sign-up, resend-activation, reset.

Fixed one-hour windows counted in the shared cache (Redis in production), so
the limit holds across worker processes. Failed sign-ins are django-axes' job.
"""

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60 * 60


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


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
