"""A security key in Chromium (PRODUCT §8): added on « Double authentification », then asked after the password
instead of a code. The key is Chromium's virtual authenticator (DevTools' WebAuthn domain), which answers as a USB
key touched at once."""

import pytest
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from audit.models import Action, AuditEvent
from tests.e2e.pages import LoginPage, SecondFactorPage, assert_accessible, labelled, sign_out
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def keys(site, settings):
    """Keys bound to the live server's address, a domain name (localhost) as WebAuthn requires."""
    assert site.url.startswith("http://localhost:")
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [site.url]
    return site


def plug_in_a_key(page) -> None:
    """A USB key that answers at once, with a PIN already typed (user verification)."""
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def password_step(page, base_url: str, email: str) -> None:
    """The password alone: the page that follows is « Double authentification »."""
    page.goto(base_url + LoginPage.path)
    labelled(page, "Adresse électronique de connexion").fill(email)
    labelled(page, "Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    SecondFactorPage(page).wait()


def test_a_key_added_on_the_devices_page_then_passes_the_second_factor(page, keys, db):
    user = UserFactory(first_name="Jeanne")
    plug_in_a_key(page)
    LoginPage(page).sign_in(keys.url, user.email, PASSWORD)  # the mailed code, the default of a new account
    page.goto(keys.url + reverse("twofactor:devices"))

    # An empty name is said next to the field, before the key is asked (the « begin » answers 400).
    page.expected_error_pages.add(keys.url + reverse("twofactor:webauthn_register_begin"))
    name = labelled(page, "Nom de la clé")
    name.fill("")
    page.get_by_role("button", name="Ajouter une clé de sécurité").click()
    expect(page.locator("#webauthn-name-messages")).to_contain_text("Donnez un nom")
    expect(name).to_be_focused()
    assert_accessible(page)

    name.fill("Clé USB bleue")
    page.get_by_role("button", name="Ajouter une clé de sécurité").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Codes de secours")  # the first strong device
    assert WebAuthnCredential.objects.get(user=user).name == "Clé USB bleue"

    sign_out(page)
    password_step(page, keys.url, user.email)
    expect(page.get_by_role("main")).to_contain_text("utilisez votre clé de sécurité « Clé USB bleue »")
    expect(labelled(page, "Code de vérification")).to_have_count(0)
    assert_accessible(page)

    page.get_by_role("button", name="Utiliser ma clé de sécurité").click()

    page.wait_for_url(f"{keys.url}/")
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    passed = AuditEvent.objects.filter(action=Action.SECOND_FACTOR_PASSED, actor=user).latest("pk")
    assert passed.details["device"] == "Clé de sécurité « Clé USB bleue »"
