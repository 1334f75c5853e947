"""The home page: the way in for visitors; the domains, the memento's checklist and the menu's badge once signed in."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.models import ApprovalRequest
from tests.factories import PendingUserFactory, StructureFactory, activated_accounts


def test_visitors_see_the_way_in(client, db):
    page = client.get(reverse("home")).content.decode()
    assert '<html lang="fr"' in page
    assert "Créer un compte" in page and "Se connecter" in page
    assert 'href="#contenu"' in page, "skip links"


def test_a_main_manager_sees_the_domains_and_what_is_left(client, manager):
    client.force_login(manager)

    response = client.get(reverse("home"))

    page = response.content.decode()
    assert "Organisation" in page and "Structures, utilisateurs, annuaire" in page
    steps = response.context["steps"]
    assert [step.done for step in steps] == [True, True, False, False, True]
    assert "Il vous reste 2 étapes sur 5" in page


def test_a_pending_requester_is_told_the_request_waits(client, db):
    requester = PendingUserFactory(is_active=True)
    ApprovalRequest.objects.create(requester=requester, structure=StructureFactory())
    client.force_login(requester)

    page = client.get(reverse("home")).content.decode()

    assert "attend la décision du gestionnaire principal" in page


def test_the_home_page_counts_pending_requests_once(client, manager, farm):
    """The menu's badge and the checklist's step 5 show the same count: one query for both."""
    ApprovalRequest.objects.bulk_create(
        ApprovalRequest(requester=user, structure=farm) for user in activated_accounts(3)
    )
    client.force_login(manager)

    with CaptureQueriesContext(connection) as captured:
        html = client.get(reverse("home")).text

    counts = [q["sql"] for q in captured.captured_queries if "approvals_approvalrequest" in q["sql"]]
    assert len(counts) == 1 and "COUNT(" in counts[0].upper()
    assert "3 demandes de rattachement attendent votre décision" in html
    assert "data-pending-approvals>3<" in html
