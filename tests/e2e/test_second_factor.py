"""« Double authentification » in a real browser: the mailed code after the password, wrong then right."""

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import (
    LoginPage,
    MySpacePage,
    SecondFactorPage,
    assert_accessible,
    assert_errors_announced,
    labelled,
    sign_in_code,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


def test_a_farmer_types_the_mailed_code_after_the_password(page, site, db, screenshots):
    farmer = UserFactory(email="jeanne.martin@exemple.fr", first_name="Jeanne")
    page.goto(site.url + LoginPage.path)
    labelled(page, "Adresse électronique de connexion").fill(farmer.email)
    labelled(page, "Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()

    second = SecondFactorPage(page).wait()
    expect(page.get_by_role("main")).to_contain_text(f"envoyé par courriel à {farmer.email}")
    expect(labelled(page, "Code de vérification")).to_be_focused()
    assert_accessible(page)
    second.screenshot(screenshots / "second-factor.png")
    code = sign_in_code(farmer.email)

    second.enter("000000" if code != "000000" else "111111")
    second.expect_error()
    expect(page.get_by_role("main")).to_contain_text("Code incorrect ou expiré")
    assert_errors_announced(page)
    assert_accessible(page)

    page.wait_for_timeout(1100)  # django-otp's wait after a wrong code
    second.enter(code)
    MySpacePage(page).wait("Jeanne")
