"""« Gérer une structure » → « Créer une structure » in a real browser, and the sign-up comment reaching the manager."""

import pytest
from playwright.sync_api import expect

from approvals.models import ApprovalRequest
from structures.models import Membership, Structure
from tests.e2e.pages import (
    ActivationPage,
    FormPage,
    LoginPage,
    MySpacePage,
    RecapPage,
    SignupPage,
    StructuresPage,
    activation_link,
    assert_accessible,
    assert_errors_announced,
    labelled,
    sign_out,
)
from tests.factories import PASSWORD, MembershipFactory, StructureFactory, UserFactory, make_siret

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Tracteur-Bleu-Colza-2031"


@pytest.fixture
def employee(db):
    """A simple user of a farm: they manage no structure, yet may create one."""
    user = UserFactory(email="paul.salarie@exemple.fr", first_name="Paul", last_name="Salarié")
    MembershipFactory(user=user, structure=StructureFactory(name="EARL Martin"), role=Membership.Role.USER)
    return user


def test_a_user_creates_a_structure_from_gerer_une_structure(page, site, employee, mailoutbox):
    siret = make_siret()
    LoginPage(page).sign_in(site.url, employee.email, PASSWORD)
    MySpacePage(page).wait("Paul")
    page.goto(site.url + "/organisation/structures/")
    StructuresPage(page).application("Gérer une structure")

    manage = FormPage(page)
    expect(manage.field("Type de demande")).to_have_value("create")
    assert_accessible(page)
    page.get_by_role("main").get_by_role("button", name="Continuer").click()

    create = FormPage(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer une structure")
    assert_accessible(page)
    create.field("SIRET de la structure").fill("732 829 320")
    create.submit()
    create.expect_error()
    expect(page.get_by_text("c'est un SIREN")).to_have_count(2)  # in the summary and next to the field
    assert_errors_announced(page)
    assert_accessible(page)

    create.field("SIRET de la structure").fill(siret)
    create.submit()

    expect(page.get_by_role("status")).to_contain_text(
        f"La structure {siret} est créée : vous en êtes le gestionnaire principal."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(f"SIRET {siret}")
    structure = Structure.objects.get(siret=siret)
    assert structure.memberships.get().user == employee
    assert any(siret in mail.subject and mail.to == [employee.email] for mail in mailoutbox)


def test_the_sign_up_comment_reaches_the_manager(page, site, mailoutbox):
    manager = UserFactory(email="jeanne.martin@exemple.fr", first_name="Jeanne", last_name="Martin")
    farm = StructureFactory(name="EARL Martin")
    MembershipFactory(user=manager, structure=farm, role=Membership.Role.MAIN_MANAGER)
    comment = "Comptable au centre de gestion du Bocage, mandaté par l'EARL."

    signup = SignupPage(page).open(site.url)
    signup.fill(email="claire.compta@exemple.fr", first_name="Claire", last_name="Compta", siret=farm.siret)
    labelled(page, "Commentaire pour le gestionnaire").fill(comment)
    signup.answer_captcha().submit()
    expect(RecapPage(page).wait().content).to_contain_text(comment)
    page.goto(activation_link(mailoutbox, "claire.compta@exemple.fr", origin=site.url))
    ActivationPage(page).wait().submit(NEW_PASSWORD)
    MySpacePage(page).wait("Claire")

    approval_request = ApprovalRequest.objects.get(requester__email="claire.compta@exemple.fr")
    assert approval_request.comment == comment
    [to_manager] = [mail for mail in mailoutbox if mail.to == [manager.email]]
    assert f"« {comment} »" in to_manager.body
    sign_out(page)
    LoginPage(page).sign_in(site.url, manager.email, PASSWORD)
    MySpacePage(page).wait("Jeanne")
    page.goto(site.url + approval_request.get_absolute_url())
    expect(page.get_by_role("main")).to_contain_text(comment)


def test_a_manager_finds_the_only_structure_chosen_and_the_error_state_passes_axe(page, site):
    manager = UserFactory(email="jeanne.martin@exemple.fr", first_name="Jeanne", last_name="Martin")
    farm = StructureFactory(name="EARL Martin")
    MembershipFactory(user=manager, structure=farm, role=Membership.Role.MAIN_MANAGER)
    LoginPage(page).sign_in(site.url, manager.email, PASSWORD)
    MySpacePage(page).wait("Jeanne")
    page.goto(site.url + "/organisation/structures/gerer/")

    manage = FormPage(page)
    expect(manage.field("Type de demande")).to_have_value("modify")
    expect(manage.field("Identifiant")).to_have_value(str(farm.pk))
    manage.field("Identifiant").select_option("")
    page.get_by_role("main").get_by_role("button", name="Continuer").click()

    manage.expect_error()
    expect(page.get_by_text("Choisissez la structure à modifier.")).to_have_count(2)
    assert_errors_announced(page)
    assert_accessible(page)
    page.goto(site.url + "/organisation/structures/gerer/?request_type=create")
    expect(manage.field("Type de demande")).to_have_value("create")
    page.get_by_role("main").get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer une structure")
