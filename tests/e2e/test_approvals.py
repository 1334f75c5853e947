"""Memento step 5 in a real browser: two people ask to join the farm, its main manager decides."""

import re

import pytest
from playwright.sync_api import expect

from approvals.models import ApprovalRequest
from structures.models import Membership
from tests.e2e.pages import (
    ActivationPage,
    ApprovalsPage,
    LoginPage,
    MyAttachmentsPage,
    MySpacePage,
    RecapPage,
    SignupPage,
    activation_link,
    sign_out,
)
from tests.factories import PASSWORD, MembershipFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.browser

SIRET = "73282932000074"
NEW_PASSWORD = "Tracteur-Bleu-Colza-2031"


@pytest.fixture
def farmer(db):
    user = UserFactory(email="jeanne.martin@exemple.fr", first_name="Jeanne", last_name="Martin")
    structure = StructureFactory(siret=SIRET, name="EARL Martin")
    MembershipFactory(user=user, structure=structure, role=Membership.Role.MAIN_MANAGER)
    return user


def join(page, site, mailoutbox, email: str, first_name: str, last_name: str) -> None:
    """Signs up with the farm's SIRET and activates the account: the request reaches the manager then."""
    signup = SignupPage(page).open(site.url)
    signup.fill(email=email, first_name=first_name, last_name=last_name, siret=SIRET)
    signup.answer_captcha().submit()
    expect(
        RecapPage(page).wait().callout("Une demande de rattachement sera transmise aux gestionnaires de la structure")
    ).to_be_visible()
    page.goto(activation_link(mailoutbox, email, origin=site.url))
    ActivationPage(page).wait().submit(NEW_PASSWORD)
    MySpacePage(page).wait(first_name)
    sign_out(page)


def test_the_main_manager_approves_one_request_and_refuses_another_with_a_reason(
    page, site, farmer, mailoutbox, screenshots
):
    join(page, site, mailoutbox, "paul.salarie@exemple.fr", "Paul", "Salarié")
    join(page, site, mailoutbox, "inconnu@exemple.fr", "Igor", "Inconnu")
    to_manager = [m for m in mailoutbox if m.to == [farmer.email]]
    assert len(to_manager) == 2 and all("Nouvelle demande de rattachement" in m.subject for m in to_manager)

    LoginPage(page).sign_in(site.url, farmer.email, PASSWORD)
    home = MySpacePage(page).wait("Jeanne")
    expect(home.step(5)).to_contain_text("2 demandes de rattachement attendent votre décision")
    approvals = ApprovalsPage(page)
    expect(approvals.menu_link).to_have_accessible_name(re.compile(r"^Approbations\s*2 en attente$"))

    approvals.open_from_menu()
    expect(approvals.row("paul.salarie@exemple.fr")).to_contain_text("Demandé")
    expect(approvals.row("paul.salarie@exemple.fr")).to_contain_text("EARL Martin")
    expect(approvals.row("paul.salarie@exemple.fr")).to_contain_text(re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}"))
    approvals.screenshot(screenshots / "approvals.png")

    request = approvals.open_request("paul.salarie@exemple.fr")
    expect(page.get_by_text("Jeanne Martin (jeanne.martin@exemple.fr)")).to_be_visible()
    request.screenshot(screenshots / "approval-request.png")
    request.approve()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approbations")
    expect(page.get_by_role("status")).to_contain_text(
        "Demande approuvée : Paul Salarié est rattaché(e) à la structure EARL Martin"
    )
    expect(approvals.menu_link).to_have_accessible_name(re.compile(r"^Approbations\s*1 en attente$"))

    request = approvals.open_request("inconnu@exemple.fr")
    request.refuse("Cette personne ne travaille pas sur l'exploitation.")
    expect(page.get_by_role("status")).to_contain_text("Demande refusée")
    expect(approvals.menu_link).to_have_accessible_name("Approbations")
    expect(page.get_by_text("Aucune demande à afficher dans cet état.")).to_be_visible()

    paul, igor = (
        ApprovalRequest.objects.get(requester__email=email)
        for email in ["paul.salarie@exemple.fr", "inconnu@exemple.fr"]
    )
    assert (paul.state, paul.decided_by, igor.state) == ("approved", farmer, "refused")
    assert Membership.objects.get(user=paul.requester).role == Membership.Role.USER
    assert not Membership.objects.filter(user=igor.requester).exists()
    [refusal] = [m for m in mailoutbox if m.to == ["inconnu@exemple.fr"] and "refusée" in m.subject]
    assert "Cette personne ne travaille pas sur l'exploitation." in refusal.body
    assert any(m.to == ["paul.salarie@exemple.fr"] and "approuvé" in m.subject for m in mailoutbox)


def test_a_management_centre_user_asks_for_a_client_farm_and_its_manager_approves(page, site, farmer, mailoutbox):
    centre = StructureFactory(name="Centre de gestion du Bocage", is_agricultural_centre=True)
    claire = UserFactory(email="claire@centre-bocage.fr", first_name="Claire", last_name="Comptable")
    MembershipFactory(user=claire, structure=centre, role=Membership.Role.USER)

    LoginPage(page).sign_in(site.url, claire.email, PASSWORD)
    MySpacePage(page).wait("Claire")
    attachments = MyAttachmentsPage(page).open_from_home()
    attachments.ask("732 829 320 00074", "L'EARL Martin nous a confié ses demandes de remboursement.")
    expect(page.get_by_role("status")).to_contain_text("est envoyée à ses gestionnaires")
    expect(attachments.request_row(SIRET)).to_contain_text("Demandé")
    sign_out(page)

    LoginPage(page).sign_in(site.url, farmer.email, PASSWORD)
    approvals = ApprovalsPage(page).open_from_menu()
    expect(approvals.row("claire@centre-bocage.fr")).to_contain_text("Centre de gestion agricole")
    approvals.open_request("claire@centre-bocage.fr")
    expect(page.get_by_role("heading", name="Délégation à un centre de gestion agricole")).to_be_visible()
    expect(page.get_by_text("L'EARL Martin nous a confié ses demandes de remboursement.")).to_be_visible()
    page.get_by_role("button", name="Approuver").click()
    expect(page.get_by_role("status")).to_contain_text("Demande approuvée : Claire Comptable")

    assert Membership.objects.get(user=claire, structure__siret=SIRET).role == Membership.Role.USER
    to_manager = next(m for m in mailoutbox if m.to == [farmer.email])
    assert "Cette personne appartient à un centre de gestion agricole" in to_manager.body
