"""Without a mouse, on a phone, in the dark: sign-up and activation by keyboard alone, 320-pixel screens, the theme."""

import re

import pytest
from captcha.models import CaptchaStore
from playwright.sync_api import Locator, Page, expect

from accounts import emails
from accounts.models import User
from tests.e2e.catalogue import SCREENS, build_farm
from tests.e2e.pages import (
    ActivationPage,
    LoginPage,
    PortalPage,
    RecapPage,
    SignupPage,
    activation_link,
    assert_accessible,
)
from tests.factories import PASSWORD, PendingUserFactory, make_siret

pytestmark = pytest.mark.browser

EMAIL = "jeanne.martin@exemple.fr"
STRONG_PASSWORD = "Tracteur-Bleu-Colza-2031"

# The focused element is outlined, or what the DSFR draws for it: the box on its label, the enlarged link.
FOCUS_IS_VISIBLE = """() => {
  const element = document.activeElement;
  const drawn = [null, "::before", "::after"].map((part) => getComputedStyle(element, part));
  for (const label of element.labels || []) drawn.push(getComputedStyle(label, "::before"));
  return drawn.some((style) => style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2);
}"""


def tab_to(page: Page, target: Locator, limit: int = 60) -> None:
    """Presses Tab until `target` has the focus, checking that every stop along the way shows it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.outerHTML")
        assert page.evaluate(FOCUS_IS_VISIBLE), f"no visible focus on {focused}"
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} was not reached with {limit} presses of Tab")


def type_into(page: Page, target: Locator, text: str) -> None:
    tab_to(page, target)
    page.keyboard.type(text)


def test_a_farmer_signs_up_and_activates_her_account_with_the_keyboard_alone(page, site, mailoutbox):
    siret = make_siret()
    page.goto(site.url + "/")
    # The skip link first, then the form, field after field.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Contenu")).to_be_focused()
    signup = SignupPage(page)
    tab_to(page, page.get_by_role("main").get_by_role("link", name="Créer un compte"))
    page.keyboard.press("Enter")
    signup.wait()

    type_into(page, signup.email, EMAIL)
    type_into(page, signup.email_confirmation, EMAIL)
    type_into(page, signup.first_name, "Jeanne")
    type_into(page, signup.last_name, "Martin")
    tab_to(page, signup.accept_terms)
    page.keyboard.press("Space")
    expect(signup.accept_terms).to_be_checked()
    tab_to(page, signup.identifier_type)
    page.keyboard.press("ArrowDown")
    expect(signup.identifier_type).to_have_value("siret")
    type_into(page, signup.identifier, siret)
    # A new challenge, by keyboard: the focus comes back to the answer box.
    tab_to(page, signup.captcha_input)
    tab_to(page, signup.new_image_button)
    old_key = signup.captcha_key.input_value()
    page.keyboard.press("Enter")
    expect(signup.captcha_key).not_to_have_value(old_key)
    expect(signup.captcha_input).to_be_focused()
    page.keyboard.type(CaptchaStore.objects.get(hashkey=signup.captcha_key.input_value()).response)
    tab_to(page, page.get_by_role("button", name="Créer mon compte"))
    page.keyboard.press("Enter")

    RecapPage(page).wait()
    assert_accessible(page)

    page.goto(activation_link(mailoutbox, EMAIL, origin=site.url))
    activation = ActivationPage(page).wait()
    type_into(page, activation.password, STRONG_PASSWORD)
    expect(activation.level).to_have_text("très bon")
    type_into(page, activation.confirmation, STRONG_PASSWORD)
    tab_to(page, page.get_by_role("button", name="SOUMETTRE"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Jeanne")
    assert User.objects.get(email=EMAIL).is_active


def test_the_password_meter_tells_screen_readers_its_level_and_each_rule(page, site, mailoutbox):
    emails.activation_link(PendingUserFactory(email=EMAIL))
    page.goto(activation_link(mailoutbox, EMAIL, origin=site.url))
    activation = ActivationPage(page).wait()
    expect(activation.password).to_have_attribute("aria-describedby", re.compile(r"\bpassword-meter\b"))
    expect(activation.level).to_have_attribute("aria-live", "polite")
    expect(activation.rule("digit")).to_have_text("Un chiffre : non respectée")

    activation.type_password("Colza7")

    expect(activation.level).to_have_text("faible")
    expect(activation.rule("digit")).to_have_text("Un chiffre : respectée")
    expect(activation.rule("upper")).to_have_text("Une majuscule : respectée")
    expect(activation.rule("length")).to_have_text("12 caractères minimum : non respectée")


@pytest.fixture
def farm(db, private_media):
    return build_farm()


def test_every_screen_fits_a_320_pixel_screen_without_sideways_scrolling(browser, site, farm, screenshots):
    context = browser.new_context(locale="fr-FR", viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.expected_error_pages = set()
    signed_in = "anonymous"
    # One sign-in per persona, Jeanne last: the menu's badge below is hers.
    for screen in sorted(SCREENS, key=lambda screen: (screen.who != "anonymous", screen.who == "manager", screen.who)):
        if screen.who != signed_in:
            context.clear_cookies()
            LoginPage(page).sign_in(site.url, getattr(farm, screen.who).email, PASSWORD)
            page.wait_for_url(f"{site.url}/")
            signed_in = screen.who
        page.goto(site.url + screen.url(farm))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{screen} ({page.url}) is {width} pixels wide"
        if screen.name == "approbations":
            PortalPage(page).screenshot(screenshots / "approvals-phone.png")
    # The menu's badge is in reach: the burger opens the menu, which counts the requests.
    page.goto(site.url + "/")
    page.get_by_role("button", name="Menu").click()
    menu = page.get_by_role("navigation", name="Menu principal")
    expect(menu.get_by_role("link", name=re.compile("^Approbations"))).to_be_visible()
    context.close()


def test_the_dark_theme_is_chosen_from_the_display_settings_and_kept(page, site, db):
    page.goto(site.url + "/")
    page.get_by_role("button", name="Paramètres d'affichage").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_text("Thème sombre").click()
    expect(page.locator("html")).to_have_attribute("data-fr-theme", "dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-fr-theme", "dark")
    assert_accessible(page)
