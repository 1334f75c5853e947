"""RGAA: axe-core (WCAG 2.1 A and AA rules) finds nothing on any screen, as shown and in its error state."""

import pytest

from tests.e2e.catalogue import SCREENS, build_farm
from tests.e2e.pages import LoginPage, assert_accessible, assert_errors_announced
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def farm(db, private_media):
    return build_farm()


def open_screen(page, site, farm, screen):
    if screen.who != "anonymous":
        LoginPage(page).sign_in(site.url, getattr(farm, screen.who).email, PASSWORD)
        page.wait_for_url(f"{site.url}/")
    url = site.url + screen.url(farm)
    if screen.status != 200:
        page.expected_error_pages.add(url)
    response = page.goto(url)
    assert response.status == screen.status, f"{screen}: {page.url} answered {response.status}"


@pytest.mark.parametrize("screen", SCREENS, ids=str)
def test_the_screen_as_shown(page, site, farm, screen):
    open_screen(page, site, farm, screen)
    assert_accessible(page)


@pytest.mark.parametrize("screen", [screen for screen in SCREENS if screen.error], ids=str)
def test_the_screen_in_its_error_state(page, site, farm, screen):
    open_screen(page, site, farm, screen)
    screen.error(page)
    page.wait_for_load_state()
    assert page.title().startswith("Erreur – "), f"{screen}: no error state reached, title {page.title()!r}"
    assert_errors_announced(page)
    assert_accessible(page)
