"""Who is asking, and how often: hourly limits on the steps that send mail or look up a SIRET.

Attempts are counted in fixed one-hour windows in the shared cache (Redis in
production), so a limit holds across worker processes. Failed sign-ins are
django-axes' job; it identifies visitors with `client_ip` too.
"""

import ipaddress

from django.conf import settings
from django.core.cache import cache

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


def allow(request, scope: str, who: str = "") -> bool:
    """Counts one attempt; False once `who` (by default the visitor's IP) went past the scope's hourly rate."""
    key = f"throttle:{scope}:{who or client_ip(request)}"
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        attempts = 1
    return attempts <= settings.THROTTLE_RATES[scope]
