"""Memento steps 3 and 4 in a real browser, as a main manager who has just signed in."""

import re
import time

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from chorus import reauth
from structures.models import BankAccount, Membership
from tests.e2e.pages import BankAccountPage, LoginPage, MySpacePage, StructurePage, StructuresPage
from tests.factories import PASSWORD, MembershipFactory, StructureFactory, UserFactory
from tests.structures.conftest import PDF

pytestmark = pytest.mark.browser


def let_the_password_confirmation_expire(page) -> None:
    """As if the password had last been typed more than `REAUTHENTICATION_MAX_AGE` seconds ago."""
    [cookie] = [cookie for cookie in page.context.cookies() if cookie["name"] == settings.SESSION_COOKIE_NAME]
    session = SessionStore(session_key=cookie["value"])
    session[reauth.SESSION_KEY] = int(time.time()) - settings.REAUTHENTICATION_MAX_AGE - 1
    session.save()


@pytest.fixture
def farmer(db, private_media):
    user = UserFactory(email="jeanne.martin@exemple.fr", first_name="Jeanne", last_name="Martin")
    structure = StructureFactory(siret="73282932000074", name="EARL Martin")
    MembershipFactory(user=user, structure=structure, role=Membership.Role.MAIN_MANAGER)
    return user


def test_a_manager_registers_bank_details_then_edits_her_structure(page, site, farmer, mailoutbox, screenshots):
    LoginPage(page).sign_in(site.url, farmer.email, PASSWORD)
    home = MySpacePage(page).wait("Jeanne")
    expect(home.step(3)).to_contain_text("À faire")

    # Step 3: « Organisation » → « Structures » → « Créer une coordonnée bancaire ».
    structures = StructuresPage(page).open_from_home()
    structures.application("Créer une coordonnée bancaire")
    bank = BankAccountPage(page)
    expect(bank.field("Structure")).to_have_value(str(farmer.memberships.get().structure_id))
    bank.fill(
        label="Compte courant",
        iban="FR76 3000 6000 0112 3456 7890 189",
        rib={"name": "rib.pdf", "mimeType": "application/pdf", "buffer": PDF},
    )
    # Leaving the IBAN field proposes the BIC of its bank.
    expect(bank.field("BIC")).to_have_value("AGRIFRPPXXX")
    expect(bank.bic_status).to_have_text(re.compile("BIC proposé d'après l'IBAN : AGRIFRPPXXX"))
    bank.screenshot(screenshots / "bank-account.png")
    bank.submit()

    expect(page.get_by_role("heading", level=1)).to_have_text("Compte courant")
    expect(page.get_by_role("status")).to_contain_text("est enregistrée")
    expect(page.get_by_text("FR76 3000 6000 0112 3456 7890 189")).to_be_visible()
    expect(page.get_by_text("Coordonnée par défaut")).to_be_visible()
    assert BankAccount.objects.get().rib_content_type == "application/pdf"
    assert any("Une coordonnée bancaire a été créée" in mail.subject for mail in mailoutbox)

    # Step 4: « Gérer une structure », « Modifier une structure », then « Identifiant ». What refunds will
    # carry is protected as bank details are: the password, typed at sign-in, is asked again once it is old.
    let_the_password_confirmation_expire(page)
    page.get_by_role("navigation", name=re.compile("vous êtes ici", re.I)).get_by_role(
        "link", name="Structures"
    ).click()
    StructuresPage(page).application("Gérer une structure")
    structure = StructurePage(page)
    structure.choose("Modifier une structure", "73282932000074 – EARL Martin", identity=(farmer.email, PASSWORD))
    expect(structure.field("SIRET")).to_have_value("73282932000074")
    expect(structure.field("SIREN")).to_have_value("732829320")
    structure.field("Adresse", exact=True).fill("12 route de Crest")
    structure.field("Code postal").fill("26400")
    structure.field("Ville").fill("Crest")
    # Ticking « centre de gestion agricole » sets the two refund fields aside; unticking brings them back.
    centre = structure.field("L'organisation est un centre de gestion agricole")
    structure.tick(centre)
    expect(structure.field("Numéro PACAGE")).to_be_disabled()
    structure.tick(centre, checked=False)
    expect(structure.field("Numéro PACAGE")).to_be_enabled()
    structure.field("Catégorie de bénéficiaire").select_option(label="Exploitant agricole à titre individuel")
    structure.field("Numéro PACAGE").fill("026123456")
    structure.screenshot(screenshots / "structure-update.png")
    structure.submit()

    expect(structure.confirmation).to_be_visible()
    assert any("Les informations de la structure ont changé" in mail.subject for mail in mailoutbox)
    page.reload()
    expect(structure.field("Numéro PACAGE")).to_have_value("026123456")
    expect(structure.field("Catégorie de bénéficiaire")).to_have_value("individual_farmer")
    expect(page.get_by_role("table", name=re.compile("Modification du"))).to_contain_text("026123456")

    page.goto(site.url + "/")
    expect(home.step(3)).to_contain_text("Fait")
    expect(home.step(4)).to_contain_text("Fait")


def test_a_forged_rib_is_refused_in_the_browser(page, site, farmer):
    LoginPage(page).sign_in(site.url, farmer.email, PASSWORD)
    MySpacePage(page).wait("Jeanne")
    page.goto(site.url + "/organisation/structures/coordonnees-bancaires/creer/")
    bank = BankAccountPage(page)
    bank.fill(
        label="Compte courant",
        iban="FR76 3000 6000 0112 3456 7890 189",
        bic="AGRIFRPP",
        rib={"name": "rib.pdf", "mimeType": "application/pdf", "buffer": b"<html><script>alert(1)</script></html>"},
    )
    bank.submit()

    bank.expect_error()
    expect(bank.error_summary).to_contain_text("Le fichier « rib.pdf » n'est ni un PDF, ni une image PNG ou JPEG")
    assert not BankAccount.objects.exists()
