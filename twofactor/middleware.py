from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

# What a user who has typed the right password, but not yet the second factor, may open.
OPEN_VIEWS = {
    "twofactor:verify",
    "twofactor:send_code",
    "accounts:sign_out",
    "twofactor:webauthn_verify_begin",
    "twofactor:webauthn_verify",
    "terms",
    "accessibility",
}


class SecondFactorRequired:
    """Signed in with the password alone: every other page sends to the second step, and nothing runs.

    After django-otp's OTPMiddleware, which tells whether the session passed a device
    (`user.is_verified()`). A POST is redirected like a GET: nothing it carried is done.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if request.resolver_match.view_name in OPEN_VIEWS:
            return None
        query = urlencode({"next": request.get_full_path() if request.method == "GET" else "/"})
        return redirect(f"{reverse('twofactor:verify')}?{query}")
