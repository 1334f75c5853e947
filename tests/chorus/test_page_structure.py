"""Every screen, read as a screen reader would list it: a unique title, one h1, a breadcrumb, labelled fields."""

from html.parser import HTMLParser

import pytest
from django.urls import resolve

from tests.e2e.catalogue import SCREENS, build_farm

SUFFIX = " – Chorus Pro TIC/TICGN"
TYPED = {"text", "email", "tel", "password", "number", "search", "url"}


class Outline(HTMLParser):
    """What the tests check of a page: its title, headings, breadcrumb, fields and labels."""

    def __init__(self, html: str):
        super().__init__()
        self.title, self.h1, self.breadcrumb, self.fields, self.labels = "", 0, False, [], set()
        self._in_title = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_title = tag == "title"
        self.h1 += tag == "h1"
        self.breadcrumb |= tag == "nav" and "fr-breadcrumb" in (attrs.get("class") or "")
        if tag == "label" and attrs.get("for"):
            self.labels.add(attrs["for"])
        if (tag == "input" and attrs.get("type", "text") in TYPED) or tag in {"textarea", "select"}:
            self.fields.append(attrs)

    def handle_endtag(self, tag):
        self._in_title = False if tag == "title" else self._in_title

    def handle_data(self, data):
        if self._in_title:
            self.title += data


@pytest.fixture
def farm(db, private_media):
    return build_farm()


@pytest.fixture
def outlines(farm, client, sign_in):
    """Each screen's outline, read by its own visitor."""
    browsers = {"anonymous": client}
    result = {}
    for screen in SCREENS:
        if screen.who not in browsers:
            browsers[screen.who] = sign_in(getattr(farm, screen.who))
        response = browsers[screen.who].get(screen.url(farm), follow=True)
        assert response.status_code == screen.status, screen
        result[screen] = Outline(response.content.decode())
    return result


def test_every_screen_has_one_h1_and_a_meaningful_title(outlines):
    for screen, outline in outlines.items():
        assert outline.h1 == 1, f"{screen}: {outline.h1} h1"
        assert outline.title.endswith(SUFFIX) and outline.title.removesuffix(SUFFIX).strip(), screen


def test_no_two_screens_share_a_title(outlines, farm):
    titles = {}
    for screen, outline in outlines.items():
        views = titles.setdefault(outline.title, set())
        views.add(resolve(screen.url(farm)).view_name if screen.status != 404 else "404")
    shared = {title: views for title, views in titles.items() if len(views) > 1}
    assert not shared


def test_every_screen_but_the_home_page_and_the_error_pages_shows_where_it_is(outlines):
    for screen, outline in outlines.items():
        at_home = screen.name.startswith("mon espace") or screen.name == "accueil"
        assert outline.breadcrumb == (not at_home and screen.status == 200), screen


def test_every_field_is_labelled_and_says_what_browsers_may_fill_in(outlines):
    for screen, outline in outlines.items():
        for field in outline.fields:
            assert field.get("id") in outline.labels, f"{screen}: {field.get('name')} has no label"
            if field.get("type") in TYPED:
                assert field.get("autocomplete"), f"{screen}: {field.get('name')} has no autocomplete"
