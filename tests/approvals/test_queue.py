"""The « Approbations » queue and a request's page, as a manager sees them."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from approvals.models import ApprovalRequest
from structures.models import Membership
from tests.factories import ApprovalRequestFactory, MembershipFactory, UserFactory

LIST = reverse("approvals:approval_list")


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    body = re.sub(r'<span class="fr-sr-only">[^<]*</span>', "", body)  # the checkboxes' labels
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("</tr>")[:-1]]


def test_the_menu_shows_how_many_requests_wait_on_my_structures(client, manager, farm, other_manager):
    ApprovalRequestFactory.create_batch(2, structure=farm)
    ApprovalRequestFactory(structure=farm).withdraw()
    ApprovalRequestFactory(structure=other_manager.memberships.get().structure)
    client.force_login(manager)

    html = client.get(reverse("home")).text

    badge = re.search(
        r"Approbations\s*<span[^>]*data-pending-approvals[^>]*>(\d+)<span class=\"fr-sr-only\"> en attente", html
    )
    assert badge and badge.group(1) == "2"


def test_no_badge_without_pending_requests_nor_for_simple_users(client, attached, farm):
    ApprovalRequestFactory(structure=farm)
    client.force_login(attached)

    html = client.get(reverse("home")).text

    assert "Approbations" not in html, "the menu offers it to managers only"
    assert "data-pending-approvals" not in html


def test_the_badge_costs_one_query(client, manager, farm):
    ApprovalRequestFactory.create_batch(3, structure=farm)
    client.force_login(manager)
    client.get(reverse("organisation"))  # warm the session

    with CaptureQueriesContext(connection) as with_badge:
        client.get(reverse("organisation"))
    badge_queries = [q["sql"] for q in with_badge.captured_queries if "approvals_approvalrequest" in q["sql"]]

    assert len(badge_queries) == 1
    assert "COUNT(" in badge_queries[0].upper()


def test_the_list_shows_the_memento_columns_newest_first_in_paris_time(client, manager, farm, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 20, 9, 5, 7, tzinfo=dt.UTC))
    ApprovalRequestFactory(structure=farm, requester=UserFactory(email="ancien@exemple.fr"))
    time_machine.move_to(dt.datetime(2026, 11, 21, 16, 10, 0, tzinfo=dt.UTC))
    ApprovalRequestFactory(structure=farm, requester=UserFactory(email="recent@exemple.fr"))
    client.force_login(manager)

    response = client.get(LIST)

    for header in ["État", "Description", "Demandeur", "Structure", "Raison sociale", "Service", "Créé"]:
        assert f'<th scope="col">{header}</th>' in response.text
    assert rows(response.text) == [
        f"Demandé Demande de rattachement recent@exemple.fr {farm.siret} {farm.name} 21/11/2026 17:10:00",
        f"Demandé Demande de rattachement ancien@exemple.fr {farm.siret} {farm.name} 20/11/2026 10:05:07",
    ]


def test_the_list_shows_pending_requests_unless_another_state_is_chosen(client, manager, farm):
    waiting = ApprovalRequestFactory(structure=farm, requester=UserFactory(email="attente@exemple.fr"))
    refused = ApprovalRequestFactory(structure=farm, requester=UserFactory(email="refus@exemple.fr"))
    refused.refuse(manager, "Non")
    client.force_login(manager)

    assert "attente@exemple.fr" in client.get(LIST).text
    assert "refus@exemple.fr" not in client.get(LIST).text
    assert "refus@exemple.fr" in client.get(LIST, {"etat": "refused"}).text
    assert "attente@exemple.fr" not in client.get(LIST, {"etat": "refused"}).text
    everything = client.get(LIST, {"etat": "toutes"}).text
    assert "attente@exemple.fr" in everything and "refus@exemple.fr" in everything
    assert waiting.get_absolute_url() in everything


@pytest.mark.parametrize("query", [{"etat": "bogus"}, {"page": "abc"}, {"page": "99999"}, {"etat": "x" * 5000}])
def test_odd_filters_and_pages_fall_back_instead_of_failing(client, manager, pending, query):
    client.force_login(manager)

    response = client.get(LIST, query)

    assert response.status_code == 200


def test_the_list_is_paginated_by_fifty(client, manager, farm):
    ApprovalRequestFactory.create_batch(60, structure=farm)
    client.force_login(manager)

    first = client.get(LIST)
    second = client.get(LIST, {"page": 2})

    assert len(rows(first.text)) == 50
    assert len(rows(second.text)) == 10
    assert "1 / 2" in first.text and "Page suivante" in first.text


def test_each_state_is_paged_by_its_own_requests_only(client, manager, farm, other_manager):
    ApprovalRequestFactory.create_batch(60, structure=farm)
    for request in ApprovalRequestFactory.create_batch(50, structure=farm):
        request.withdraw()
    ApprovalRequestFactory.create_batch(45, structure=other_manager.memberships.get().structure)
    client.force_login(manager)

    pending = client.get(LIST, {"page": 2})
    everything = client.get(LIST, {"etat": "toutes", "page": 3})

    assert len(rows(pending.text)) == 10 and "2 / 2" in pending.text
    assert len(rows(everything.text)) == 10 and "3 / 3" in everything.text


def test_the_pending_list_pages_only_what_i_decide_as_the_badge_counts_it(client, manager, farm):
    # The pending list is paged by the menu's count: a structure where I am a simple user, another manager's requests
    # or a withdrawn one must count for neither, or a page would be promised that shows nothing.
    ApprovalRequestFactory.create_batch(50, structure=farm)
    ApprovalRequestFactory(structure=farm).withdraw()
    where_i_am_a_user = MembershipFactory(user=manager, role=Membership.Role.USER).structure
    ApprovalRequestFactory.create_batch(5, structure=where_i_am_a_user)
    client.force_login(manager)

    html = client.get(LIST).text

    assert len(rows(html)) == 50
    assert "Page suivante" not in html and "1 / 2" not in html
    assert re.search(r"data-pending-approvals[^>]*>50<", html)


def queries_for_the_list(client, count, farm, requester_structure=None) -> int:
    ApprovalRequestFactory.create_batch(count, structure=farm)
    with CaptureQueriesContext(connection) as context:
        assert client.get(LIST).status_code == 200
    return len(context)


def test_the_list_costs_the_same_queries_for_1_and_200_requests(client, manager, farm):
    client.force_login(manager)
    client.get(LIST)

    with_one = queries_for_the_list(client, 1, farm)
    with_two_hundred = queries_for_the_list(client, 199, farm)

    assert with_one == with_two_hundred <= 6  # with the second-factor device the session passed


def test_a_manager_with_a_thousand_pending_requests_gets_the_last_page_at_the_same_cost(client, manager, farm):
    users = User.objects.bulk_create(
        User(email=f"demandeur{n}@exemple.fr", first_name="Demandeur", last_name=str(n)) for n in range(1000)
    )
    ApprovalRequest.objects.bulk_create(ApprovalRequest(structure=farm, requester=user) for user in users)
    client.force_login(manager)
    client.get(LIST)

    with CaptureQueriesContext(connection) as first:
        client.get(LIST)
    with CaptureQueriesContext(connection) as last:
        response = client.get(LIST, {"page": 20})

    assert len(rows(response.text)) == 50
    assert "20 / 20" in response.text
    assert len(first) == len(last)


def test_the_request_page_shows_the_request_the_requester_and_me_as_approver(
    client, manager, pending, requester, centre_user
):
    client.force_login(manager)

    html = client.get(reverse("approvals:approval_detail", args=[pending.pk])).text

    assert "<h1>Demande de rattachement</h1>" in html
    assert pending.structure.siret in html
    assert "Je suis salariée de l&#x27;EARL." in html
    assert "Romane Demande" in html and "romane@exemple.fr" in html
    assert "Rattaché(e) à aucune structure pour le moment" in html
    assert "Activé" in html
    assert f"{manager.get_full_name()} ({manager.email})" in html
    assert ">Approuver</button>" in html and ">Refuser</a>" in html
    assert "Délégation à un centre de gestion agricole" not in html


def test_a_request_from_a_management_centre_user_is_flagged_as_delegation(client, manager, farm, centre_user):
    approval_request = ApprovalRequestFactory(structure=farm, requester=centre_user)
    client.force_login(manager)

    listed = client.get(LIST).text
    detail = client.get(reverse("approvals:approval_detail", args=[approval_request.pk])).text

    assert "Centre de gestion agricole" in listed
    assert "Délégation à un centre de gestion agricole" in detail
    assert "Centre de gestion du Bocage" in detail


def test_a_decided_request_shows_who_decided_and_why(client, manager, pending):
    pending.refuse(manager, "Personne inconnue")
    client.force_login(manager)

    html = client.get(reverse("approvals:approval_detail", args=[pending.pk])).text

    assert "Refusé" in html and "Personne inconnue" in html
    assert ">Approuver</button>" not in html


def test_buttons_to_decide_appear_only_when_a_request_on_the_page_can_be_ticked(client, manager, pending):
    pending.withdraw()
    client.force_login(manager)

    withdrawn = client.get(LIST, {"etat": "withdrawn"}).text
    empty = client.get(LIST).text

    assert pending.get_absolute_url() in withdrawn
    assert "Approuver la sélection" not in withdrawn
    assert "Aucune demande à afficher dans cet état" in empty


def test_someone_who_manages_nothing_is_told_where_their_own_requests_are(client, requester, pending):
    client.force_login(requester)

    html = client.get(LIST).text

    assert "Vous n'êtes gestionnaire d'aucune structure" in html
    assert reverse("approvals:my_memberships") in html


def test_a_deactivated_requester_is_flagged_on_the_request(client, manager, pending, requester):
    requester.is_active = False
    requester.save()
    client.force_login(manager)

    html = client.get(reverse("approvals:approval_detail", args=[pending.pk])).text

    assert "<strong>Désactivé</strong>" in html


def test_the_request_page_costs_the_same_whatever_the_requesters_structures(client, manager, pending, requester):
    client.force_login(manager)
    url = reverse("approvals:approval_detail", args=[pending.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(20):
        MembershipFactory(user=requester)
    with CaptureQueriesContext(connection) as twenty:
        client.get(url)

    assert len(one) == len(twenty)
