"""« Approbations »: a manager approves or refuses, once; the requester hears of it."""

import pytest
from django.urls import reverse

from approvals.models import ApprovalRequest
from structures.models import Membership
from tests.factories import ApprovalRequestFactory

LIST = reverse("approvals:approval_list")


def approve_url(approval_request):
    return reverse("approvals:approve", args=[approval_request.pk])


def refuse_url(approval_request):
    return reverse("approvals:refuse", args=[approval_request.pk])


def test_manager_approves_a_request_and_the_requester_is_attached_and_told(
    client, manager, pending, requester, farm, outbox
):
    client.force_login(manager)

    response = client.post(approve_url(pending), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert f"Demande approuvée : Romane Demande est rattaché(e) à la structure {farm.name_and_siret}" in response.text
    pending.refresh_from_db()
    assert (pending.state, pending.decided_by, pending.reason) == ("approved", manager, "")
    assert pending.decided_at is not None
    assert Membership.objects.get(user=requester, structure=farm).role == Membership.Role.USER
    [mail] = outbox()
    assert mail.to == [requester.email]
    assert mail.subject == f"Votre rattachement à la structure {farm.siret} est approuvé"
    assert "a été approuvée le" in mail.body
    assert "/organisation/rattachements/" in mail.body
    assert "a été approuvée le" in mail.alternatives[0].content


def test_a_second_manager_of_the_structure_decides_too(client, second_manager, pending):
    client.force_login(second_manager)

    client.post(approve_url(pending))

    pending.refresh_from_db()
    assert (pending.state, pending.decided_by) == ("approved", second_manager)


def test_refusing_asks_for_the_reason_first(client, manager, pending):
    client.force_login(manager)

    response = client.get(refuse_url(pending))

    assert response.status_code == 200
    assert "Motif du refus" in response.text
    assert "Romane Demande (romane@exemple.fr)" in response.text
    assert "Le formulaire contient" not in response.text
    pending.refresh_from_db()
    assert pending.state == "requested"


@pytest.mark.parametrize("reason", ["", "   \n  "])
def test_refusing_without_a_reason_is_refused_next_to_the_field(client, manager, pending, reason, outbox):
    client.force_login(manager)

    response = client.post(refuse_url(pending), {"reason": reason})

    assert response.status_code == 200
    assert "Erreur – " in response.text
    assert "Indiquez le motif du refus : il est envoyé au demandeur." in response.text
    assert 'aria-invalid="true"' in response.text
    pending.refresh_from_db()
    assert pending.state == "requested"
    assert outbox() == []


def test_refusing_with_a_reason_mails_it_to_the_requester(client, manager, pending, requester, farm, outbox):
    client.force_login(manager)

    response = client.post(refuse_url(pending), {"reason": "Inconnue de nos services <b>ici</b>."}, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "Demande refusée" in response.text
    pending.refresh_from_db()
    assert (pending.state, pending.reason, pending.decided_by) == (
        "refused",
        "Inconnue de nos services <b>ici</b>.",
        manager,
    )
    assert not Membership.objects.filter(user=requester, structure=farm).exists()
    [mail] = outbox()
    assert mail.to == [requester.email]
    assert "est refusée" in mail.subject
    assert "Inconnue de nos services <b>ici</b>." in mail.body
    assert "Inconnue de nos services &lt;b&gt;ici&lt;/b&gt;." in mail.alternatives[0].content


def test_the_decision_mail_goes_to_the_contact_address_when_there_is_one(client, manager, pending, requester, outbox):
    requester.contact_email = "romane.contact@exemple.fr"
    requester.save()
    client.force_login(manager)

    client.post(approve_url(pending))

    assert [mail.to for mail in outbox()] == [["romane.contact@exemple.fr"]]


@pytest.mark.parametrize("first", ["approve", "refuse"])
def test_a_request_is_decided_once_the_second_decision_changes_nothing(
    client, manager, second_manager, pending, outbox, first
):
    client.force_login(second_manager)
    if first == "approve":
        client.post(approve_url(pending))
    else:
        client.post(refuse_url(pending), {"reason": "Pas chez nous."})
    pending.refresh_from_db()
    decided = (pending.state, pending.decided_by, pending.decided_at)
    client.force_login(manager)

    for response in [
        client.post(approve_url(pending), follow=True),
        client.post(refuse_url(pending), {"reason": "Autre motif"}, follow=True),
    ]:
        assert response.status_code == 200
        assert "Cette demande a déjà été traitée." in response.text

    pending.refresh_from_db()
    assert (pending.state, pending.decided_by, pending.decided_at) == decided
    assert len(outbox()) == 1


def test_a_withdrawn_request_cannot_be_decided(client, manager, pending, requester, outbox):
    pending.withdraw()
    client.force_login(manager)

    response = client.post(approve_url(pending), follow=True)

    assert "Cette demande a déjà été traitée." in response.text
    pending.refresh_from_db()
    assert pending.state == "withdrawn"
    assert not Membership.objects.filter(user=requester).exists()
    assert outbox() == []


@pytest.mark.parametrize(
    ("url_name", "back_to"),
    [("approvals:approve", "approvals:approval_detail"), ("approvals:approve_selection", "approvals:approval_list")],
)
def test_a_get_decides_nothing_and_shows_the_requests_again(client, manager, pending, url_name, back_to, outbox):
    """A GET lands here when sign-in resumes a decision whose session had ended."""
    client.force_login(manager)
    args = [pending.pk] if url_name == "approvals:approve" else []

    response = client.get(reverse(url_name, args=args))

    assert response["Location"] == reverse(back_to, args=args)
    pending.refresh_from_db()
    assert pending.state == "requested"
    assert outbox() == []


def test_a_decision_that_cannot_mail_saves_nothing(client, manager, pending, requester, monkeypatch):
    def smtp_down(approval_request):
        raise ConnectionError("mail queue unavailable")

    monkeypatch.setattr("approvals.workflows.emails.decision_made", smtp_down)
    client.raise_request_exception = False
    client.force_login(manager)

    response = client.post(approve_url(pending))

    assert response.status_code == 500
    pending.refresh_from_db()
    assert (pending.state, pending.decided_by) == ("requested", None)
    assert not Membership.objects.filter(user=requester).exists()


def test_approving_someone_already_attached_meanwhile_keeps_one_membership(client, manager, pending, requester, farm):
    Membership.objects.create(user=requester, structure=farm, role=Membership.Role.MANAGER)
    client.force_login(manager)

    client.post(approve_url(pending))

    assert Membership.objects.get(user=requester, structure=farm).role == Membership.Role.MANAGER


# Several at once, from the list's checkboxes.


def test_the_manager_approves_the_ticked_requests_at_once(client, manager, farm, outbox):
    requests = ApprovalRequestFactory.create_batch(3, structure=farm)
    client.force_login(manager)

    response = client.post(
        reverse("approvals:approve_selection"), {"requests": [r.pk for r in requests[:2]]}, follow=True
    )

    assert response.redirect_chain == [(LIST, 302)]
    assert "2 demandes approuvées." in response.text
    assert [r.state for r in ApprovalRequest.objects.order_by("pk")] == ["approved", "approved", "requested"]
    assert Membership.objects.filter(structure=farm, role="user").count() == 2
    assert len(outbox()) == 2


def test_a_selection_with_already_decided_requests_decides_the_others(client, manager, farm, outbox):
    first, second = ApprovalRequestFactory.create_batch(2, structure=farm)
    first.refuse(manager, "Déjà vu")
    client.force_login(manager)

    response = client.post(reverse("approvals:approve_selection"), {"requests": [first.pk, second.pk]}, follow=True)

    assert "1 demande approuvée." in response.text
    assert "1 demande avait déjà été traitée : elle n&#x27;a pas changé." in response.text
    first.refresh_from_db()
    assert first.state == "refused"
    assert len(outbox()) == 1


def test_refusing_a_selection_asks_for_one_reason_then_refuses_them_all(client, manager, farm, outbox):
    requests = ApprovalRequestFactory.create_batch(2, structure=farm)
    client.force_login(manager)
    url = reverse("approvals:refuse_selection")
    ids = [r.pk for r in requests]

    form = client.post(url, {"requests": ids})
    assert form.status_code == 200
    assert "Ces 2 demandes seront refusées" in form.text
    assert "Le formulaire contient" not in form.text
    assert ApprovalRequest.objects.pending().count() == 2

    missing = client.post(url, {"requests": ids, "reason": ""})
    assert "Indiquez le motif du refus" in missing.text
    assert ApprovalRequest.objects.pending().count() == 2

    done = client.post(url, {"requests": ids, "reason": "Personnes inconnues."}, follow=True)
    assert "2 demandes refusées." in done.text
    assert set(ApprovalRequest.objects.values_list("state", "reason")) == {("refused", "Personnes inconnues.")}
    assert len(outbox()) == 2


@pytest.mark.parametrize("url_name", ["approvals:approve_selection", "approvals:refuse_selection"])
def test_an_empty_selection_says_to_tick_a_request(client, manager, pending, url_name):
    client.force_login(manager)

    response = client.post(reverse(url_name), {}, follow=True)

    assert "Cochez au moins une demande dans la liste." in response.text
    pending.refresh_from_db()
    assert pending.state == "requested"


@pytest.mark.parametrize("url_name", ["approvals:approve_selection", "approvals:refuse_selection"])
@pytest.mark.parametrize("forged", ["other", "abc", "-1", "99999999999999999999", "１２"])
def test_a_forged_selection_is_a_404_and_changes_nothing(client, manager, pending, elsewhere, url_name, forged, outbox):
    client.force_login(manager)
    value = elsewhere.pk if forged == "other" else forged

    response = client.post(reverse(url_name), {"requests": [pending.pk, value], "reason": "Non."})

    assert response.status_code == 404
    assert set(ApprovalRequest.objects.values_list("state", flat=True)) == {"requested"}
    assert outbox() == []


# Staff, from the admin, with the same workflow.


def test_staff_approve_from_the_admin_as_the_approver(client, admin_user, pending, requester, farm, outbox):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:approvals_approvalrequest_changelist"),
        {"action": "approve", "_selected_action": [pending.pk]},
        follow=True,
    )

    assert "1 demande(s) approuvée(s)" in response.text
    pending.refresh_from_db()
    assert (pending.state, pending.decided_by) == ("approved", admin_user)
    assert Membership.objects.filter(user=requester, structure=farm).exists()
    assert [m.to for m in outbox()] == [[requester.email]]


def test_staff_refuse_from_the_admin_with_a_reason(client, admin_user, pending, outbox):
    client.force_login(admin_user)
    url = reverse("admin:approvals_approvalrequest_changelist")
    data = {"action": "refuse", "_selected_action": [pending.pk]}

    asked = client.post(url, data)
    assert asked.status_code == 200
    assert "Motif du refus" in asked.text
    pending.refresh_from_db()
    assert pending.state == "requested"

    client.post(url, {**data, "reason": "Structure fermée."})

    pending.refresh_from_db()
    assert (pending.state, pending.reason, pending.decided_by) == ("refused", "Structure fermée.", admin_user)
    assert len(outbox()) == 1


def test_the_admin_shows_requests_read_only(client, admin_user, pending):
    client.force_login(admin_user)
    url = reverse("admin:approvals_approvalrequest_change", args=[pending.pk])

    client.post(url, {"state": "approved", "reason": "forcé"})

    pending.refresh_from_db()
    assert pending.state == "requested"
    assert client.get(reverse("admin:approvals_approvalrequest_add")).status_code == 403


def test_decided_requests_cannot_be_deleted_from_the_admin(client, admin_user, pending, manager):
    pending.approve(manager)
    client.force_login(admin_user)

    response = client.post(reverse("admin:approvals_approvalrequest_delete", args=[pending.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert ApprovalRequest.objects.filter(pk=pending.pk).exists()
