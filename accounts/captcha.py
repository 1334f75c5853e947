"""The sign-up captcha: its challenge, and its URLs, django-simple-captcha's with the audio version throttled."""

import secrets

from captcha import urls as captcha_urls
from captcha import views as captcha_views
from django.http import HttpResponse
from django.urls import re_path

from chorus import throttling

# Letters that are easy to tell apart on screen and when spoken in French.
ALPHABET = "ABCDEFGHJKLMNPRSTUVXYZ"
AUDIO_THROTTLED = (
    "Trop de versions audio demandées depuis votre connexion. Réessayez dans une heure, ou demandez de l'aide "
    "au support."
)


def challenge() -> tuple[str, str]:
    """django-simple-captcha challenge: five letters, typed in any case."""
    text = "".join(secrets.choice(ALPHABET) for _ in range(5))
    return text, text.lower()


def audio(request, key):
    """The challenge spoken in French, counted per IP before any speech process starts.

    Each answer runs a speech synthesiser for anyone, signed in or not: unthrottled,
    a few clients could keep both cores busy.
    """
    if not throttling.allow(request, "captcha_audio"):
        return HttpResponse(
            AUDIO_THROTTLED,
            status=429,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": str(throttling.WINDOW_SECONDS)},
        )
    return captcha_views.captcha_audio(request, key)


urlpatterns = [
    re_path(r"^audio/(?P<key>\w+)\.wav$", audio, name="captcha-audio"),
    *[pattern for pattern in captcha_urls.urlpatterns if pattern.name != "captcha-audio"],
]
