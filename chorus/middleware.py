from django.utils.cache import add_never_cache_headers, patch_vary_headers


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
