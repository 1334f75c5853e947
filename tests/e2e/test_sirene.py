"""The SIRENE directory in a real browser: the sample stock of 1 November 2026 in service, a farmer signs up with
EARL DU PLATEAU's SIRET, finds the directory's name and address on the recap and on her new structure, then, having
renamed it, takes the name back from « Comparer avec le répertoire SIRENE »."""

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from sirene import importer
from structures.models import Structure
from tests.e2e.pages import (
    ActivationPage,
    MySpacePage,
    PortalPage,
    RecapPage,
    SignupPage,
    StructurePage,
    StructuresPage,
    activation_link,
    assert_accessible,
    labelled,
)

pytestmark = pytest.mark.browser

SAMPLE = Path(importer.__file__).resolve().parent / "sample"
EMAIL = "claire.plateau@exemple.fr"
PASSWORD = "Tracteur-Bleu-Colza-2031"


@pytest.fixture
def directory(db):
    importer.load(
        str(SAMPLE / "StockEtablissement_sample.csv"),
        str(SAMPLE / "StockUniteLegale_sample.csv"),
        stock_date=date(2026, 11, 1),
    )


def test_a_farmer_signs_up_with_a_listed_siret_and_takes_the_name_back_from_the_directory(
    page, site, directory, mailoutbox, screenshots
):
    main = page.get_by_role("main")

    # « Créer un compte » with the SIRET as people type it: the recap says what the directory holds.
    signup = SignupPage(page).open(site.url)
    signup.fill(email=EMAIL, first_name="Claire", last_name="Plateau", siret="732 829 320 00017")
    signup.answer_captcha().submit()
    recap = RecapPage(page).wait()
    expect(recap.content).to_contain_text("EARL DU PLATEAU")
    expect(recap.content).to_contain_text("12 BIS ROUTE DE LA FORET")
    expect(recap.content).to_contain_text("répertoire SIRENE (stock du 01/11/2026)")

    # The mail's link, a password: the structure is created with the directory's name and address.
    page.goto(activation_link(mailoutbox, EMAIL, origin=site.url))
    ActivationPage(page).wait().submit(PASSWORD)
    MySpacePage(page).wait("Claire")
    StructuresPage(page).open_from_home()
    main.get_by_role("link", name="EARL DU PLATEAU").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("EARL DU PLATEAU")
    expect(main).to_contain_text("12 BIS ROUTE DE LA FORET")
    expect(main).to_contain_text("26400")
    expect(main).to_contain_text("CREST")

    # She completes it in « Modifier une structure », renaming it on the way (activating counts as typing the
    # password: it is not asked again).
    page.get_by_role("navigation", name=re.compile("vous êtes ici", re.I)).get_by_role(
        "link", name="Structures"
    ).click()
    StructuresPage(page).application("Gérer une structure")
    structure = StructurePage(page)
    structure.choose("Modifier une structure", "73282932000017 – EARL DU PLATEAU")
    structure.field("Libellé de la structure").fill("EARL du Plateau de Crest")
    structure.field("Catégorie de bénéficiaire").select_option(label="Société agricole (GAEC, EARL, SCEA…)")
    structure.field("Numéro PACAGE").fill("026123456")
    structure.submit()
    expect(structure.confirmation).to_be_visible()

    # « Comparer avec le répertoire SIRENE »: the name differs, she ticks it and takes the directory's.
    main.get_by_role("link", name="Comparer avec le répertoire SIRENE").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Comparer avec le répertoire SIRENE")
    name = labelled(page, "Libellé de la structure")
    expect(name).not_to_be_checked()
    comparison = PortalPage(page)
    comparison.tick(name)
    assert_accessible(page)
    page.screenshot(path=screenshots / "sirene-comparison.png", full_page=True)
    main.get_by_role("button", name="Reprendre les informations cochées").click()

    expect(page.get_by_role("status")).to_contain_text("Les informations cochées sont reprises du répertoire SIRENE.")
    expect(structure.field("Libellé de la structure")).to_have_value("EARL DU PLATEAU")
    farm = Structure.objects.get(siret="73282932000017")
    assert (farm.name, farm.address, farm.postal_code, farm.city) == (
        "EARL DU PLATEAU",
        "12 BIS ROUTE DE LA FORET",
        "26400",
        "CREST",
    )
    assert any("Les informations de la structure ont changé" in mail.subject for mail in mailoutbox)
