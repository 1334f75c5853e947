import re

from django.utils.cache import add_never_cache_headers, patch_vary_headers

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab may stay


class HeaderControlCharactersMiddleware:
    """Control characters leave the request's headers before anything stores them.

    django-axes keeps the User-Agent and Accept headers of every sign-in, and
    PostgreSQL refuses a NUL in text. gunicorn already refuses such headers;
    other servers may not.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        for key, value in list(meta.items()):
            if key.startswith("HTTP_") and isinstance(value, str) and CONTROL_CHARACTERS.search(value):
                meta[key] = CONTROL_CHARACTERS.sub("", value)
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
