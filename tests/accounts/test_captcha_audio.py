"""The captcha's audio version starts a speech process: a few per IP and per hour, then a 429 and none."""

import pytest
from captcha.conf import settings as captcha_settings
from captcha.models import CaptchaStore
from django.urls import reverse

from accounts.captcha import AUDIO_THROTTLED


@pytest.fixture
def speeches(tmp_path, monkeypatch, settings):
    """Counts the speech processes started: the portal's own command, run through a script that notes each call."""
    calls = tmp_path / "calls"
    command = tmp_path / "speak"
    command.write_text(f'#!/bin/sh\necho started >> {calls}\nexec {settings.BASE_DIR / "bin" / "speak-fr"} "$@"\n')
    command.chmod(0o755)
    monkeypatch.setattr(captcha_settings, "CAPTCHA_FLITE_PATH", str(command))
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "captcha_audio": 3}
    return lambda: len(calls.read_text().splitlines()) if calls.exists() else 0


def test_past_the_hourly_rate_the_audio_is_a_429_and_no_speech_starts(client, db, speeches):
    url = reverse("captcha-audio", args=[CaptchaStore.generate_key()])

    answered = [client.get(url).status_code for _ in range(3)]
    refused = client.get(url)

    assert 429 not in answered and speeches() == 3
    assert refused.status_code == 429
    assert refused["Content-Type"] == "text/plain; charset=utf-8" and refused["Retry-After"] == "3600"
    assert refused.content.decode() == AUDIO_THROTTLED
    assert speeches() == 3


def test_the_rate_is_per_ip(client, db, speeches):
    url = reverse("captcha-audio", args=[CaptchaStore.generate_key()])
    for _ in range(4):
        client.get(url)

    response = client.get(url, REMOTE_ADDR="192.0.2.7")

    assert response.status_code != 429 and speeches() == 4


def test_the_sign_up_page_still_offers_the_audio_version(client, db):
    response = client.get(reverse("accounts:signup"))

    assert 'src="/captcha/audio/' in response.text
