"""The home page: the way in for visitors; the domains, the checklist and the menu once signed in."""

import re
from html import unescape

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import strip_tags

from approvals.models import ApprovalRequest
from tests.factories import PendingUserFactory, StructureFactory, activated_accounts


def text(response) -> str:
    """The page as read: tags dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(strip_tags(response.content.decode())))


def test_visitors_see_the_way_in(client, db):
    page = client.get(reverse("home")).content.decode()
    assert '<html lang="fr"' in page
    assert "Créer un compte" in page and "Se connecter" in page
    assert 'href="#contenu"' in page, "skip links"


def test_a_main_manager_sees_the_domains_and_what_is_left(client, manager):
    client.force_login(manager)

    response = client.get(reverse("home"))

    page = text(response)
    assert "Organisation Vos structures, leurs coordonnées bancaires et leurs utilisateurs, vos rattachements" in page
    assert "annuaire" not in page, "the domain page has no directory"
    steps = response.context["home"].steps
    assert [step.to_do for step in steps] == [False, False, True, True, False]
    assert "Il vous reste 2 étapes à faire." in page


def test_the_browser_numbers_the_steps_and_the_text_does_not(client, manager):
    client.force_login(manager)

    response = client.get(reverse("home"))

    html = response.content.decode()
    assert [int(n) for n in re.findall(r'<li class="checklist__step" value="(\d)"', html)] == [1, 2, 3, 4, 5]
    assert "<strong>Créer votre compte utilisateur</strong>" in html, "no number written before a step's title"
    assert not re.search(r"<strong>\s*\d", html)


def test_a_pending_requester_is_told_the_request_waits(client, db):
    requester = PendingUserFactory(is_active=True)
    ApprovalRequest.objects.create(requester=requester, structure=StructureFactory())
    client.force_login(requester)

    page = text(client.get(reverse("home")))

    assert "Les gestionnaires de la structure décident de votre demande" in page


def test_the_home_page_counts_pending_requests_once(client, manager, farm):
    """The menu's badge and the checklist's step 5 show the same count, read once for both."""
    ApprovalRequest.objects.bulk_create(
        ApprovalRequest(requester=user, structure=farm) for user in activated_accounts(3)
    )
    client.force_login(manager)

    with CaptureQueriesContext(connection) as captured:
        html = client.get(reverse("home")).text

    counts = [
        q["sql"]
        for q in captured.captured_queries
        if "approvals_approvalrequest" in q["sql"] and "COUNT(" in q["sql"].upper()
    ]
    assert len(counts) == 1
    assert "3 demandes de rattachement attendent votre décision" in html
    assert "data-pending-approvals>3<" in html
