"""« Mon profil » → « Double authentification » in Chromium (PRODUCT §8): an authenticator application added with the
code computed here from its key, a wrong first code said next to the field, the recovery codes shown once, then the
application asked after the password; axe on each screen, empty and in error."""

import re
import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.e2e.pages import (
    LoginPage,
    SecondFactorPage,
    assert_accessible,
    assert_errors_announced,
    labelled,
    sign_out,
)
from tests.factories import PASSWORD, UserFactory
from twofactor.models import RecoveryCode, recovery_code_digest

pytestmark = pytest.mark.browser


def code_from_key(key: str, at: float | None = None) -> str:
    """What an authenticator application shows for the key typed from the page (base 32, grouped by 4)."""
    secret = "".join(key.split())
    totp = TOTP(b32decode(secret + "=" * (-len(secret) % 8)))
    totp.time = at or time.time()
    return f"{totp.token():06d}"


def test_a_farmer_adds_an_application_keeps_her_recovery_codes_then_signs_in_with_it(page, site, db, screenshots):
    user = UserFactory(email="jeanne.martin@exemple.fr", first_name="Jeanne")
    LoginPage(page).sign_in(site.url, user.email, PASSWORD)  # the mailed code: a new account's default

    page.get_by_role("link", name=re.compile("Jeanne")).first.click()  # « Mon profil », under her name
    page.get_by_role("main").get_by_role("link", name="Double authentification").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Double authentification")
    table = page.get_by_role("table")
    expect(table).to_contain_text("Code par courriel")
    expect(table).to_contain_text("Par défaut")
    expect(page.get_by_role("button", name="Générer de nouveaux codes de secours")).to_have_count(0)
    assert_accessible(page)  # the e-mail code alone

    page.get_by_role("link", name="Ajouter une application d'authentification").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ajouter une application d'authentification")
    expect(page.get_by_role("img", name=re.compile("^QR code de la clé"))).to_be_visible()
    key = page.locator("#totp-key").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{4}){7}", key)
    expect(labelled(page, "Nom de l'appareil")).to_have_value("Application")
    assert_accessible(page)
    LoginPage(page).screenshot(screenshots / "application-add.png")

    right = code_from_key(key)
    labelled(page, "Nom de l'appareil").fill("Téléphone de Jeanne")
    labelled(page, "Code à 6 chiffres").fill(f"{(int(right) + 500_000) % 1_000_000:06d}")
    page.get_by_role("main").get_by_role("button", name="Ajouter l'application").click()
    expect(page).to_have_title(re.compile(r"^Erreur – Ajouter une application"))
    expect(page.get_by_role("main")).to_contain_text("Ce code ne correspond pas à la clé affichée")
    assert page.locator("#totp-key").inner_text() == key  # the same key, to try again
    assert_errors_announced(page)
    assert_accessible(page)
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    time.sleep(1.1)  # a code is checked again a second after a wrong one (then 2, 4… seconds)
    labelled(page, "Code à 6 chiffres").fill(code_from_key(key))
    page.get_by_role("main").get_by_role("button", name="Ajouter l'application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Codes de secours")
    codes = page.get_by_role("main").locator("ol.twofactor-recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", code) for code in codes)
    stored = set(RecoveryCode.objects.filter(device__user=user).values_list("digest", flat=True))
    assert stored == {recovery_code_digest(code) for code in codes}
    assert_accessible(page)
    LoginPage(page).screenshot(screenshots / "recovery-codes.png")

    page.get_by_role("link", name="Je les ai notés").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Double authentification")
    expect(page.get_by_role("table")).to_contain_text("Application d'authentification « Téléphone de Jeanne »")
    expect(page.get_by_role("main")).to_contain_text("Il vous en reste 10")
    assert_accessible(page)
    LoginPage(page).screenshot(screenshots / "second-factor-devices.png")

    # The page does not show the codes again.
    page.goto(site.url + "/compte/double-authentification/appareils/codes-de-secours/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Double authentification")
    expect(page.get_by_role("status").first).to_contain_text("ne s'affichent qu'une fois")

    # Next sign-in: the application is asked first, and the code of the next step goes through.
    sign_out(page)
    page.goto(site.url + LoginPage.path)
    labelled(page, "Adresse électronique de connexion").fill(user.email)
    labelled(page, "Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    second = SecondFactorPage(page).wait()
    expect(page.get_by_role("main")).to_contain_text("Téléphone de Jeanne")
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    second.enter(code_from_key(key, at=max(time.time(), (device.last_t + 1) * device.step)))
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Double authentification")


def test_a_wrong_name_on_the_rename_page_is_said_next_to_the_field(page, site, db):
    user = UserFactory(first_name="Paul")
    device = TOTPDevice.objects.create(user=user, name="Téléphone", confirmed=True)
    LoginPage(page).sign_in(site.url, user.email, PASSWORD)

    page.goto(site.url + "/compte/double-authentification/appareils/")
    page.get_by_role("link", name=re.compile("^Renommer")).click()
    labelled(page, "Nom de l'appareil").fill("")
    page.get_by_role("main").get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_role("main")).to_contain_text("Donnez un nom à l'appareil.")
    assert_errors_announced(page)
    assert_accessible(page)
    device.refresh_from_db()
    assert device.name == "Téléphone"
