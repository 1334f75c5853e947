"""The sign-up captcha: a new challenge from the keyboard, and its audio version."""

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import SignupPage

pytestmark = pytest.mark.browser


def test_the_new_image_button_brings_a_new_challenge_with_its_audio_version(page, site, espeak):
    signup = SignupPage(page).open(site.url)
    old_key = signup.captcha_key.input_value()
    old_image = signup.captcha_image.get_attribute("src")
    assert old_key in old_image

    signup.new_image_button.focus()
    page.keyboard.press("Enter")

    expect(signup.captcha_key).not_to_have_value(old_key)
    expect(signup.captcha_image).not_to_have_attribute("src", old_image)
    new_key = signup.captcha_key.input_value()
    expect(signup.captcha_image).to_have_attribute("src", f"/captcha/image/{new_key}/")
    expect(signup.captcha_audio).to_have_attribute("src", f"/captcha/audio/{new_key}.wav")
    expect(signup.captcha_input).to_be_focused()
    expect(signup.captcha_image).to_have_js_property("complete", True)
    assert signup.captcha_image.evaluate("image => image.naturalWidth") > 0

    # The player plays the spoken letters from the keyboard: the space bar, as on any media player.
    signup.captcha_audio.focus()
    signup.captcha_audio.evaluate(
        "audio => { window.captchaPlaying = new Promise((started) =>"
        " audio.addEventListener('playing', () => started(audio.duration), {once: true})); }"
    )
    page.keyboard.press("Space")
    assert page.evaluate("window.captchaPlaying") > 2  # seconds of speech
    expect(signup.captcha_audio).to_have_js_property("paused", False)

    audio = page.request.get(site.url + signup.captcha_audio.get_attribute("src"))
    assert audio.status == 200
    assert audio.body().startswith(b"RIFF")
    assert audio.body()[8:12] == b"WAVE"
