import shutil

import pytest
from captcha.models import CaptchaStore
from django.urls import reverse

from approvals.models import ApprovalRequest
from structures.models import Membership
from tests.factories import MembershipFactory, PendingUserFactory, StructureFactory


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


def test_the_structures_page_lists_only_the_users_own_structures(client, manager, outsider):
    theirs = MembershipFactory(user=outsider, role=Membership.Role.MAIN_MANAGER).structure
    mine = manager.memberships.get().structure
    client.force_login(manager)

    page = client.get(reverse("structures:structure_list")).content.decode()

    assert mine.siret in page and "Gestionnaire principal" in page
    assert theirs.siret not in page


def test_pages_carry_the_security_headers(client, db):
    response = client.get(reverse("accounts:signup"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is not installed: apt-get install espeak-ng")
def test_the_captcha_speaks_french(client, db):
    key = CaptchaStore.generate_key()

    response = client.get(reverse("captcha-audio", args=[key]))

    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    assert body[:4] == b"RIFF" and len(body) > 20_000
