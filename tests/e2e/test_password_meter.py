"""The strength meter says « trop courant » before the form is sent, as the server will; the captcha without speech."""

import pytest
from captcha.conf import settings as captcha_settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from playwright.sync_api import expect

from tests.e2e.pages import LoginPage, SignupPage, assert_accessible, labelled
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


def open_password_change(page, site):
    user = UserFactory(first_name="Jeanne", last_name="Martin", email="jeanne.martin@exemple.fr")
    LoginPage(page).sign_in(site.url, user.email, PASSWORD)
    page.wait_for_url(f"{site.url}/")
    page.goto(site.url + "/compte/profil/mot-de-passe/")
    meter = page.locator("[data-password-meter-output]")
    # The rule appears once the lists have arrived.
    expect(meter.locator("[data-rule='common']")).to_be_visible()
    return labelled(page, "Nouveau mot de passe"), meter


def server_says_common(password: str) -> bool:
    try:
        validate_password(password)
    except ValidationError as error:
        return any("trop courant" in message for message in error.messages)
    return False


def test_a_padded_common_word_is_called_too_common_before_it_is_sent(page, site):
    field, meter = open_password_change(page, site)
    common = meter.locator("[data-rule='common']")

    field.press_sequentially("Moissonneuse#2026")

    for rule in ("length", "upper", "lower", "digit", "special"):
        expect(meter.locator(f"[data-rule='{rule}']")).to_have_attribute("data-met", "true")
    expect(common).to_have_attribute("data-met", "false")
    expect(common).to_contain_text("non respectée")
    expect(meter.get_by_text("Trop courant : un mot connu suivi de chiffres")).to_be_visible()
    expect(meter.locator("[data-password-meter-level]")).to_have_text("faible")
    assert server_says_common("Moissonneuse#2026")
    assert_accessible(page)

    field.fill("")
    field.press_sequentially("Tracteur-Bleu-Colza-2031")
    expect(common).to_have_attribute("data-met", "true")
    expect(meter.get_by_text("Trop courant : un mot connu suivi de chiffres")).to_be_hidden()
    expect(meter.locator("[data-password-meter-level]")).to_have_text("très bon")
    assert_accessible(page)


AGREEMENT = ["motdepasse", "P@ssw0rd2024", "123456789Abc", "Azerty123456!", "  Soleil1975!!  ", "Xq7!vTr2#pLm9"]


def test_the_meter_agrees_with_the_server(page, site):
    field, meter = open_password_change(page, site)

    for password in [*AGREEMENT, "Ferme-à-Colza-Bleue"]:
        field.fill(password)
        expected = "false" if server_says_common(password) else "true"
        expect(meter.locator("[data-rule='common']")).to_have_attribute("data-met", expected)


def test_without_speech_the_captcha_says_so_and_passes_axe(page, site, monkeypatch):
    monkeypatch.setattr(captcha_settings, "CAPTCHA_FLITE_PATH", None)

    signup = SignupPage(page).open(site.url)

    expect(page.locator("audio")).to_have_count(0)
    sentence = page.get_by_text("La version audio de la suite de caractères n'est pas disponible sur ce serveur.")
    expect(sentence).to_be_visible()
    # The answer box says it too, with its hint.
    described_by = signup.captcha_input.get_attribute("aria-describedby").split()
    assert "captcha-no-audio" in described_by
    signup.new_image_button.click()
    expect(page.locator("audio")).to_have_count(0)
    assert_accessible(page)
