"""RGAA: axe-core (WCAG 2.1 A and AA rules) finds nothing on any screen, as shown and in its error state."""

import pytest
from django.conf import settings

from tests.e2e.catalogue import SCREENS, build_farm
from tests.e2e.pages import assert_accessible, assert_errors_announced
from tests.signing_in import signed_in_session

pytestmark = pytest.mark.browser


@pytest.fixture
def farm(db, private_media):
    return build_farm()


def open_screen(page, site, farm, screen):
    # Signed in by its session cookie: signing in is walked in its own tests, and through the pages here it
    # would cost the sweep a sign-in per screen.
    if screen.who != "anonymous":
        session = signed_in_session(getattr(farm, screen.who))
        page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": site.url}])
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
