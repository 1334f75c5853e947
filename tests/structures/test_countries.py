"""The structure's country list: French names, each country once, and the overseas départements as France."""

import html
import re
from importlib import import_module

import pytest
from django.apps import apps
from django.urls import reverse

from structures.models import Structure
from tests.factories import STRUCTURE_FORM

OVERSEAS_DEPARTMENTS = ["Guadeloupe", "Guyane", "Guyane française", "Martinique", "Mayotte", "Réunion", "Réunion, La"]


def update_url(structure):
    return reverse("structures:structure_update", args=[structure.pk])


@pytest.fixture
def countries(sign_in, manager, farm):
    """The options of the form's « Pays » list, as the manager sees them: (code, name)."""
    page = sign_in(manager).get(update_url(farm)).text
    select = re.search(r'(?s)<select name="country".*?</select>', page).group()
    return [(code, html.unescape(name).strip()) for code, name in re.findall(r'value="(\w*)"[^>]*>([^<]*)<', select)]


def test_france_comes_first_and_no_country_is_listed_twice(countries):
    names = [name for _, name in countries]

    assert countries[0] == ("FR", "France")
    assert len(names) == len(set(names))


def test_guyana_and_the_marshall_islands_have_their_french_names(countries):
    names = dict(countries)

    assert names["GY"] == "Guyana"
    assert names["MH"] == "Îles Marshall"


def test_an_overseas_departement_is_not_a_country(countries):
    names = [name for _, name in countries]

    assert [name for name in OVERSEAS_DEPARTMENTS if name in names] == []
    assert "Polynésie française" in names and "Nouvelle-Calédonie" in names  # overseas collectivities stay


def test_an_address_in_cayenne_is_a_french_address(sign_in, manager, farm):
    data = {**STRUCTURE_FORM, "postal_code": "97300", "city": "Cayenne", "country": "FR"}

    response = sign_in(manager).post(update_url(farm), data)

    assert response.status_code == 302
    farm.refresh_from_db()
    assert (farm.country.code, farm.postal_code, farm.city) == ("FR", "97300", "Cayenne")


def test_french_guiana_as_a_country_is_refused_next_to_the_field(sign_in, manager, farm):
    before = Structure.objects.filter(pk=farm.pk).values().get()

    response = sign_in(manager).post(update_url(farm), {**STRUCTURE_FORM, "country": "GF"})

    assert response.status_code == 200
    assert "country" in response.context["form"].errors
    assert "Sélectionnez un choix valide" in response.text
    assert Structure.objects.filter(pk=farm.pk).values().get() == before


@pytest.mark.django_db
def test_a_structure_saved_in_an_overseas_departement_becomes_french(farm):
    """The data migration: the form could no longer show or keep « Guyane » as a country."""
    Structure.objects.filter(pk=farm.pk).update(country="GF", postal_code="97300")
    import_module("structures.migrations.0003_overseas_departments_are_france").to_france(apps, None)

    farm.refresh_from_db()
    assert (farm.country, farm.postal_code) == ("FR", "97300")


def chosen_and_flagged(page: str) -> tuple[list[str], bool]:
    """The « Pays » list as drawn: the codes marked selected, and whether it is marked invalid."""
    select = re.search(r'(?s)<select name="country"[^>]*>.*?</select>', page).group()
    opening = select.split(">", 1)[0]
    return re.findall(r'value="(\w*)" selected', select), 'aria-invalid="true"' in opening


def test_the_country_list_drawn_once_still_shows_each_structure_its_own_country(sign_in, manager, farm):
    """The list is drawn once and reused (chorus.forms.FormRenderer): what differs between two pages still does."""
    browser = sign_in(manager)
    first, _ = chosen_and_flagged(browser.get(update_url(farm)).text)
    Structure.objects.filter(pk=farm.pk).update(country="BE", postal_code="1000")
    second, _ = chosen_and_flagged(browser.get(update_url(farm)).text)
    _, refused = chosen_and_flagged(browser.post(update_url(farm), {**STRUCTURE_FORM, "country": "GF"}).text)
    _, accepted_again = chosen_and_flagged(browser.get(update_url(farm)).text)

    assert (first, second) == (["FR"], ["BE"])
    assert (refused, accepted_again) == (True, False)
