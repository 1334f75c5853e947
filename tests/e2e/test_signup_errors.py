"""« Créer un compte » sent incomplete: the error summary, announced first, and nothing typed is lost."""

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import SignupPage

pytestmark = pytest.mark.browser


def test_an_empty_sign_up_form_shows_the_focused_error_summary_and_keeps_what_was_typed(page, site):
    signup = SignupPage(page).open(site.url)
    signup.first_name.fill("Jeanne")
    signup.submit()

    signup.wait()
    signup.expect_error()
    expect(signup.error_summary).to_contain_text("Saisissez votre adresse électronique de connexion.")
    expect(signup.error_summary).to_contain_text("Vous devez accepter les conditions pour créer votre compte.")
    expect(signup.error_summary).to_contain_text("Reproduisez la suite de caractères de l'image.")
    expect(signup.error_summary).not_to_contain_text("Saisissez votre prénom.")
    for link in signup.error_summary.get_by_role("link").all():
        expect(page.locator(link.get_attribute("href"))).to_be_visible()
    expect(signup.error_summary).to_be_focused()
    assert signup.focused_element_is_error_summary()
    expect(signup.first_name).to_have_value("Jeanne")
    expect(signup.last_name).to_have_value("")
    expect(signup.accept_terms).not_to_be_checked()
