"""Without espeak-ng the captcha offers no audio version and says so, rather than a player that answers 404."""

import os
import subprocess
import sys

import pytest
from captcha.conf import settings as captcha_settings
from captcha.models import CaptchaStore
from django.conf import settings as django_settings
from django.urls import reverse

from accounts.captcha import AUDIO_UNAVAILABLE

SENTENCE = "La version audio de la suite de caractères n'est pas disponible sur ce serveur."


@pytest.fixture
def no_speech(monkeypatch):
    """The server as settings leave it when espeak-ng was not found at start-up."""
    monkeypatch.setattr(captcha_settings, "CAPTCHA_FLITE_PATH", None)


def test_the_sign_up_page_has_no_audio_player_and_says_why(client, db, no_speech):
    page = client.get(reverse("accounts:signup")).text

    assert "<audio" not in page and "/captcha/audio/" not in page
    assert SENTENCE in page
    assert "« Nouvelle image »" in page and "contactez le support" in page


def test_a_new_image_comes_without_an_audio_address(client, db, no_speech):
    response = client.get(reverse("captcha-refresh"), headers={"X-Requested-With": "XMLHttpRequest"})

    assert response.json()["audio_url"] is None


def test_the_audio_address_says_it_cannot_speak(client, db, no_speech):
    response = client.get(reverse("captcha-audio", args=[CaptchaStore.generate_key()]))

    assert response.status_code == 503
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == AUDIO_UNAVAILABLE


def test_a_speech_program_that_speaks_nothing_gets_the_same_answer_not_a_404(client, db, monkeypatch, tmp_path):
    broken = tmp_path / "speak"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(captcha_settings, "CAPTCHA_FLITE_PATH", str(broken))

    response = client.get(reverse("captcha-audio", args=[CaptchaStore.generate_key()]))

    assert response.status_code == 503 and response.content.decode() == AUDIO_UNAVAILABLE


def flite_path_at_start_up(path: str) -> str:
    """settings.CAPTCHA_FLITE_PATH as a fresh process computes it with this PATH."""
    environment = {key: value for key, value in os.environ.items() if key != "CAPTCHA_FLITE_PATH"}
    environment.update(PATH=path, DEBUG="true", DJANGO_SETTINGS_MODULE="chorus.settings")
    script = "from django.conf import settings; print(settings.CAPTCHA_FLITE_PATH)"
    return subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_start_up_offers_the_audio_version_only_when_espeak_ng_is_found(tmp_path):
    assert flite_path_at_start_up(str(tmp_path)) == "None"

    espeak = tmp_path / "espeak-ng"
    espeak.write_text("#!/bin/sh\n")
    espeak.chmod(0o755)
    assert flite_path_at_start_up(str(tmp_path)) == str(django_settings.BASE_DIR / "bin" / "speak-fr")


def test_the_wrapper_says_how_to_install_espeak_ng(tmp_path):
    result = subprocess.run(
        ["/bin/sh", str(django_settings.BASE_DIR / "bin" / "speak-fr"), "-t", "A, B", "-o", str(tmp_path / "a.wav")],
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )

    assert result.returncode == 127
    assert "sudo apt-get install espeak-ng" in result.stderr
