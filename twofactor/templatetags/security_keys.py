"""`security_key_address`: where security keys work, for a page opened at another address."""

from django import template
from django.conf import settings
from django.http.request import split_domain_port

register = template.Library()


@register.simple_tag(takes_context=True)
def security_key_address(context) -> str:
    """Empty where keys work; elsewhere, the address where they do.

    A key is bound to one domain (`OTP_WEBAUTHN_RP_ID`), and the browser refuses it on any other: with
    `make run`, keys work at http://localhost:8000 but not at http://127.0.0.1:8000, which the page then says,
    rather than let the browser fail with a technical error.
    """
    domain, _ = split_domain_port(context["request"].get_host())
    rp_id = settings.OTP_WEBAUTHN_RP_ID
    if domain == rp_id or domain.endswith(f".{rp_id}"):
        return ""
    return settings.OTP_WEBAUTHN_ALLOWED_ORIGINS[0]
