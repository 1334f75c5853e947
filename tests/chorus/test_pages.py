import shutil

import pytest
from captcha.models import CaptchaStore
from django.urls import reverse

from structures.models import Membership
from tests.factories import MembershipFactory


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
