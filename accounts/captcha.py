"""The sign-up captcha: its challenge, and its URLs, django-simple-captcha's with the audio version throttled."""

import secrets

from captcha import urls as captcha_urls
from captcha import views as captcha_views
from captcha.conf import settings as captcha_settings
from django.http import Http404, HttpResponse
from django.urls import re_path

from chorus import throttling

# Letters that are easy to tell apart on screen and when spoken in French.
ALPHABET = "ABCDEFGHJKLMNPRSTUVXYZ"
AUDIO_THROTTLED = (
    "Trop de versions audio demandées depuis votre connexion. Réessayez dans une heure, ou demandez de l'aide "
    "au support."
)
AUDIO_UNAVAILABLE = (
    "La version audio n'est pas disponible sur ce serveur. Si vous ne pouvez pas lire l'image, demandez-en une "
    "nouvelle (« Nouvelle image », ou rechargez la page), ou demandez de l'aide au support."
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
    if not speech_available():
        return _unavailable()
    if not throttling.allow(request, "captcha_audio"):
        return HttpResponse(
            AUDIO_THROTTLED,
            status=429,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": str(throttling.WINDOW_SECONDS)},
        )
    try:
        return captcha_views.captcha_audio(request, key)
    except Http404:  # the speech program ran and wrote nothing
        return _unavailable()


def speech_available() -> bool:
    """Whether the captcha can be spoken: settings.CAPTCHA_FLITE_PATH is set only when espeak-ng was found.

    django-simple-captcha decides the same way whether its widget offers an audio version.
    """
    return bool(captcha_settings.CAPTCHA_FLITE_PATH)


def _unavailable():
    """A plain answer that says why, rather than a 404 that a player shows as nothing at all."""
    return HttpResponse(AUDIO_UNAVAILABLE, status=503, content_type="text/plain; charset=utf-8")


urlpatterns = [
    re_path(r"^audio/(?P<key>\w+)\.wav$", audio, name="captcha-audio"),
    *[pattern for pattern in captcha_urls.urlpatterns if pattern.name != "captcha-audio"],
]
