"""PRODUCT §7 in a browser: the home speaks to a manager, a requester, a refused user and a centre's accountant."""

import re

import pytest
from playwright.sync_api import expect

from structures.models import Membership
from tests.e2e.pages import LoginPage, MySpacePage, assert_accessible
from tests.factories import (
    PASSWORD,
    ApprovalRequestFactory,
    BankAccountFactory,
    MembershipFactory,
    StructureFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser


def signed_in(page, site, user) -> MySpacePage:
    LoginPage(page).sign_in(site.url, user.email, PASSWORD)
    return MySpacePage(page).wait(user.first_name)


def test_a_manager_reads_the_steps_of_their_farm(page, site, db, private_media, screenshots):
    manager = UserFactory(email="jeanne.martin@exemple.fr", first_name="Jeanne", last_name="Martin")
    farm = StructureFactory(siret="73282932000074", name="EARL Martin")
    MembershipFactory(user=manager, structure=farm, role=Membership.Role.MAIN_MANAGER)
    BankAccountFactory(structure=farm, created_by=manager)
    ApprovalRequestFactory(structure=farm, requester__first_name="Paul", requester__last_name="Salarié")

    home = signed_in(page, site, manager)

    expect(home.checklist).to_contain_text("Il vous reste 2 étapes à faire.")
    expect(home.step(3)).to_contain_text("Fait")
    expect(home.step(4)).to_contain_text("À faire")
    expect(home.step(5)).to_contain_text("1 demande de rattachement attend votre décision.")
    # The browser draws the numbers: the text of a step starts with its title.
    expect(home.step(1)).to_have_text(re.compile(r"^\s*Créer votre compte utilisateur"))
    # The farm's steps are drawn 3 to 5, by the DSFR's counter as by the list's own numbering.
    drawn = home.step(3).evaluate(
        "li => getComputedStyle(li.parentElement).counterReset + ' / ' + li.parentElement.start"
    )
    assert drawn == "li-counter 2 / 3", drawn
    assert_accessible(page)
    home.screenshot(screenshots / "home-manager.png")
    home.step(5).get_by_role("link", name="Approbations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approbations")


def test_a_requester_reads_their_request_and_who_decides(page, site, db, screenshots):
    requester = UserFactory(email="paul.salarie@exemple.fr", first_name="Paul", last_name="Salarié")
    ApprovalRequestFactory(requester=requester, structure=StructureFactory(siret="73282932000074", name="EARL Martin"))

    home = signed_in(page, site, requester)

    expect(home.checklist).to_contain_text("Demande de rattachement à EARL Martin (SIRET 73282932000074), déposée le")
    expect(home.checklist).to_contain_text("Les gestionnaires de la structure décident de votre demande")
    expect(home.checklist).not_to_contain_text("À faire")
    expect(page.get_by_role("navigation", name="Menu principal")).not_to_contain_text("Approbations")
    assert_accessible(page)
    home.screenshot(screenshots / "home-requester.png")
    home.checklist.get_by_role("link", name="Mes rattachements").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rattachements")


def test_a_refused_user_reads_the_reason_and_asks_again(page, site, db):
    requester = UserFactory(first_name="Igor", last_name="Inconnu")
    request = ApprovalRequestFactory(requester=requester, structure=StructureFactory(name="EARL Martin"))
    request.refuse(UserFactory(), "Cette personne ne travaille pas sur l'exploitation.")
    request.save()

    home = signed_in(page, site, requester)

    expect(home.checklist).to_contain_text("Il vous reste 1 étape à faire.")
    expect(home.checklist).to_contain_text("Motif : Cette personne ne travaille pas sur l'exploitation.")
    expect(home.step(3)).to_contain_text("Rejoindre une structure")
    expect(home.checklist).not_to_contain_text("et votre structure")
    assert_accessible(page)
    home.step(3).get_by_role("link", name="Demander un rattachement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demander un rattachement")


def test_a_management_centre_reads_its_portfolio(page, site, db, private_media):
    accountant = UserFactory(first_name="Claire", last_name="Compta")
    centre = StructureFactory(name="CER Drôme", is_agricultural_centre=True)
    MembershipFactory(user=accountant, structure=centre, role=Membership.Role.MANAGER)
    complete = StructureFactory(name="EARL Aubépine", pacage="026111111", beneficiary_category="farming_company")
    BankAccountFactory(structure=complete)
    for farm in [complete, StructureFactory(name="GAEC Bruyère", pacage="026222222")]:
        MembershipFactory(user=accountant, structure=farm)

    home = signed_in(page, site, accountant)

    expect(home.step(3)).to_contain_text("Sans objet")
    expect(home.step(4)).to_contain_text("déclarée centre de gestion agricole")
    portfolio = page.get_by_role("table", name=re.compile("Exploitations clientes"))
    expect(portfolio.get_by_role("row").filter(has_text="EARL Aubépine")).to_contain_text("Complète")
    expect(portfolio.get_by_role("row").filter(has_text="GAEC Bruyère")).to_contain_text(
        "Il manque : coordonnées bancaires par défaut avec RIB, catégorie de bénéficiaire."
    )
    assert_accessible(page)
    portfolio.get_by_role("link", name=re.compile("GAEC Bruyère")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("GAEC Bruyère")
