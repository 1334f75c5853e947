"""« Gérer une structure » → « Créer une structure », for a signed-in user: the rules of sign-up."""

import pytest
from django.urls import reverse

from approvals.models import ApprovalRequest
from audit.models import Action, AuditEvent
from structures.forms import ManageStructureForm
from structures.models import Membership, Structure
from tests.factories import MembershipFactory, UserFactory, make_siret

MANAGE = reverse("structures:structure_manage")
CREATE = reverse("approvals:structure_create")
MINE = reverse("approvals:my_memberships")
THROTTLED = "Vous avez fait beaucoup de recherches de SIRET en une heure."


def selected(response, name: str) -> str:
    """The value the unsent form shows chosen in `name`."""
    return str(response.context["form"][name].value() or "")


# --- « Gérer une structure » ----------------------------------------------------------------------------------------


def test_the_request_types_are_the_memento_s_two(sign_in, manager):
    response = sign_in(manager).get(MANAGE)

    choices = [label for _, label in response.context["form"].fields["request_type"].choices]
    assert choices == ["Créer une structure", "Modifier une structure"]


def test_the_only_structure_managed_is_chosen_already_and_opens_at_once(sign_in, manager, farm):
    browser = sign_in(manager)
    page = browser.get(MANAGE)

    assert selected(page, "request_type") == "modify"
    assert selected(page, "structure") == str(farm.pk)
    assert f'<option value="{farm.pk}" selected>' in page.text
    # What the browser sends with the preselection: the form opens, no « Ce champ est obligatoire ».
    response = browser.get(MANAGE, {"request_type": "modify", "structure": farm.pk})
    assert response["Location"] == reverse("structures:structure_update", args=[farm.pk])


def test_with_two_structures_none_is_chosen_and_modifying_asks_which(sign_in, manager, farm):
    MembershipFactory(user=manager, role=Membership.Role.MANAGER)
    browser = sign_in(manager)

    assert selected(browser.get(MANAGE), "structure") == ""
    response = browser.get(MANAGE, {"request_type": "modify", "structure": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["structure"] == ["Choisissez la structure à modifier."]


def test_a_link_preselects_creation_without_sending_the_form(sign_in, manager):
    response = sign_in(manager).get(MANAGE, {"request_type": "create"})

    assert response.status_code == 200
    assert selected(response, "request_type") == "create"
    assert not response.context["form"].errors


def test_choosing_creation_leads_to_its_page_whatever_structure_was_picked(sign_in, manager, farm):
    response = sign_in(manager).get(MANAGE, {"request_type": "create", "structure": farm.pk})

    assert response["Location"] == CREATE


def test_a_user_managing_nothing_is_offered_creation_and_told_why_not_modification(sign_in, attached):
    browser = sign_in(attached)
    page = browser.get(MANAGE)

    assert selected(page, "request_type") == "create"
    assert "seuls ses gestionnaires" in page.text
    assert browser.get(MANAGE, {"request_type": "create", "structure": ""})["Location"] == CREATE
    refused = browser.get(MANAGE, {"request_type": "modify", "structure": ""})
    assert refused.context["form"].errors["request_type"] == [ManageStructureForm.NOTHING_TO_MODIFY]


def test_the_structures_page_offers_creation_to_a_user_without_structure(sign_in, outsider):
    response = sign_in(outsider).get(reverse("structures:structure_list"))

    assert MANAGE in response.text and "Créer une structure à partir de son SIRET" in response.text


# --- « Créer une structure » --------------------------------------------------------------------------------------


def test_a_new_siret_creates_the_structure_with_the_user_as_main_manager(sign_in, attached, outbox):
    siret = make_siret()
    browser = sign_in(attached)

    response = browser.post(CREATE, {"siret": f"{siret[:3]} {siret[3:9]} {siret[9:]}", "comment": "Inutile ici."})

    structure = Structure.objects.get(siret=siret)
    assert response["Location"] == structure.get_absolute_url()
    assert Membership.objects.get(structure=structure).user == attached
    assert Membership.objects.get(structure=structure).role == Membership.Role.MAIN_MANAGER
    assert not ApprovalRequest.objects.filter(structure=structure).exists()
    page = browser.get(response["Location"])
    assert f"La structure {siret} est créée : vous en êtes le gestionnaire principal." in page.text
    [mail] = outbox()
    assert mail.to == [attached.notification_email]
    assert siret in mail.subject
    assert "vous en êtes le gestionnaire principal" in mail.body
    assert "Les étapes qui vous restent, en tant que gestionnaire principal de la structure" in mail.body
    assert structure.get_absolute_url() in mail.body
    assert '<ol start="3">' in mail.alternatives[0].content
    actions = set(AuditEvent.objects.filter(structure_id=structure.pk).values_list("action", "actor"))
    assert actions == {(Action.STRUCTURE_CREATED, attached.pk), (Action.MEMBERSHIP_CREATED, attached.pk)}


def test_a_known_siret_files_a_request_with_the_comment_mailed_to_its_managers(
    sign_in, outsider, farm, manager, outbox
):
    browser = sign_in(outsider)

    response = browser.post(CREATE, {"siret": farm.siret, "comment": "  Salarié de l'EARL depuis mars.  "})

    assert response["Location"] == MINE
    approval_request = ApprovalRequest.objects.get()
    assert (approval_request.requester, approval_request.structure) == (outsider, farm)
    assert approval_request.comment == "Salarié de l'EARL depuis mars."
    assert Structure.objects.count() == 1
    assert "est déjà inscrite sur le portail : votre demande de rattachement est envoyée" in browser.get(MINE).text
    [mail] = outbox()
    assert mail.to == [manager.email]
    assert "« Salarié de l'EARL depuis mars. »" in mail.body


def test_an_attached_user_or_one_already_asking_is_told_next_to_the_siret(sign_in, attached, farm, outbox):
    asking = UserFactory()
    ApprovalRequest.objects.create(requester=asking, structure=farm)

    member = sign_in(attached).post(CREATE, {"siret": farm.siret})
    again = sign_in(asking).post(CREATE, {"siret": farm.siret})

    assert "Vous êtes déjà rattaché(e) à cette structure." in member.text
    assert "Vous avez déjà une demande de rattachement en attente pour cette structure." in again.text
    for response in (member, again):
        assert response.status_code == 200
        assert 'aria-invalid="true"' in response.text
    assert ApprovalRequest.objects.count() == 1
    assert outbox() == []


@pytest.mark.parametrize(
    ("siret", "message"),
    [
        ("", "Saisissez le SIRET de la structure."),
        ("732829320", "c&#x27;est un SIREN"),
        ("12345678901234", "sa clé de contrôle est fausse"),
    ],
)
def test_a_bad_siret_is_refused_next_to_the_field_and_nothing_is_made(sign_in, outsider, siret, message):
    response = sign_in(outsider).post(CREATE, {"siret": siret})

    assert response.status_code == 200
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert not Structure.objects.exists()


def test_a_comment_over_2000_characters_is_refused(sign_in, outsider):
    response = sign_in(outsider).post(CREATE, {"siret": make_siret(), "comment": "x" * 2001})

    assert "comment" in response.context["form"].errors
    assert not Structure.objects.exists()


def test_creations_count_with_attachment_requests_per_account(sign_in, outsider, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "attachment": 2}
    browser = sign_in(outsider)
    browser.post(reverse("approvals:request_attachment"), {"siret": make_siret()})
    browser.post(CREATE, {"siret": make_siret()})

    response = browser.post(CREATE, {"siret": make_siret()})

    assert THROTTLED in response.text
    assert Structure.objects.count() == 1


def test_creations_are_limited_per_address_too(client, db, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "attachment_ip": 2}
    for user in UserFactory.create_batch(2):
        client.force_login(user)
        client.post(CREATE, {"siret": make_siret()})
    client.force_login(UserFactory())

    response = client.post(CREATE, {"siret": make_siret()})

    assert THROTTLED in response.text
    assert Structure.objects.count() == 2


def test_the_page_asks_for_the_siret_and_the_comment(sign_in, outsider):
    page = sign_in(outsider).get(CREATE).text

    assert "<h1>Créer une structure</h1>" in page
    assert "SIRET de la structure" in page and "Commentaire pour le gestionnaire" in page


def test_a_structure_created_here_is_unrelated_to_another_user_s(sign_in, outsider, other_manager):
    """Creating never touches another structure: the other manager's stays theirs alone."""
    theirs = other_manager.memberships.get().structure
    sign_in(outsider).post(CREATE, {"siret": make_siret()})

    assert list(theirs.memberships.values_list("user", flat=True)) == [other_manager.pk]


def test_a_user_managing_nothing_reads_why_even_with_a_forged_structure(sign_in, attached, farm):
    response = sign_in(attached).get(MANAGE, {"request_type": "modify", "structure": farm.pk})

    assert response.status_code == 200
    assert response.context["form"].errors == {"request_type": [ManageStructureForm.NOTHING_TO_MODIFY]}
