"""The admin's lists fit a 1280-pixel screen, as support uses them, even with long names."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from approvals.models import ApprovalRequest
from audit.log import record
from audit.models import Action
from refunds.models import RefundRequest
from structures.models import Membership, Structure
from tests.e2e.pages import LoginPage, assert_accessible
from tests.factories import (
    PASSWORD,
    ApprovalRequestFactory,
    BankAccountFactory,
    MembershipFactory,
    PendingUserFactory,
    RefundRequestFactory,
    StructureFactory,
    UserFactory,
    refund_reference_data,
)

pytestmark = pytest.mark.browser

LONG_NAME = (
    "Groupement agricole d'exploitation en commun des Coteaux de la Vallée de la Drôme, du Diois et des Baronnies"
)
LONG_ADDRESS = "marie-christine.de-la-fontaine-agricole@exploitation-des-coteaux.fr"


@pytest.fixture
def agent(support_group):
    agent = UserFactory(email="denise.support@exemple.fr", first_name="Denise", is_staff=True)
    agent.groups.add(support_group)
    TOTPDevice.objects.create(user=agent, name="Téléphone", confirmed=True)  # the admin asks for an application
    return agent


def sign_in_to_the_admin(page, site, agent):
    LoginPage(page).sign_in(site.url, agent.email, PASSWORD, next_path="/administration/")


def overflow(page, selector: str) -> int:
    """How many pixels the element's content is wider than its box (0: no horizontal scrollbar)."""
    return page.locator(selector).evaluate("box => box.scrollWidth - box.clientWidth")


def test_the_approvals_list_fits_1280_pixels_with_a_long_structure_name(page, site, agent):
    structure = StructureFactory(name=LONG_NAME)
    newcomer = PendingUserFactory(
        email="marie-christine.de-la-fontaine-agricole@exploitation-des-coteaux.fr",
        first_name="Marie-Christine",
        last_name="de La Fontaine-Rochebrune",
    )
    waiting = ApprovalRequestFactory(requester=newcomer, structure=structure, comment="Salariée de l'exploitation")
    ApprovalRequest.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(days=12))
    ApprovalRequestFactory(structure=StructureFactory(name="EARL du Moulin"))
    decided = ApprovalRequestFactory(structure=StructureFactory(name=LONG_NAME.replace("Drôme", "Drôme provençale")))
    approver = UserFactory(
        email="jean-baptiste.gestionnaire@exploitation-des-coteaux.fr",
        first_name="Jean-Baptiste",
        last_name="de La Fontaine",
    )
    decided.refuse(approver, reason="Inconnu de l'exploitation.")
    page.set_viewport_size({"width": 1280, "height": 800})

    sign_in_to_the_admin(page, site, agent)
    page.goto(site.url + "/administration/approvals/approvalrequest/")

    expect(page.get_by_role("row").filter(has_text=newcomer.email)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=newcomer.email)).to_contain_text("il y a 12 jours")
    expect(page.get_by_role("row").filter(has_text="Drôme provençale")).to_contain_text(
        "Refusé par Jean-Baptiste de La Fontaine"
    )
    assert overflow(page, "#changelist .results") == 0  # the results scrolled sideways in their box
    assert overflow(page, "html") == 0
    assert_accessible(page)


@pytest.fixture
def long_rows(db):
    """A few rows for each list, with the longest names and addresses support meets."""
    structure = StructureFactory(
        name=LONG_NAME, pacage="012345678", beneficiary_category=Structure.BeneficiaryCategory.FARMERS_GIE
    )
    other = StructureFactory(name=LONG_NAME.replace("Drôme", "Drôme provençale"), is_agricultural_centre=True)
    farmer = UserFactory(email=LONG_ADDRESS, first_name="Marie-Christine", last_name="de La Fontaine-Rochebrune")
    colleague = PendingUserFactory(
        email="jean-baptiste.gestionnaire@exploitation-des-coteaux.fr",
        first_name="Jean-Baptiste",
        last_name="de La Fontaine",
    )
    MembershipFactory(user=farmer, structure=structure, role=Membership.Role.MAIN_MANAGER)
    MembershipFactory(user=colleague, structure=structure)
    MembershipFactory(user=farmer, structure=other, role=Membership.Role.MANAGER)
    BankAccountFactory(structure=structure, label="Compte courant de l'exploitation au Crédit agricole Sud Rhône-Alpes")
    BankAccountFactory(structure=other, label="Compte épargne", is_default=False)
    record(Action.BANK_CHANGED, actor=farmer, structure=structure, target="Compte courant de l'exploitation")
    record(Action.REQUEST_APPROVED, actor=farmer, structure=other, target=f"Demande de {colleague.email}")
    record(Action.SIGN_IN_FAILED, actor_label=colleague.email, target=colleague.email)
    refund_reference_data()
    RefundRequestFactory(
        structure=structure,
        status=RefundRequest.Status.PARTLY_ACCEPTED,
        number="TIC-2023-000123",
        filed_at=timezone.now(),
        total_asked=Decimal("123456.78"),
    )
    return farmer


@pytest.mark.parametrize(
    "path, row_text, merged",
    [
        ("/administration/accounts/user/", "jean-baptiste", "jamais activé, lien envoyé le "),
        ("/administration/structures/membership/", "Gestionnaire principal", LONG_ADDRESS),
        ("/administration/structures/bankaccount/", "Crédit agricole Sud Rhône-Alpes", "AGRIFRPPXXX"),
        ("/administration/structures/structure/", "Drôme provençale", "centre de gestion"),
        ("/administration/audit/auditevent/", "Coordonnée bancaire modifiée", "(Compte courant de l'exploitation)"),
        ("/administration/refunds/refundrequest/", "TIC-2023-000123", "Partiellement acceptée"),
    ],
    ids=["users", "memberships", "bank-accounts", "structures", "audit", "refund-requests"],
)
def test_support_lists_fit_1280_pixels_with_long_names(page, site, agent, long_rows, path, row_text, merged):
    """Fewer, shorter columns: what two columns said, one says (`merged`), and nothing scrolls sideways."""
    page.set_viewport_size({"width": 1280, "height": 800})

    sign_in_to_the_admin(page, site, agent)
    page.goto(site.url + path)

    expect(page.get_by_role("row").filter(has_text=row_text).first).to_contain_text(merged)
    assert overflow(page, "#changelist .results") == 0
    assert overflow(page, "html") == 0
    assert_accessible(page)
