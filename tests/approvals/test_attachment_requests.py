"""« Demander un rattachement » and « Mes rattachements », as the requester sees them."""

import pytest
from django.urls import reverse

from approvals.forms import UNKNOWN_SIRET
from approvals.models import ApprovalRequest
from structures.models import Membership
from tests.factories import ApprovalRequestFactory, MembershipFactory, UserFactory, make_siret

REQUEST = reverse("approvals:request_attachment")
MINE = reverse("approvals:my_memberships")


def test_a_user_asks_to_be_attached_by_siret_and_the_main_manager_is_told(client, requester, farm, manager, outbox):
    client.force_login(requester)
    spaced = " ".join([farm.siret[:3], farm.siret[3:6], farm.siret[6:9], farm.siret[9:]])

    response = client.post(REQUEST, {"siret": spaced, "comment": "  Comptable de l'exploitation.  "}, follow=True)

    assert response.redirect_chain == [(MINE, 302)]
    assert f"Votre demande de rattachement à la structure {farm.siret} est envoyée à ses gestionnaires" in response.text
    approval_request = ApprovalRequest.objects.get()
    assert (approval_request.requester, approval_request.structure, approval_request.state) == (
        requester,
        farm,
        "requested",
    )
    assert approval_request.comment == "Comptable de l'exploitation."
    [mail] = outbox()
    assert mail.to == [manager.email]
    assert "Romane Demande (romane@exemple.fr) demande à être rattaché(e)" in mail.body
    assert "Comptable de l'exploitation." in mail.body
    assert f"/approbations/{approval_request.pk}/" in mail.body
    assert "centre de gestion agricole" not in mail.body
    assert "Comptable de l&#x27;exploitation." in mail.alternatives[0].content


def test_a_centre_user_asking_for_a_client_farm_is_flagged_in_the_mail(client, centre_user, farm, outbox):
    client.force_login(centre_user)

    client.post(REQUEST, {"siret": farm.siret})

    [mail] = outbox()
    assert "Cette personne appartient à un centre de gestion agricole" in mail.body


@pytest.mark.parametrize(
    ("siret", "message"),
    [
        ("", "Saisissez le SIRET de la structure."),
        ("1234", "Le SIRET compte exactement 14 chiffres."),
        ("1234567890123A", "Le SIRET ne doit contenir que des chiffres"),
        ("12345678901234", "sa clé de contrôle est fausse"),
        ("<script>", "Le SIRET"),
    ],
)
def test_a_malformed_siret_is_refused_next_to_the_field(client, requester, siret, message):
    client.force_login(requester)

    response = client.post(REQUEST, {"siret": siret})

    assert response.status_code == 200
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert not ApprovalRequest.objects.exists()


def test_an_unknown_siret_says_so_and_files_nothing(client, requester, outbox):
    client.force_login(requester)

    response = client.post(REQUEST, {"siret": make_siret()})

    assert "Aucune structure n&#x27;est inscrite sur le portail avec ce SIRET." in response.text
    assert UNKNOWN_SIRET.startswith("Aucune structure")
    assert not ApprovalRequest.objects.exists()
    assert outbox() == []


def test_asking_again_while_pending_or_once_attached_is_refused_clearly(client, requester, farm, pending, attached):
    client.force_login(requester)
    again = client.post(REQUEST, {"siret": farm.siret})
    client.force_login(attached)
    member = client.post(REQUEST, {"siret": farm.siret})

    assert "Vous avez déjà une demande de rattachement en attente pour cette structure." in again.text
    assert "Vous êtes déjà rattaché(e) à cette structure." in member.text
    assert ApprovalRequest.objects.count() == 1


def test_a_second_manager_is_told_too_but_not_an_inactive_one(client, requester, farm, manager, second_manager, outbox):
    second_manager.is_active = False
    second_manager.save()
    active_manager = MembershipFactory(structure=farm, role=Membership.Role.MANAGER).user
    client.force_login(requester)

    client.post(REQUEST, {"siret": farm.siret})

    mails = {mail.to[0]: mail for mail in outbox()}
    assert set(mails) == {manager.email, active_manager.email}
    assert "En tant que gestionnaire principal" in mails[manager.email].body
    assert "En tant que gestionnaire," in mails[active_manager.email].body


def test_siret_look_ups_are_limited_per_address_too(client, settings, farm):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "attachment_ip": 2}
    for user in UserFactory.create_batch(2):
        client.force_login(user)
        client.post(REQUEST, {"siret": make_siret()})
    client.force_login(UserFactory())

    response = client.post(REQUEST, {"siret": farm.siret})

    assert "Vous avez fait beaucoup de recherches de SIRET en une heure." in response.text
    assert not ApprovalRequest.objects.exists()


def test_siret_look_ups_are_limited_per_account(client, requester, settings, farm):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "attachment": 3}
    client.force_login(requester)
    for _ in range(3):
        client.post(REQUEST, {"siret": make_siret()})

    response = client.post(REQUEST, {"siret": farm.siret})

    assert "Vous avez fait beaucoup de recherches de SIRET en une heure." in response.text
    assert not ApprovalRequest.objects.exists()


def test_the_form_and_an_empty_post_ask_for_the_siret(client, requester):
    client.force_login(requester)

    assert "SIRET de la structure" in client.get(REQUEST).text
    assert "Saisissez le SIRET de la structure." in client.post(REQUEST, {}).text


def test_my_memberships_list_my_structures_and_my_requests_with_their_outcome(
    client, attached, farm, manager, other_manager
):
    other = other_manager.memberships.get().structure
    refused = ApprovalRequestFactory(requester=attached, structure=other)
    refused.refuse(other_manager, "Nous ne vous connaissons pas.")
    waiting = ApprovalRequestFactory(requester=attached, structure=other)
    client.force_login(attached)

    html = client.get(MINE).text

    assert farm.siret in html and "Utilisateur" in html
    assert "Refusé" in html and "Nous ne vous connaissons pas." in html
    assert "Demandé" in html and "En attente du gestionnaire principal" in html
    assert reverse("approvals:withdraw", args=[waiting.pk]) in html
    assert reverse("approvals:withdraw", args=[refused.pk]) not in html


def test_withdrawing_a_pending_request_closes_it(client, requester, pending, manager):
    client.force_login(requester)

    response = client.post(reverse("approvals:withdraw", args=[pending.pk]), follow=True)

    assert response.redirect_chain == [(MINE, 302)]
    assert "est retirée" in response.text
    pending.refresh_from_db()
    assert (pending.state, pending.decided_by) == ("withdrawn", requester)
    client.force_login(manager)
    assert "romane@exemple.fr" not in client.get(reverse("approvals:approval_list")).text


def test_a_decided_request_cannot_be_withdrawn(client, requester, pending, manager):
    pending.approve(manager)
    client.force_login(requester)

    response = client.post(reverse("approvals:withdraw", args=[pending.pk]), follow=True)

    assert "Cette demande a déjà été traitée." in response.text
    pending.refresh_from_db()
    assert pending.state == "approved"


def test_nobody_withdraws_someone_elses_request(client, pending, manager, attached):
    for user in [manager, attached]:
        client.force_login(user)
        assert client.post(reverse("approvals:withdraw", args=[pending.pk])).status_code == 404
    pending.refresh_from_db()
    assert pending.state == "requested"


def test_a_withdrawn_request_can_be_filed_again(client, requester, pending, farm):
    pending.withdraw()
    client.force_login(requester)

    client.post(REQUEST, {"siret": farm.siret})

    assert ApprovalRequest.objects.filter(requester=requester, structure=farm).count() == 2
    assert not Membership.objects.filter(user=requester).exists()


def test_the_checklist_leads_each_user_to_their_step_five(client, requester, manager, pending):
    client.force_login(manager)
    managers_home = client.get(reverse("home")).text
    client.force_login(requester)
    requesters_home = client.get(reverse("home")).text
    pending.withdraw()
    after_withdrawal = client.get(reverse("home")).text

    assert "1 demande de rattachement attend votre décision." in managers_home
    assert f'href="{reverse("approvals:approval_list")}"' in managers_home
    assert "Les gestionnaires de la structure décident de votre demande" in requesters_home
    assert "Vous n&#x27;êtes rattaché(e) à aucune structure." in after_withdrawal
    assert f'href="{REQUEST}">Demander un rattachement</a>' in after_withdrawal
