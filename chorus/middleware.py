import re

from django.utils.cache import add_never_cache_headers, patch_vary_headers

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class UserAgentMiddleware:
    """Control characters leave the User-Agent before anything stores it (django-axes' sign-in log).

    PostgreSQL refuses a NUL in text; gunicorn refuses such headers already,
    other servers may not.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        agent = request.META.get("HTTP_USER_AGENT")
        if agent and CONTROL_CHARACTERS.search(agent):
            request.META["HTTP_USER_AGENT"] = CONTROL_CHARACTERS.sub("", agent)
        return self.get_response(request)


class PrivatePagesMiddleware:
    """Pages shown to a signed-in user (bank details, identities) are never stored by a browser or proxy.

    `Cache-Control: no-store` keeps them out of shared caches and of the
    browser's back-forward cache on a shared computer after sign-out.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
            patch_vary_headers(response, ["Cookie"])
        return response
