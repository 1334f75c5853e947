"""« Faire confiance à cet appareil pendant 30 jours » in Chromium (PRODUCT §8): ticked with the mailed code, the
next sign-in on this browser asks the password only; « Confirmez votre identité » still asks the second factor before
the protected steps. axe on that page's two steps, empty and in error."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.pages import (
    SIGN_IN_CODE,
    SecondFactorPage,
    assert_accessible,
    assert_errors_announced,
    labelled,
    sign_in_code,
    sign_out,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser

STRUCTURES = "/organisation/structures/"


def type_password(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/compte/connexion/")
    labelled(page, "Adresse électronique de connexion").fill(email)
    labelled(page, "Mot de passe").fill(password)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()


def codes_mailed(address: str) -> int:
    return sum(1 for message in mail.outbox if address in message.to and SIGN_IN_CODE.search(message.body))


def test_a_trusted_browser_skips_the_code_but_not_the_confirmation_before_protected_steps(page, site, db):
    user = UserFactory(email="paul.trust@exemple.fr", first_name="Paul")

    type_password(page, site.url, user.email)
    second_factor = SecondFactorPage(page).wait()
    labelled(page, "Code de vérification").fill(sign_in_code(user.email))
    second_factor.tick(page.get_by_label("Faire confiance à cet appareil pendant 30 jours"))
    page.get_by_role("main").get_by_role("button", name="Valider").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    trusted = [c for c in page.context.cookies() if c["name"] == "appareil_de_confiance"]
    assert trusted and trusted[0]["httpOnly"] and trusted[0]["sameSite"] == "Lax"
    sign_out(page)

    mailed = codes_mailed(user.email)
    type_password(page, site.url, user.email)
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Double authentification")
    assert codes_mailed(user.email) == mailed, "no code asked, none mailed"

    # The protected steps ask for both factors all the same.
    page.goto(f"{site.url}/compte/confirmer-mot-de-passe/?next={STRUCTURES}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmez votre identité")
    expect(page.get_by_role("main")).to_contain_text("Étape 1 sur 2")
    assert_accessible(page)

    labelled(page, "Votre mot de passe").fill("Mauvais-Mot-2031")
    page.get_by_role("main").get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("main")).to_contain_text("Le mot de passe est incorrect.")
    assert_errors_announced(page)
    assert_accessible(page)

    labelled(page, "Votre mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("main")).to_contain_text("Étape 2 sur 2")
    expect(page.get_by_role("main")).to_contain_text(user.email)
    assert_accessible(page)

    code = sign_in_code(user.email)
    labelled(page, "Code de vérification").fill("000000" if code != "000000" else "111111")
    page.get_by_role("main").get_by_role("button", name="Confirmer").click()
    expect(page.get_by_role("main")).to_contain_text("Code incorrect ou expiré")
    assert_errors_announced(page)
    assert_accessible(page)

    page.wait_for_timeout(1100)  # a code is checked again a second after a wrong one
    labelled(page, "Code de vérification").fill(code)
    page.get_by_role("main").get_by_role("button", name="Confirmer").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(STRUCTURES)}$"))
